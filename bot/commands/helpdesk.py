"""The helpdesk: ``!helpdesk`` opens a ticket; its staff see it in the helpdesk's staff room and
take it with ``!claim``, close it with ``!done`` and list what is open with ``!tickets``.

The request shows once in the room where it was made: the bot posts the ticket there (who asked,
what, its number) and removes the ``!helpdesk`` line. The asker is answered in that room,
mentioned by name: when someone takes the ticket and when it is done. Each send derives its
transaction id from the event being handled and is made in the same order every time, so a
command handled again after a crash sends nothing twice.
"""

from __future__ import annotations

from ..conference import helpdesk
from ..conference.display import place_name, user_link
from ..conference.helpdesk import ASK_KINDS, CLAIMED, DONE, STAFF_KINDS, Ticket
from ..conference.roomkeys import helpdesk_key, helpdesk_staff_key
from ..conference.userinput import UsageError, one_line, quoted, read_number
from ..store.tickets import TicketStore
from ..wording import ago
from . import Context, Role, command
from .message import Message, Part, bold, code, link, message, room, user

#: At most this many tickets in one ``!tickets`` answer; the rest are counted.
LIST_MAX = 20


def tickets(ctx: Context) -> TicketStore:
    return ctx.store(TicketStore)


def _desks(ctx: Context) -> list[str]:
    return [desk.id for desk in ctx.schedule.helpdesks]


def _desk_name(ctx: Context, desk: str) -> str:
    return place_name(ctx.schedule, helpdesk_key(desk))


def _where(ctx: Context, ticket: Ticket) -> Part:
    return room(ctx.links, ticket.room_key, place_name(ctx.schedule, ticket.room_key))


def _summary(ctx: Context, ticket: Ticket) -> tuple[Part, ...]:
    return (bold(ticket.label), " · ", user(ticket.asker_name), " in ", _where(ctx, ticket), ": ", user(ticket.text))


# ---- !helpdesk ---------------------------------------------------------------------------


@command("helpdesk", help="ask the conference's helpdesk for help; staff answer you here",
         usage="!helpdesk <what you need help with>", kinds=ASK_KINDS)
async def ask_for_help(ctx: Context) -> None:
    store = tickets(ctx)
    ticket = store.by_source(ctx.event_id)
    if ticket is None:  # not opened before a crash
        desk = helpdesk.desk_of(ctx.room.key, _desks(ctx))
        if desk is None:
            await ctx.reply(message("This conference has no helpdesk: ask in this room, or call a moderator with ",
                                    code("!mod"), "."))
            return
        problem = helpdesk.check_text(ctx.args)
        if problem:
            raise UsageError(problem)
        ticket = store.open(ctx.room.conference, desk=desk, room_id=ctx.room.room_id, room_key=ctx.room.key,
                            asker=ctx.sender, asker_name=one_line(ctx.sender_name), text=one_line(ctx.args),
                            asked_at=ctx.received_at, source_event_id=ctx.event_id)
    name = _desk_name(ctx, ticket.desk)
    staff_room = ctx.room_of(helpdesk_staff_key(ticket.desk))
    if staff_room is not None:
        await ctx.send("m.room.message", message("🎫 ", *_summary(ctx, ticket))
                       .line("Take it with ", code(f"!claim {ticket.number}"), ".").content(notice=False),
                       room_id=staff_room.room_id)
    post = message("🎫 ", user(ticket.asker_name), ": ", user(ticket.text))
    await ctx.reply(post.line(f"Ticket {ticket.label} is open: the ", user(name), " staff have it and will answer "
                              "you here."), thread=False)
    await ctx.remove_command("the ticket is posted")


# ---- staff -------------------------------------------------------------------------------


def _staff_desk(ctx: Context) -> str:
    desk = helpdesk.desk_of(ctx.room.key, _desks(ctx))
    if desk is None:  # a helpdesk taken off the schedule
        raise UsageError("this helpdesk is no longer in the schedule")
    return desk


def _ticket_number(ctx: Context) -> int:
    argv = ctx.args.split()
    if not argv:
        raise UsageError("say which ticket, e.g. 4 or #4")
    if len(argv) > 1:
        raise UsageError(f"unexpected {quoted(argv[1])}; name one ticket")
    return read_number(argv[0], "say which ticket, e.g. 4 or #4", prefix="#")


async def _named_ticket(ctx: Context) -> tuple[str, int] | None:
    """(desk, number) of the ticket a staff command names, or None once the sender is told there
    is no such ticket at this room's helpdesk."""
    desk, number = _staff_desk(ctx), _ticket_number(ctx)
    ticket = tickets(ctx).get(ctx.room.conference, number)
    if ticket is None or ticket.desk != desk:
        await ctx.reply(message(f"There is no ticket #{number} at the ", user(_desk_name(ctx, desk)), ". ",
                                code("!tickets"), " lists the open ones."))
        return None
    return desk, number


