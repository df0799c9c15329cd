"""How the conference is shown to people: links to its rooms, and times in its time zone.

The web pages and the bot's replies (``!now``, ``!next``) show the same rooms and the same
times, so they share these. Pure: nothing here talks to the homeserver or reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

from .roomkeys import (
    BACKSTAGE,
    HELPDESK,
    HELPDESK_STAFF,
    LOBBY,
    OPEN_SPACE,
    POSTER,
    POSTER_BREAKOUT,
    SPACE,
    SPONSOR,
    TALK,
    TRACK,
    kind_of,
    object_id,
)
from .schedule import Schedule

# ----------------------------------------------------------------------------- rooms


def matrix_to(alias: str, server_name: str) -> str:
    """A matrix.to link that opens the room with alias localpart ``alias`` in any client."""
    return f"https://matrix.to/#/#{alias}:{server_name}"


class _Provisioned(Protocol):
    key: str
    alias: str


@dataclass(frozen=True)
class RoomLinks:
    """Aliases of the conference's rooms by desired-room key (``track/forum``, ``talk/x``...)."""

    aliases: Mapping[str, str]
    server_name: str

    @classmethod
    def of(cls, rooms: Iterable[_Provisioned], server_name: str) -> RoomLinks:
        """The links to ``rooms`` as provisioning makes them (``desired_rooms``)."""
        return cls({room.key: room.alias for room in rooms}, server_name)

    def link(self, key: str) -> str | None:
        alias = self.aliases.get(key)
        return None if alias is None else matrix_to(alias, self.server_name)

    def alias(self, key: str) -> str | None:
        alias = self.aliases.get(key)
        return None if alias is None else f"#{alias}:{self.server_name}"


def place_name(schedule: Schedule, key: str) -> str:
    """What people call the room of ``key`` (``lobby/info-desk`` is "Info desk"), as its room
    template names it; the key itself for a room the schedule no longer has."""
    kind, item = kind_of(key), object_id(key)
    sections = {LOBBY: schedule.lobby, TRACK: schedule.tracks, BACKSTAGE: schedule.tracks,
                TALK: schedule.talks, POSTER: schedule.posters, POSTER_BREAKOUT: schedule.posters,
                SPONSOR: schedule.sponsors, HELPDESK: schedule.helpdesks, HELPDESK_STAFF: schedule.helpdesks,
                OPEN_SPACE: schedule.open_space.rooms}
    entry = next((e for e in sections.get(kind, ()) if e.id == item), None)
    if entry is None:
        return schedule.conference.name if key == SPACE else key
    name = getattr(entry, "name", None) or getattr(entry, "title", key)
    prefix = {BACKSTAGE: "Backstage · ", POSTER: "Poster · ", HELPDESK_STAFF: "Staff · "}.get(kind, "")
    return prefix + name


def user_link(user_id: str) -> str:
    """A matrix.to link to ``user_id``: in a message's HTML, Element shows it as a mention pill."""
    return f"https://matrix.to/#/{quote(user_id, safe='@:')}"


# ----------------------------------------------------------------------------- times


def clock_time(moment: datetime, schedule: Schedule) -> str:
    return moment.astimezone(schedule.conference.tz).strftime("%H:%M")


def same_day(moment: datetime, now: datetime, schedule: Schedule) -> bool:
    """Whether ``moment`` falls on the conference day of ``now`` (in the conference's time zone)."""
    tz = schedule.conference.tz
    return moment.astimezone(tz).date() == now.astimezone(tz).date()


def when(moment: datetime, now: datetime, schedule: Schedule) -> str:
    """``HH:MM`` when ``moment`` is on the same conference day as ``now``, else with the day."""
    if same_day(moment, now, schedule):
        return clock_time(moment, schedule)
    local = moment.astimezone(schedule.conference.tz)
    # The day of the month without its leading zero ("Tue 7 Jul"); the time keeps its own (09:30).
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
