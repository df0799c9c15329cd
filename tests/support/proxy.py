"""A counting, fault-injecting HTTP proxy in front of the test Synapse.

It runs in its own thread and event loop so sync tests (which call ``asyncio.run``) and the CLI
can use it. Every request is forwarded to the real homeserver and recorded; a test may install
``faults``: functions given (method, path) that return None to pass the request through, or a
``Fault`` saying to answer 429, to drop the connection after the server has handled it, or to
hold the request until the test releases it (then forward it, or drop it unseen).
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from typing import Callable

import aiohttp
from aiohttp import web

from tests.support.waiting import settled_blocking

_ROOM_IN_PATH = re.compile(r"/rooms/([^/]+)/")


@dataclass
class Fault:
    status: int = 429
    errcode: str = "M_LIMIT_EXCEEDED"
    error: str = "Too Many Requests"
    retry_after: float | None = 1.0  # seconds, sent as Retry-After
    retry_after_ms: int | None = None  # sent in the body
    drop_after_forwarding: bool = False  # the server does the work, the client hears nothing
    # Held: the request waits here until ``release`` is set (``arrived`` is set once it waits), then
    # goes on to the server, or with ``forward_after_hold=False`` never reaches it.
    release: threading.Event | None = None
    arrived: threading.Event | None = None
    forward_after_hold: bool = True


@dataclass
class CountingProxy:
    upstream: str
    requests: list[tuple[str, str]] = field(default_factory=list)
    faults: list[Callable[[str, str], Fault | None]] = field(default_factory=list)
    base_url: str = ""
    # Concurrency seen: requests in flight at once, overall and (writes) into any one room.
    peak_in_flight: int = 0
    peak_writes_per_room: int = 0
    _in_flight: int = 0
    _writes_in_room: dict[str, int] = field(default_factory=dict)

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def reset(self) -> None:
        self.requests.clear()
        self.faults.clear()
        self.peak_in_flight = self.peak_writes_per_room = 0

    def settled(self, timeout: float = 10.0) -> None:
        """Wait until no request is in flight (a released one has reached the server and back)."""
        settled_blocking(lambda: not self._in_flight, timeout=timeout)
        assert not self._in_flight, "the proxy still has requests in flight"

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if m != "GET"]

    def count(self, method: str, fragment: str) -> int:
        return sum(1 for m, p in self.requests if m == method and fragment in p)

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()

        async def main() -> None:
            session = aiohttp.ClientSession(auto_decompress=False)
            app = web.Application(client_max_size=64 * 1024 * 1024)
            async def forward(request: web.Request) -> web.StreamResponse:
                return await self._forward(request, session)

            app.router.add_route("*", "/{tail:.*}", forward)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.base_url = f"http://127.0.0.1:{port}"
            ready.set()
            await self._stopping.wait()
            await runner.cleanup()
            await session.close()

        self._loop.run_until_complete(main())

    async def _forward(self, request: web.Request, session: aiohttp.ClientSession) -> web.StreamResponse:
        room = _ROOM_IN_PATH.search(request.path) if request.method != "GET" else None
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        if room:
            self._writes_in_room[room[1]] = self._writes_in_room.get(room[1], 0) + 1
            self.peak_writes_per_room = max(self.peak_writes_per_room, self._writes_in_room[room[1]])
        try:
            return await self._answer(request, session)
        finally:
            self._in_flight -= 1
            if room:
                self._writes_in_room[room[1]] -= 1

    async def _answer(self, request: web.Request, session: aiohttp.ClientSession) -> web.StreamResponse:
        path = request.path_qs
        self.requests.append((request.method, path))
        fault = next((f for f in (check(request.method, path) for check in list(self.faults)) if f), None)
        body_bytes = await request.read()
        if fault and fault.release is not None:
            if fault.arrived is not None:
                fault.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, fault.release.wait)
            if not fault.forward_after_hold:
                if request.transport is not None:
                    request.transport.close()
                raise ConnectionResetError("dropped unseen by the test proxy")
            fault = None if not fault.drop_after_forwarding else fault
        if fault and not fault.drop_after_forwarding:
            body: dict = {"errcode": fault.errcode, "error": fault.error}
            if fault.retry_after_ms is not None:
                body["retry_after_ms"] = fault.retry_after_ms
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return web.json_response(body, status=fault.status, headers=headers)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.request(request.method, self.upstream + path, data=body_bytes,
                                   headers=headers) as upstream:
            payload = await upstream.read()
            if fault and fault.drop_after_forwarding:
                request.transport.close()  # type: ignore[union-attr]
                raise ConnectionResetError("dropped by the test proxy")
            out_headers = {k: v for k, v in upstream.headers.items()
                           if k.lower() in ("content-type", "retry-after")}
            return web.Response(body=payload, status=upstream.status, headers=out_headers)
