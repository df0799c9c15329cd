"""What the conference clock has done, and who checked in, in SQLite (podium.db).

A transition is recorded by its key (talk, kind, due time; see ``bot.conference.transitions``)
once it has run or been skipped: a restart repeats nothing, and a talk that moves gets new keys.
A speaker's ``!here`` is kept per talk, so the check-in alert at the start knows who is there.
"""

from __future__ import annotations

import sqlite_utils

DONE = "clock_transitions"
CHECK_INS = "clock_check_ins"
RAN, SKIPPED = "ran", "skipped"


class TransitionStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def done(self, conference: str) -> set[str]:
        """The keys of every transition that ran or was skipped."""
        return {key for (key,) in self.db.execute(f"SELECT key FROM {DONE} WHERE conference = ?", [conference])}

    def record(self, conference: str, key: str, *, kind: str, talk_id: str, due_at: float, done_at: float,
               outcome: str = RAN) -> None:
        with self.db.conn:
            self.db.execute(
                f"INSERT OR IGNORE INTO {DONE} (conference, key, kind, talk_id, due_at, done_at, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [conference, key, kind, talk_id, due_at, done_at, outcome])

    def outcomes(self, conference: str) -> list[tuple[str, str]]:
        """(key, outcome) of everything done, in the order it was done."""
        return list(self.db.execute(f"SELECT key, outcome FROM {DONE} WHERE conference = ? ORDER BY done_at, rowid",
                                    [conference]))

    def check_in(self, conference: str, talk_id: str, user_id: str, at: float) -> bool:
        """Record ``user_id`` as there for ``talk_id``; False when already checked in."""
        with self.db.conn:
            cursor = self.db.execute(f"INSERT OR IGNORE INTO {CHECK_INS} (conference, talk_id, user_id, at) "
                                     "VALUES (?, ?, ?, ?)", [conference, talk_id, user_id, at])
        return cursor.rowcount == 1

    def checked_in(self, conference: str, talk_id: str) -> set[str]:
        return {user for (user,) in self.db.execute(
            f"SELECT user_id FROM {CHECK_INS} WHERE conference = ? AND talk_id = ?", [conference, talk_id])}
