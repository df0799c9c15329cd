"""Open-space booking, pure: the slots people book, how they name one, and the booking rules.

The schedule's ``open_space`` lists rooms and slots; every slot can be booked once in every
room, so a slot holds as many sessions as there are rooms. Slots are numbered 1, 2, 3 … in start
order, over the whole conference, so a slot keeps its number all day (``!openspace`` lists the
ones not yet over by those numbers). A person holds at most one booking that has not ended.

A booking names its slot by its start (the schedule's slots never overlap, so the start is
unique) and its room by id. A booking whose slot or room an edit of the schedule removed is
dormant: not listed, not run by the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from .schedule import OpenSpaceRoom, Schedule, Slot
from .userinput import UsageError, quoted, read_number, text_problem

#: A session's title: enough to say what it is about, short enough for a room name.
MIN_TITLE, MAX_TITLE = 3, 80
#: The room kind where the commands are used.
KIND = "open-space"
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOT_HINT = "name the slot by its number as !openspace lists it (2) or its start (14:00, Tue 14:00)"


@dataclass(frozen=True)
class Booking:
    id: int
    slot_start: float  # unix seconds: the slot's start, which names it
    slot_end: float  # as the slot was when booked (the one-per-person rule counts until then)
    room: str  # the open-space room's id
    booker: str
    booker_name: str
    title: str
    booked_at: float  # conference clock, unix seconds
    source_event_id: str
    cancelled_at: float | None = None
    cancel_event_id: str | None = None
    canceller_name: str | None = None

    @property
    def active(self) -> bool:
        return self.cancelled_at is None

    def ended(self, now: datetime) -> bool:
        return self.slot_end <= now.timestamp()


@dataclass(frozen=True)
class NumberedSlot:
    number: int  # 1-based, in start order
    slot: Slot

    @property
    def start(self) -> datetime:
        return self.slot.start

    @property
    def end(self) -> datetime:
        return self.slot.end

    @property
    def key(self) -> float:
        """The slot as bookings store it: its start in unix seconds."""
        return self.slot.start.timestamp()


def numbered_slots(schedule: Schedule) -> list[NumberedSlot]:
    return [NumberedSlot(n, slot) for n, slot in
            enumerate(sorted(schedule.open_space.slots, key=lambda s: s.start), 1)]


def slot_label(slot: NumberedSlot, zone: tzinfo) -> str:
    """``Tue 13:00–13:30`` in the conference's time zone."""
    start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
    return f"{start:%a %H:%M}–{end:%H:%M}"


# ----------------------------------------------------------------------------- naming a slot


def read_slot(words: Sequence[str], slots: Sequence[NumberedSlot], zone: tzinfo,
              now: datetime) -> tuple[NumberedSlot, int]:
    """The slot ``words`` start with, and how many words named it: a number (``2``, ``#2``), a
    start time (``14:00``: the first slot at that time not yet over, else the last one) or a
    day and a time (``Tue 14:00``, ``tuesday 14:00``). UsageError, saying what to type, else."""
    if not words:
        raise UsageError(f"say which slot: {SLOT_HINT}")
    first = words[0]
    day = _weekday(first)
    if day is not None:
        if len(words) < 2 or not _TIME.fullmatch(words[1]):
            raise UsageError(f"after {quoted(first)} give the slot's start time, e.g. {first} 14:00")
        return _at_time(words[1], slots, zone, now, day), 2
    if _TIME.fullmatch(first):
        return _at_time(first, slots, zone, now, None), 1
    if not slots:
        raise UsageError("this conference has no open-space slots")
    number = read_number(first, SLOT_HINT, prefix="#")
    if number > len(slots):
        raise UsageError(f"there is no slot {number}; the slots are 1 to {len(slots)} ({SLOT_HINT})")
    return slots[number - 1], 1


def _weekday(word: str) -> int | None:
    word = word.casefold()
    for index, day in enumerate(_DAYS):
        full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[index]
        if word in (day, full):
            return index
    return None


