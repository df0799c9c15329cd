"""``podium run``: the bot online during the conference.

A /sync loop on the Matrix adapter (``run``); or, as an application service, the transactions the
homeserver pushes (``run_pushed``; ``bot.web.transactions`` receives and stores them), handled
alike. Every event of a conference room goes through the command registry (``bot.commands``);
what it handled is remembered in the store (``bot.store.database``) together with the sync token,
so that:

- a restart resumes from the last token: nothing said while the bot was away is dropped, and an
  event handled before the restart is not handled again (handled event ids are kept);
- an event received but not yet handled when the bot died is handled after the restart, and
  what its handler sends carries the same transaction id as before, so the homeserver does not
  post it twice;
- on the very first run, and in a room the bot joins later, what was said before the bot was
  there is history and not answered;
- each event is stamped with the time the bot first received it (``bot.store.received``), before
  any of it is handled: every limit and every poll's close go by that stamp, never by the date
  the sender's server wrote on the event, and an event handled again after a restart keeps it.

When the homeserver is unreachable or failing (5xx, rate limits beyond the adapter's own
patience) the loop waits with exponential backoff and carries on from the same token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .commands import Context, Registry, Room, load_all, parse_command
from .conference.clock import Clock, utc_now
from .conference.roles import Role, role_of, room_staff, track_staff
from .conference.roomkeys import BACKSTAGE, TALK, TRACK, kind_of, object_id
from .conference.schedule import Schedule
from .direct import accept_direct, direct_inviter, direct_room
from .matrix import MatrixAdapter, MatrixError
from .provisioning.desired import Settings
from .provisioning.pipeline import DEFAULT_PUBLIC_URL
from .provisioning.planner import creator_has_power
from .provisioning.programme import Programme
from .roomstate.observation import (
    Snapshot,
    apply_event,
    claimed_key,
    conference_rooms,
    fold,
)
from .roomstate.state import CREATE, ENCRYPTION, LOCATOR, POWER_LEVELS
from .store.database import Store
from .store.direct import DirectRoomStore
from .store.received import ReceivedStore
from .store.transactions import PushedTransactions
from .store.ticketcodes import TicketCodeStore
from .wording import counted

log = logging.getLogger(__name__)
T = TypeVar("T")

#: ``hook(stage, event)`` with stage "received" (before handling), "answered" (handled, not yet
#: recorded as handled) or "handled". Tests use it to stop the bot at exactly those points.
Hook = Callable[[str, dict[str, Any]], Awaitable[None]]

#: What the bot reads from each room's timeline: commands, votes and what changes who is who.
TIMELINE_TYPES = [
    "m.room.message",
    "m.reaction",
    "m.room.redaction",
    "org.matrix.msc3381.poll.start",
    "org.matrix.msc3381.poll.response",
    "org.matrix.msc3381.poll.end",
    "m.room.member",
    "m.room.create",
    POWER_LEVELS,
    LOCATOR,
]
STATE_TYPES = ["m.room.create", POWER_LEVELS, LOCATOR]
#: Device id for password logins: one device across restarts keeps the homeserver's memory of
#: transaction ids, which is what makes a re-sent reply a no-op.
DEVICE_ID = "PODIUM_BOT"
#: How long the marks of handled events are kept: far longer than any stop of the bot, after
#: which the homeserver could deliver those events again.
KEEP_HANDLED_SECONDS = 30 * 24 * 3600
#: Batches being handled at once before the bot stops fetching more.
MAX_BATCHES_IN_FLIGHT = 16
#: Requests the bot has in flight at once while answering. Replies wait in the homeserver's
#: queue for their room, not in the bot's: with a narrow bound, a burst of questions in a busy
#: room kept later replies waiting for a free slot first (up to 0.7 s measured with the bound at
#: 4; with 500 attendees asking in one room, bench/crowd.py --sync put the bot's median reply at
#: 2.8 times a plain client's with 32, and 1.14 times with 256). Still bounded, so a backlog
#: after a restart does not arrive all at once.
REQUESTS_IN_FLIGHT = 256
#: The key and kind of a direct chat with the bot, as a room its commands see.
DIRECT = "direct"



def as_sync_batch(events: list[Any], bot_user_id: str) -> dict[str, Any]:
    """A pushed transaction's events as the ``rooms`` of one /sync batch: each room's events in
    its timeline, in the order pushed; the bot's own invitations under ``invite`` (the invitation
    is its invite state) and its leaving a room under ``leave``."""
    join: dict[str, Any] = {}
    invite: dict[str, Any] = {}
    leave: dict[str, Any] = {}
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("room_id"), str):
            continue
        room_id = event["room_id"]
        content = event.get("content") if isinstance(event.get("content"), dict) else {}
        own_membership = event.get("type") == "m.room.member" and event.get("state_key") == bot_user_id
        if own_membership and content.get("membership") == "invite":
            stripped = (event.get("unsigned") or {}).get("invite_room_state") or []
            invite[room_id] = {"invite_state": {"events": [*stripped, event]}}
        elif own_membership and content.get("membership") in ("leave", "ban"):
            leave[room_id] = {}
            join.pop(room_id, None)
        else:
            join.setdefault(room_id, {"timeline": {"events": []}})["timeline"]["events"].append(event)
    return {"rooms": {"join": join, "invite": invite, "leave": leave}}


def _points_elsewhere(event: dict[str, Any]) -> bool:
    content = event.get("content") or {}
    return event.get("type") == "m.room.redaction" or "m.relates_to" in content


def _transient(exc: MatrixError) -> bool:
    """Worth retrying: the server is away, failing or busy, rather than refusing."""
    return exc.transient


class Backoff:
    """The pause between attempts while the homeserver is away or failing: doubling from
    ``first`` up to ``most`` seconds. The log hears of each change of state, not of each attempt:
    one line when the homeserver stops answering (what failed, that the bot keeps trying), one
    when the failure changes (refused, then a 502, then a timeout), and one when it answers again;
    an outage of hours is three lines, not thousands."""

    def __init__(self, first: float = 0.5, most: float = 30.0):
        self.first, self.most = first, most
        self.delay, self.attempts = first, 0
        self._said: str | None = None  # the failure the log last heard of
        self._since = 0.0

    async def wait(self, exc: MatrixError) -> None:
        self.attempts += 1
        if self.attempts == 1:
            self._since = time.monotonic()
        if str(exc) != self._said:
            log.warning("cannot reach the homeserver: %s; trying again, at most %g s apart, until it answers",
                        exc, self.most)
            self._said = str(exc)
        else:
            log.debug("%s; trying again in %.1f s (attempt %d)", exc, self.delay, self.attempts + 1)
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, self.most)

    def succeeded(self) -> None:
        if self.attempts:
            log.info("the homeserver answers again, after %s over %.0f s", counted(self.attempts, "failed attempt"),
                     time.monotonic() - self._since)
        self.delay, self.attempts, self._said = self.first, 0, None


class Runtime:
    def __init__(
        self,
        adapter: MatrixAdapter,
        schedule: Schedule | Programme,
        store: Store,
        *,
        clock: Clock = utc_now,
        registry: Registry | None = None,
        hook: Hook | None = None,
        poll_timeout_ms: int = 30_000,
        timeline_limit: int = 50,
        max_backoff: float = 30.0,
        receive_clock: Callable[[], float] = time.time,
    ):
        self.adapter = adapter
        #: The schedule and rooms in force; ``podium run`` shares it with the clock and the pages.
        #: Given a schedule alone, its rooms are the ones the bundled templates make.
        self.programme = schedule if isinstance(schedule, Programme) else Programme.bundled(
            schedule, Settings(adapter.user_id.split(":", 1)[1], adapter.user_id, DEFAULT_PUBLIC_URL))
        self.conference_id = self.programme.schedule.conference.id
        self.store = store
        self.clock = clock
        #: The wall clock events are stamped with as they arrive (unix seconds); not the
        #: conference clock, which a rehearsal or a test may run at another time or speed.
        self.receive_clock = receive_clock
        self.received = ReceivedStore(store.db)
        self.registry = registry or load_all()
        self.hook = hook
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff = max_backoff
        self.user_id = adapter.user_id
        self.account = Store.account(adapter.user_id, adapter.client.homeserver)
        self.rooms: dict[str, dict[str, dict[str, Any]]] = {}  # room id -> type -> state key -> content
        self.creators: dict[str, str] = {}  # room id -> who created it; the bot's rooms are the conference's
        self.since: str | None = None  # where the next /sync starts
        #: Batches being handled, oldest first: (what to record once it and every one before it
        #: are handled, its handling).
        self._batches: deque[tuple[Callable[[], None], asyncio.Task]] = deque()
        self._pushed_from = 0  # the position of the last stored pushed event handed to a batch
        self._pushed = asyncio.Event()  # set when a transaction is stored
        self._failure: asyncio.Future | None = None  # set to what a batch failed with
        #: Set once the bot has its starting point: anything sent after that gets an answer.
        self.ready = asyncio.Event()
        self.reloader = None  # a bot.day.reload.ScheduleReloader when schedule edits are followed
        self.wake_clock: Callable[[], None] | None = None  # set by the conference clock, when it runs
        self.direct_rooms = DirectRoomStore(store.db)
        self.filter = {
            "presence": {"types": []},
            "account_data": {"types": []},
            "room": {
                "timeline": {"types": TIMELINE_TYPES, "limit": timeline_limit},
                # No member lists: lazy-loading them makes every /sync markedly slower under
                # load. Display names come from the members read at start, from member events
                # in the timeline (joins, renames), and for anyone else from one look-up.
                "state": {"types": STATE_TYPES},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
        }

    @property
    def schedule(self) -> Schedule:
        return self.programme.schedule

    # ---- the loop ----------------------------------------------------------------------
    #
    # Syncing never waits for handling: each batch's handlers run as a task while the next
    # /sync is already waiting, so one slow reply does not hold up the answers behind it. The
    # token saved to the store is the last one whose batch, and every batch before it, is fully
    # handled: that is where a restart (or a retry after an error) resumes. Pushed transactions
    # go the same way, each one a batch, taken from the store in the order pushed; once a
    # transaction's batch and every one before it are handled, it is no longer pending.

    async def run(self) -> None:
        """Sync and handle events until cancelled."""
        await self._keep_taking(self.sync_once)

    async def run_pushed(self, pushed: PushedTransactions) -> None:
        """The bot as an application service: read the rooms as ``run`` does, then handle the
        transactions the homeserver pushed as they are stored in ``pushed`` (``pushed_arrived``
        says one was), those a stopped run left pending first, until cancelled."""
        await self._keep_taking(lambda: self.take_pushed(pushed))

    def pushed_arrived(self) -> None:
        """A transaction was stored: ``run_pushed`` takes it."""
        self._pushed.set()

    async def _keep_taking(self, take_batch: Callable[[], Awaitable[None]]) -> None:
        """Start, then take batches to handle until cancelled, waiting while the homeserver is away."""
        backoff = Backoff(most=self.max_backoff)
        self._failure = asyncio.get_running_loop().create_future()
        try:
            while True:
                try:
                    if not self.ready.is_set():
                        await self.start()
                    await take_batch()
                    backoff.succeeded()
                except MatrixError as exc:
                    if not _transient(exc):
                        raise
                    await self._abandon()
                    await backoff.wait(exc)
        finally:
            await self._abandon()

    async def start(self) -> None:
        """Read every room's state, and pick up where the last run stopped (or start from now)."""
        delta = await self.adapter.sync_state()
        snapshot = fold(Snapshot(), delta)
        self.rooms, self.creators = snapshot.rooms, snapshot.creators
        for claim in conference_rooms(snapshot, self.conference_id, self.user_id).untrusted:
            log.warning("%s claims to be the conference's %s but was created by %s, not by the bot: ignored",
                        claim.room_id, claim.key, claim.creator or "someone else")
        conference = {room_id: room for room_id in self.rooms if (room := self.room(room_id)) is not None}
        await asyncio.gather(*(self._read_members(room_id) for room_id in conference))
        for room_id, room in conference.items():
            if self.rooms[room_id].get(ENCRYPTION, {}).get(""):
                log.warning("%s (%s) is end-to-end encrypted: the bot cannot read commands or votes there",
                            room.key, room_id)
        unkeyed = TicketCodeStore(self.store.db).unkeyed(self.conference_id)
        if unkeyed:
            log.warning("%s: %s stored by an older Podium as bare SHA-256, which anyone with the file can guess "
                        "back: load the codes again with `podium tickets` to re-key them (each is re-keyed, too, "
                        "when its holder sends it)", self.store.path, counted(unkeyed, "ticket code"))
        self.store.forget_handled_before(time.time() - KEEP_HANDLED_SECONDS)
        self.received.forget_before(self.receive_clock() - KEEP_HANDLED_SECONDS)
        self.since = self.store.load_sync_token(self.account)
        if self.since is None:
            # First run: what was said before the bot ran is history, not commands to answer.
            self.since = delta.next_batch
            self.store.save_sync_token(self.account, self.since)
        self.ready.set()

    async def sync_once(self) -> None:
        """One /sync; its events handed to a new batch task. Raises what a batch failed with."""
        assert self._failure is not None, "sync_once runs inside run()"
        syncing = asyncio.ensure_future(self.adapter.sync(self.since, self.filter, timeout_ms=self.poll_timeout_ms))
        try:
            await asyncio.wait({syncing, self._failure}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not syncing.done():
                syncing.cancel()
        if self._failure.done():
            raise self._failure.result()
        try:
            batch = syncing.result()
        except MatrixError as exc:
            if exc.status != 400 or "token" not in exc.error.lower():
                raise
            # The homeserver no longer knows the saved token (its database was replaced): there
            # is no way to ask for what happened since, so start from now rather than not at all.
            log.error("the homeserver does not know where the bot stopped (%s): starting from now; "
                      "commands sent while the bot was away stay unanswered", exc.error)
            await self._abandon()
            self.since = (await self.adapter.sync_state()).next_batch
            self.store.save_sync_token(self.account, self.since)
            return
        handlers = await self.process(batch)
        token = self.since = batch["next_batch"]
        await self._queue(handlers, lambda: self.store.save_sync_token(self.account, token))

    async def take_pushed(self, pushed: PushedTransactions) -> None:
        """The next stored transaction handed to a new batch task, once there is one. Raises what
        a batch failed with."""
        assert self._failure is not None, "take_pushed runs inside run_pushed()"
        self._pushed.clear()  # before looking: a transaction stored after the look sets it again
        transaction = pushed.pending_after(self._pushed_from)
        if transaction is None:
            arrival = asyncio.ensure_future(self._pushed.wait())
            try:
                await asyncio.wait({arrival, self._failure}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                arrival.cancel()
        if self._failure.done():
            raise self._failure.result()
        if transaction is None:
            return
        handlers = await self.process(as_sync_batch(transaction.events, self.user_id),
                                      received=transaction.received_at)
        self._pushed_from = transaction.last
        await self._queue(handlers, lambda: pushed.handled(transaction.txn_id))

    async def _queue(self, handlers: list[Context], record: Callable[[], None]) -> None:
        """Handle a batch as a task after those in flight; ``record`` once it and every one
        before it are handled."""
        previous = self._batches[-1][1] if self._batches else None
        task = asyncio.create_task(self._handle_batch(handlers, previous))
        self._batches.append((record, task))
        task.add_done_callback(self._batch_done)
        if len(self._batches) > MAX_BATCHES_IN_FLIGHT:
            await asyncio.wait({self._batches[0][1]})  # back-pressure

    async def process(self, batch: dict[str, Any], *, received: float | None = None) -> list[Context]:
        """Fold the batch's state in, in timeline order, and prepare what there is to handle
        (each context sees the room as of its event, and carries when it was received: now,
        unless the batch was stored when it arrived, ``received``)."""
        if received is None:
            received = self.receive_clock()  # read before the batch's first await: when it arrived
        rooms = batch.get("rooms") or {}
        handlers = []
        for room_id, room in (rooms.get("join") or {}).items():
            state = self.rooms.setdefault(room_id, {})
            for event in (room.get("state") or {}).get("events", []):
                apply_event(state, self.creators, room_id, event)
            timeline = room.get("timeline") or {}
            events = list(timeline.get("events", []))
            if timeline.get("limited") and timeline.get("prev_batch"):
                events = await self._missed(room_id, timeline["prev_batch"]) + events
            history = len(events) - len(self._since_own_join(events))
            for index, event in enumerate(events):
                # State from before the bot joined still counts (the room's creation names its
                # creator); only what was said before is history, not something to answer.
                apply_event(state, self.creators, room_id, event)
                ctx = self.prepare(room_id, event) if index >= history else None
                if ctx is not None:
                    handlers.append(ctx)
        for room_id, room in (rooms.get("invite") or {}).items():
            await self._invited(room_id, room)
        for room_id in rooms.get("leave") or {}:
            self.rooms.pop(room_id, None)
            self.creators.pop(room_id, None)
        stamps = self.received.stamp((ctx.event_id for ctx in handlers), received)
        for ctx in handlers:
            ctx.received_ms = stamps[ctx.event_id]
        return handlers

    async def _handle_batch(self, handlers: list[Context], previous: asyncio.Task | None) -> None:
        """Handle one batch. Handlers start in timeline order and each runs without pausing
        until its first request to the homeserver, so what they store happens in order and only
        their requests overlap. An event that points at another (a vote, a poll response, a
        redaction) waits for every earlier batch first: its target may be a post whose handler
        is still waiting for the homeserver to say the post's event id."""

        async def one(ctx: Context) -> None:
            if previous is not None and _points_elsewhere(ctx.event):
                await asyncio.wait({previous})
            await self.handle(ctx)

        results = await asyncio.gather(*(one(ctx) for ctx in handlers), return_exceptions=True)
        if previous is not None:
            await asyncio.wait({previous})  # done means this batch and every earlier one is
            if previous.cancelled():
                raise asyncio.CancelledError
            if previous.exception() is not None:
                raise previous.exception()  # type: ignore[misc]
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed

    def _batch_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            if self._failure is not None and not self._failure.done():
                self._failure.set_result(task.exception())
            return
        while self._batches and self._batches[0][1].done() and not self._batches[0][1].cancelled() \
                and self._batches[0][1].exception() is None:
            record, _ = self._batches.popleft()
            record()

    async def _abandon(self) -> None:
        """Stop every batch in flight; resume from the last token whose events are all handled,
        or from the first pushed event still pending (handled events are skipped when seen again)."""
        tasks = [task for _, task in self._batches]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._batches.clear()
        self._failure = asyncio.get_running_loop().create_future()
        self._pushed_from = 0
        if self.ready.is_set():
            self.since = self.store.load_sync_token(self.account)

    async def _missed(self, room_id: str, prev_batch: str) -> list[dict[str, Any]]:
        """Events the sync left out (a long absence): paged back to where the last sync ended."""
        missed: list[dict[str, Any]] = []
        start: str | None = prev_batch
        while start:
            page = await self.adapter.messages(room_id, start, end=self.since,
                                               event_filter={"types": TIMELINE_TYPES, "lazy_load_members": True})
            chunk = page.get("chunk") or []
            for event in page.get("state") or []:  # the senders' member events
                apply_event(self.rooms.setdefault(room_id, {}), self.creators, room_id, event)
            if not chunk:
                break
            missed.extend(chunk)
            start = page.get("end")
        return list(reversed(missed))

    async def _invited(self, room_id: str, room: dict[str, Any]) -> None:
        """Accept an invitation to a direct chat, from anyone: attendees write to the bot there
        (a ticket code). Invitations to any other room are left alone."""
        inviter = direct_inviter(self.user_id, ((room.get("invite_state") or {}).get("events") or []))
        if inviter is None or self.direct_rooms.user_of(room_id) == inviter:
            return
        try:
            await accept_direct(self.adapter, self.store.db, room_id, inviter)
        except MatrixError as exc:
            if _transient(exc):
                raise
            log.warning("could not accept %s's direct chat %s: %s", inviter, room_id, exc)

    def _since_own_join(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events after the bot joined, when it joined in this batch (else all of them)."""
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if (event.get("type") == "m.room.member" and event.get("state_key") == self.user_id
                    and (event.get("content") or {}).get("membership") == "join"
                    and ((event.get("unsigned") or {}).get("prev_content") or {}).get("membership") != "join"):
                return events[index + 1:]
        return events

    # ---- one event ---------------------------------------------------------------------

    def prepare(self, room_id: str, event: dict[str, Any]) -> Context | None:
        """The context for handling ``event``, or None when there is nothing to handle: the
        bot's own events, rooms of other conferences, events handled before, withdrawn ones."""
        event_id = event.get("event_id")
        if not event_id or event.get("sender") == self.user_id:
            return None
        room = self.room(room_id) or self._direct(room_id, event)
        if room is None or self.store.is_handled(event_id):
            return None
        if "redacted_because" in (event.get("unsigned") or {}):
            return None
        if not isinstance(event.get("content"), dict):
            return None  # malformed: nothing in it a handler could read
        return self.context(room, event)

    async def _read_members(self, room_id: str) -> None:
        try:
            joined = await self.adapter.joined_members(room_id)
        except MatrixError as exc:
            if _transient(exc):
                raise
            log.warning("cannot read the members of %s: %s", room_id, exc)
            return
        members = self.rooms.setdefault(room_id, {}).setdefault("m.room.member", {})
        for user_id, profile in joined.items():
            members.setdefault(user_id, {"membership": "join", "displayname": profile.get("display_name")})

    def _display_name(self, room_id: str, user_id: str) -> str | None:
        member = self.rooms.get(room_id, {}).get("m.room.member", {}).get(user_id, {})
        return member.get("displayname") if isinstance(member.get("displayname"), str) else None

    async def handle(self, ctx: Context) -> None:
        event, event_id, room = ctx.event, ctx.event_id, ctx.room
        known = ctx.sender in self.rooms.get(room.room_id, {}).get("m.room.member", {})
        if not known and ctx.event_type == "m.room.message" and parse_command(ctx.content):
            member = await self.adapter.member(room.room_id, ctx.sender)
            self.rooms.setdefault(room.room_id, {}).setdefault("m.room.member", {})[ctx.sender] = member or {}
            ctx.sender_name = self._display_name(room.room_id, ctx.sender) or ctx.sender_name
        if self.hook:
            await self.hook("received", event)
        try:
            interested = await self.registry.dispatch(ctx)
        except MatrixError as exc:
            if _transient(exc):
                raise  # not marked handled: handled again once the server is back
            log.warning("could not handle %s in %s: %s", event_id, room.key, exc)
            interested = True
        except Exception:
            log.exception("handling %s in %s failed", event_id, room.key)
            interested = True
        if self.hook:
            await self.hook("answered", event)
        if interested:
            self.store.mark_handled(event_id, time.time())
        if self.hook:
            await self.hook("handled", event)

    def room(self, room_id: str) -> Room | None:
        """The conference room ``room_id`` is, from its locator; None for rooms of other conferences
        and for rooms the bot did not create, whatever their locator claims: anyone can write one
        in their own room, and the creator of a room has all the power in it."""
        state = self.rooms.get(room_id, {})
        key = claimed_key(state, self.conference_id)
        locator = state.get(LOCATOR, {}).get("", {})
        if key is None or locator.get("archived") or self.creators.get(room_id) != self.user_id:
            return None
        prefix, rest = kind_of(key), object_id(key)
        track_id = talk_id = None
        if prefix in (TRACK, BACKSTAGE):
            track_id = rest
        elif prefix == TALK:
            talk = next((t for t in self.schedule.talks if t.id == rest), None)
            talk_id, track_id = rest, (talk.track if talk else None)
        return Room(room_id, self.conference_id, key, str(locator.get("kind", prefix)), track_id, talk_id)

    def _direct(self, room_id: str, event: dict[str, Any]) -> Room | None:
        """A direct chat with the event's sender, as a room of kind ``direct``: what its person
        says there is handled, what anyone else says is not."""
        sender = event.get("sender")
        if not sender or self.direct_rooms.user_of(room_id) != sender:
            return None
        return Room(room_id, self.conference_id, DIRECT, DIRECT)

    def room_id_of(self, key: str) -> str | None:
        """The room of the conference object ``key`` (``track/forum``), among the bot's own rooms."""
        return next((room.room_id for room in self.own_rooms() if room.key == key), None)

    def own_rooms(self) -> list[Room]:
        """Every room of the conference the bot is in (its own, by their locators)."""
        return [room for room_id in list(self.rooms) if (room := self.room(room_id)) is not None]

    def context(self, room: Room, event: dict[str, Any]) -> Context:
        state = self.rooms.get(room.room_id, {})
        # In a direct chat its person may hold all the power (they made the room): there, roles
        # come from the schedule's staff lists alone.
        direct = room.kind == DIRECT
        levels = {} if direct else state.get(POWER_LEVELS, {}).get("", {})
        creators = {self.user_id} if direct else {self.user_id, *self._additional_creators(room.room_id)}
        moderators, speakers = track_staff(self.schedule, room.track_id, room.talk_id)
        moderators |= room_staff(self.schedule, room.key)
        staff = self.schedule.staff

        def role(user_id: str) -> Role:
            return role_of(user_id, power_levels=levels, organisers=staff.organisers,
                           moderators=moderators, speakers=speakers, creators=creators)

        sender = event.get("sender", "")
        name = self._display_name(room.room_id, sender)
        return Context(
            event=event, room=room, sender=sender, sender_name=name or sender[1:].split(":")[0],
            role=role(sender), db=self.store.db, schedule=self.schedule, now=self.clock(),
            bot_user_id=self.user_id, transport=self, role_of=role, power_levels=levels,
            reload=self.reloader.reload if self.reloader is not None else None, rooms=self.own_rooms,
            links=self.programme.links, wake_clock=self.wake_clock, direct_chat=self.direct_chat,
            public_url=self.programme.settings.public_url, welcome=self.programme.welcome,
        )

    async def direct_chat(self, user_id: str) -> str:
        """The room of the bot's direct chat with ``user_id`` (see bot.direct)."""
        return await direct_room(self.adapter, self.store.db, user_id)

    def _additional_creators(self, room_id: str) -> list[str]:
        """Who else created one of the bot's rooms. From room version 12 the homeserver gives every
        creator unbounded power there, so Podium counts them as organisers; before 12 the field
        means nothing and grants nothing."""
        create = self.rooms.get(room_id, {}).get(CREATE, {}).get("", {})
        extra = create.get("additional_creators")
        if not creator_has_power(str(create.get("room_version", "1"))) or not isinstance(extra, list):
            return []
        return [user for user in extra if isinstance(user, str)]

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.adapter.send_event(room_id, event_type, content, txn_id,
                                             what=f"send {event_type} to {room_id}")

    async def redact(self, room_id: str, event_id: str, reason: str, txn_id: str) -> str:
        return await self.adapter.redact(room_id, event_id, reason, txn_id, what=f"redact {event_id} in {room_id}")

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.adapter.invite(room_id, user_id, what=f"invite {user_id} to {room_id}")

    async def membership(self, room_id: str, user_id: str) -> str | None:
        return await self.adapter.membership(room_id, user_id)


def answering_adapter(homeserver: str, user_id: str, access_token: str, *, appservice: bool = False) -> MatrixAdapter:
    """The adapter the bot syncs and answers through (``appservice``: ``access_token`` is an
    application service's, acting as ``user_id``)."""
    return MatrixAdapter(homeserver, user_id, access_token, max_in_flight=REQUESTS_IN_FLIGHT, appservice=appservice)


async def log_in(adapter: MatrixAdapter, password: str) -> None:
    """Log in, trying again while the homeserver cannot be reached, as the sync loop does; a
    refused password or a URL that is no homeserver stops the bot at once."""
    await until_reached(lambda: adapter.login(password, device_id=DEVICE_ID))


async def until_reached(attempt: Callable[[], Awaitable[T]]) -> T:
    """What ``attempt()`` returns, tried again with back-off while the homeserver is away or
    failing (the bot's first requests: logging in, claiming its account); a refusal raises at once."""
    backoff = Backoff()
    while True:
        try:
            result = await attempt()
        except MatrixError as exc:
            if not _transient(exc):
                raise
            await backoff.wait(exc)
        else:
            backoff.succeeded()
            return result
