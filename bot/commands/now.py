"""``!now`` and ``!next``: what is on in a track, for anyone, in any conference room.

In a track room, its backstage or one of its talks' breakouts the answer is about that track;
anywhere else (a lobby room, a poster, a sponsor's booth) it is one line per track. ``!now
forum`` asks about one track from anywhere. Times are in the conference's time zone with each
track's ``!delay`` applied, as on the web pages, and every answer links to the track's room.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ..conference.clock import (
    apply_delays,
    live_talk,
    next_talk,
    talk_end,
    talks_in_track,
)
from ..conference.display import RoomLinks, clock_time, same_day, when
from ..conference.roomkeys import track_key
from ..conference.schedule import Schedule, Talk, Track
from ..conference.userinput import quoted
from ..store.delays import DelayStore
from ..wording import age
from . import Context, UsageError, command
from .message import Message, Part, bold, message, room, user

NOW_USAGE = "!now [track]"
NEXT_USAGE = "!next [track]"


@dataclass(frozen=True)
class Asked:
    """What a ``!now`` or ``!next`` is answered from: the schedule with the delays applied, the
    track asked about (None: every track), the moment, the rooms' links and the delays."""

    schedule: Schedule
    track_id: str | None
    now: datetime
    rooms: RoomLinks
    delays: Mapping[str, int]

    def tracks(self) -> list[Track]:
        return [t for t in self.schedule.tracks if self.track_id in (None, t.id)]

    def talks(self, track: Track) -> list[Talk]:
        return talks_in_track(self.schedule, track.id)


# ---- what to say -------------------------------------------------------------------------


def now_reply(asked: Asked) -> Message:
    """``!now``: the talk on in the track asked about, or in every track."""
    return _reply(asked, "On now", _now_parts)


def next_reply(asked: Asked) -> Message:
    """``!next``: the next talk in the track asked about, or in every track."""
    return _reply(asked, "Next", _next_parts)


def _reply(asked: Asked, what: str, parts: Callable[[Asked, Track], tuple[Part, ...]]) -> Message:
    """One track in full with its room on a line of its own, or a line per track."""
    zone = asked.schedule.conference.timezone
    tracks = asked.tracks()
    if not tracks:
        return message("This conference has no tracks.")
    if asked.track_id is None:
        return (message(f"{what} ({zone} time):")
                .items((bold(user(track.name)), ": ", *parts(asked, track), *_room(asked, track)) for track in tracks))
    track = tracks[0]
    reply = message(what, " in ", bold(user(track.name)), f" ({zone} time): ", *parts(asked, track), ".")
    if asked.rooms.alias(track_key(track.id)) is None:
        return reply
    return reply.line("Track room: ", _track_room(asked, track))


def _now_parts(asked: Asked, track: Track) -> tuple[Part, ...]:
    talks = asked.talks(track)
    talk = live_talk(talks, asked.now)
    if talk is not None:
        times = f", {clock_time(talk.start, asked.schedule)}–{clock_time(talk_end(talk), asked.schedule)}"
        return (*_talk(talk), times, *_late(asked, track))
    upcoming = next_talk(talks, asked.now)
    if upcoming is None:
        return ("nothing on, and no more talks",)
    return ("nothing on; next ", *_talk(upcoming), *_starts(asked, upcoming), *_late(asked, track))


def _next_parts(asked: Asked, track: Track) -> tuple[Part, ...]:
    upcoming = next_talk(asked.talks(track), asked.now)
    if upcoming is None:
        return ("no more talks",)
    return (*_talk(upcoming), *_starts(asked, upcoming), *_late(asked, track))


def _talk(talk: Talk) -> tuple[Part, ...]:
    """“Title” by A, B and C."""
    parts: list[Part] = ["“", user(talk.title), "”"]
    for n, person in enumerate(talk.speakers):
        parts += [" by " if n == 0 else (" and " if n == len(talk.speakers) - 1 else ", "), user(person.name)]
    return tuple(parts)


def _starts(asked: Asked, talk: Talk) -> tuple[Part, ...]:
    """ at 11:00, in 10 min", or with the day when it is not today."""
    if not same_day(talk.start, asked.now, asked.schedule):
        return (f" on {when(talk.start, asked.now, asked.schedule)}",)
    # Rounded up: a talk 30 seconds away starts "in 1 min", not "in 0 min".
    minutes = math.ceil((talk.start - asked.now).total_seconds() / 60)
    return (f" at {clock_time(talk.start, asked.schedule)}, in {age(minutes * 60)}",)


def _late(asked: Asked, track: Track) -> tuple[Part, ...]:
    minutes = int(asked.delays.get(track.id, 0))
    if minutes == 0:
        return ()
    return (f"; the track runs {abs(minutes)} min {'late' if minutes > 0 else 'early'}",)


def _track_room(asked: Asked, track: Track) -> Part:
    """The track's name, linking to its room."""
    return room(asked.rooms, track_key(track.id), track.name)


def _room(asked: Asked, track: Track) -> tuple[Part, ...]:
    """`` · `` and the link to the track's room, after the track's line. Beside the name in
    bold, not in its place: Element shows a room link as a pill, and names only rooms the reader
    is in."""
    return () if asked.rooms.alias(track_key(track.id)) is None else (" · ", _track_room(asked, track))


# ---- the commands ------------------------------------------------------------------------


@command("now", help="what is on now: in this track, or in every track (or in the one you name)",
         usage=NOW_USAGE)
async def now(ctx: Context) -> None:
    await ctx.reply(now_reply(_asked(ctx)))


@command("next", help="what is on next: in this track, or in every track (or in the one you name)",
         usage=NEXT_USAGE)
async def next_(ctx: Context) -> None:
    await ctx.reply(next_reply(_asked(ctx)))


def _asked(ctx: Context) -> Asked:
    delays = ctx.store(DelayStore).all(ctx.room.conference)
    links = ctx.links or RoomLinks({}, ctx.bot_user_id.partition(":")[2])  # a bare context: no links
    return Asked(apply_delays(ctx.schedule, delays), _track_asked(ctx), ctx.now, links, delays)


def _track_asked(ctx: Context) -> str | None:
    """The track named in the arguments, else this room's (None in a room of no track)."""
    argv = ctx.argv
    if len(argv) > 1:
        raise UsageError("name one track at most")
    if not argv:
        # A room left over from a track taken off the schedule answers for every track.
        return ctx.room.track_id if any(t.id == ctx.room.track_id for t in ctx.schedule.tracks) else None
    word = argv[0].lower()
    track = next((t for t in ctx.schedule.tracks if word in (t.id.lower(), t.name.lower())), None)
    if track is None:
        known = ", ".join(t.id for t in ctx.schedule.tracks)
        raise UsageError(f"there is no track {quoted(argv[0])}; the tracks are {known}")
    return track.id
