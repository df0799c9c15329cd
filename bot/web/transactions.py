"""Events the homeserver pushes to the bot running as an application service.

``PUT /_matrix/app/v1/transactions/{txnId}`` on the widget pages' web server: the homeserver
shows the registration's hs_token (``Authorization: Bearer``) and sends the events of the rooms
the service is interested in (the bot's rooms) as one transaction. Each transaction becomes one
batch shaped as /sync gives it (``as_sync_batch``) and goes to the runtime, which handles it as it
handles a batch of /sync: the commands never know which way their events came.

The homeserver sends one transaction at a time and pushes it again, with the same id, until the
bot answers 200. The answer comes once every event in it is handled, and only then is its id
recorded (``bot.store.transactions``): a transaction pushed again after that, also after a
restart, is acknowledged without being handled again; one the bot stopped in the middle of is
handled again, each of its events at most once (their handled marks). When the homeserver cannot
be reached to answer, the bot says 503 and the homeserver tries again later.

A request without the hs_token is refused before its body is read: 401 without any token, 403
with another one.

While the bot restarts, the homeserver keeps the transactions and pushes them once the web server
answers again. Pages that must stay up through a restart run apart, in ``podium web``, with the
bot started as ``podium run --no-pages``: its listener then takes nothing but the transactions.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from typing import Any

from aiohttp import web

from ..config import AppService
from ..matrix import MatrixError
from ..runtime import KEEP_HANDLED_SECONDS, Runtime
from ..store.transactions import PushedTransactions

log = logging.getLogger(__name__)

TRANSACTIONS_PATH = "/_matrix/app/v1/transactions/{txn_id}"
PING_PATH = "/_matrix/app/v1/ping"
#: Pauses between asking the homeserver to reach the bot (seconds); None: the last try.
PING_PAUSES = (1.0, 3.0, None)
#: The largest transaction read: a homeserver pushes at most 100 events and 100 ephemeral ones
#: at a time (Synapse), each at most 64 KiB.
MAX_TRANSACTION_BYTES = 16 * 1024 * 1024


def as_sync_batch(events: list[Any], bot_user_id: str) -> dict[str, Any]:
    """A transaction's events as the ``rooms`` of one /sync batch: each room's events in its
    timeline, in the order pushed; the bot's own invitations under ``invite`` (the invitation
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


class TransactionReceiver:
    """The route that takes pushed transactions, handing them to the runtime once it runs
    (``attach``); until then a transaction waits for it."""

    def __init__(self, service: AppService):
        self.service = service
        self._runtime: Runtime | None = None
        self._done: PushedTransactions | None = None
        self._attached = asyncio.Event()
        self._reached = asyncio.Event()  # the homeserver has pinged this server
        self._one_at_a_time = asyncio.Lock()
        self._delivery: asyncio.Future | None = None  # the transaction being handled

    def install(self, app: web.Application) -> None:
        app.router.add_put(TRANSACTIONS_PATH, self.receive)
        app.router.add_post(PING_PATH, self.pinged)

    def attach(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._done = PushedTransactions(runtime.store.db, self.service.id)
        self._done.forget_before(time.time() - KEEP_HANDLED_SECONDS)
        self._attached.set()

    async def detach(self) -> None:
        """The runtime is stopping (its store about to close): the transaction being handled is
        stopped, and this one and any later are answered 503, so the homeserver pushes them again
        to the next run."""
        self._runtime = self._done = None
        if self._delivery is not None:
            self._delivery.cancel()
            await asyncio.wait({self._delivery})

    async def call_for_pushes(self) -> None:
        """Once the runtime has its rooms, ask the homeserver to reach this server: it then
        pushes what it kept while the bot was away at once instead of at its next retry, which
        comes minutes apart after a long stop. A homeserver that cannot reach the bot is worth a
        warning, not a stop: it may reach it later. Then wait, until cancelled."""
        await self._attached.wait()
        assert self._runtime is not None
        await self._runtime.ready.wait()
        # A busy homeserver can fail one ping on its own side after reaching this server, or
        # before: it is asked again, and only a homeserver that never got here is warned about.
        for pause in PING_PAUSES:
            try:
                await self._runtime.adapter.ping_appservice(self.service.id)
                break
            except MatrixError as exc:
                if self._reached.is_set():
                    break
                if pause is None:
                    log.warning("%s: the homeserver pushes the rooms' events to the URL in the registration; check "
                                "that it reaches this web server there (podium appservice --url)", exc)
                    break
                await asyncio.sleep(pause)
        await asyncio.Future()

    async def pinged(self, request: web.Request) -> web.Response:
        refused = self._refusal(request.headers.get("Authorization", ""))
        if refused is not None:
            return refused
        self._reached.set()
        return web.json_response({})

    async def receive(self, request: web.Request) -> web.Response:
        refused = self._refusal(request.headers.get("Authorization", ""))
        if refused is not None:
            return refused
        txn_id = request.match_info["txn_id"]
        raw = await _read_body(request)
        if raw is None:
            return _error(413, "M_TOO_LARGE", f"a transaction is at most {MAX_TRANSACTION_BYTES} bytes")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _error(400, "M_NOT_JSON", "the transaction is not JSON")
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return _error(400, "M_BAD_JSON", "a transaction holds a list of events")
        await self._attached.wait()
        async with self._one_at_a_time:
            runtime, done = self._runtime, self._done
            if runtime is None or done is None:
                return _stopping()
            if done.handled(txn_id):
                return web.json_response({})
            delivery = self._delivery = asyncio.ensure_future(runtime.deliver(as_sync_batch(events, runtime.user_id)))
            try:
                await asyncio.wait({delivery})
            except asyncio.CancelledError:  # the homeserver gave up waiting: it pushes it again
                delivery.cancel()
                raise
            finally:
                self._delivery = None
            if delivery.cancelled() or self._runtime is None:
                return _stopping()
            failure = delivery.exception()
            if isinstance(failure, MatrixError):
                log.warning("transaction %s: %s; the homeserver will push it again", txn_id, failure)
                return _error(503, "M_UNAVAILABLE", "the bot cannot reach the homeserver; push it again later")
            if failure is not None:
                raise failure
            done.mark_handled(txn_id, time.time())
        return web.json_response({})

    def _refusal(self, authorization: str) -> web.Response | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(401, "M_UNAUTHORIZED", "no hs_token in the Authorization header")
        if not hmac.compare_digest(token.strip().encode(), self.service.hs_token.encode()):
            return _error(403, "M_FORBIDDEN", "that is not this application service's hs_token")
        return None


def _stopping() -> web.Response:
    """The answer while the bot stops: the homeserver pushes the transaction again to the next run."""
    return _error(503, "M_UNAVAILABLE", "the bot is stopping; push it again later")


async def _read_body(request: web.Request) -> bytes | None:
    """The request's body; None when it is larger than a transaction can be."""
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_TRANSACTION_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, errcode: str, error: str) -> web.Response:
    return web.json_response({"errcode": errcode, "error": error}, status=status)
