"""Ticket codes sent to the bot in a direct chat: a code ``podium tickets`` loaded admits its
holder to the conference space.

Each code admits one account once (``bot.store.ticketcodes``): a second use, by anyone, is
refused and its sender told the code was used already. Wrong codes are limited per sender
(``WRONG_CODES`` an hour by the bot's receive time, then they are told how long to wait), so
codes cannot be guessed. Only a message shaped like a loaded code counts as a try: "hello" is
answered, and costs nothing. No code is ever written to the log, nor echoed back. Someone
already in the space, or invited to it, is told so and no code is used.

Every answer goes to the sender's direct chat as the bot finds it when the code arrives: the chat
the code came in while only the two of them are in it, else a new one (``bot.direct``), so no one
who joined the chat later reads whether a code admitted its sender.
"""

from __future__ import annotations

from ..conference.attendees import (
    WRONG_CODES,
    WRONG_WINDOW,
    could_be_code,
    wait_for_next_code,
)
from ..conference.roomkeys import SPACE
from ..matrix import MatrixError
from ..store.ticketcodes import TicketCodeStore
from ..wording import counted
from . import Context, _charge, budget, listener, parse_command
from .message import Message, code, message, room, user

DIRECT = "direct"


@listener("m.room.message")
async def ticket_code(ctx: Context) -> None:
    if ctx.room.kind != DIRECT or parse_command(ctx.content) is not None:
        return  # commands in a direct chat are the registry's
    body = ctx.content.get("body")
    if ctx.content.get("msgtype") != "m.text" or not isinstance(body, str):
        return
    if _charge(ctx)[0] is not budget.Verdict.ANSWER:
        return  # the same budget as commands: chatting to the bot cannot make it flood
    # Chosen before the code is looked at: someone may have joined the chat since the bot took it.
    private = await ctx.direct_chat(ctx.sender) if ctx.direct_chat is not None else ctx.room.room_id
    answer = await _answer(ctx, body)
    if private == ctx.room.room_id:
        # Not a reply, which would quote the code back: a reference says what it answers, unseen.
        await ctx.reply(answer, thread=False,
                        extra={"m.relates_to": {"rel_type": "m.reference", "event_id": ctx.event_id}})
    else:
        await ctx.send("m.room.message", answer.content(), room_id=private)


async def _answer(ctx: Context, body: str) -> Message:
    conference = ctx.schedule.conference
    space = ctx.room_of(SPACE)
    where = room(ctx.links, SPACE, conference.name)
    if conference.access == "public" or space is None:
        return message("No code is needed: anyone on the homeserver may join ", where, ".")
    membership = await ctx.transport.membership(space.room_id, ctx.sender)
    if membership == "join":
        return message("You are in ", where, " already. Send ", code("!help"), " in any of its rooms to see what you "
                       "can do there.")
    if membership == "invite":
        return message("You are invited to ", where, " already: accept the invitation (listed with your rooms) and "
                       "you are in.")
    return await _admit(ctx, body.strip(), space.room_id, where)


async def _admit(ctx: Context, text: str, space_id: str, where) -> Message:
    codes = ctx.store(TicketCodeStore)
    conference = ctx.schedule.conference.id
    at = ctx.received_at
    wrong = codes.wrong_since(conference, ctx.sender, at - WRONG_WINDOW, ctx.event_id)
    wait = wait_for_next_code(wrong, at)
    if wait > 0:
        return message(f"That makes {WRONG_CODES} wrong codes within an hour: please wait "
                       f"{max(1, round(wait / 60))} min, then send your code again.")
    if not could_be_code(text, codes.shapes(conference)):
        return message("That does not look like a ticket code of ", user(ctx.schedule.conference.name),
                       ": send the code from your ticket, as it is written there.")
    use = codes.use(conference, text, ctx.sender, ctx.event_id, at)
    if use is None:
        codes.note_wrong(conference, ctx.sender, ctx.event_id, at)
        left = WRONG_CODES - len(wrong) - 1
        tries = f"{counted(left, 'more try', 'more tries')} this hour" if left else "no more tries this hour"
        return message("That is not a ticket code of ", user(ctx.schedule.conference.name),
                       f". Send the code from your ticket, as it is written there ({tries}).")
    if use.event_id != ctx.event_id:
        whose = "by you" if use.used_by == ctx.sender else "by another account"
        return message(f"This code was used already, {whose}: each ticket admits one account once. If it is your "
                       "ticket, ask the organisers.")
    try:
        await ctx.transport.invite(space_id, ctx.sender)
    except MatrixError as exc:
        if exc.transient:
            raise  # handled again once the homeserver is back, finding this use as its own
        codes.give_back(conference, text, ctx.event_id)
        reason = "you are banned from it" if exc.errcode == "M_BAD_STATE" else "the homeserver refused"
        return message("I could not invite you to ", where, f": {reason}. Your code stays unused; ask the organisers.")
    return message("Thank you! I invited you to ", where, ": accept the invitation and every room of the conference "
                   "is open to you.")
