"""Carry out a plan through the Matrix adapter: the I/O half of ``podium plan`` / ``apply``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..matrix import MatrixAdapter, MatrixError, Unreachable
from ..roomstate.observation import Snapshot, conference_rooms, fold
from ..roomstate.state import (
    CANONICAL_ALIAS,
    JOIN_RULES,
    LOCATOR,
    SPEAKER_INVITED,
    SPEAKER_WITHDRAWN,
    DesiredRoom,
    Observed,
    ObservedRoom,
    UntrustedRoom,
)
from ..store.database import Store
from .planner import Action, CreateRoom, Invite, Plan, SetState, Withdraw, plan, refs_in, resolve

Progress = Callable[[Action, str | None], None]  # (action just finished, error or None)


class CreateJournal:
    """The createRoom requests sent and never answered, kept in the store across runs.

    Synapse reserves a room's alias inside createRoom before the room has its first event; a
    homeserver stopped in between leaves the alias naming a room that not even the bot is in.
    Only this journal tells the next run that the bot itself asked for that alias."""

    def __init__(self, store: Store | None, account: str):
        self.store, self.account = store, account
        #: Aliases an earlier run sent a createRoom for and never heard back about.
        self.unanswered = store.unanswered_creates(account) if store else set()

    def sent(self, alias: str) -> None:
        if self.store:
            self.store.note_create(self.account, alias, time.time())

    def answered(self, alias: str) -> None:
        if self.store:
            self.store.forget_create(self.account, alias)
        self.unanswered.discard(alias)


class SpeakerInvites:
    """What provisioning invited into each room as a speaker, and withdrew, kept in the store: a
    room cannot tell who invited someone once they joined, and only Podium's own invitations to
    speakers are ever withdrawn. Without a store nothing is kept, and nothing withdrawn."""

    def __init__(self, store: Store | None, account: str):
        self.store, self.account = store, account

    def recorded(self) -> dict[tuple[str, str], str]:
        return self.store.speaker_invites(self.account) if self.store else {}

    def note(self, room_id: str, user_id: str, state: str) -> None:
        if self.store:
            self.store.note_speaker_invite(self.account, room_id, user_id, state, time.time())

    def forget(self, room_id: str, user_id: str) -> None:
        if self.store:
            self.store.forget_speaker_invite(self.account, room_id, user_id)


@dataclass
class ApplyReport:
    done: int = 0
    created: dict[str, str] = field(default_factory=dict)  # room key -> room id
    adopted: list[str] = field(default_factory=list)  # keys whose alias already had the bot's room
    finished: list[str] = field(default_factory=list)  # keys whose room an interrupted run left unfinished
    failed: list[tuple[Action, MatrixError]] = field(default_factory=list)
    skipped: list[tuple[Action, str]] = field(default_factory=list)
    remaining: list[Action] = field(default_factory=list)  # still wanted when read back after
    encrypted: list[str] = field(default_factory=list)  # keys of rooms found end-to-end encrypted on read-back
    untrusted: list[UntrustedRoom] = field(default_factory=list)  # rooms claiming a key, not made by the bot

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
    observed = conference_rooms(snapshot, conference_id, adapter.user_id)
    speakers = SpeakerInvites(store, account)
    recorded = _speaker_invites(observed, speakers.recorded())
    wanted = {(room.key, user) for room in desired if room.key in observed.rooms for user in room.invites}
    checks = [pair for pair in sorted(wanted) if pair not in observed.memberships]
    # A speaker's membership that Podium may act on is read afresh, not taken from the snapshot:
    # one it invited who may have to leave, and one it took out who may have to come back.
    checks += [pair for pair, state in sorted(recorded.items())
               if (state == SPEAKER_INVITED) != (pair in wanted) and pair not in checks]
    memberships = await asyncio.gather(
        *(adapter.membership(observed.rooms[key].room_id, user) for key, user in checks)
    )
    for (key, user), membership in zip(checks, memberships):
        room_id = observed.rooms[key].room_id
        if membership is not None:
            observed.memberships[(key, user)] = membership
            snapshot.memberships.setdefault(room_id, {})[user] = membership
        else:
            observed.memberships.pop((key, user), None)
        if recorded.get((key, user)) == SPEAKER_INVITED and (key, user) not in wanted \
                and membership not in ("invite", "join"):
            # Gone already (declined, left, taken out by a moderator): nothing left to withdraw.
            speakers.forget(room_id, user)
            del recorded[(key, user)]
    observed.speaker_invites = recorded
    if store:
        store.save_snapshot(account, snapshot)
    return observed


def _speaker_invites(observed: Observed, recorded: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """The store's record of speakers' invitations, by room key, for the conference's rooms."""
    keys = {room.room_id: key for key, room in observed.rooms.items()}
    return {(keys[room_id], user): state for (room_id, user), state in recorded.items() if room_id in keys}


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
    the_plan: Plan, adapter: MatrixAdapter, ids: dict[str, str], progress: Progress | None = None,
    journal: CreateJournal | None = None, speakers: SpeakerInvites | None = None,
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
    journal = journal or CreateJournal(None, "")
    speakers = speakers or SpeakerInvites(None, "")
    tasks: list[asyncio.Task[None]] = []
    creator: dict[str, asyncio.Task[None]] = {}  # room key -> the task creating it
    last_in_room: dict[str, asyncio.Task[None]] = {}  # room key -> the latest write into it

    async def run(action: Action, after: list[asyncio.Task[None]]) -> None:
        if after:
            await asyncio.wait(after)  # they never raise: each records its own outcome
        error: str | None = None
        try:
            await _run(action, adapter, ids, report, journal, speakers)
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


