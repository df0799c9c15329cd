"""Ticket codes in SQLite (podium.db): which codes admit an attendee, who used each, and the
wrong codes each sender sent.

Only a code's digest is kept (``bot.conference.attendees.code_key``): the data directory holds no
code anyone could send. A code admits one account once: using it is a single conditional UPDATE
(``used_by IS NULL``), so of two accounts sending the same code at once exactly one gets it. The
use records the event that made it, so a message handled again after a crash finds its own use
and finishes it rather than being told the code is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

CODES = "ticket_codes"
WRONG = "ticket_code_attempts"


@dataclass(frozen=True)
class CodeUse:
    used_by: str
    event_id: str
    at: float


class TicketCodeStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def load(self, conference: str, codes: list[tuple[str, str]], at: float) -> int:
        """Add the codes not loaded yet, each as (digest, shape); how many were new."""
        with self.db.conn:
            return sum(self.db.execute(f"INSERT OR IGNORE INTO {CODES} (conference, code_key, shape, loaded_at) "
                                       "VALUES (?, ?, ?, ?)", [conference, key, shape, at]).rowcount
                       for key, shape in codes)

    def shapes(self, conference: str) -> set[str | None]:
        """The shapes of ``conference``'s codes (None for a code loaded before shapes were kept)."""
        rows = self.db.execute(f"SELECT DISTINCT shape FROM {CODES} WHERE conference = ?", [conference]).fetchall()
        return {row[0] for row in rows}

    def count(self, conference: str) -> tuple[int, int]:
        """(codes loaded, codes used) for ``conference``."""
        row = self.db.execute(f"SELECT COUNT(*), COUNT(used_by) FROM {CODES} WHERE conference = ?",
                              [conference]).fetchone()
        return row[0], row[1]

    def use(self, conference: str, key: str, user_id: str, event_id: str, at: float) -> CodeUse | None:
        """Try to use the code ``key`` for ``user_id``; the code's use afterwards (None: no such
        code). The use is this one when its ``event_id`` is ``event_id``."""
        with self.db.conn:
            self.db.execute(f"UPDATE {CODES} SET used_by = ?, used_event_id = ?, used_at = ? "
                            "WHERE conference = ? AND code_key = ? AND used_by IS NULL",
                            [user_id, event_id, at, conference, key])
        row = self.db.execute(f"SELECT used_by, used_event_id, used_at FROM {CODES} "
                              "WHERE conference = ? AND code_key = ?", [conference, key]).fetchone()
        if row is None or row[0] is None:
            return None
        return CodeUse(row[0], row[1], row[2])

    def give_back(self, conference: str, key: str, event_id: str) -> None:
        """Undo the use ``event_id`` made (the invite it was for was refused), so the code admits
        its holder once they can be invited."""
        with self.db.conn:
            self.db.execute(f"UPDATE {CODES} SET used_by = NULL, used_event_id = NULL, used_at = NULL "
                            "WHERE conference = ? AND code_key = ? AND used_event_id = ?", [conference, key, event_id])

    def note_wrong(self, conference: str, sender: str, event_id: str, at: float) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR IGNORE INTO {WRONG} (event_id, conference, sender, at) VALUES (?, ?, ?, ?)",
                            [event_id, conference, sender, at])

    def wrong_since(self, conference: str, sender: str, since: float, besides: str) -> list[float]:
        """When ``sender`` sent wrong codes after ``since``, not counting the message ``besides``
        (the one being handled, should it be handled again after a crash)."""
        rows = self.db.execute(f"SELECT at FROM {WRONG} WHERE conference = ? AND sender = ? AND at > ? "
                               "AND event_id != ?", [conference, sender, since, besides]).fetchall()
        return [row[0] for row in rows]
