"""Events the homeserver pushes to the bot running as an application service.

``PUT /_matrix/app/v1/transactions/{txnId}`` on the widget pages' web server: the homeserver
shows the registration's hs_token (``Authorization: Bearer``) and sends the events of the rooms
the service is interested in (the bot's rooms) as one transaction.

The homeserver sends one transaction at a time, waiting for the answer before the next, and
pushes it again, with the same id, until the bot answers 200. The bot answers 200 as soon as the
transaction's events and its id are stored, in one commit (``bot.store.transactions``), before
any of them is handled: a slow reply holds back no transaction behind it. The runtime then
handles them (``Runtime.run_pushed``), each transaction as one batch shaped as /sync gives it,
in the order pushed: the commands never know which way their events came. A transaction pushed
again, also after a restart, is acknowledged without being stored again; events stored but not
handled when the bot stopped are handled when it starts again, each at most once (their handled
marks).

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


class TransactionReceiver:
    """The route that takes pushed transactions, storing them for the runtime once it runs
    (``attach``); until then a transaction waits for it."""

    def __init__(self, service: AppService):
        self.service = service
        self._runtime: Runtime | None = None
        self._pushed: PushedTransactions | None = None
        self._attached = asyncio.Event()
        self._reached = asyncio.Event()  # the homeserver has pinged this server

    def install(self, app: web.Application) -> None:
        app.router.add_put(TRANSACTIONS_PATH, self.receive)
        app.router.add_post(PING_PATH, self.pinged)

    def attach(self, runtime: Runtime, pushed: PushedTransactions) -> None:
        """Store transactions in ``pushed`` from now on, for ``runtime`` to handle."""
        self._runtime, self._pushed = runtime, pushed
        pushed.forget_before(time.time() - KEEP_HANDLED_SECONDS)
        self._attached.set()

    def detach(self) -> None:
        """The runtime is stopping (its store about to close): any later transaction is answered
        503, so the homeserver pushes it again to the next run."""
        self._runtime = self._pushed = None

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
        runtime, pushed = self._runtime, self._pushed
        if runtime is None or pushed is None:
            return _stopping()
        # Stored in one commit, with no pause between the look and the write: a transaction is
        # either stored whole or not at all, and once only.
        if pushed.store(txn_id, events, runtime.receive_clock()):
            runtime.pushed_arrived()
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
