"""The transactions the homeserver pushed to the bot running as an application service, in
podium.db: which ones it handled, so that one pushed again is acknowledged and not handled twice.

A homeserver pushes a transaction again until the bot acknowledges it, and keeps its id: after
the bot stopped halfway, or when an answer was lost on the way back. A transaction is recorded
once every event in it is handled, so one the bot stopped in the middle of is handled again
(each of its events that was handled already is skipped by its handled mark, as with /sync).

Transaction ids are the homeserver's, counted per registration: they are kept under the
registration's id, so a data directory used with another registration does not take that one's
first transactions for ones it has seen.
"""

from __future__ import annotations

import sqlite_utils

PUSHED = "pushed_transactions"


class PushedTransactions:
    def __init__(self, db: sqlite_utils.Database, service: str):
        self.db, self.service = db, service

    def handled(self, txn_id: str) -> bool:
        row = self.db.execute(f"SELECT 1 FROM {PUSHED} WHERE service = ? AND txn_id = ?",
                              [self.service, txn_id]).fetchone()
        return row is not None

    def mark_handled(self, txn_id: str, at: float) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR IGNORE INTO {PUSHED} (service, txn_id, handled_at) VALUES (?, ?, ?)",
                            [self.service, txn_id, at])

    def forget_before(self, cutoff: float) -> int:
        """Drop the marks of transactions handled before ``cutoff`` (unix seconds); how many went."""
        with self.db.conn:
            return self.db.execute(f"DELETE FROM {PUSHED} WHERE handled_at < ?", [cutoff]).rowcount
