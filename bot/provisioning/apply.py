"""Carry out a plan through the Matrix adapter: the I/O half of ``podium plan`` / ``apply``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from ..matrix import MatrixAdapter, MatrixError, Unreachable
from ..store.database import Store
from .observation import Snapshot, conference_rooms, fold
from .planner import Action, CreateRoom, Invite, Plan, SetState, plan, refs_in, resolve
from .state import CANONICAL_ALIAS, JOIN_RULES, LOCATOR, DesiredRoom, Observed

Progress = Callable[[Action, str | None], None]  # (action just finished, error or None)


@dataclass
class ApplyReport:
    done: int = 0
    created: dict[str, str] = field(default_factory=dict)  # room key -> room id
    adopted: list[str] = field(default_factory=list)  # keys whose alias already had a room
    failed: list[tuple[Action, MatrixError]] = field(default_factory=list)
    skipped: list[tuple[Action, str]] = field(default_factory=list)
    remaining: list[Action] = field(default_factory=list)  # still wanted when read back after
    encrypted: list[str] = field(default_factory=list)  # keys of rooms found end-to-end encrypted on read-back

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.remaining


async def observe(
    adapter: MatrixAdapter,
    desired: list[DesiredRoom],
    conference_id: str,
    store: Store | None = None,
) -> Observed:
    """The conference's rooms as they are, and the membership of everyone Podium would invite.

    With a store, the last snapshot is brought up to date by an incremental /sync; without one
    (or when the server no longer accepts its token) every room is read in one full /sync."""
    account = Store.account(adapter.user_id, adapter.client.homeserver)
    snapshot = store.load_snapshot(account) if store else Snapshot()
    try:
        snapshot = fold(snapshot, await adapter.sync_state(snapshot.since))
    except MatrixError:
        if snapshot.since is None:
            raise
        snapshot = fold(Snapshot(), await adapter.sync_state(None))
    observed = conference_rooms(snapshot, conference_id)
    checks = [
        (room.key, user)
        for room in desired
        if room.key in observed.rooms
        for user in room.invites
        if (room.key, user) not in observed.memberships
    ]
    memberships = await asyncio.gather(
        *(adapter.membership(observed.rooms[key].room_id, user) for key, user in checks)
    )
    for (key, user), membership in zip(checks, memberships):
        if membership is not None:
            observed.memberships[(key, user)] = membership
            snapshot.memberships.setdefault(observed.rooms[key].room_id, {})[user] = membership
    if store:
        store.save_snapshot(account, snapshot)
    return observed


def create_room_body(action: CreateRoom, ids: dict[str, str]) -> dict[str, Any]:
    """The single createRoom request that makes a room complete: state, power, space type."""
    body: dict[str, Any] = {
        "room_alias_name": action.alias,
        # Join rules and history visibility always come in the initial state, so the preset
        # only decides what else the server adds: public_chat adds no guest access (forbidden
        # is the spec's default, so a room needs no event for it), and servers set to encrypt
        # new invite-only rooms (encryption_enabled_by_default_for_room_type: invite) leave it
        # unencrypted, as a room the bot must read has to be.
        "preset": "public_chat",
        "visibility": "private",
        # The alias sets m.room.canonical_alias itself; sending it again would be a second event.
        "initial_state": [
            {"type": event_type, "state_key": resolve(state_key, ids), "content": resolve(content, ids)}
            for event_type, state_key, content in action.initial_state
            if event_type != CANONICAL_ALIAS
        ],
        "power_level_content_override": action.power_levels,
    }
    if not any(event_type == JOIN_RULES for event_type, _, _ in action.initial_state):
        # Its rule points at a room still to be made and follows once that room exists; until
        # then nobody joins without an invitation (the preset alone would make it public).
        body["initial_state"].append({"type": JOIN_RULES, "state_key": "", "content": {"join_rule": "invite"}})
    if action.is_space:
        body["creation_content"] = {"type": "m.space"}
    return body


async def execute(
    the_plan: Plan, adapter: MatrixAdapter, ids: dict[str, str], progress: Progress | None = None
) -> ApplyReport:
    """Run the actions, as many at once as the adapter allows, each as soon as what it needs
    exists. A failed action does not stop the others, but whatever depends on a room that could
    not be created is skipped; re-running converges.

    Why not strictly one after another: requests to different rooms overlap (the client's work
    with the server's, and Synapse's own work on two rooms). What must stay ordered does: a room
    is created before anything is sent to it or refers to it, and the writes into one room go one
    at a time, in plan order. Concurrent sends into one room fork its event graph, and an
    incremental /sync then reports the state at one branch's tip only, so the read-back would
    see writes that succeeded as missing.
    """
    report = ApplyReport()
    ids = dict(ids)
    tasks: list[asyncio.Task[None]] = []
    creator: dict[str, asyncio.Task[None]] = {}  # room key -> the task creating it
    last_in_room: dict[str, asyncio.Task[None]] = {}  # room key -> the latest write into it

    async def run(action: Action, after: list[asyncio.Task[None]]) -> None:
        if after:
            await asyncio.wait(after)  # they never raise: each records its own outcome
        error: str | None = None
        try:
            await _run(action, adapter, ids, report)
            report.done += 1
        except KeyError as missing:
            error = f"skipped: room {missing.args[0]} does not exist"
            report.skipped.append((action, error))
        except MatrixError as exc:
            error = str(exc)
            report.failed.append((action, exc))
        if progress:
            progress(action, error)

    for action in the_plan.actions:
        needs = _rooms_needed(action)
        after = {creator[key] for key in needs if key in creator}
        if action.key in last_in_room:
            after.add(last_in_room[action.key])
        task = asyncio.ensure_future(run(action, list(after)))
        tasks.append(task)
        last_in_room[action.key] = task
        if isinstance(action, CreateRoom):
            creator[action.key] = task
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:  # interrupted (Ctrl-C): nothing keeps running behind the caller's back
            task.cancel()
    return report


def _rooms_needed(action: Action) -> set[str]:
    """The room keys an action sends to or refers to (other than the room it creates)."""
    if isinstance(action, CreateRoom):
        return {ref.key for ref in refs_in(action.initial_state)}
    if isinstance(action, SetState):
        return {action.key} | {ref.key for ref in refs_in([action.state_key, action.content])}
    return {action.key}


async def _run(action: Action, adapter: MatrixAdapter, ids: dict[str, str], report: ApplyReport) -> None:
    alias = f"#{action.alias}:{adapter.server_name}" if isinstance(action, CreateRoom) else None
    if isinstance(action, CreateRoom):
        body = create_room_body(action, ids)
        what = f"create {alias}"
        try:
            room_id = await adapter.create_room(body, what=what)
        except Unreachable:
            # createRoom is not idempotent: the room may exist although we saw no answer.
            room_id = await adapter.resolve_alias(alias) or await adapter.create_room(body, what=what)
        except MatrixError as exc:
            if exc.errcode != "M_ROOM_IN_USE":
                raise
            room_id = await _adopt(adapter, alias, action.key)
            report.adopted.append(action.key)
        ids[action.key] = room_id
        report.created[action.key] = room_id
    elif isinstance(action, SetState):
        room_id = ids[action.key]
        await adapter.put_state(
            room_id,
            action.event_type,
            resolve(action.state_key, ids),
            resolve(action.content, ids),
            what=f"set {action.event_type} in {room_id} ({action.key})",
        )
    elif isinstance(action, Invite):
        await adapter.invite(ids[action.key], action.user_id, what=f"invite {action.user_id} to {action.key}")


async def _adopt(adapter: MatrixAdapter, alias: str, key: str) -> str:
    """The alias already names a room: use it if it is this conference object's room."""
    room_id = await adapter.resolve_alias(alias)
    if room_id is None:
        raise MatrixError(f"create {alias}", 400, "M_ROOM_IN_USE", "the alias is taken but does not resolve")
    try:
        room = await adapter.room_state(room_id)
    except MatrixError as exc:
        if exc.errcode != "M_FORBIDDEN":
            raise
        await adapter.join(room_id, what=f"join {alias}")
        room = await adapter.room_state(room_id)
    if room.state.get((LOCATOR, ""), {}).get("key") != key:
        raise MatrixError(
            f"create {alias}",
            409,
            "M_ROOM_IN_USE",
            f"the alias belongs to room {room_id}, which is not Podium's room for {key}",
            "remove that alias from the other room, or change conference.id in schedule.yaml",
        )
    return room_id


