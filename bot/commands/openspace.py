"""``!openspace``: attendees book the open-space slots for sessions of their own.

``!openspace`` lists the slots not yet over with their sessions and free rooms; ``!openspace
book <slot> <title>`` takes a free room in the slot (the room the command is sent in when it is
free); ``!openspace cancel`` cancels the sender's booking, and a moderator's ``!openspace cancel
<slot>`` anyone's. The conference clock then runs each session in its room
(``bot.conference.transitions``): it is told of every booking and cancellation at once.

A booking is keyed by the command's event, and a cancellation records its event, so a command
handled again after a crash finds its own outcome and answers the same.
"""

from __future__ import annotations

from ..conference.display import user_link
from ..conference.openspace import (
    KIND,
    Booking,
    NumberedSlot,
    booking_slot,
    free_rooms,
    held_by,
    in_force,
    in_slot,
    numbered_slots,
    read_slot,
    room_preference,
    session_room,
    slot_label,
    slot_over,
    title_problem,
)
from ..conference.userinput import UsageError, one_line, quoted
from ..conference.roomkeys import object_id, open_space_key
from ..store.bookings import BookingStore
from . import Context, Role, _a, command
from .message import Message, Part, bold, code, link, message, room, user

USAGE = "!openspace [book <slot> <title> | cancel [slot]]"
BOOK = "!openspace book <slot> <title>"
#: At most this many slots in one listing; the rest are counted.
LIST_MAX = 20


def bookings(ctx: Context) -> BookingStore:
    return ctx.store(BookingStore)


@command("openspace", help="the open-space slots: book one for a session of your own, or cancel yours",
         usage=USAGE, kinds=(KIND,))
async def openspace(ctx: Context) -> None:
    words = ctx.args.split()
    if not words:
        await ctx.reply(_listing(ctx))
    elif words[0].lower() == "book":
        await _book(ctx, words[1:])
    elif words[0].lower() == "cancel":
        await _cancel(ctx, words[1:])
    else:
        raise UsageError(f"{quoted(words[0])} is not something !openspace does: book or cancel, or nothing to list "
                         "the slots")


# ---- what is shown -----------------------------------------------------------------------


def _slot(ctx: Context, slot: NumberedSlot, word: str = "slot") -> str:
    return f"{word} {slot.number} ({slot_label(slot, ctx.schedule.conference.tz)})"


def _room(ctx: Context, room_id: str) -> Part:
    session = session_room(ctx.schedule, room_id)
    return room(ctx.links, open_space_key(room_id), session.name if session else room_id)


def _session(ctx: Context, booking: Booking) -> tuple[Part, ...]:
    return ("“", user(booking.title), "” — ", user(booking.booker_name), " in ", _room(ctx, booking.room))


def _listing(ctx: Context) -> Message:
    schedule, now = ctx.schedule, ctx.now
    slots = numbered_slots(schedule)
    if not slots or not schedule.open_space.rooms:
        return message("This conference has no open-space slots to book.")
    coming = [slot for slot in slots if not slot_over(slot, now)]
    if not coming:
        return message("The open-space slots are all over.")
    active = in_force(bookings(ctx).active(ctx.room.conference), schedule)
    rows = []
    for slot in coming[:LIST_MAX]:
        parts: list[Part] = [bold(str(slot.number)), f" · {slot_label(slot, schedule.conference.tz)}"]
        if slot.start <= now:
            parts.append(" (now)")
        for booking in in_slot(active, slot):
            parts.extend((" · ", *_session(ctx, booking)))
        free = free_rooms(slot, active, schedule.open_space.rooms)
        parts.append(" · free: " if free else " · full")
        for i, free_room in enumerate(free):
            parts.extend((", " if i else "", _room(ctx, free_room.id)))
        rows.append(tuple(parts))
    reply = message(f"Open-space slots (times in {schedule.conference.timezone}); book a free one with ",
                    code(BOOK), ":").items(rows)
    if len(coming) > LIST_MAX:
        reply = reply.line(f"… and {len(coming) - LIST_MAX} more.")
    mine = held_by(active, ctx.sender, now)
    if mine is not None:
        reply = reply.line(*_yours(ctx, mine))
    return reply


def _yours(ctx: Context, booking: Booking) -> tuple[Part, ...]:
    slot = booking_slot(booking, ctx.schedule)
    when = _slot(ctx, slot) if slot else "a slot no longer in the schedule"
    return ("Yours: ", when, ", ", *_session(ctx, booking), ". Cancel it with ", code("!openspace cancel"), ".")


# ---- book --------------------------------------------------------------------------------


