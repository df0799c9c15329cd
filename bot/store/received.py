"""When the bot first received each event, in podium.db: the time every limit and every poll's
close go by.

An event's ``origin_server_ts`` is what its sender's homeserver wrote, and a hostile server
writes what it likes: dated an hour back, a flood of wrong ticket codes would each fall in a
window of its own. The bot's own clock is the only time no sender sets. Each event is stamped
once, when the runtime first sees it, and the stamp is kept here keyed by its event id, so an
event handled again after a crash is decided at the time it was first received.

Stamps are milliseconds and strictly increasing in the order the bot saw the events (the
timeline's order within a room): two events received within the same millisecond still have an
order, so "received after the poll closed" has one answer.

The runtime drops stamps when it drops the marks of handled events (``KEEP_HANDLED_SECONDS``):
by then the event was handled long ago, and the homeserver does not deliver it again.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

RECEIVED = "received_events"


class ReceivedStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def of(self, event_id: str) -> int | None:
        """When ``event_id`` was first received (unix milliseconds), if it has been."""
        row = self.db.execute(f"SELECT received_ms FROM {RECEIVED} WHERE event_id = ?", [event_id]).fetchone()
        return None if row is None else row[0]

    def stamp(self, event_ids: Iterable[str], now: float) -> dict[str, int]:
        """The receive time (unix milliseconds) of each of ``event_ids``, in that order: the one
        recorded when it was first seen, else ``now`` (unix seconds), each new stamp after every
        earlier one. One transaction for them all."""
        stamps: dict[str, int] = {}
        with self.db.conn:
            latest = self.db.execute(f"SELECT MAX(received_ms) FROM {RECEIVED}").fetchone()[0]
            next_ms = max(int(now * 1000), (latest if latest is not None else -1) + 1)
            for event_id in event_ids:
                seen = self.of(event_id)
                if seen is not None:
                    stamps[event_id] = seen
                    continue
                self.db.execute(f"INSERT INTO {RECEIVED} (event_id, received_ms) VALUES (?, ?)", [event_id, next_ms])
                stamps[event_id], next_ms = next_ms, next_ms + 1
        return stamps

    def forget_before(self, cutoff: float) -> int:
        """Drop the stamps of events received before ``cutoff`` (unix seconds); how many went."""
        with self.db.conn:
            return self.db.execute(f"DELETE FROM {RECEIVED} WHERE received_ms < ?", [int(cutoff * 1000)]).rowcount
