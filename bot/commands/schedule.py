"""The running schedule: ``!delay`` tells Podium a track runs late.

Online talks overrun; the moderator says so once, in the track room or its backstage, and
everything that asks "what is on now" follows: ``!ask`` files questions against the talk really
running, and the stream, navigator, schedule and Q&A pages show the shifted times.
"""

from __future__ import annotations

import html
import re

from ..store.delays import DelayStore
from . import Context, Role, UsageError, command

USAGE = "!delay <minutes>  (e.g. !delay 10, !delay +5, !delay 0 when back on time)  ·  !delay"
MAX_MINUTES = 240
_MINUTES = re.compile(r"^([+-]?)(\d{1,3})\s*(?:m|min|mins|minutes?)?$")


def parse_minutes(text: str) -> int:
    """``10``, ``+10``, ``-5``, ``15min`` -> minutes; a UsageError says what is wrong otherwise."""
    match = _MINUTES.match(text.strip().lower())
    if not match:
        raise UsageError(f"“{text}” is not a number of minutes")
    minutes = int(match[2]) * (-1 if match[1] == "-" else 1)
    if abs(minutes) > MAX_MINUTES:
        raise UsageError(f"a delay is at most {MAX_MINUTES} minutes either way")
    return minutes


def describe(track_name: str, minutes: int) -> str:
    if minutes == 0:
        return f"{track_name} runs on time"
    return f"{track_name} runs {abs(minutes)} minute{'s' if abs(minutes) != 1 else ''} {'late' if minutes > 0 else 'early'}"


@command("delay", help="say how late this track runs; every page and !ask follow", usage=USAGE,
         role=Role.MODERATOR, kinds=("track", "backstage"))
async def delay(ctx: Context) -> None:
    track_id = ctx.room.track_id
    track = next((t for t in ctx.schedule.tracks if t.id == track_id), None)
    if track is None:
        raise UsageError("a delay is set in a track room or its backstage")
    store = ctx.store(DelayStore)
    if not ctx.args:
        status = describe(track.name, store.all(ctx.room.conference).get(track.id, 0))
        await ctx.reply(f"{status}.", f"{html.escape(status)}.")
        return
    minutes = parse_minutes(ctx.args)
    store.set(ctx.room.conference, track.id, minutes, by=ctx.sender, at=ctx.origin_server_ts)
    status = describe(track.name, minutes)
    talk = ctx.live_talk
    now = f" On now: {talk.title}." if talk else ""
    await ctx.reply(f"{status}; the schedule, the widgets and !ask follow.{now}",
                    f"<b>{html.escape(status)}</b>; the schedule, the widgets and !ask follow."
                    + (f" On now: {html.escape(talk.title)}." if talk else ""))
