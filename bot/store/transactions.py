"""The transactions the homeserver pushed to the bot running as an application service, in
podium.db: which ones it took, so that one pushed again is acknowledged and not taken twice, and
the events of each until they are handled.

The homeserver pushes one transaction at a time, waiting for the bot's answer before the next,
and pushes it again, with its id, until the bot acknowledges it. The bot stores the transaction's
events and its id in one commit (``store``) and answers then, before handling them: a slow reply
holds back no transaction behind it. The events stay pending until handled (``pending_after``,
``handled``), in the order pushed; after a stop they are handled when the bot starts again, each
at most once (an event handled before the stop is skipped by its handled mark, as with /sync).

Transaction ids are the homeserver's, counted per registration: they are kept under the
registration's id, so a data directory used with another registration does not take that one's
first transactions for ones it has seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

PUSHED = "pushed_transactions"
EVENTS = "pushed_events"


@dataclass(frozen=True)
class Pending:
    """A stored transaction whose events are not all handled yet."""

    txn_id: str
    last: int  # the position of its last event among every event stored
    received_at: float  # when the bot stored it (unix seconds)
    events: list[Any]


class PushedTransactions:
    def __init__(self, db: sqlite_utils.Database, service: str):
        self.db, self.service = db, service

    def store(self, txn_id: str, events: list[Any], at: float) -> bool:
        """Keep the transaction's events as pending and its id as taken, in one commit; False
        (nothing stored) when it was taken before."""
        with self.db.conn:
            taken = self.db.execute(f"INSERT OR IGNORE INTO {PUSHED} (service, txn_id, handled_at) VALUES (?, ?, ?)",
                                    [self.service, txn_id, at]).rowcount
            if not taken:
                return False
            self.db.conn.executemany(
                f"INSERT INTO {EVENTS} (service, txn_id, event, received_at) VALUES (?, ?, ?, ?)",
                [(self.service, txn_id, json.dumps(event), at) for event in events])
        return True

    def pending_after(self, position: int) -> Pending | None:
        """The first transaction with events stored after ``position`` (0: the first of all)."""
        first = self.db.execute(f"SELECT txn_id FROM {EVENTS} WHERE service = ? AND seq > ? ORDER BY seq LIMIT 1",
                                [self.service, position]).fetchone()
        if first is None:
            return None
        rows = self.db.execute(f"SELECT seq, event, received_at FROM {EVENTS} WHERE service = ? AND txn_id = ? "
                               "ORDER BY seq", [self.service, first[0]]).fetchall()
        return Pending(first[0], rows[-1][0], rows[0][2], [json.loads(row[1]) for row in rows])

    def handled(self, txn_id: str) -> None:
        """Every event of the transaction is handled: none of it is pending any more."""
        with self.db.conn:
            self.db.execute(f"DELETE FROM {EVENTS} WHERE service = ? AND txn_id = ?", [self.service, txn_id])

    def forget_before(self, cutoff: float) -> int:
        """Drop the ids of transactions taken before ``cutoff`` (unix seconds) whose events are
        all handled; how many went."""
        with self.db.conn:
            return self.db.execute(
                f"DELETE FROM {PUSHED} WHERE handled_at < ? AND NOT EXISTS (SELECT 1 FROM {EVENTS} e "
                f"WHERE e.service = {PUSHED}.service AND e.txn_id = {PUSHED}.txn_id)", [cutoff]).rowcount
