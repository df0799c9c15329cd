"""What the bot knows of its rooms: a snapshot of their managed state as of a /sync token.

Pure. A full /sync replaces the snapshot; an incremental one (``since`` the snapshot's token)
is folded into it, so a re-apply reads only what changed since the last run instead of every
room's state. The snapshot is plain JSON-ready data for the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import CANONICAL_ALIAS, CREATE, LOCATOR, Observed, ObservedRoom, UntrustedRoom

RoomState = dict[str, dict[str, Any]]  # event type -> state key -> content


@dataclass
class SyncDelta:
    """One /sync answer, reduced to the state events of joined rooms and the rooms left."""

    next_batch: str
    full: bool  # a full-state sync: replaces everything known
    joined: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)


@dataclass
class Snapshot:
    since: str | None = None
    rooms: dict[str, RoomState] = field(default_factory=dict)  # room id -> state
    # room id -> user -> membership, for users Podium invites. Only ever a settled fact
    # (invited, joined, left, banned): Podium acts on none of them, so they need no re-check.
    memberships: dict[str, dict[str, str]] = field(default_factory=dict)
    # room id -> who created it: the sender of its m.room.create event, which nobody can change.
    creators: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "rooms": self.rooms, "memberships": self.memberships,
                "creators": self.creators}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Snapshot":
        if "creators" not in data:
            # Kept before creators were: it cannot tell whose rooms are whose, so read them afresh.
            return cls()
        return cls(data.get("since"), data.get("rooms", {}), data.get("memberships", {}), data["creators"])


def apply_event(state: RoomState, creators: dict[str, str], room_id: str, event: dict[str, Any]) -> None:
    """Fold one event into a room's state; a room's creation event also names its creator."""
    if "state_key" not in event:
        return
    state.setdefault(event["type"], {})[event["state_key"]] = event.get("content") or {}
    if event["type"] == CREATE and event["state_key"] == "" and isinstance(event.get("sender"), str):
        creators[room_id] = event["sender"]


def fold(snapshot: Snapshot, delta: SyncDelta) -> Snapshot:
    """The snapshot after ``delta``."""
    if delta.full:
        rooms: dict[str, RoomState] = {}
        creators: dict[str, str] = {}
    else:
        rooms = {room_id: {t: dict(s) for t, s in state.items()} for room_id, state in snapshot.rooms.items()}
        creators = dict(snapshot.creators)
    for room_id, events in delta.joined.items():
        state = rooms.setdefault(room_id, {})
        for event in events:
            apply_event(state, creators, room_id, event)
    for room_id in delta.left:
        rooms.pop(room_id, None)
    memberships = {room_id: users for room_id, users in snapshot.memberships.items() if room_id in rooms}
    return Snapshot(delta.next_batch, rooms, memberships, {r: c for r, c in creators.items() if r in rooms})


def observed_room(room_id: str, state: RoomState, creator: str | None) -> ObservedRoom:
    flat = {(t, k): content for t, by_key in state.items() for k, content in by_key.items()}
    version = str(flat.get((CREATE, ""), {}).get("room_version", "1"))
    return ObservedRoom(room_id, flat, version, creator)


def claimed_key(state: RoomState, conference_id: str) -> str | None:
    """The conference object a room's locator says it stands for, if it names this conference.
    Only a claim: anyone with enough power in a room can write its locator."""
    locator = state.get(LOCATOR, {}).get("", {})
    if not isinstance(locator, dict) or locator.get("conference") != conference_id:
        return None
    key = locator.get("key")
    return key if isinstance(key, str) else None


def conference_rooms(snapshot: Snapshot, conference_id: str, bot_user_id: str) -> Observed:
    """The conference's rooms by key, with the memberships known for them.

    A room is the conference's only if the bot created it. Rooms that claim a key without that
    are listed apart (``untrusted``), to be reported and otherwise left alone."""
    observed = Observed()
    for room_id, state in snapshot.rooms.items():
        key = claimed_key(state, conference_id)
        if key is None:
            continue
        creator = snapshot.creators.get(room_id)
        if creator != bot_user_id:
            observed.untrusted.append(UntrustedRoom(key, room_id, creator))
            continue
        room = observed_room(room_id, state, creator)
        other = observed.rooms.get(key)
        # Two rooms claiming one key (an interrupted create retried by hand): keep the one that
        # holds the canonical alias, so the conference keeps pointing where attendees go.
        if other is None or (not other.state.get((CANONICAL_ALIAS, "")) and room.state.get((CANONICAL_ALIAS, ""))):
            observed.rooms[key] = room
    for key, room in observed.rooms.items():
        for user, membership in snapshot.memberships.get(room.room_id, {}).items():
            observed.memberships[(key, user)] = membership
    observed.untrusted.sort(key=lambda u: (u.key, u.room_id))
    return observed
