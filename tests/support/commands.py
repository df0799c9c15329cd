"""Commands dispatched without a homeserver: a transport that records what would be sent."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bot.commands import REGISTRY, Context, Room, load_all
from bot.conference.roles import Role


class Recorder:
    def __init__(self):
        self.sent: list[tuple[str, str, dict, str]] = []

    async def send(self, room_id, event_type, content, txn_id):
        self.sent.append((room_id, event_type, content, txn_id))
        return f"$sent{len(self.sent)}"

    async def redact(self, room_id, event_id, reason, txn_id):
        self.sent.append((room_id, "m.room.redaction", {"redacts": event_id, "reason": reason}, txn_id))
        return f"$sent{len(self.sent)}"



def dispatch(schedule, db, body: str, *, role: Role, key: str, event_id: str = "$cmd", sender: str = "@a:x",
             at_ms: int = 1_800_000_000_000, transport: Recorder | None = None, rooms: list[Room],
             direct_chat=None) -> list[tuple[str, dict]]:
    """Dispatch ``body`` as ``sender`` in the room of ``key`` (one of ``rooms``); (room id, content)
    of what was sent. ``direct_chat``: what ``Context.direct_chat`` is."""
    room = next(r for r in rooms if r.key == key)
    ctx = Context(event={"event_id": event_id, "type": "m.room.message", "sender": sender,
                         "content": {"msgtype": "m.text", "body": body}}, received_ms=at_ms,
                  room=room, sender=sender, sender_name=sender[1:2].upper(), role=role, db=db, schedule=schedule,
                  now=datetime(2026, 7, 13, 10, 10, tzinfo=timezone.utc), bot_user_id="@bot:x",
                  transport=transport or Recorder(), role_of=lambda user: Role.ATTENDEE, rooms=lambda: rooms,
                  direct_chat=direct_chat)
    load_all()
    asyncio.run(REGISTRY.dispatch(ctx))
    return [(room_id, content) for room_id, _, content, _ in ctx.transport.sent]


def bodies(sent: list[tuple[str, dict]]) -> list[str]:
    """The bodies of the messages sent (redactions have none)."""
    return [content["body"] for _, content in sent if "body" in content]