async def _run(action: Action, adapter: MatrixAdapter, ids: dict[str, str], report: ApplyReport,
               journal: CreateJournal, speakers: SpeakerInvites) -> None:
    if isinstance(action, CreateRoom):
        ids[action.key] = report.created[action.key] = await _create(action, adapter, ids, report, journal)
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
        if action.speaker:
            speakers.note(ids[action.key], action.user_id, SPEAKER_INVITED)
    elif isinstance(action, Withdraw):
        await adapter.kick(ids[action.key], action.user_id, reason=action.reason,
                           what=f"{action.describe()} ({action.key})")
        speakers.note(ids[action.key], action.user_id, SPEAKER_WITHDRAWN)


async def _create(action: CreateRoom, adapter: MatrixAdapter, ids: dict[str, str], report: ApplyReport,
                  journal: CreateJournal) -> str:
    """The room for ``action``: created, or, where its alias already names the bot's own room for
    the same object (an earlier answer lost, an earlier run interrupted), that room."""
    alias = f"#{action.alias}:{adapter.server_name}"
    journal.sent(alias)
    try:
        room_id = await _create_or_claim(action, alias, adapter, ids, report, journal)
    except Unreachable:
        raise  # still unanswered (as after a kill or a Ctrl-C): the next run looks at the alias
    except MatrixError:
        journal.answered(alias)
        raise
    journal.answered(alias)
    return room_id


async def _create_or_claim(action: CreateRoom, alias: str, adapter: MatrixAdapter, ids: dict[str, str],
                           report: ApplyReport, journal: CreateJournal) -> str:
    body = create_room_body(action, ids)
    what = f"create {alias}"
    try:
        return await adapter.create_room(body, what=what)
    except Unreachable:
        # createRoom is not idempotent: the room may exist although we saw no answer.
        return await _claim(adapter, alias, action, report, journal) or await adapter.create_room(body, what=what)
    except MatrixError as exc:
        if exc.errcode != "M_ROOM_IN_USE":
            raise
    room_id = await _claim(adapter, alias, action, report, journal)
    if room_id is None:  # the alias was taken back (or never resolved): the room is made now
        return await adapter.create_room(body, what=what)
    report.adopted.append(action.key)
    return room_id


