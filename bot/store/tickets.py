"""Helpdesk tickets in SQLite (podium.db).

Idempotence is in the keys, because after a crash the bot may handle an event again: a ticket is
keyed by the ``!helpdesk`` event that opened it, and a claim or a close records the event that
made it, so handling any of them twice changes nothing and finds its own outcome again.

Numbers are per conference and never given twice: a ticket is never deleted, and the next
number is taken in the same statement that stores the ticket. A claim succeeds only while the
ticket is waiting, in one UPDATE: of two staff claiming at once, exactly one gets it.
"""

from __future__ import annotations

import sqlite_utils

from ..conference.helpdesk import CLAIMED, DONE, WAITING, Ticket
from .records import Records, insert_numbered

TICKETS = "helpdesk_tickets"


class TicketStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self._rows = Records(db, TICKETS, Ticket)

    def open(self, conference: str, *, desk: str, room_id: str, room_key: str, asker: str, asker_name: str,
             text: str, asked_at: float, source_event_id: str) -> Ticket:
        """The ticket ``source_event_id`` opens: a new one with the next number, or the one it
        opened already."""
        with self.db.conn:
            insert_numbered(self.db, TICKETS, {
                "conference": conference, "desk": desk, "room_id": room_id, "room_key": room_key, "asker": asker,
                "asker_name": asker_name, "text": text, "asked_at": asked_at, "source_event_id": source_event_id},
                numbered_within=("conference",))
        found = self.by_source(source_event_id)
        assert found is not None
        return found

    def claim(self, conference: str, number: int, *, claimer: str, claimer_name: str, at: float,
              event_id: str) -> Ticket | None:
        """Ticket ``number`` after ``event_id`` tried to claim it (None: there is no such ticket).
        The claim is ``event_id``'s when the ticket's ``claim_event_id`` says so afterwards."""
        with self.db.conn:
            self.db.execute(f"""UPDATE {TICKETS} SET state = ?, claimer = ?, claimer_name = ?, claimed_at = ?,
                                    claim_event_id = ?
                                WHERE conference = ? AND number = ? AND state = ?""",
                            [CLAIMED, claimer, claimer_name, at, event_id, conference, number, WAITING])
        return self.get(conference, number)

    def close(self, conference: str, number: int, *, closer_name: str, at: float, event_id: str) -> Ticket | None:
        """Ticket ``number`` after ``event_id`` tried to close it (waiting or claimed); it closed it
        when the ticket's ``done_event_id`` says so afterwards."""
        with self.db.conn:
            self.db.execute(f"""UPDATE {TICKETS} SET state = ?, closer_name = ?, done_at = ?, done_event_id = ?
                                WHERE conference = ? AND number = ? AND state != ?""",
                            [DONE, closer_name, at, event_id, conference, number, DONE])
        return self.get(conference, number)

    def get(self, conference: str, number: int) -> Ticket | None:
        return self._rows.one("WHERE conference = ? AND number = ?", [conference, number])

    def by_source(self, source_event_id: str) -> Ticket | None:
        return self._rows.one("WHERE source_event_id = ?", [source_event_id])

    def open_at(self, conference: str, desk: str) -> list[Ticket]:
        """The desk's waiting and claimed tickets, oldest first."""
        return self._rows.many("WHERE conference = ? AND desk = ? AND state != ? ORDER BY number",
                               [conference, desk, DONE])
