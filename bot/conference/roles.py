"""Who may do what in a conference room: attendee < speaker < moderator < organiser.

Pure functions over a room's power levels and the schedule. The room's power levels are the
homeserver's own answer to "who moderates here" (a chair promoted by hand counts at once); the
schedule's staff list adds the people the organisers named even where a room has not caught up
yet, and talk speakers are speakers in their track and their breakout.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import IntEnum
from typing import Any

from .clock import is_on, talks_in_track
from .roomkeys import HELPDESK, HELPDESK_STAFF, kind_of, object_id
from .schedule import Schedule
from .sponsors import sponsor_of

#: Power at which Matrix clients (and Podium's templates) treat someone as a moderator / admin.
MODERATOR_POWER = 50
ORGANISER_POWER = 100
#: Power a talk's speakers hold in its track room while it runs, and only then: the conference
#: clock gives it at the start and takes it back when the talk is no longer on in the schedule in
#: force. It is what presenting needs (the track template asks it for a poll of one's own) and
#: below every moderator right: widgets and other room state, redacting others, kick, ban, invite,
#: and the moderator commands (which want ``MODERATOR_POWER``).
PRESENTER_POWER = 25


class Role(IntEnum):
    ATTENDEE = 0
    SPEAKER = 1
    MODERATOR = 2
    ORGANISER = 3

    @property
    def label(self) -> str:
        return self.name.lower()


def power_of(user_id: str, power_levels: dict[str, Any]) -> int:
    users = power_levels.get("users") or {}
    level = users.get(user_id, power_levels.get("users_default", 0))
    try:
        return int(level)
    except (TypeError, ValueError):
        return 0


def role_of(
    user_id: str,
    *,
    power_levels: dict[str, Any],
    organisers: Iterable[str] = (),
    moderators: Iterable[str] = (),
    speakers: Iterable[str] = (),
    creators: Iterable[str] = (),
) -> Role:
    """The highest role any source grants ``user_id`` in one room.

    ``creators``: from room version 12 the room's creators have unbounded power and are not
    listed in the power levels, so they count as organisers.
    """
    if user_id in set(creators) or user_id in set(organisers):
        return Role.ORGANISER
    power = power_of(user_id, power_levels)
    if power >= ORGANISER_POWER:
        return Role.ORGANISER
    if power >= MODERATOR_POWER or user_id in set(moderators):
        return Role.MODERATOR
    if user_id in set(speakers):
        return Role.SPEAKER
    return Role.ATTENDEE


def track_staff(schedule: Schedule, track_id: str | None, talk_id: str | None = None) -> tuple[set[str], set[str]]:
    """(moderators, speakers) the schedule names for a track, or for one talk's breakout."""
    moderators = set(schedule.staff.moderators)
    speakers: set[str] = set()
    for track in schedule.tracks:
        if track.id == track_id:
            moderators |= set(track.chairs)
    for talk in schedule.talks:
        if (talk_id is not None and talk.id == talk_id) or (talk_id is None and talk.track == track_id):
            speakers |= {p.matrix_id for p in talk.speakers if p.matrix_id}
    return moderators, speakers


def room_staff(schedule: Schedule, room_key: str) -> set[str]:
    """The staff the schedule names for a room: a sponsor's for its booth room (``sponsor/<id>``),
    a helpdesk's for the helpdesk and its staff room (``helpdesk/<id>``, ``helpdesk-staff/<id>``).
    They moderate those rooms, even before the power levels say so, and no other."""
    sponsor = sponsor_of(schedule, room_key)
    if sponsor is not None:
        return set(sponsor.staff)
    kind, item = kind_of(room_key), object_id(room_key)
    if kind in (HELPDESK, HELPDESK_STAFF):
        return next((set(desk.staff) for desk in schedule.helpdesks if desk.id == item), set())
    return set()


def presenting(schedule: Schedule, now: datetime) -> dict[str, frozenset[str]]:
    """Who presents at ``now``, by track id: the speakers (with a Matrix ID) of the talks running
    there, cancelled ones aside. ``schedule`` is the one in force, with the tracks' delays applied."""
    on: dict[str, frozenset[str]] = {}
    for track in schedule.tracks:
        # Every talk on, not only the first: an imported programme may run talks side by side.
        speakers = frozenset(p.matrix_id for talk in talks_in_track(schedule, track.id) if is_on(talk, now)
                             for p in talk.speakers if p.matrix_id)
        if speakers:
            on[track.id] = speakers
    return on


def with_presenters(power_levels: dict[str, Any], presenters: Iterable[str]) -> dict[str, int]:
    """A track room's ``users`` power levels with ``presenters`` at the presenter level and nobody
    else at it. The level is the clock's alone: whoever holds exactly it without presenting now
    loses it (their talk ended, or an edit deleted or moved it); more power than it is kept."""
    presenters = set(presenters)
    users = power_levels.get("users") or {}
    kept = {user: level for user, level in users.items()
            if user in presenters or power_of(user, power_levels) != PRESENTER_POWER}
    for user in sorted(presenters):
        if power_of(user, {**power_levels, "users": kept}) < PRESENTER_POWER:
            kept[user] = PRESENTER_POWER
    return kept
