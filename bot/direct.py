"""The bot's direct chats: one private room per person, for what is said to one person only (the
welcome, a ticket code and its answer).

A direct chat is found again the way clients find it: the bot's ``m.direct`` account data (what
Element reads to list a room under "People") and, beside it, the store, which survives the
account data being edited elsewhere. Either is used only while the person is still in the room
or invited to it; else a new room is made. The bot also accepts anyone's invitation to a direct
chat (an invite whose member event says ``is_direct``) and records it the same way, so an
attendee can write to the bot before it ever wrote to them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from .matrix import MatrixAdapter, MatrixError
from .store.direct import DirectRoomStore

log = logging.getLogger(__name__)

M_DIRECT = "m.direct"
#: Memberships in which a direct chat still reaches its person.
REACHES = ("join", "invite")


async def direct_room(adapter: MatrixAdapter, db: sqlite_utils.Database, user_id: str) -> str:
    """The room id of the bot's direct chat with ``user_id``: the one on record (the store, or the
    bot's ``m.direct`` account data) if the user is still in it or invited, else a new private
    room created with ``is_direct: true`` and ``user_id`` invited, recorded in both."""
    store = DirectRoomStore(db)
    recorded = store.room_of(user_id)
    account = await adapter.account_data(M_DIRECT)
    listed = account.get(user_id) if isinstance(account.get(user_id), list) else []
    # The store's room first, then the account data's newest first (clients append new rooms).
    for room_id in dict.fromkeys([recorded, *reversed(listed)]):
        if isinstance(room_id, str) and await _reaches(adapter, room_id, user_id):
            if room_id != recorded:
                store.record(user_id, room_id, time.time())
            if room_id not in listed:
                await _list_direct(adapter, user_id, room_id)
            return room_id
    room_id = await adapter.create_room({"preset": "private_chat", "is_direct": True, "invite": [user_id]},
                                        what=f"open a direct chat with {user_id}")
    store.record(user_id, room_id, time.time())
    await _list_direct(adapter, user_id, room_id)
    return room_id


def direct_inviter(bot_user_id: str, invite_state: Iterable[Any]) -> str | None:
    """Who invited the bot to a direct chat, from an invited room's ``invite_state`` (None: the
    invite is not to a direct chat, or is not the bot's)."""
    for event in invite_state:
        if not isinstance(event, dict) or event.get("type") != "m.room.member":
            continue
        content = event.get("content")
        if event.get("state_key") == bot_user_id and isinstance(content, dict) \
                and content.get("membership") == "invite" and content.get("is_direct") is True:
            sender = event.get("sender")
            return sender if isinstance(sender, str) and sender != bot_user_id else None
    return None


async def accept_direct(adapter: MatrixAdapter, db: sqlite_utils.Database, room_id: str, inviter: str) -> bool:
    """Join the direct chat ``inviter`` invited the bot to and record it as theirs. A room with
    someone else in it is no direct chat: the bot leaves it again (False)."""
    await adapter.join(room_id, what=f"accept {inviter}'s direct chat")
    members = await adapter.joined_members(room_id)
    if set(members) - {adapter.user_id, inviter}:
        log.info("left %s: %s invited the bot to it as a direct chat, but others are in it", room_id, inviter)
        await adapter.leave(room_id, what=f"leave {room_id}, which is not a direct chat")
        return False
    DirectRoomStore(db).record(inviter, room_id, time.time())
    await _list_direct(adapter, inviter, room_id)
    return True


async def _reaches(adapter: MatrixAdapter, room_id: str, user_id: str) -> bool:
    try:
        return await adapter.membership(room_id, user_id) in REACHES
    except MatrixError as exc:
        if exc.transient:
            raise
        return False  # the bot left the room, or it is gone


async def _list_direct(adapter: MatrixAdapter, user_id: str, room_id: str) -> None:
    """Add ``room_id`` to the bot's ``m.direct`` under ``user_id``, keeping everything else in it."""
    account = await adapter.account_data(M_DIRECT)
    rooms = account.get(user_id) if isinstance(account.get(user_id), list) else []
    if room_id not in rooms:
        await adapter.put_account_data(M_DIRECT, {**account, user_id: [*rooms, room_id]})
