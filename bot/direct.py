"""The bot's direct chats with people: one private room per person, found again, never doubled.

A direct chat is on record in two places: the data directory (which room the bot uses for whom)
and the bot's ``m.direct`` account data, which is where Matrix clients (Element) look to list a
room under *People*. Either is enough to find the room again; the homeserver's membership says
whether the person is still there to read it.
"""

from __future__ import annotations

import asyncio
import weakref
from urllib.parse import quote

import sqlite_utils

from .matrix import CLIENT, MatrixAdapter, MatrixError

_TABLE = "direct_rooms"
#: Whoever is in a direct chat or invited to it can read what the bot sends there.
_PRESENT = ("join", "invite")
#: One creation at a time per person, so two messages for one person at once make one room.
_LOCKS: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


async def direct_room(adapter: MatrixAdapter, db: sqlite_utils.Database, user_id: str) -> str:
    """The room id of the bot's direct chat with ``user_id``: the one on record (the store, or the
    bot's ``m.direct`` account data) if the user is still in it or invited, else a new private
    room created with ``is_direct: true`` and ``user_id`` invited, recorded in both."""
    lock = _LOCKS.setdefault(user_id, asyncio.Lock())
    async with lock:
        _create_table(db)
        row = db.execute(f"SELECT room_id FROM {_TABLE} WHERE user_id = ?", [user_id]).fetchone()
        account = await _m_direct(adapter)
        candidates = ([row[0]] if row else []) + [r for r in account.get(user_id, []) if not row or r != row[0]]
        for room_id in candidates:
            if await _present(adapter, room_id, user_id):
                if not row or row[0] != room_id:
                    _record(db, user_id, room_id)
                return room_id
        room_id = await adapter.create_room(
            {"preset": "trusted_private_chat", "is_direct": True, "invite": [user_id]},
            what=f"start a direct chat with {user_id}")
        _record(db, user_id, room_id)
        rooms = [r for r in account.get(user_id, []) if isinstance(r, str)]
        account[user_id] = [*rooms, room_id]
        await adapter.request("PUT", _m_direct_path(adapter), account, what="record the direct chat (m.direct)")
        return room_id


def _create_table(db: sqlite_utils.Database) -> None:
    with db.conn:
        db.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (user_id TEXT PRIMARY KEY, room_id TEXT NOT NULL)")


def _record(db: sqlite_utils.Database, user_id: str, room_id: str) -> None:
    with db.conn:
        db.execute(f"INSERT OR REPLACE INTO {_TABLE} (user_id, room_id) VALUES (?, ?)", [user_id, room_id])


def _m_direct_path(adapter: MatrixAdapter) -> str:
    return f"{CLIENT}/user/{quote(adapter.user_id)}/account_data/m.direct"


async def _m_direct(adapter: MatrixAdapter) -> dict[str, list[str]]:
    """The bot's ``m.direct``: user id -> rooms (only well-formed entries; none yet is empty)."""
    try:
        data = await adapter.request("GET", _m_direct_path(adapter), what="read the direct chats (m.direct)")
    except MatrixError as exc:
        if exc.errcode == "M_NOT_FOUND":
            return {}
        raise
    if not isinstance(data, dict):
        return {}
    return {user: [r for r in rooms if isinstance(r, str)] for user, rooms in data.items()
            if isinstance(user, str) and isinstance(rooms, list)}


async def _present(adapter: MatrixAdapter, room_id: str, user_id: str) -> bool:
    try:
        return await adapter.membership(room_id, user_id) in _PRESENT
    except MatrixError as exc:
        if exc.transient:
            raise
        return False  # the bot left the room, or it is gone: not a chat to use
