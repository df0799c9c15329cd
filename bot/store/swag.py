"""Sponsors' digital swag codes in SQLite (podium.db): loaded by ``podium swag load``, given out
by ``!swag``.

A code is stored once per sponsor (loading a file again adds only codes not yet there). A claim
is one conditional UPDATE that gives the requester the first free code only while they hold none
of that sponsor's: SQLite runs one writing statement at a time, across every connection to the
file, so of any number of claims at once no two get the same code and no one gets two. The
claim records the event that made it, so the same ``!swag`` handled again after a crash finds
its own code, and whether the direct message with it went out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

CODES = "swag_codes"


@dataclass(frozen=True)
class Claimed:
    """The code someone holds of one sponsor's swag."""

    code: str
    claim_event_id: str
    delivered: bool


class SwagStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def load(self, conference: str, sponsor: str, codes: Iterable[str], at: float) -> int:
        """Add the codes not yet loaded for the sponsor, all in one transaction; how many were new."""
        with self.db.conn:
            return sum(self.db.execute(
                f"INSERT OR IGNORE INTO {CODES} (conference, sponsor, code, loaded_at) VALUES (?, ?, ?, ?)",
                [conference, sponsor, code, at]).rowcount for code in codes)

    def claim(self, conference: str, sponsor: str, user_id: str, *, event_id: str, at: float) -> Claimed | None:
        """The code ``user_id`` holds after ``event_id`` asked for one: a free code, now theirs, if
        they held none; the one they had; None when none is left for them."""
        with self.db.conn:
            self.db.execute(
                f"""UPDATE {CODES} SET claimed_by = ?, claim_event_id = ?, claimed_at = ?
                    WHERE rowid = (SELECT rowid FROM {CODES} WHERE conference = ? AND sponsor = ?
                                   AND claimed_by IS NULL ORDER BY rowid LIMIT 1)
                      AND NOT EXISTS (SELECT 1 FROM {CODES} WHERE conference = ? AND sponsor = ? AND claimed_by = ?)""",
                [user_id, event_id, at, conference, sponsor, conference, sponsor, user_id])
        return self.held(conference, sponsor, user_id)

    def held(self, conference: str, sponsor: str, user_id: str) -> Claimed | None:
        row = self.db.execute(f"""SELECT code, claim_event_id, delivered_at FROM {CODES}
                                  WHERE conference = ? AND sponsor = ? AND claimed_by = ?""",
                              [conference, sponsor, user_id]).fetchone()
        return None if row is None else Claimed(row[0], row[1], row[2] is not None)

    def delivered(self, conference: str, sponsor: str, user_id: str, at: float) -> None:
        """Note that ``user_id`` has been sent their code."""
        with self.db.conn:
            self.db.execute(f"""UPDATE {CODES} SET delivered_at = ?
                                WHERE conference = ? AND sponsor = ? AND claimed_by = ? AND delivered_at IS NULL""",
                            [at, conference, sponsor, user_id])

    def counts(self, conference: str, sponsor: str) -> tuple[int, int]:
        """(codes left, codes loaded) for the sponsor."""
        left, total = self.db.execute(
            f"SELECT COUNT(*) - COUNT(claimed_by), COUNT(*) FROM {CODES} WHERE conference = ? AND sponsor = ?",
            [conference, sponsor]).fetchone()
        return left, total
