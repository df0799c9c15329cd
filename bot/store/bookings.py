"""Open-space bookings in SQLite (podium.db).

Idempotence is in the keys, because after a crash the bot may handle an event again: a booking
is keyed by the ``!openspace book`` event that made it and a cancellation records the event
that made it, so handling either twice finds its own outcome again.

Both rules are one conditional INSERT: it takes the first room of the slot that is free, only
while the booker holds no booking that has not ended. Of two people booking the last free room
of a slot at once exactly one gets it, and one person sending two bookings at once gets one.
A partial unique index keeps one active booking per slot and room even for a second writer.
Bookings are never deleted, only cancelled, so their ids (in the clock's keys and the calendar's
UIDs) are never given twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlite_utils

from ..conference.openspace import Booking
from .records import Records, read_only

BOOKINGS = "open_space_bookings"
_ACTIVE = "WHERE conference = ? AND cancelled_at IS NULL ORDER BY slot_start, id"


def bookings_in(database: Path, conference: str) -> list[Booking]:
    """The active bookings kept in ``database`` (a bot's podium.db), read without writing anything."""
    with read_only(database, BOOKINGS) as db:
        return [] if db is None else Records(db, BOOKINGS, Booking).many(_ACTIVE, [conference])


class BookingStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self._rows = Records(db, BOOKINGS, Booking)

    def book(self, conference: str, *, slot_start: float, slot_end: float, rooms: Sequence[str], booker: str,
             booker_name: str, title: str, now: float, source_event_id: str) -> Booking | None:
        """The booking ``source_event_id`` made: in the first of ``rooms`` free in the slot, if
        ``booker`` holds no booking that ends after ``now``; None when it could not be made."""
        if rooms:
            candidates = " UNION ALL ".join("SELECT ? AS room, ? AS position" for _ in rooms)
            with self.db.conn:
                self.db.execute(
                    f"""INSERT OR IGNORE INTO {BOOKINGS} (conference, slot_start, slot_end, room, booker, booker_name,
                            title, booked_at, source_event_id)
                        SELECT ?, ?, ?, candidates.room, ?, ?, ?, ?, ? FROM ({candidates}) AS candidates
                        WHERE NOT EXISTS (SELECT 1 FROM {BOOKINGS} AS taken WHERE taken.conference = ?
                                AND taken.slot_start = ? AND taken.room = candidates.room AND taken.cancelled_at IS NULL)
                          AND NOT EXISTS (SELECT 1 FROM {BOOKINGS} AS held WHERE held.conference = ?
                                AND held.booker = ? AND held.cancelled_at IS NULL AND held.slot_end > ?)
                        ORDER BY candidates.position LIMIT 1""",
                    [conference, slot_start, slot_end, booker, booker_name, title, now, source_event_id,
                     *[value for position, room in enumerate(rooms) for value in (room, position)],
                     conference, slot_start, conference, booker, now])
        return self.by_source(source_event_id)

    def cancel(self, booking_id: int, *, canceller_name: str, at: float, event_id: str) -> Booking | None:
        """Booking ``booking_id`` after ``event_id`` tried to cancel it; cancelled by it when its
        ``cancel_event_id`` says so afterwards."""
        with self.db.conn:
            self.db.execute(f"""UPDATE {BOOKINGS} SET cancelled_at = ?, cancel_event_id = ?, canceller_name = ?
                                WHERE id = ? AND cancelled_at IS NULL""", [at, event_id, canceller_name, booking_id])
        return self.get(booking_id)

    def get(self, booking_id: int) -> Booking | None:
        return self._rows.one("WHERE id = ?", [booking_id])

    def by_source(self, source_event_id: str) -> Booking | None:
        return self._rows.one("WHERE source_event_id = ?", [source_event_id])

    def by_cancel(self, event_id: str) -> Booking | None:
        return self._rows.one("WHERE cancel_event_id = ?", [event_id])

    def all(self, conference: str) -> list[Booking]:
        """Every booking of the conference, cancelled ones too (the clock restores a room whose
        session was cancelled while it ran), in the order they were made."""
        return self._rows.many("WHERE conference = ? ORDER BY id", [conference])

    def active(self, conference: str) -> list[Booking]:
        return self._rows.many(_ACTIVE, [conference])
