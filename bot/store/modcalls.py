"""Calls for a moderator (``!mod``) in SQLite (podium.db): who called from where, and when.

Keyed by the ``!mod`` event, so a call handled again after a crash is found as made, and its
notice is sent again with the same transaction id rather than counted as a second call. Times
are when the bot received the calls (``bot.store.received``), recorded when first seen, so a
call handled again is measured as it was the first time: only calls made before it count
against it. Never the caller's server's ``origin_server_ts``, which a caller could date apart.
"""

from __future__ import annotations

import sqlite_utils

CALLS = "mod_calls"


class ModCallStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def record(self, event_id: str, conference: str, room_id: str, sender: str, at: float) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR IGNORE INTO {CALLS} (event_id, conference, room_id, sender, at) "
                            "VALUES (?, ?, ?, ?, ?)", [event_id, conference, room_id, sender, at])

    def made(self, event_id: str) -> bool:
        return self.db.execute(f"SELECT 1 FROM {CALLS} WHERE event_id = ?", [event_id]).fetchone() is not None

    def in_room(self, conference: str, room_id: str, since: float, until: float) -> list[float]:
        """When calls were made from ``room_id`` in (``since``, ``until``]."""
        return self._times("room_id", conference, room_id, since, until)

    def by_sender(self, conference: str, sender: str, since: float, until: float) -> list[float]:
        """When ``sender`` called, anywhere, in (``since``, ``until``]."""
        return self._times("sender", conference, sender, since, until)

    def _times(self, column: str, conference: str, value: str, since: float, until: float) -> list[float]:
        rows = self.db.execute(f"SELECT at FROM {CALLS} WHERE conference = ? AND {column} = ? AND at > ? AND at <= ?",
                               [conference, value, since, until]).fetchall()
        return [row[0] for row in rows]
