"""Announcements (``!announce``) in SQLite (podium.db): each one, and its delivery to each room.

An announcement is keyed by the ``!announce`` event, and the rooms it goes to are recorded with
it the first time it is handled: handled again after a crash, it goes to the same rooms even if
the bot has joined others since. Each (announcement, room) is ``due``, then ``sending`` from just
before its request leaves, then ``sent`` with the event id the homeserver gave it. After a
restart the rooms not yet ``sent`` are sent again with the same transaction id (derived from the
announcement and the room), so one whose request reached the homeserver before the crash is
not posted twice: the homeserver answers with the event it already has.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

ANNOUNCEMENTS, DELIVERIES = "announcements", "announcement_rooms"
DUE, SENDING, SENT = "due", "sending", "sent"


@dataclass(frozen=True)
class Delivery:
    room_key: str
    room_id: str
    state: str
    posted_event_id: str | None


class AnnouncementStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def start(self, event_id: str, *, conference: str, sender: str, selector: str, text: str, at: float,
              rooms: list[tuple[str, str]]) -> list[Delivery]:
        """Record the announcement ``event_id`` and the (room key, room id) pairs it goes to, unless
        it was recorded before; its deliveries as recorded, in order."""
        with self.db.conn:
            new = self.db.execute(
                f"INSERT OR IGNORE INTO {ANNOUNCEMENTS} (event_id, conference, sender, selector, text, made_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", [event_id, conference, sender, selector, text, at]).rowcount
            if new:
                self.db.conn.executemany(
                    f"INSERT INTO {DELIVERIES} (event_id, position, room_key, room_id) VALUES (?, ?, ?, ?)",
                    [(event_id, position, key, room_id) for position, (key, room_id) in enumerate(rooms)])
        return self.deliveries(event_id)

    def sending(self, event_id: str, room_key: str) -> None:
        self._set(event_id, room_key, SENDING, None)

    def sent(self, event_id: str, room_key: str, posted_event_id: str) -> None:
        self._set(event_id, room_key, SENT, posted_event_id)

    def deliveries(self, event_id: str) -> list[Delivery]:
        rows = self.db.execute(f"SELECT room_key, room_id, state, posted_event_id FROM {DELIVERIES} "
                               "WHERE event_id = ? ORDER BY position", [event_id]).fetchall()
        return [Delivery(*row) for row in rows]

    def _set(self, event_id: str, room_key: str, state: str, posted_event_id: str | None) -> None:
        with self.db.conn:
            self.db.execute(f"UPDATE {DELIVERIES} SET state = ?, posted_event_id = COALESCE(?, posted_event_id) "
                            "WHERE event_id = ? AND room_key = ?", [state, posted_event_id, event_id, room_key])