async def converge(
    adapter: MatrixAdapter,
    desired: list[DesiredRoom],
    *,
    conference_id: str,
    room_version: str,
    prune: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    store: Store | None = None,
) -> tuple[Plan, ApplyReport]:
    """Observe, plan and execute, then read back what the homeserver has now. The read-back
    verifies the result (``report.remaining``) and leaves the local snapshot current, so the
    next run reads only later changes. A second pass runs if existing rooms were adopted."""
    report = ApplyReport()

    async def look() -> tuple[Observed, Plan]:
        observed = await observe(adapter, desired, conference_id, store)
        return observed, plan(desired, observed, bot_user_id=adapter.user_id, room_version=room_version, prune=prune)

    observed, the_plan = await look()
    first_plan = the_plan
    if on_plan:
        on_plan(the_plan)
    for _pass in range(2):
        if not the_plan.actions:
            break
        ids = {key: room.room_id for key, room in observed.rooms.items()}
        result = await execute(the_plan, adapter, ids, progress)
        report.done += result.done
        report.created.update(result.created)
        report.failed += result.failed
        report.skipped += result.skipped
        report.adopted += result.adopted
        observed, the_plan = await look()
        if not result.adopted:
            break
    report.remaining = list(the_plan.actions)
    report.encrypted = list(the_plan.encrypted)
    return first_plan, report
