"""The bot's direct chats in SQLite (podium.db): one room per person, and the welcome each new
member of the conference space got in theirs.

A welcome is keyed on the member, not on the event of their joining: someone who leaves the
space and comes back is not welcomed again, and neither is anyone after a restart. The row names
the join event it answers, so that event handled again after a crash sends the welcome again
with the same transaction id (which the homeserver drops as a repeat) instead of skipping it.
"""

from __future__ import annotations

import sqlite_utils

DIRECT_ROOMS = "direct_rooms"
WELCOMES = "welcomes"


class DirectRoomStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def room_of(self, user_id: str) -> str | None:
        row = self.db.execute(f"SELECT room_id FROM {DIRECT_ROOMS} WHERE user_id = ?", [user_id]).fetchone()
        return None if row is None else row[0]

    def user_of(self, room_id: str) -> str | None:
        """Whose direct chat ``room_id`` is (None: nobody's)."""
        row = self.db.execute(f"SELECT user_id FROM {DIRECT_ROOMS} WHERE room_id = ?", [room_id]).fetchone()
        return None if row is None else row[0]

    def record(self, user_id: str, room_id: str, at: float) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR REPLACE INTO {DIRECT_ROOMS} (user_id, room_id, at) VALUES (?, ?, ?)",
                            [user_id, room_id, at])

    def forget(self, user_id: str, room_id: str) -> None:
        """``room_id`` is ``user_id``'s direct chat no more (if it was the one on record)."""
        with self.db.conn:
            self.db.execute(f"DELETE FROM {DIRECT_ROOMS} WHERE user_id = ? AND room_id = ?", [user_id, room_id])

    def all(self) -> list[tuple[str, str]]:
        """(person, room) of every direct chat on record."""
        return [(row[0], row[1]) for row in self.db.execute(f"SELECT user_id, room_id FROM {DIRECT_ROOMS}")]

    def welcome(self, conference: str, user_id: str, event_id: str, at: float) -> bool:
        """Claim the welcome of ``user_id`` for the join ``event_id``: True when it is this
        event's to send (new, or this very event's after a crash)."""
        with self.db.conn:
            self.db.execute(f"INSERT OR IGNORE INTO {WELCOMES} (conference, user_id, event_id, at) VALUES (?, ?, ?, ?)",
                            [conference, user_id, event_id, at])
        row = self.db.execute(f"SELECT event_id FROM {WELCOMES} WHERE conference = ? AND user_id = ?",
                              [conference, user_id]).fetchone()
        return row is not None and row[0] == event_id
