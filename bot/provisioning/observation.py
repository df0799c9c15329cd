"""What the bot knows of its rooms: a snapshot of their managed state as of a /sync token.

Pure. A full /sync replaces the snapshot; an incremental one (``since`` the snapshot's token)
is folded into it, so a re-apply reads only what changed since the last run instead of every
room's state. The snapshot is plain JSON-ready data for the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import CANONICAL_ALIAS, Observed, ObservedRoom

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

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "rooms": self.rooms, "memberships": self.memberships}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Snapshot":
        return cls(data.get("since"), data.get("rooms", {}), data.get("memberships", {}))


def fold(snapshot: Snapshot, delta: SyncDelta) -> Snapshot:
    """The snapshot after ``delta``."""
    rooms = {} if delta.full else {room_id: {t: dict(s) for t, s in state.items()} for room_id, state in snapshot.rooms.items()}
    for room_id, events in delta.joined.items():
        state = rooms.setdefault(room_id, {})
        for event in events:
            if "state_key" in event:
                state.setdefault(event["type"], {})[event["state_key"]] = event.get("content", {})
    for room_id in delta.left:
        rooms.pop(room_id, None)
    memberships = {room_id: users for room_id, users in snapshot.memberships.items() if room_id in rooms}
    return Snapshot(delta.next_batch, rooms, memberships)


def observed_room(room_id: str, state: RoomState) -> ObservedRoom:
    flat = {(t, k): content for t, by_key in state.items() for k, content in by_key.items()}
    version = str(flat.get(("m.room.create", ""), {}).get("room_version", "1"))
    return ObservedRoom(room_id, flat, version)


def conference_rooms(snapshot: Snapshot, conference_id: str) -> Observed:
    """The conference's rooms by key, with the memberships known for them."""
    observed = Observed()
    for room_id, state in snapshot.rooms.items():
        locator = state.get("org.podium.locator", {}).get("", {})
        if locator.get("conference") != conference_id or not isinstance(locator.get("key"), str):
            continue
        room = observed_room(room_id, state)
        other = observed.rooms.get(locator["key"])
        # Two rooms claiming one key (an interrupted create retried by hand): keep the one that
        # holds the canonical alias, so the conference keeps pointing where attendees go.
        if other is None or (not other.state.get((CANONICAL_ALIAS, "")) and room.state.get((CANONICAL_ALIAS, ""))):
            observed.rooms[locator["key"]] = room
    for key, room in observed.rooms.items():
        for user, membership in snapshot.memberships.get(room.room_id, {}).items():
            observed.memberships[(key, user)] = membership
    return observed
