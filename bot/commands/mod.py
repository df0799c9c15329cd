"""``!mod``: anyone calls a moderator to the room they are in.

The call is a notice in the moderators' room (``bot.conference.modcall`` says which: a track's
backstage for the track's rooms, the helpdesk's staff room elsewhere) naming the room, with a
link to it, and the caller. Calls are limited per room and per person (``modcall``'s windows).

A call is for the moderators only: the command is removed from the room it was made in (the
person it is about may be reading), and the caller is answered in their direct chat with the
bot, also when the call is refused.
"""

from __future__ import annotations

import math

from ..conference import modcall
from ..conference.display import place_name
from ..conference.userinput import UsageError, one_line
from ..store.modcalls import ModCallStore
from ..wording import ago
from . import Context, command, usage_answer
from .message import Message, bold, message, room, user


@command("mod", help="call a moderator to this room (say what is wrong, if you like)", usage="!mod [what is wrong]")
async def call_moderator(ctx: Context) -> None:
    try:
        answer = await _call(ctx)
    except UsageError as exc:
        assert ctx.command is not None
        answer = usage_answer(exc, ctx.command)
    await ctx.remove_command("a call for a moderator")
    await ctx.tell_sender(answer)


async def _call(ctx: Context) -> Message:
    """Call the moderators (unless a limit says no); what the caller is told."""
    store = ctx.store(ModCallStore)
    here = room(ctx.links, ctx.room.key, place_name(ctx.schedule, ctx.room.key))
    conference, at = ctx.room.conference, ctx.received_at
    problem = modcall.check_reason(ctx.args)
    if problem:
        raise UsageError(problem)
    target_key = modcall.moderators_room(ctx.room.key, ctx.room.track_id, [d.id for d in ctx.schedule.helpdesks],
                                         [t.id for t in ctx.schedule.tracks])
    target = ctx.room_of(target_key) if target_key is not None else None
    if target is None:
        return message("There is no moderators' room to call from here; ask an organiser directly.")
    if not store.made(ctx.event_id):  # else made before a crash: send its notice again
        earlier = store.in_room(conference, ctx.room.room_id, at - modcall.ROOM_WINDOW, at)
        if modcall.wait_for_room(earlier, at):
            return message("A moderator was already called to ", here, f" {ago(at - max(earlier))} and is on the "
                           "way; no need to call again.")
        wait = modcall.wait_for_sender(store.by_sender(conference, ctx.sender, at - modcall.SENDER_WINDOW, at), at)
        if wait:
            return message(f"You have called a moderator {modcall.SENDER_COUNT} times in the last "
                           f"{int(modcall.SENDER_WINDOW // 60)} minutes; please wait {math.ceil(wait / 60)} min "
                           "before calling again.")
        store.record(ctx.event_id, conference, ctx.room.room_id, ctx.sender, at)
    notice = message("🚨 ", bold("Moderator wanted"), " in ", here,
                     ", called by ", user(ctx.sender_name), ".")
    if ctx.args:
        notice = notice.line("“", user(one_line(ctx.args)), "”")
    await ctx.send("m.room.message", notice.content(notice=False), room_id=target.room_id)
    return message("A moderator has been called to ", here, ".")