async def _book(ctx: Context, words: list[str]) -> None:
    store = bookings(ctx)
    booking = store.by_source(ctx.event_id)
    if booking is None:  # not booked before a crash
        schedule = ctx.schedule
        if not schedule.open_space.rooms:
            await ctx.reply(message("This conference has no open-space rooms to book."))
            return
        slot, used = read_slot(words, numbered_slots(schedule), schedule.conference.tz, ctx.now)
        title = " ".join(words[used:])
        problem = title_problem(title)
        if problem:
            raise UsageError(problem)
        if slot_over(slot, ctx.now):
            await ctx.reply(message(f"{_slot(ctx, slot, 'Slot')} is over; ", code("!openspace"),
                                    " lists the slots still to come."))
            return
        here = object_id(ctx.room.key)
        booking = store.book(ctx.room.conference, slot_start=slot.key, slot_end=slot.end.timestamp(),
                             rooms=room_preference(schedule.open_space.rooms, here), booker=ctx.sender,
                             booker_name=one_line(ctx.sender_name), title=one_line(title), now=ctx.now.timestamp(),
                             source_event_id=ctx.event_id)
        if booking is None:
            await ctx.reply(_refusal(ctx, slot))
            return
        if ctx.wake_clock is not None:
            ctx.wake_clock()  # a slot already running starts at once
    slot = booking_slot(booking, ctx.schedule)
    await ctx.reply(message("Booked: ", _slot(ctx, slot) if slot else "your slot", ", ", *_session(ctx, booking),
                            ". The room takes your session's name at the start; you are reminded here beforehand."))


def _refusal(ctx: Context, slot: NumberedSlot) -> Message:
    """Why a booking the store would not make was refused: the sender holds one, or the slot is full."""
    stored = bookings(ctx).active(ctx.room.conference)
    # Held as the store counts it (a booking whose slot an edit removed still counts until it ends).
    held = held_by(stored, ctx.sender, ctx.now)
    if held is not None:
        return message("You have a booking already (one at a time).").line(*_yours(ctx, held))
    taken = in_slot(in_force(stored, ctx.schedule), slot)
    if not taken:  # cancelled in between: the next try gets it
        return message(f"{_slot(ctx, slot, 'Slot')} could not be booked just now; try again.")
    parts: list[Part] = [f"{_slot(ctx, slot, 'Slot')} is taken: "]
    for i, booking in enumerate(taken):
        parts.extend(("; " if i else "", *_session(ctx, booking)))
    return message(*parts, ".").line(code("!openspace"), " lists the free slots.")


# ---- cancel ------------------------------------------------------------------------------


async def _cancel(ctx: Context, words: list[str]) -> None:
    store = bookings(ctx)
    booking = store.by_cancel(ctx.event_id)
    if booking is None:  # not cancelled before a crash
        target = await _to_cancel(ctx, words)
        if target is None:
            return
        booking = store.cancel(target.id, canceller_name=one_line(ctx.sender_name), at=ctx.now.timestamp(),
                               event_id=ctx.event_id)
        if booking is None or booking.cancel_event_id != ctx.event_id:
            await ctx.reply(message("That booking was cancelled already."))
            return
        if ctx.wake_clock is not None:
            ctx.wake_clock()  # a session running now gives its room back at once
    slot = booking_slot(booking, ctx.schedule)
    cancelled = message("Cancelled: ", _slot(ctx, slot) if slot else "a slot", ", ", *_session(ctx, booking), ".")
    if booking.booker == ctx.sender:
        await ctx.reply(cancelled)
        return
    # Someone else's session: its booker is told, mentioned (a text: notices do not notify).
    await ctx.reply(message(link(user_link(booking.booker), user(booking.booker_name)), ": ", user(ctx.sender_name),
                            " cancelled your open-space session.").line(*cancelled.blocks[0]),
                    notice=False, extra={"m.mentions": {"user_ids": [booking.booker]}})


async def _to_cancel(ctx: Context, words: list[str]) -> Booking | None:
    """The booking a cancel names (the sender's own, or a slot's), or None once the sender is told
    there is none or that it is not theirs to cancel."""
    active = in_force(bookings(ctx).active(ctx.room.conference), ctx.schedule)
    if not words:
        held = held_by(active, ctx.sender, ctx.now)
        if held is None:
            await ctx.reply(message("You have no booking to cancel; ", code("!openspace"), " lists the slots."))
        return held
    slot, used = read_slot(words, numbered_slots(ctx.schedule), ctx.schedule.conference.tz, ctx.now)
    if used < len(words):
        raise UsageError(f"unexpected {quoted(words[used])}; name one slot")
    here = object_id(ctx.room.key)
    taken = [b for b in in_slot(active, slot) if not b.ended(ctx.now)]
    target = next((b for b in taken if b.room == here), taken[0] if len(taken) == 1 else None)
    if target is None:
        if not taken:
            await ctx.reply(message(f"{_slot(ctx, slot, 'Slot')} has no session to cancel."))
        else:
            await ctx.reply(message(f"{_slot(ctx, slot, 'Slot')} has sessions in several rooms; send this in "
                                    "the room of the one to cancel.").items(_session(ctx, b) for b in taken))
        return None
    if target.booker != ctx.sender and ctx.role < Role.MODERATOR:
        await ctx.reply(message("Sorry, cancelling someone else's session (", code("!openspace cancel <slot>"),
                                f") is for moderators; here you are {_a(ctx.role.label)}. Your own: ",
                                code("!openspace cancel"), "."))
        return None
    return target