def _at_time(word: str, slots: Sequence[NumberedSlot], zone: tzinfo, now: datetime,
             weekday: int | None) -> NumberedSlot:
    match = _TIME.fullmatch(word)
    assert match is not None
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise UsageError(f"{quoted(word)} is not a time of day; {SLOT_HINT}")
    starting = [s for s in slots
                if (s.start.astimezone(zone).hour, s.start.astimezone(zone).minute) == (hour, minute)
                and (weekday is None or s.start.astimezone(zone).weekday() == weekday)]
    if not starting:
        day = "" if weekday is None else f"on {_DAYS[weekday].capitalize()} "
        raise UsageError(f"no open-space slot starts {day}at {hour:02d}:{minute:02d}; "
                         "!openspace lists the slots")
    return next((s for s in starting if s.end > now), starting[-1])


# ----------------------------------------------------------------------------- the rules


def title_problem(title: str) -> str | None:
    """Why ``title`` cannot name a session, or None when it can."""
    return text_problem(title, least=MIN_TITLE, most=MAX_TITLE, what="a session's title",
                        missing="give your session a title after the slot, e.g. !openspace book 2 Rust and Matrix")


def in_force(bookings: Iterable[Booking], schedule: Schedule) -> list[Booking]:
    """The active bookings whose slot and room the schedule still has, by slot then room order."""
    slots = {s.key for s in numbered_slots(schedule)}
    rooms = [room.id for room in schedule.open_space.rooms]
    kept = [b for b in bookings if b.active and b.slot_start in slots and b.room in rooms]
    return sorted(kept, key=lambda b: (b.slot_start, rooms.index(b.room)))


def held_by(bookings: Iterable[Booking], person: str, now: datetime) -> Booking | None:
    """The active booking of ``person`` that has not ended, if any (one at a time)."""
    return next((b for b in bookings if b.active and b.booker == person and not b.ended(now)), None)


def in_slot(bookings: Iterable[Booking], slot: NumberedSlot) -> list[Booking]:
    return [b for b in bookings if b.active and b.slot_start == slot.key]


def free_rooms(slot: NumberedSlot, bookings: Iterable[Booking], rooms: Sequence[OpenSpaceRoom]) -> list[OpenSpaceRoom]:
    taken = {b.room for b in in_slot(bookings, slot)}
    return [room for room in rooms if room.id not in taken]


def room_preference(rooms: Sequence[OpenSpaceRoom], here: str | None) -> list[str]:
    """The rooms a booking may take, best first: the room the command was sent in, then the
    schedule's order."""
    ids = [room.id for room in rooms]
    return sorted(ids, key=lambda room: room != here)


def slot_over(slot: NumberedSlot, now: datetime) -> bool:
    return slot.end <= now


def booking_slot(booking: Booking, schedule: Schedule) -> NumberedSlot | None:
    return next((s for s in numbered_slots(schedule) if s.key == booking.slot_start), None)


def session_room(schedule: Schedule, room_id: str) -> OpenSpaceRoom | None:
    return next((room for room in schedule.open_space.rooms if room.id == room_id), None)


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# ----------------------------------------------------------------------------- the room while it runs


def session_name(booking: Booking, room: OpenSpaceRoom) -> str:
    """The room's name while the session runs: its title first, as the room list shows it."""
    return f"{booking.title} · {room.name}"


def video_call(schedule: Schedule, room: OpenSpaceRoom) -> str | None:
    """The address of the room's video call (the one its template's widget joins), if it has one."""
    if not room.video:
        return None
    return f"https://{schedule.conference.video.jitsi_domain}/{schedule.conference.id}-open-{room.id}"


def session_topic(booking: Booking, end: datetime, zone: tzinfo, video: str | None) -> str:
    """The room's topic while the session runs, with the call's address for clients without widgets."""
    topic = f"Open space: {booking.title} — by {booking.booker_name}, until {end.astimezone(zone):%H:%M}"
    return f"{topic} · Video call: {video}" if video else topic


# ----------------------------------------------------------------------------- what the pages show


@dataclass(frozen=True)
class Session:
    """A booking in force with its slot and room, as the pages and the calendar show it."""

    booking: Booking
    slot: NumberedSlot
    room: OpenSpaceRoom


def sessions(schedule: Schedule, bookings: Iterable[Booking]) -> list[Session]:
    """The sessions of the active bookings the schedule still has a slot and a room for, by slot
    then room order."""
    made = []
    for booking in in_force(bookings, schedule):
        slot, room = booking_slot(booking, schedule), session_room(schedule, booking.room)
        if slot is not None and room is not None:
            made.append(Session(booking, slot, room))
    return made
