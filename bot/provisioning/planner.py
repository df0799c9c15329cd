"""Diff the rooms a conference should have against what the homeserver has: a list of actions.

Pure. Rooms are created parents first; a state event that points at a room not yet created
(a space's m.space.child for a new room) waits until right after that room's creation. Power
levels are compared as a subset (Podium owns the levels it sets and leaves others' alone);
every other managed event must match exactly, so unchanged state is never rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Union

from ..roomstate.state import (
    ENCRYPTION,
    LOCATOR,
    POWER_LEVELS,
    SPACE_CHILD,
    SPEAKER_INVITED,
    SPEAKER_WITHDRAWN,
    WIDGET,
    DesiredRoom,
    Observed,
    ObservedRoom,
    RoomRef,
    StateKey,
    UntrustedRoom,
    is_spec_default,
)
from ..wording import counted
from .templates import deep_merge

CREATOR_POWER = 100


@dataclass(frozen=True)
class CreateRoom:
    key: str
    alias: str
    name: str
    kind: str
    is_space: bool
    initial_state: tuple[tuple[str, StateKey, dict[str, Any]], ...]
    power_levels: dict[str, Any]

    @property
    def locator(self) -> dict[str, Any]:
        """The locator the room is created with: which conference object it stands for."""
        return next((content for t, k, content in self.initial_state if t == LOCATOR and k == ""), {})

    def describe(self) -> str:
        widgets = sum(1 for t, _, _ in self.initial_state if t == WIDGET)
        extras = [counted(len(self.initial_state), "state event")]
        if widgets:
            extras.append(counted(widgets, "widget"))
        what = "space" if self.is_space else self.kind
        return f"create {what} {self.name!r} ({', '.join(extras)})"


@dataclass(frozen=True)
class SetState:
    key: str  # the room the event goes into
    event_type: str
    state_key: StateKey
    content: dict[str, Any]
    reason: str

    def describe(self) -> str:
        target = f"{self.event_type}" + (f" [{self.state_key}]" if self.state_key != "" else "")
        return f"set {target}: {self.reason}"


@dataclass(frozen=True)
class Invite:
    key: str
    user_id: str
    #: Invited as one of the room's speakers: remembered, so it can be withdrawn when they no longer are.
    speaker: bool = False

    def describe(self) -> str:
        return f"invite {self.user_id}"


#: Why a speaker's invitation to a room of this kind is withdrawn, as the plan and they are told.
NO_LONGER_SPEAKING = {
    "backstage": "no talk in this track any more",
    "breakout": "no longer one of its speakers or presenters",
    "poster": "no longer a presenter of this poster",
}


@dataclass(frozen=True)
class Withdraw:
    """Take back a speaker's invitation Podium sent to a room they no longer speak in: a pending
    one is revoked, someone who joined is removed (both are a kick in Matrix), with the reason."""

    key: str
    user_id: str
    joined: bool
    reason: str

    def describe(self) -> str:
        what = f"remove {self.user_id}" if self.joined else f"withdraw the invitation of {self.user_id}"
        return f"{what}: {self.reason}"


Action = Union[CreateRoom, SetState, Invite, Withdraw]


@dataclass(frozen=True)
class Orphan:
    """A room of this conference that the schedule no longer has."""

    key: str
    room_id: str
    name: str


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # room key -> alias localpart, for display
    encrypted: list[str] = field(default_factory=list)  # keys of rooms the homeserver made end-to-end encrypted
    untrusted: list[UntrustedRoom] = field(default_factory=list)  # rooms claiming a key that the bot did not make

    @property
    def changes(self) -> bool:
        return bool(self.actions)

    @property
    def creates(self) -> int:
        return sum(isinstance(a, CreateRoom) for a in self.actions)

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "state": 0, "invite": 0, "withdraw": 0}
        for action in self.actions:
            kind = ("create" if isinstance(action, CreateRoom) else "state" if isinstance(action, SetState)
                    else "withdraw" if isinstance(action, Withdraw) else "invite")
            counts[kind] += 1
        return counts


def creator_has_power(room_version: str) -> bool:
    """Room version 12 (MSC4289) gives creators unbounded power; they must not be listed."""
    return room_version == "org.matrix.hydra.11" or (room_version.isdigit() and int(room_version) >= 12)


def refs_in(value: Any) -> list[RoomRef]:
    if isinstance(value, RoomRef):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in refs_in(v)]
    return []


def resolve(value: Any, ids: dict[str, str]) -> Any:
    """Replace every RoomRef by its room ID (KeyError if one does not exist yet)."""
    if isinstance(value, RoomRef):
        return ids[value.key]
    if isinstance(value, dict):
        return {k: resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve(v, ids) for v in value)
    return value


def state_matches(event_type: str, state_key: str, desired: dict[str, Any], observed: dict[str, Any] | None) -> bool:
    if observed is None:
        return is_spec_default(event_type, state_key, desired)
    if event_type == POWER_LEVELS:
        return _is_subset(desired, observed)
    return desired == observed


def _is_subset(desired: Any, observed: Any) -> bool:
    if isinstance(desired, dict):
        return isinstance(observed, dict) and all(
            k in observed and _is_subset(v, observed[k]) for k, v in desired.items()
        )
    return desired == observed


def plan(
    desired: list[DesiredRoom],
    observed: Observed,
    *,
    bot_user_id: str,
    room_version: str,
    prune: bool = False,
) -> Plan:
    """The actions that turn ``observed`` into ``desired``; empty when they already agree."""
    result = Plan(aliases={r.key: r.alias for r in desired}, untrusted=list(observed.untrusted))
    untrusted_ids = {u.room_id for u in observed.untrusted}
    position = {room.key: i for i, room in enumerate(desired)}
    ids = {key: room.room_id for key, room in observed.rooms.items()}
    available = set(ids)  # rooms that exist, or will by the time the next action runs
    waiting: dict[str, list[SetState]] = defaultdict(list)

    for room in desired:
        current = observed.rooms.get(room.key)
        if current is None:
            initial: list[tuple[str, StateKey, dict[str, Any]]] = []
            for (event_type, state_key), content in room.state.items():
                if event_type == POWER_LEVELS or is_spec_default(event_type, state_key, content):
                    continue
                later = [r for r in refs_in((state_key, content)) if r.key not in available and r.key != room.key]
                if later:
                    first_ready = max(later, key=lambda r: position[r.key])
                    waiting[first_ready.key].append(
                        SetState(room.key, event_type, state_key, content, _reason_new(event_type))
                    )
                else:
                    initial.append((event_type, state_key, content))
            levels = room.state[(POWER_LEVELS, "")]
            if not creator_has_power(room_version):
                levels = {**levels, "users": {**levels.get("users", {}), bot_user_id: CREATOR_POWER}}
            result.actions.append(
                CreateRoom(room.key, room.alias, room.name, room.kind, room.is_space, tuple(initial), levels)
            )
            available.add(room.key)
            # Invited one by one, not through createRoom's invite list: there one unknown user
            # fails the whole request after the room already exists.
            result.actions.extend(Invite(room.key, user, user in room.speakers) for user in room.invites)
        else:
            result.actions.extend(_repairs(room, current, ids, available, position, waiting, bot_user_id))
            result.actions.extend(_unlink_untrusted(room, current, untrusted_ids))
            result.actions.extend(_withdrawals(room, observed))
            for user in room.invites:
                membership = observed.memberships.get((room.key, user))
                # Someone who left is not invited again, unless it was Podium that took them out.
                if membership is None or (membership == "leave" and
                                          observed.speaker_invites.get((room.key, user)) == SPEAKER_WITHDRAWN):
                    result.actions.append(Invite(room.key, user, user in room.speakers))
        result.actions.extend(waiting.pop(room.key, []))

    result.encrypted = [room.key for room in desired
                        if room.key in observed.rooms and observed.rooms[room.key].state.get((ENCRYPTION, ""))]
    desired_keys = {room.key for room in desired}
    for key, current in sorted(observed.rooms.items()):
        if key in desired_keys or current.locator.get("archived"):
            continue
        name = current.state.get(("m.room.name", ""), {}).get("name", key)
        result.orphans.append(Orphan(key, current.room_id, name))
        if prune:
            result.actions.extend(_archive(key, current, observed))
    return result


def _repairs(
    room: DesiredRoom,
    current: ObservedRoom,
    ids: dict[str, str],
    available: set[str],
    position: dict[str, int],
    waiting: dict[str, list[SetState]],
    bot_user_id: str,
) -> list[SetState]:
    actions: list[SetState] = []
    for (event_type, state_key), content in room.state.items():
        if event_type in room.live_state and current.state.get((event_type, state_key)) is not None:
            continue  # the running bot keeps it up to date (the clock's now/next topic): not drift
        pending = [r for r in refs_in((state_key, content)) if r.key not in ids]
        if pending:
            # It points at a room this plan creates: set it once that room exists.
            action = SetState(room.key, event_type, state_key, content, _reason_new(event_type))
            later = [r for r in pending if r.key not in available]
            if later:
                waiting[max(later, key=lambda r: position[r.key]).key].append(action)
            else:
                actions.append(action)
            continue
        resolved_key = resolve(state_key, ids)
        resolved = resolve(content, ids)
        have = current.state.get((event_type, resolved_key))
        if state_matches(event_type, resolved_key, resolved, have):
            continue
        if event_type == POWER_LEVELS and have:
            # Keep levels others granted (speakers on stage, extra staff); restore ours.
            content = deep_merge(have, content)
        actions.append(SetState(room.key, event_type, state_key, content, _reason_changed(event_type, resolved, have)))
    desired_widgets = {sk for (t, sk) in room.state if t == WIDGET}
    for (event_type, state_key), have in sorted(current.state.items()):
        if (
            event_type == WIDGET
            and have
            and state_key not in desired_widgets
            and have.get("creatorUserId") == bot_user_id
        ):
            actions.append(SetState(room.key, WIDGET, state_key, {}, "widget no longer in the template: remove"))
    return actions


def _withdrawals(room: DesiredRoom, observed: Observed) -> list[Withdraw]:
    """The invitations Podium sent to ``room``'s speakers who no longer are, and are still
    invited or in it: only those Podium itself sent, never to staff or anyone it still invites."""
    reason = NO_LONGER_SPEAKING.get(room.kind, "no longer one of this room's speakers")
    out = []
    for (key, user), state in sorted(observed.speaker_invites.items()):
        if key != room.key or state != SPEAKER_INVITED or user in room.invites:
            continue
        membership = observed.memberships.get((key, user))
        if membership in ("invite", "join"):
            out.append(Withdraw(key, user, membership == "join", reason))
    return out


def _unlink_untrusted(room: DesiredRoom, current: ObservedRoom, untrusted_ids: set[str]) -> list[SetState]:
    """A conference space never lists a room Podium did not create, whatever that room claims."""
    if not room.is_space:
        return []
    return [SetState(room.key, SPACE_CHILD, state_key, {}, "unlink a room the bot did not create")
            for (event_type, state_key), content in sorted(current.state.items())
            if event_type == SPACE_CHILD and content and state_key in untrusted_ids]


def _archive(key: str, current: ObservedRoom, observed: Observed) -> list[SetState]:
    """Unlink a room the schedule dropped from its spaces and mark it archived; keep its history."""
    actions = [
        SetState(other_key, SPACE_CHILD, current.room_id, {}, f"unlink archived room {key}")
        for other_key, other in sorted(observed.rooms.items())
        if other.state.get((SPACE_CHILD, current.room_id))
    ]
    name = current.state.get(("m.room.name", ""), {}).get("name", key)
    if not name.startswith("[archived] "):
        actions.append(SetState(key, "m.room.name", "", {"name": f"[archived] {name}"}, "no longer in the schedule"))
    actions.append(SetState(key, LOCATOR, "", {**current.locator, "archived": True}, "no longer in the schedule"))
    return actions


def _reason_new(event_type: str) -> str:
    return "link the new room" if event_type in (SPACE_CHILD, "m.space.parent") else "points at a new room"


def _reason_changed(event_type: str, desired: dict[str, Any], have: dict[str, Any] | None) -> str:
    if not have:
        return "missing"
    if event_type == "m.room.name":
        return f"{have.get('name')!r} → {desired.get('name')!r}"
    if event_type == "m.room.topic":
        return f"{have.get('topic')!r} → {desired.get('topic')!r}"
    if event_type == WIDGET:
        changed = sorted(k for k in set(desired) | set(have) if desired.get(k) != have.get(k))
        return "widget " + ", ".join(f"{k}" for k in changed) + " changed"
    if event_type == POWER_LEVELS:
        return "power levels differ: " + ", ".join(_pl_differences(desired, have))
    changed = sorted(k for k in set(desired) | set(have) if desired.get(k) != have.get(k))
    return ", ".join(f"{k}: {have.get(k)!r} → {desired.get(k)!r}" for k in changed)


def _pl_differences(desired: dict[str, Any], have: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in desired.items():
        if isinstance(v, dict):
            out += _pl_differences(v, have.get(k) or {}, f"{prefix}{k}.")
        elif have.get(k) != v:
            out.append(f"{prefix}{k} {have.get(k)!r} → {v!r}")
    return out
