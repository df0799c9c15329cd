"""The bot's direct chats: one private room per person, for what is said to one person only (the
welcome, a swag code, a ticket code and its answer).

A direct chat is found again the way clients find it: the bot's ``m.direct`` account data (what
Element reads to list a room under "People") and, beside it, the store, which survives the
account data being edited elsewhere. The bot also accepts anyone's invitation to a direct chat
(an invite whose member event says ``is_direct``) and records it the same way, so an attendee can
write to the bot before it ever wrote to them.

A room is the person's direct chat only while the two of them are all it holds: whoever is
joined to it or invited into it is read each time the bot is about to say something private
there, since anyone can be invited into a room after the bot took it. A room the person left is
passed over (a new one is made); a room someone else is in is left, the bot saying as it leaves
that it writes in a new direct chat, so no code ever reaches a third person.

Every direct chat the bot takes or makes is listed in its ``m.direct``. The homeserver keeps the
last of two writes of account data, so the adapter makes one change at a time, and each change
lists every room on record again: a listing another writer dropped comes back with the next.
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
#: What the bot says, as it leaves, in a direct chat someone else came into.
SHARED_REASON = ("Someone else is in this chat now, so it is not private any more: I write to you in a new direct "
                 "chat of the two of us.")
#: What the bot says, as it leaves, in a room it was invited to as a direct chat that holds others.
NOT_DIRECT_REASON = "I talk one to one only: start a direct chat with me alone."


async def direct_room(adapter: MatrixAdapter, db: sqlite_utils.Database, user_id: str) -> str:
    """The room id of the bot's direct chat with ``user_id``, private as of now: the one on record
    (the store, or the bot's ``m.direct`` account data) while only the bot and ``user_id`` are in
    it or invited, else a new private room created with ``is_direct: true`` and ``user_id``
    invited, recorded in both. A room on record that others are in is left."""
    store = DirectRoomStore(db)
    recorded = store.room_of(user_id)
    account = await adapter.account_data(M_DIRECT)
    listed = _rooms_listed(account, user_id)
    # The store's room first, then the account data's newest first (clients append new rooms).
    for room_id in dict.fromkeys([recorded, *reversed(listed)]):
        if not isinstance(room_id, str):
            continue
        others = await _others_in(adapter, room_id, user_id)
        if others is None:
            continue  # the person left it, or the bot did
        if others:
            await _leave_shared(adapter, room_id, user_id, others)
            store.forget(user_id, room_id)
            continue
        if room_id != recorded:
            store.record(user_id, room_id, time.time())
        if room_id not in listed:
            await _list_direct(adapter, db, user_id, room_id)
        return room_id
    room_id = await adapter.create_room({"preset": "private_chat", "is_direct": True, "invite": [user_id]},
                                        what=f"open a direct chat with {user_id}")
    store.record(user_id, room_id, time.time())
    await _list_direct(adapter, db, user_id, room_id)
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
    someone else in it or invited to it is no direct chat: the bot leaves it again (False)."""
    await adapter.join(room_id, what=f"accept {inviter}'s direct chat")
    members = await adapter.members(room_id)
    if set(members) - {adapter.user_id, inviter}:
        log.info("left %s: %s invited the bot to it as a direct chat, but others are in it", room_id, inviter)
        await adapter.leave(room_id, what=f"leave {room_id}, which is not a direct chat", reason=NOT_DIRECT_REASON)
        return False
    DirectRoomStore(db).record(inviter, room_id, time.time())
    await _list_direct(adapter, db, inviter, room_id)
    return True


async def _others_in(adapter: MatrixAdapter, room_id: str, user_id: str) -> set[str] | None:
    """Who besides the bot and ``user_id`` is in ``room_id`` or invited to it; None when the room
    reaches ``user_id`` no more (they left, the bot left, or it is gone)."""
    try:
        members = await adapter.members(room_id)
    except MatrixError as exc:
        if exc.transient:
            raise
        return None  # the bot left the room, or it is gone
    if members.get(adapter.user_id) != "join" or user_id not in members:
        return None
    return set(members) - {adapter.user_id, user_id}


async def _leave_shared(adapter: MatrixAdapter, room_id: str, user_id: str, others: set[str]) -> None:
    log.info("left %s, %s's direct chat: %d others are in it now", room_id, user_id, len(others))
    try:
        await adapter.leave(room_id, what=f"leave {room_id}, which others joined", reason=SHARED_REASON)
    except MatrixError as exc:
        if exc.transient:
            raise
        log.warning("could not leave %s, which others joined: %s", room_id, exc)
    await adapter.change_account_data(M_DIRECT, lambda account: _without(account, user_id, room_id))


async def _list_direct(adapter: MatrixAdapter, db: sqlite_utils.Database, user_id: str, room_id: str) -> None:
    """Add ``room_id`` to the bot's ``m.direct`` under ``user_id``, with every direct chat on
    record, keeping everything else in it."""
    recorded = DirectRoomStore(db).all()
    await adapter.change_account_data(M_DIRECT, lambda account: _listing(account, [*recorded, (user_id, room_id)]))


def _rooms_listed(account: dict[str, Any], user_id: str) -> list[Any]:
    rooms = account.get(user_id)
    return rooms if isinstance(rooms, list) else []


def _listing(account: dict[str, Any], chats: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``m.direct`` with each (person, room) of ``chats`` in it, the rest as it was."""
    listing = dict(account)
    for user_id, room_id in chats:
        rooms = _rooms_listed(listing, user_id)
        if room_id not in rooms:
            listing[user_id] = [*rooms, room_id]
    return listing


def _without(account: dict[str, Any], user_id: str, room_id: str) -> dict[str, Any]:
    rooms = _rooms_listed(account, user_id)
    if room_id not in rooms:
        return account
    return {**account, user_id: [room for room in rooms if room != room_id]}