def _closed_already(ticket: Ticket) -> Message:
    return message(f"{ticket.label} is done already (closed by ", user(ticket.closer_name or "?"), ").")


async def _tell_asker(ctx: Context, ticket: Ticket, *parts: Part) -> None:
    """A message to the asker in the room where they asked, mentioning them. Not a reply: the
    ``!helpdesk`` line it would quote is gone, the ticket's post says what was asked."""
    # A text, not a notice: the homeserver's push rules silence notices before they look at
    # mentions, and this one is meant to reach the asker.
    content = message(link(user_link(ticket.asker), user(ticket.asker_name)), ": ", *parts).content(notice=False)
    content["m.mentions"] = {"user_ids": [ticket.asker]}
    await ctx.send("m.room.message", content, room_id=ticket.room_id)


@command("claim", help="helpdesk staff: take ticket n; the asker is told who has it", usage="!claim <n>",
         role=Role.MODERATOR, kinds=STAFF_KINDS)
async def claim(ctx: Context) -> None:
    named = await _named_ticket(ctx)
    if named is None:
        return
    desk, number = named
    ticket = tickets(ctx).claim(ctx.room.conference, number, claimer=ctx.sender,
                                claimer_name=one_line(ctx.sender_name), at=ctx.received_at, event_id=ctx.event_id)
    assert ticket is not None
    if ticket.claim_event_id == ctx.event_id and ticket.state == CLAIMED:
        await ctx.reply(message("You have ", *_summary(ctx, ticket)).line("Answer there; then ",
                                                                          code(f"!done {number}"), "."))
        await _tell_asker(ctx, ticket, user(ticket.claimer_name or ""), " from the ", user(_desk_name(ctx, desk)),
                          f" is on your ticket {ticket.label}.")
    elif ticket.state == DONE:
        await ctx.reply(_closed_already(ticket))
    elif ticket.claimer == ctx.sender:
        await ctx.reply(message(f"{ticket.label} is yours already."))
    else:
        await ctx.reply(message(f"{ticket.label} is taken: ", user(ticket.claimer_name or "?"), " has it (claimed ",
                                ago(ctx.received_at - (ticket.claimed_at or ctx.received_at)), ")."))


@command("done", help="helpdesk staff: close ticket n; the asker is told", usage="!done <n>",
         role=Role.MODERATOR, kinds=STAFF_KINDS)
async def done(ctx: Context) -> None:
    named = await _named_ticket(ctx)
    if named is None:
        return
    desk, number = named
    ticket = tickets(ctx).close(ctx.room.conference, number, closer_name=one_line(ctx.sender_name),
                                at=ctx.received_at, event_id=ctx.event_id)
    assert ticket is not None
    if ticket.done_event_id != ctx.event_id:
        await ctx.reply(_closed_already(ticket))
        return
    await ctx.reply(message(f"{ticket.label} is done."))
    await _tell_asker(ctx, ticket, f"your ticket {ticket.label} is done (", user(ticket.closer_name or ""), ", ",
                      user(_desk_name(ctx, desk)), "). If anything is left, ask again with ", code("!helpdesk"), ".")


@command("tickets", help="helpdesk staff: the waiting and claimed tickets, with their age", usage="!tickets",
         role=Role.MODERATOR, kinds=STAFF_KINDS)
async def list_tickets(ctx: Context) -> None:
    if ctx.args:
        raise UsageError("!tickets takes nothing after it")
    desk = _staff_desk(ctx)
    name = user(_desk_name(ctx, desk))
    listed = tickets(ctx).open_at(ctx.room.conference, desk)
    if not listed:
        await ctx.reply(message("No open tickets at the ", name, "."))
        return
    reply: Message = message("Open tickets at the ", name, f" ({len(listed)}):").items(
        _listed(ctx, ticket) for ticket in listed[:LIST_MAX])
    if len(listed) > LIST_MAX:
        reply = reply.line(f"… and {len(listed) - LIST_MAX} more.")
    await ctx.reply(reply)


def _listed(ctx: Context, ticket: Ticket) -> tuple[Part, ...]:
    if ticket.state == CLAIMED:
        status: tuple[Part, ...] = (" · ", user(ticket.claimer_name or "?"), " has it, asked ",
                                    ago(ctx.received_at - ticket.asked_at))
    else:
        status = (" · waiting, asked ", ago(ctx.received_at - ticket.asked_at))
    label, *rest = _summary(ctx, ticket)
    return (label, *status, *rest)