async def _claim(adapter: MatrixAdapter, alias: str, action: CreateRoom, report: ApplyReport,
                 journal: CreateJournal) -> str | None:
    """The room ``alias`` names, if it is the bot's room for this conference object; None when
    the alias names no room (any more). A room under the alias that the bot did not create is
    refused: its locator proves nothing, since whoever made the room could write it.

    A room the bot created but never finished (the homeserver stopped inside createRoom, before
    the initial state) has no locator yet; it gets its locator here, and the repair pass that
    follows gives it everything else. Stopped earlier still, before the room's first event, the
    alias names a room the bot is not even in: when the journal says the bot asked for that alias
    and never heard back, the alias is taken back and the room made anew."""
    room_id = await adapter.resolve_alias(alias)
    if room_id is None:
        return None
    what = f"create {alias}"
    fix = "remove the alias from that room (its creator or a homeserver admin can), or change conference.id in " \
          "schedule.yaml"
    foreign = MatrixError(what, 409, "M_ROOM_IN_USE", f"the alias belongs to room {room_id}, which the bot is not in, "
                          "so it is not one of Podium's rooms", fix)
    try:
        room: ObservedRoom | None = await adapter.room_state(room_id)
    except MatrixError as exc:
        if exc.errcode not in ("M_FORBIDDEN", "M_NOT_FOUND"):
            raise
        room = None  # never joined to find out
    if room is None or room.state.get(("m.room.member", adapter.user_id), {}).get("membership") != "join":
        # The bot is in every room it finished creating.
        if alias not in journal.unanswered:
            raise foreign
        try:
            await adapter.delete_alias(alias, what=f"take back {alias} from a room never finished")
        except MatrixError as refused:
            if refused.errcode != "M_FORBIDDEN":
                raise
            raise foreign from None  # not the bot's alias after all
        report.finished.append(action.key)
        return None
    if room.creator != adapter.user_id:
        raise MatrixError(what, 409, "M_ROOM_IN_USE", f"the alias belongs to room {room_id}, created by "
                          f"{room.creator or 'someone else'}, not by the bot: it is not Podium's room for {action.key}",
                          fix)
    claimed, wanted = room.locator, action.locator
    if not claimed:
        await adapter.put_state(room_id, LOCATOR, "", wanted, what=f"finish setting up {alias} ({action.key})")
        report.finished.append(action.key)
    elif (claimed.get("conference"), claimed.get("key")) != (wanted["conference"], wanted["key"]):
        raise MatrixError(what, 409, "M_ROOM_IN_USE", f"the alias belongs to room {room_id}, which is Podium's room "
                          f"for {claimed.get('key')!r} of conference {claimed.get('conference')!r}, not for "
                          f"{action.key}", "give the two a different id in schedule.yaml, or change the alias in the "
                          "room template")
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

    account = Store.account(adapter.user_id, adapter.client.homeserver)
    journal, speakers = CreateJournal(store, account), SpeakerInvites(store, account)
    observed, the_plan = await look()
    first_plan = the_plan
    if on_plan:
        on_plan(the_plan)
    for _pass in range(2):
        if not the_plan.actions:
            break
        ids = {key: room.room_id for key, room in observed.rooms.items()}
        result = await execute(the_plan, adapter, ids, progress, journal, speakers)
        report.done += result.done
        report.created.update(result.created)
        report.failed += result.failed
        report.skipped += result.skipped
        report.adopted += result.adopted
        report.finished += result.finished
        observed, the_plan = await look()
        if not (result.adopted or result.finished):
            break
    report.remaining = list(the_plan.actions)
    report.encrypted = list(the_plan.encrypted)
    report.untrusted = list(the_plan.untrusted)
    return first_plan, report
