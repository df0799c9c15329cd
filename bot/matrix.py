"""The Matrix adapter: every request Podium makes to a homeserver goes through here.

Built on matrix-nio's AsyncClient transport, with what provisioning needs on top:
- a global throttle: when the server says M_LIMIT_EXCEEDED, every request waits out its
  ``Retry-After`` (else ``retry_after_ms``), with a bound on retries and on any single wait;
- a bound on requests in flight;
- errors that say what was being done, what the server answered and what to do about it;
- counts of reads and writes, so callers can report (and tests can check) what they cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import AsyncClient, AsyncClientConfig

from .roomstate.observation import Snapshot, SyncDelta, fold, observed_room
from .roomstate.state import (
    CANONICAL_ALIAS,
    CLIENT_SETTINGS,
    ENCRYPTION,
    GUEST_ACCESS,
    JOIN_RULES,
    LAYOUT,
    LOCATOR,
    POWER_LEVELS,
    SPACE_CHILD,
    SPACE_PARENT,
    WIDGET,
    ObservedRoom,
)

log = logging.getLogger(__name__)
CLIENT = "/_matrix/client/v3"

#: The state Podium manages, fetched for every room in one filtered /sync, and encryption,
#: which it only reports.
MANAGED_STATE = (
    ENCRYPTION,
    "m.room.create",
    "m.room.name",
    "m.room.topic",
    JOIN_RULES,
    "m.room.history_visibility",
    GUEST_ACCESS,
    CANONICAL_ALIAS,
    POWER_LEVELS,
    LOCATOR,
    SPACE_PARENT,
    SPACE_CHILD,
    WIDGET,
    LAYOUT,
    CLIENT_SETTINGS,
)

RATE_LIMIT_HINT = (
    "the homeserver keeps rate-limiting the bot. Lift its limits: as a Synapse admin, "
    "POST /_synapse/admin/v1/users/<bot user id>/override_ratelimit with "
    '{"messages_per_second": 0, "burst_count": 0}, or run the bot as an application service '
    "whose registration says rate_limited: false"
)
#: What to do about an error code, unless the request says what the code means for it (see
#: ``hints`` on :meth:`MatrixAdapter.request`): M_FORBIDDEN on a room is about power, on /login
#: about the password.
HINTS = {
    "M_FORBIDDEN": "the bot lacks the power for this in that room: give it power 100 there, or "
    "let Podium recreate the room",
    "M_UNKNOWN_TOKEN": "the access token is invalid or expired: set PODIUM_ACCESS_TOKEN (or "
    "PODIUM_PASSWORD) again",
    "M_MISSING_TOKEN": "no access token: set PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD",
    "M_ROOM_IN_USE": "that alias already belongs to another room",
    "M_NOT_FOUND": "check that the user or room exists",
    "M_LIMIT_EXCEEDED": RATE_LIMIT_HINT,
}


class MatrixError(Exception):
    """A request the homeserver refused (or could not be reached for)."""

    def __init__(self, what: str, status: int | None, errcode: str, error: str, hint: str | None = None):
        self.what, self.status, self.errcode, self.error = what, status, errcode, error
        self.hint = hint if hint is not None else HINTS.get(errcode)
        super().__init__(str(self))

    @property
    def transient(self) -> bool:
        """Worth retrying: the server is away, failing or busy, rather than refusing."""
        return isinstance(self, Unreachable) or self.status is None or self.status >= 500 \
            or self.errcode == "M_LIMIT_EXCEEDED"

    def __str__(self) -> str:
        status = f"HTTP {self.status} " if self.status else ""
        text = f"{self.what}: {status}{self.errcode}: {self.error}"
        return f"{text} — {self.hint}" if self.hint else text


class Unreachable(MatrixError):
    """The request may or may not have reached the server (connection lost, timed out)."""

    def __str__(self) -> str:
        return f"{self.what}: {self.error} — {self.hint}"


class NotAHomeserver(MatrixError):
    """Something answered at the homeserver URL, but not the Matrix client-server API."""

    def __init__(self, what: str, status: int | None, homeserver: str, path: str, answer: str):
        super().__init__(what, status, "M_NOT_A_HOMESERVER",
                         f"{homeserver} is not a Matrix homeserver (it answered {path.split('?')[0]} with {answer})",
                         "check PODIUM_HOMESERVER (or --homeserver): it is the URL Element signs in to, "
                         "e.g. https://matrix.example.org")

    def __str__(self) -> str:
        return f"{self.what}: {self.error}: {self.hint}"


#: Login errors, in the words of what went wrong when logging in.
LOGIN_HINTS = {
    "M_FORBIDDEN": "the homeserver refused the bot's password: check PODIUM_PASSWORD (or the file "
    "PODIUM_PASSWORD_FILE names) and PODIUM_USER_ID",
    "M_USER_DEACTIVATED": "the bot's account is deactivated: use another account in PODIUM_USER_ID",
    "M_INVALID_USERNAME": "check PODIUM_USER_ID",
}


#: Errors of the bot as an application service, in the words of its registration.
APPSERVICE_HINTS = {
    "M_UNKNOWN_TOKEN": "the homeserver does not know the application service's as_token: add the registration "
    "`podium appservice` wrote to its app_service_config_files and restart it (or run `podium appservice` again "
    "if the data directory's tokens are new)",
    "M_EXCLUSIVE": "the registration does not claim this Matrix ID: run `podium appservice` with the same "
    "--user-id, give Synapse the new registration and restart it",
    "M_FORBIDDEN": "the registration does not claim this Matrix ID: run `podium appservice` with the same "
    "--user-id, give Synapse the new registration and restart it",
}


@dataclass(frozen=True)
class Throttle:
    """One 429 the homeserver answered: which kind of write (:func:`write_kind`), how many of
    that kind it had let pass before in this run, and how long it said to wait."""

    kind: str
    passed_before: int
    wait: float


def write_kind(method: str, path: str) -> str | None:
    """Which of the homeserver's rate-limit buckets a request draws on: "create" (rooms),
    "invite", "state" (state events and messages alike), or None for what provisioning does
    not count (reads, joins, account data)."""
    if method == "GET":
        return None
    bare = path.split("?", 1)[0]
    if bare.endswith("/createRoom"):
        return "create"
    if bare.endswith("/invite"):
        return "invite"
    if "/state/" in bare or "/send/" in bare:
        return "state"
    return None


@dataclass
class RequestStats:
    reads: int = 0
    writes: int = 0
    rate_limited: int = 0
    waited: float = 0.0  # seconds spent waiting out rate limits
    #: Writes the homeserver let through, by :func:`write_kind`, and the 429s it answered.
    passed: dict[str, int] = field(default_factory=dict)
    throttles: list[Throttle] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.reads + self.writes


#: Requests one adapter has in flight at once. A long-polling /sync does not count: it waits for
#: news rather than loading the server, and counting it would hold back every other request.
DEFAULT_IN_FLIGHT = 4


class MatrixAdapter:
    """One bot account on one homeserver."""

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        access_token: str,
        *,
        max_in_flight: int = DEFAULT_IN_FLIGHT,
        max_retries: int = 8,
        max_wait: float = 300.0,
        timeout: float = 120.0,
        appservice: bool = False,
    ):
        """``appservice``: ``access_token`` is an application service's as_token and every
        request acts as ``user_id``, a user of the service's namespace (the ``user_id`` query
        parameter). Not as the service's own user: the homeserver refuses that one /sync."""
        # nio would sleep through every 429 forever; this adapter applies one bound for all.
        config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=timeout)
        self.client = AsyncClient(homeserver.rstrip("/"), user_id, config=config)
        self.client.access_token = access_token
        self.user_id = user_id
        self.server_name = user_id.split(":", 1)[1]
        self.stats = RequestStats()
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._timeout = timeout
        self._resume_at = 0.0  # monotonic time before which no request may start
        self._account_data_changes: dict[str, asyncio.Lock] = {}  # by event type
        self.appservice = appservice

    async def close(self) -> None:
        await self.client.close()

    async def __aenter__(self) -> "MatrixAdapter":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- transport -------------------------------------------------------------------

    async def request(self, method: str, path: str, body: Any = None, *, what: str, timeout: float | None = None,
                      long_poll: bool = False, hints: dict[str, str] | None = None,
                      appservice_user: bool = True) -> dict:
        """Send one request; wait out rate limits (globally, bounded); raise MatrixError.

        A ``long_poll`` request is not held to the bound on requests in flight. ``hints`` says
        what an error code means for this request, where it differs from :data:`HINTS`. An
        answer that is not a Matrix one (an HTML page, a 404 without an error code) raises
        :class:`NotAHomeserver`, and no page body ever goes into an error. An application
        service's request acts as the bot's user unless ``appservice_user`` is False."""
        headers = {"Authorization": f"Bearer {self.client.access_token}"} if self.client.access_token else {}
        if self.appservice and appservice_user:
            path += f"{'&' if '?' in path else '?'}user_id={quote(self.user_id, safe='')}"
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        for _attempt in range(self._max_retries + 1):
            pause = self._resume_at - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            async with contextlib.nullcontext() if long_poll else self._in_flight:
                if method == "GET":
                    self.stats.reads += 1
                else:
                    self.stats.writes += 1
                try:
                    response = await self.client.send(method, path, data, headers, timeout=timeout or self._timeout)
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
                    content_type = response.headers.get("Content-Type", "")
                    raw = await response.read()
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    raise Unreachable(what, None, "M_UNREACHABLE", _why_unreachable(exc, timeout or self._timeout),
                                      "check the homeserver URL and that it is running") from None
            try:
                payload = json.loads(raw) if raw else {}
            except ValueError:
                payload = None
            if payload is None:
                answer = _describe_answer(status, content_type)
                if status >= 500:  # a proxy's error page while the homeserver behind it is down: transient
                    raise MatrixError(what, status, f"HTTP_{status}", f"the server answered with {answer}",
                                      "the homeserver (or a proxy in front of it) is failing; try again later")
                raise NotAHomeserver(what, status, self.client.homeserver, path, answer)
            if not isinstance(payload, dict):
                payload = {"value": payload}
            errcode = payload.get("errcode", "")
            if status in (404, 405) and not errcode:  # a homeserver names every error it returns
                raise NotAHomeserver(what, status, self.client.homeserver, path,
                                     f"HTTP {status} and no Matrix error code")
            kind = write_kind(method, path)
            if status == 429 or errcode == "M_LIMIT_EXCEEDED":
                wait = _retry_after_seconds(retry_after, payload)
                self.stats.rate_limited += 1
                if kind is not None:
                    self.stats.throttles.append(Throttle(kind, self.stats.passed.get(kind, 0), wait))
                if wait > self._max_wait:
                    raise MatrixError(what, status, "M_LIMIT_EXCEEDED",
                                      f"asked to wait {wait:.0f} s, more than the {self._max_wait:.0f} s allowed",
                                      RATE_LIMIT_HINT)
                log.warning("rate limited while trying to %s: waiting %.1f s", what, wait)
                self.stats.waited += wait
                self._resume_at = max(self._resume_at, time.monotonic() + wait)
                continue
            if status >= 400:
                raise MatrixError(what, status, errcode or f"HTTP_{status}", payload.get("error", ""),
                                  (hints or {}).get(errcode))
            if kind is not None:
                self.stats.passed[kind] = self.stats.passed.get(kind, 0) + 1
            return payload
        raise MatrixError(what, 429, "M_LIMIT_EXCEEDED", f"still rate limited after {self._max_retries} retries",
                          RATE_LIMIT_HINT)

    async def login(self, password: str, device_id: str | None = None) -> str:
        """Log in with a password; the adapter then uses the new access token.

        A fixed ``device_id`` makes every login the same device, so the homeserver's memory of
        transaction ids (which makes a re-sent event a no-op) survives a restart of the bot."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": self.user_id},
            "password": password,
            "initial_device_display_name": "Podium",
        }
        if device_id:
            body["device_id"] = device_id
        path = f"{CLIENT}/login"
        data = await self.request("POST", path, body, what=f"log in as {self.user_id}", hints=LOGIN_HINTS)
        token = data.get("access_token")
        if not isinstance(token, str):
            raise NotAHomeserver(f"log in as {self.user_id}", 200, self.client.homeserver, path,
                                 "JSON without an access token")
        self.client.access_token = token
        return token

    async def claim_user(self) -> None:
        """As an application service: register the bot's account in the service's namespace,
        unless it exists already (an account the bot used before keeps its rooms)."""
        path = f"{CLIENT}/register"
        body = {"type": "m.login.application_service", "username": self.user_id[1:].split(":", 1)[0],
                "inhibit_login": True}
        try:
            await self.request("POST", path, body, what=f"register {self.user_id} as the application service's user",
                               appservice_user=False, hints=APPSERVICE_HINTS)
        except MatrixError as exc:
            if exc.errcode != "M_USER_IN_USE":
                raise

    async def ping_appservice(self, service_id: str) -> None:
        """As an application service: ask the homeserver to reach the service's URL; once it has,
        it pushes at once what it kept while the service was away, rather than at its next retry."""
        await self.request("POST", f"/_matrix/client/v1/appservice/{quote(service_id, safe='')}/ping",
                           {"transaction_id": uuid.uuid4().hex}, what="ask the homeserver to reach the bot's web server",
                           appservice_user=False, hints=APPSERVICE_HINTS)

    # ---- reads -----------------------------------------------------------------------

    async def whoami(self) -> str:
        path = f"{CLIENT}/account/whoami"
        data = await self.request("GET", path, what="check the access token")
        if not isinstance(data.get("user_id"), str):
            raise NotAHomeserver("check the access token", 200, self.client.homeserver, path, "JSON without a user id")
        return data["user_id"]

    async def default_room_version(self) -> str:
        data = await self.request("GET", f"{CLIENT}/capabilities", what="read the server's capabilities")
        return str(data.get("capabilities", {}).get("m.room_versions", {}).get("default", "10"))

    async def sync_state(self, since: str | None = None) -> SyncDelta:
        """The managed state of every joined room (full), or what changed ``since`` a token."""
        sync_filter = {
            "presence": {"types": []},
            "account_data": {"types": []},
            "room": {
                # Synapse answers an identical /sync from a cache for two minutes, which would
                # hide changes made since; a room ID that cannot exist makes each request unique.
                "not_rooms": [f"!observe-{uuid.uuid4().hex}:podium.invalid"],
                "timeline": {"limit": 0},
                "state": {"types": list(MANAGED_STATE), "lazy_load_members": False},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
        }
        query = f"timeout=0&filter={quote(json.dumps(sync_filter, separators=(',', ':')))}"
        query += f"&since={quote(since)}" if since else "&full_state=true"
        data = await self.request("GET", f"{CLIENT}/sync?{query}", what="read the conference rooms (/sync)")
        rooms = data.get("rooms", {})
        joined = {
            room_id: room.get("state", {}).get("events", []) + room.get("timeline", {}).get("events", [])
            for room_id, room in rooms.get("join", {}).items()
        }
        return SyncDelta(data["next_batch"], since is None, joined, list(rooms.get("leave", {})))

    async def sync(self, since: str | None, sync_filter: dict[str, Any], *, timeout_ms: int = 30_000) -> dict:
        """One raw /sync (long-polling up to ``timeout_ms`` for something new)."""
        query = f"timeout={int(timeout_ms)}&filter={quote(json.dumps(sync_filter, separators=(',', ':')))}"
        if since:
            query += f"&since={quote(since)}"
        return await self.request("GET", f"{CLIENT}/sync?{query}", what="wait for new events (/sync)",
                                  timeout=timeout_ms / 1000 + self._timeout, long_poll=True)

    async def messages(self, room_id: str, start: str, *, end: str | None = None, direction: str = "b",
                       limit: int = 100, event_filter: dict[str, Any] | None = None) -> dict:
        """One page of a room's timeline (/messages), from ``start`` towards ``end``."""
        query = f"dir={direction}&from={quote(start)}&limit={limit}"
        if end:
            query += f"&to={quote(end)}"
        if event_filter:
            query += f"&filter={quote(json.dumps(event_filter, separators=(',', ':')))}"
        return await self.request("GET", f"{CLIENT}/rooms/{quote(room_id)}/messages?{query}",
                                  what=f"read missed events in {room_id}")

    async def room_state(self, room_id: str) -> ObservedRoom:
        events = await self.request("GET", f"{CLIENT}/rooms/{quote(room_id)}/state", what=f"read the state of {room_id}")
        delta = SyncDelta("", True, {room_id: events.get("value", []) if isinstance(events, dict) else events})
        snapshot = fold(Snapshot(), delta)
        return observed_room(room_id, snapshot.rooms.get(room_id, {}), snapshot.creators.get(room_id))

    async def state_event(self, room_id: str, event_type: str, state_key: str, *, what: str) -> dict[str, Any]:
        """The content of one state event as the room has it now ({} if it has none)."""
        path = f"{CLIENT}/rooms/{quote(room_id)}/state/{quote(event_type)}/{quote(state_key, safe='')}"
        try:
            data = await self.request("GET", path, what=what)
        except MatrixError as exc:
            if exc.status == 404:
                return {}
            raise
        return data if isinstance(data, dict) else {}

    async def resolve_alias(self, alias: str) -> str | None:
        try:
            data = await self.request("GET", f"{CLIENT}/directory/room/{quote(alias)}", what=f"look up {alias}")
        except MatrixError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise
        return data["room_id"]

    async def membership(self, room_id: str, user_id: str) -> str | None:
        content = await self.member(room_id, user_id)
        return None if content is None else content.get("membership")

    async def member(self, room_id: str, user_id: str) -> dict[str, Any] | None:
        """``user_id``'s member event content in a room (membership, displayname), if any."""
        try:
            return await self.request(
                "GET", f"{CLIENT}/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}",
                what=f"read {user_id}'s membership")
        except MatrixError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise

    async def members(self, room_id: str) -> dict[str, str]:
        """Everyone in a room or invited to it: user id -> ``join`` or ``invite``."""
        data = await self.request("GET", f"{CLIENT}/rooms/{quote(room_id)}/members?not_membership=leave",
                                  what=f"read who is in {room_id}")
        found: dict[str, str] = {}
        for event in data.get("chunk", []):
            membership = (event.get("content") or {}).get("membership") if isinstance(event, dict) else None
            if membership in ("join", "invite") and isinstance(event.get("state_key"), str):
                found[event["state_key"]] = membership
        return found

    async def joined_members(self, room_id: str) -> dict[str, dict[str, Any]]:
        """Everyone joined to a room: user id -> {display_name, avatar_url}."""
        data = await self.request("GET", f"{CLIENT}/rooms/{quote(room_id)}/joined_members",
                                  what=f"read the members of {room_id}")
        return data.get("joined", {})

    async def profile(self, user_id: str) -> dict[str, Any] | None:
        """``user_id``'s profile (display name, avatar); None when the homeserver knows no such user."""
        try:
            return await self.request("GET", f"{CLIENT}/profile/{quote(user_id)}", what=f"look up {user_id}")
        except MatrixError as exc:
            # Synapse answers an unknown local user with 404 and M_UNKNOWN ("No row found"), not M_NOT_FOUND.
            if exc.errcode == "M_NOT_FOUND" or (exc.status == 404 and not isinstance(exc, NotAHomeserver)):
                return None
            raise

    async def account_data(self, event_type: str) -> dict[str, Any]:
        """The bot's own account data of ``event_type`` (empty when it has none)."""
        try:
            return await self.request("GET", f"{CLIENT}/user/{quote(self.user_id)}/account_data/{quote(event_type)}",
                                      what=f"read the bot's {event_type}")
        except MatrixError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return {}
            raise

    # ---- writes ----------------------------------------------------------------------

    async def put_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        await self.request("PUT", f"{CLIENT}/user/{quote(self.user_id)}/account_data/{quote(event_type)}", content,
                           what=f"write the bot's {event_type}")

    async def change_account_data(self, event_type: str,
                                  change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Read the bot's ``event_type`` account data, ``change`` it and write back what changed;
        what was written. The homeserver keeps whichever write came last, so two changes read at
        once would lose one of them: this adapter makes its changes of one type one at a time."""
        lock = self._account_data_changes.setdefault(event_type, asyncio.Lock())
        async with lock:
            current = await self.account_data(event_type)
            changed = change(current)
            if changed != current:
                await self.put_account_data(event_type, changed)
            return changed

    async def leave(self, room_id: str, *, what: str, reason: str | None = None) -> None:
        """Leave a room; its members see the ``reason``, if given, with the bot's leaving."""
        await self.request("POST", f"{CLIENT}/rooms/{quote(room_id)}/leave", {"reason": reason} if reason else {},
                           what=what)

    async def create_room(self, body: dict[str, Any], *, what: str) -> str:
        data = await self.request("POST", f"{CLIENT}/createRoom", body, what=what)
        return data["room_id"]

    async def put_state(self, room_id: str, event_type: str, state_key: str, content: dict[str, Any], *, what: str) -> str:
        path = f"{CLIENT}/rooms/{quote(room_id)}/state/{quote(event_type)}/{quote(state_key, safe='')}"
        data = await self.request("PUT", path, content, what=what)
        return data.get("event_id", "")

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str, *,
                         what: str) -> str:
        """Send a room event. The homeserver treats a repeated ``txn_id`` (from the same device)
        as the same request and returns the first event, so a retried send never duplicates."""
        path = f"{CLIENT}/rooms/{quote(room_id)}/send/{quote(event_type)}/{quote(txn_id, safe='')}"
        data = await self.request("PUT", path, content, what=what)
        return data["event_id"]

    async def redact(self, room_id: str, event_id: str, reason: str, txn_id: str, *, what: str) -> str:
        """Redact an event; a repeated ``txn_id`` is the same redaction, as with sends."""
        path = f"{CLIENT}/rooms/{quote(room_id)}/redact/{quote(event_id)}/{quote(txn_id, safe='')}"
        data = await self.request("PUT", path, {"reason": reason}, what=what)
        return data.get("event_id", "")

    async def delete_alias(self, alias: str, *, what: str) -> None:
        await self.request("DELETE", f"{CLIENT}/directory/room/{quote(alias)}", what=what)

    async def invite(self, room_id: str, user_id: str, *, what: str) -> None:
        await self.request("POST", f"{CLIENT}/rooms/{quote(room_id)}/invite", {"user_id": user_id}, what=what)

    async def kick(self, room_id: str, user_id: str, *, reason: str, what: str) -> None:
        """Take ``user_id`` out of a room, or take back their invitation to it; they see the ``reason``."""
        await self.request("POST", f"{CLIENT}/rooms/{quote(room_id)}/kick", {"user_id": user_id, "reason": reason},
                           what=what)

    async def join(self, room_id_or_alias: str, *, what: str) -> str:
        data = await self.request("POST", f"{CLIENT}/join/{quote(room_id_or_alias)}", {}, what=what)
        return data["room_id"]


def _why_unreachable(exc: BaseException, timeout: float) -> str:
    """Why a request got no answer, in words rather than aiohttp's exception names."""
    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error  # asyncio words a refused connection as "Connect call failed (address)"
        reason = os.strerror(error.errno) if error.errno and error.errno > 0 else error.strerror or str(error)
        return f"cannot connect to {exc.host}:{exc.port} ({reason.lower()})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def _describe_answer(status: int, content_type: str) -> str:
    """What a non-Matrix answer was, in a few words and without its body."""
    kind = content_type.split(";")[0].strip().lower()
    words = {"text/html": "an HTML page", "application/xhtml+xml": "an HTML page", "text/plain": "plain text"}
    what = words.get(kind) or (f"{kind} content" if kind else "something that is not JSON")
    return f"{what}, HTTP {status}"


def _retry_after_seconds(header: str | None, payload: dict[str, Any]) -> float:
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass  # an HTTP date: fall back to the body
    ms = payload.get("retry_after_ms")
    if isinstance(ms, (int, float)):
        return max(0.0, ms / 1000)
    return 1.0
