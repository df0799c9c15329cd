"""The running schedule: ``!delay`` tells Podium a track runs late.

Online talks overrun; the moderator says so once, in the track room or its backstage, and
everything that asks "what is on now" follows: ``!ask`` files questions against the talk really
running, and the stream, navigator, schedule and Q&A pages show the shifted times.
"""

from __future__ import annotations

import re

from ..conference.userinput import read_number
from ..store.delays import DelayStore
from ..wording import counted
from . import Context, Role, UsageError, command
from .message import bold, message, user

USAGE = "!delay <minutes>  (e.g. !delay 10, !delay +5, !delay 0 when back on time)  ·  !delay"
MAX_MINUTES = 240
#: "15min", "15 minutes": the unit is optional, and minutes is the only one.
_UNIT = re.compile(r"\s*(?:m|min|mins|minutes?)\Z")


def parse_minutes(text: str) -> int:
    """``10``, ``+10``, ``-5``, ``15min`` -> minutes; a UsageError says what is wrong otherwise."""
    number = _UNIT.sub("", text.strip().lower())
    return read_number(number, f"say the minutes, at most {MAX_MINUTES} either way (10, +5, -5, 0)",
                       signed=True, low=-MAX_MINUTES, high=MAX_MINUTES)


def describe(track_name: str, minutes: int) -> tuple:
    """Message parts saying how the track runs."""
    if minutes == 0:
        return user(track_name), " runs on time"
    return user(track_name), f" runs {counted(abs(minutes), 'minute')} {'late' if minutes > 0 else 'early'}"


@command("delay", help="say how late this track runs; every page and !ask follow", usage=USAGE,
         role=Role.MODERATOR, kinds=("track", "backstage"))
async def delay(ctx: Context) -> None:
    track_id = ctx.room.track_id
    track = next((t for t in ctx.schedule.tracks if t.id == track_id), None)
    if track is None:
        raise UsageError("a delay is set in a track room or its backstage")
    store = ctx.store(DelayStore)
    if not ctx.args:
        await ctx.reply(message(*describe(track.name, store.all(ctx.room.conference).get(track.id, 0)), "."))
        return
    minutes = parse_minutes(ctx.args)
    store.set(ctx.room.conference, track.id, minutes, by=ctx.sender, at=ctx.received_at)
    if ctx.wake_clock is not None:
        ctx.wake_clock()  # the track's transitions move now, not at the clock's next look
    talk = ctx.live_talk
    now = (" On now: ", user(talk.title), ".") if talk else ()
    await ctx.reply(message(bold(*describe(track.name, minutes)), "; the schedule, the widgets and !ask follow.", *now))
