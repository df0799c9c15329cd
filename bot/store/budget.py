"""The reply budget's memory in podium.db: each sender's bucket, and the verdict on each command.

Kept in the store, not in memory, because after a crash the bot handles some events again (those
received but not yet marked handled), and it must decide for them what it decided the first
time: its reply carries the transaction id of the first one, so a command first refused and then
run would have its answer swallowed by the homeserver as a repeat of the refusal. One row per
command, keyed by its event id; the sender's latest row is their bucket. Its times are when the
bot received the commands (``bot.store.received``).

Rows older than ``KEEP_SECONDS`` are dropped when the store opens: by then every bucket is full
again and no event that old is handled again.
"""

from __future__ import annotations

import time

import sqlite_utils

BUDGET = "reply_budget"
KEEP_SECONDS = 24 * 3600


class ReplyBudgetStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        with db.conn:
            db.execute(f"DELETE FROM {BUDGET} WHERE at < ?", [time.time() - KEEP_SECONDS])

    def verdict(self, event_id: str) -> tuple[str, float, float, bool] | None:
        """(verdict, tokens, at, warned) recorded for the command ``event_id``, if it was charged."""
        row = self.db.execute(f"SELECT verdict, tokens, at, warned FROM {BUDGET} WHERE event_id = ?",
                              [event_id]).fetchone()
        return None if row is None else (row[0], row[1], row[2], bool(row[3]))

    def bucket(self, sender: str) -> tuple[float, float, bool] | None:
        """(tokens, at, warned) after ``sender``'s latest charged command, if any."""
        row = self.db.execute(f"SELECT tokens, at, warned FROM {BUDGET} WHERE sender = ? ORDER BY rowid DESC LIMIT 1",
                              [sender]).fetchone()
        return None if row is None else (row[0], row[1], bool(row[2]))

    def record(self, event_id: str, sender: str, verdict: str, tokens: float, at: float, warned: bool) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR IGNORE INTO {BUDGET} (event_id, sender, verdict, tokens, at, warned) "
                            f"VALUES (?, ?, ?, ?, ?, ?)", [event_id, sender, verdict, tokens, at, int(warned)])
