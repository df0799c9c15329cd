"""``podium run``: the bot online during the conference.

A /sync loop on the Matrix adapter. Every event of a conference room goes through the command
registry (``bot.commands``); what it handled is remembered in the store (``bot.store``) together
with the sync token, so that:

- a restart resumes from the last token: nothing said while the bot was away is dropped, and an
  event handled before the restart is not handled again (handled event ids are kept);
- an event received but not yet handled when the bot died is handled after the restart, and
  what its handler sends carries the same transaction id as before, so the homeserver does not
  post it twice;
- on the very first run, and in a room the bot joins later, what was said before the bot was
  there is history and not answered.

When the homeserver is unreachable or failing (5xx, rate limits beyond the adapter's own
patience) the loop waits with exponential backoff and carries on from the same token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .commands import Context, Registry, Room, load_all
from .config import Connection
from .matrix import CLIENT, MatrixAdapter, MatrixError, Unreachable
from .observation import Snapshot, fold
from .roles import Role, role_of, track_staff
from .schedule import Schedule
from .state import LOCATOR, POWER_LEVELS
from .store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
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
STATE_TYPES = ["m.room.member", "m.room.create", POWER_LEVELS, LOCATOR]
#: Device id for password logins: one device across restarts keeps the homeserver's memory of
#: transaction ids, which is what makes a re-sent reply a no-op.
DEVICE_ID = "PODIUM_BOT"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _transient(exc: MatrixError) -> bool:
    """Worth retrying: the server is away, failing or busy, rather than refusing."""
    return isinstance(exc, Unreachable) or exc.status is None or exc.status >= 500 or exc.errcode == "M_LIMIT_EXCEEDED"


class Runtime:
    def __init__(
        self,
        adapter: MatrixAdapter,
        schedule: Schedule,
        store: Store,
        *,
        clock: Clock = utc_now,
        registry: Registry | None = None,
        hook: Hook | None = None,
        poll_timeout_ms: int = 30_000,
        timeline_limit: int = 50,
        max_backoff: float = 30.0,
    ):
        self.adapter = adapter
        self.schedule = schedule
        self.conference_id = schedule.conference.id
        self.store = store
        self.clock = clock
        self.registry = registry or load_all()
        self.hook = hook
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff = max_backoff
        self.user_id = adapter.user_id
        self.account = Store.account(adapter.user_id, adapter.client.homeserver)
        self.rooms: dict[str, dict[str, dict[str, Any]]] = {}  # room id -> type -> state key -> content
        self.since: str | None = None
        #: Set once the bot has its starting point: anything sent after that gets an answer.
        self.ready = asyncio.Event()
        self.filter = {
            "presence": {"types": []},
            "account_data": {"types": []},
            "room": {
                "timeline": {"types": TIMELINE_TYPES, "limit": timeline_limit},
                # Members of the senders in each batch, always (not only the first time), so a
                # restarted bot still knows everyone's display name.
                "state": {"types": STATE_TYPES, "lazy_load_members": True, "include_redundant_members": True},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
        }

    # ---- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Sync and handle events until cancelled."""
        backoff = 0.5
        while True:
            try:
                if not self.ready.is_set():
                    await self.start()
                await self.sync_once()
                backoff = 0.5
            except MatrixError as exc:
                if not _transient(exc):
                    raise
                log.warning("%s; trying again in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def start(self) -> None:
        """Read every room's state, and pick up where the last run stopped (or start from now)."""
        delta = await self.adapter.sync_state()
        self.rooms = fold(Snapshot(), delta).rooms
        self.since = self.store.load_sync_token(self.account)
        if self.since is None:
            # First run: what was said before the bot ran is history, not commands to answer.
            self.since = delta.next_batch
            self.store.save_sync_token(self.account, self.since)
        self.ready.set()

    async def sync_once(self) -> None:
        try:
            batch = await self.adapter.sync(self.since, self.filter, timeout_ms=self.poll_timeout_ms)
        except MatrixError as exc:
            if exc.status != 400 or "token" not in exc.error.lower():
                raise
            # The homeserver no longer knows the saved token (its database was replaced): there
            # is no way to ask for what happened since, so start from now rather than not at all.
            log.error("the homeserver does not know where the bot stopped (%s): starting from now; "
                      "commands sent while the bot was away stay unanswered", exc.error)
            self.since = (await self.adapter.sync_state()).next_batch
            self.store.save_sync_token(self.account, self.since)
            return
        await self.process(batch)
        # Only now: a crash before this line replays the batch, and handled events are skipped.
        self.since = batch["next_batch"]
        self.store.save_sync_token(self.account, self.since)

    async def process(self, batch: dict[str, Any]) -> None:
        rooms = batch.get("rooms") or {}
        handlers = []
        for room_id, room in (rooms.get("join") or {}).items():
            state = self.rooms.setdefault(room_id, {})
            for event in (room.get("state") or {}).get("events", []):
                _apply_state(state, event)
            timeline = room.get("timeline") or {}
            events = list(timeline.get("events", []))
            if timeline.get("limited") and timeline.get("prev_batch"):
                events = await self._missed(room_id, timeline["prev_batch"]) + events
            for event in self._since_own_join(events):
                if "state_key" in event:
                    _apply_state(state, event)
                ctx = self.prepare(room_id, event)  # who may do what as of this event
                if ctx is not None:
                    handlers.append(self.handle(ctx))
        for room_id in rooms.get("leave") or {}:
            self.rooms.pop(room_id, None)
        # Handlers start in timeline order, and each runs without pausing until its first
        # request to the homeserver: what they store happens in order, only their requests
        # overlap. Under load that is the difference between one round trip per reply and a
        # queue of them.
        results = await asyncio.gather(*handlers, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed  # the batch is replayed; what was handled is skipped

    async def _missed(self, room_id: str, prev_batch: str) -> list[dict[str, Any]]:
        """Events the sync left out (a long absence): paged back to where the last sync ended."""
        missed: list[dict[str, Any]] = []
        start: str | None = prev_batch
        while start:
            page = await self.adapter.messages(room_id, start, end=self.since,
                                               event_filter={"types": TIMELINE_TYPES, "lazy_load_members": True})
            chunk = page.get("chunk") or []
            for event in page.get("state") or []:  # the senders' member events
                _apply_state(self.rooms.setdefault(room_id, {}), event)
            if not chunk:
                break
            missed.extend(chunk)
            start = page.get("end")
        return list(reversed(missed))

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
        room = self.room(room_id)
        if room is None or self.store.is_handled(event_id):
            return None
        if "redacted_because" in (event.get("unsigned") or {}):
            return None
        return self.context(room, event)

    async def handle(self, ctx: Context) -> None:
        event, event_id, room = ctx.event, ctx.event_id, ctx.room
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
        """The conference room ``room_id`` is, from its locator; None for rooms of other conferences."""
        locator = self.rooms.get(room_id, {}).get(LOCATOR, {}).get("", {})
        key = locator.get("key")
        if locator.get("conference") != self.conference_id or not isinstance(key, str) or locator.get("archived"):
            return None
        prefix, _, rest = key.partition("/")
        track_id = talk_id = None
        if prefix in ("track", "backstage"):
            track_id = rest
        elif prefix == "talk":
            talk = next((t for t in self.schedule.talks if t.id == rest), None)
            talk_id, track_id = rest, (talk.track if talk else None)
        return Room(room_id, self.conference_id, key, str(locator.get("kind", prefix)), track_id, talk_id)

    def context(self, room: Room, event: dict[str, Any]) -> Context:
        state = self.rooms.get(room.room_id, {})
        levels = state.get(POWER_LEVELS, {}).get("", {})
        create = state.get("m.room.create", {}).get("", {})
        creators = {self.user_id, *(create.get("additional_creators") or [])}
        moderators, speakers = track_staff(self.schedule, room.track_id, room.talk_id)
        staff = self.schedule.staff

        def role(user_id: str) -> Role:
            return role_of(user_id, power_levels=levels, organisers=staff.organisers,
                           moderators=moderators, speakers=speakers, creators=creators)

        sender = event.get("sender", "")
        member = state.get("m.room.member", {}).get(sender, {})
        name = member.get("displayname") if isinstance(member.get("displayname"), str) else None
        return Context(
            event=event, room=room, sender=sender, sender_name=name or sender[1:].split(":")[0],
            role=role(sender), db=self.store.db, schedule=self.schedule, now=self.clock(),
            bot_user_id=self.user_id, transport=self, role_of=role, power_levels=levels,
        )

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.adapter.send_event(room_id, event_type, content, txn_id,
                                             what=f"send {event_type} to {room_id}")

    async def event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """One event as the homeserver has it. The bot's own events never come back through the
        handlers, so this is how a handler learns, say, the timestamp of an event it sent."""
        return await self.adapter.request("GET", f"{CLIENT}/rooms/{quote(room_id)}/event/{quote(event_id)}",
                                          what=f"read {event_id} in {room_id}")


def _apply_state(state: dict[str, dict[str, Any]], event: dict[str, Any]) -> None:
    if "state_key" in event:
        state.setdefault(event["type"], {})[event["state_key"]] = event.get("content") or {}


async def run_bot(connection: Connection, schedule: Schedule, data_dir: Path, *, clock: Clock = utc_now,
                  ready: asyncio.Event | None = None) -> None:
    """Run the bot for ``schedule`` until cancelled: log in (access token, or password on a fixed
    device), open the store in ``data_dir``, sync and answer. ``ready`` is set once it listens."""
    adapter = MatrixAdapter(connection.homeserver, connection.user_id, connection.access_token or "")
    store = Store(data_dir)
    try:
        if not connection.access_token:
            assert connection.password
            await adapter.login(connection.password, device_id=DEVICE_ID)
        runtime = Runtime(adapter, schedule, store, clock=clock)
        if ready is not None:
            waiter = asyncio.create_task(_forward(runtime.ready, ready))
        try:
            await runtime.run()
        finally:
            if ready is not None:
                waiter.cancel()
    finally:
        store.close()
        await adapter.close()


async def _forward(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
