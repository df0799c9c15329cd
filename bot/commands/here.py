"""``!here``: a speaker checks in for their talk, so the clock does not alert the chairs.

The conference clock reminds a talk's speakers in the backstage before it starts; at the start
it tells the track's chairs and moderators who has not checked in. A speaker's ``!here`` counts
for their talk that is on now or starts within the hour (the track's ``!delay`` applied).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from ..conference.clock import apply_delays, talk_end
from ..store.delays import DelayStore
from ..store.transitions import TransitionStore
from . import Context, Role, UsageError, command
from .message import message, user

#: How long before its start a talk's speakers may check in.
CHECK_IN_WINDOW = timedelta(hours=1)


@command("here", help="check in for your talk (on now or within the hour)", usage="!here",
         role=Role.SPEAKER, kinds=("backstage", "track", "breakout"))
async def here(ctx: Context) -> None:
    if ctx.args:
        raise UsageError("!here takes nothing after it")
    schedule = apply_delays(ctx.schedule, ctx.store(DelayStore).all(ctx.room.conference))
    mine = sorted((t for t in schedule.talks
                   if any(p.matrix_id == ctx.sender for p in t.speakers)
                   and t.start - CHECK_IN_WINDOW <= ctx.now < talk_end(t)), key=lambda t: t.start)
    if not mine:
        await ctx.reply(message("You have no talk on now or starting within the hour to check in for."))
        return
    talk = mine[0]
    starts = talk.start.astimezone(ZoneInfo(schedule.conference.timezone))
    new = ctx.store(TransitionStore).check_in(ctx.room.conference, talk.id, ctx.sender, ctx.received_at)
    already = "" if new else " (already)"
    await ctx.reply(message(f"Thanks, you are checked in{already} for “", user(talk.title), f"” at {starts:%H:%M}."))
