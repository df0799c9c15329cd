"""The web server's listening sockets, with Podium's own accept loop.

asyncio's loop accepts by itself, and when ``accept()`` fails for want of file descriptors it
hands a traceback to the loop's exception handler and schedules a retry, once per failed
attempt in its batch; the retries multiply and the loop spins (CPython gh-151615, not fixed in
the Pythons Podium supports). That loop can neither be paused nor told how many connections are
too many, so this site accepts each connection itself:

* past ``max_connections`` open connections a new one gets a short 503 and is closed at once,
  so its descriptor is free again before the next ``accept()``; so does one from an address
  that already holds ``per_client`` (a trusted proxy excepted: it carries many clients);
* a connection that has not sent its first request's headers ``header_seconds`` after it was
  accepted is closed, however slowly it trickles them (later requests on a kept-alive
  connection are bounded by aiohttp's keep-alive timeout, which runs while it waits for one);
* when ``accept()`` fails anyway (the process is out of descriptors, or the system is), that
  is logged once, then only counted, and the loop pauses, longer each time, until it works.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable

from aiohttp import web
from yarl import URL

from .limits import RETRY_AFTER_SECONDS, WebLimits
from .requestlog import LogThrottle

log = logging.getLogger(__name__)

#: The first pause after a failed accept(), doubled on each failure up to the longest.
FIRST_PAUSE_SECONDS = 0.05
LONGEST_PAUSE_SECONDS = 2.0

_REFUSAL_TEXT = (b"Podium's web server has as many connections open as it takes right now; "
                 b"reload the page in a few seconds.\n")
#: The whole answer over the connection cap, written without reading the request: no parsing,
#: no buffers, and the same for every request.
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           + f"Content-Length: {len(_REFUSAL_TEXT)}\r\nRetry-After: {RETRY_AFTER_SECONDS}\r\n".encode()
           + b"Cache-Control: no-store\r\n"
           b"Content-Security-Policy: default-src 'none'\r\n"
           b"X-Content-Type-Options: nosniff\r\n"
           b"Connection: close\r\n\r\n" + _REFUSAL_TEXT)


class AcceptFailures:
    """Tells the log once that accept() fails and why, and once that it works again with how
    many attempts failed in between; says how long to pause before the next attempt."""

    def __init__(self, where: str):
        self.where = where
        self.count = 0  # failed attempts in the current run of failures
        self._since = 0.0
        self._pause = 0.0

    def failed(self, exc: OSError) -> float:
        """Note one failure; the seconds to wait before trying again."""
        if not self.count:
            self._since, self._pause = time.monotonic(), FIRST_PAUSE_SECONDS
            log.warning("the web server on %s cannot accept connections: %s; new connections wait "
                        "until it can", self.where, exc.strerror or exc)
        else:
            self._pause = min(self._pause * 2, LONGEST_PAUSE_SECONDS)
        self.count += 1
        return self._pause

    def succeeded(self) -> None:
        if self.count:
            log.warning("the web server on %s accepts connections again, after %d failed attempts in %.1f s",
                        self.where, self.count, time.monotonic() - self._since)
            self.count = 0


#: The blank line that ends a request's headers (a bare LF where a sender leaves out the CR).
_HEADERS_END = (b"\n\r\n", b"\n\n")


class GuardedConnection(asyncio.Protocol):
    """Stands between one connection's transport and aiohttp's request handler, passing
    everything on: closes the connection if the first request's headers are not complete within
    ``header_seconds``, and calls ``ended`` once it is closed, whoever closed it."""

    def __init__(self, handler: asyncio.Protocol, header_seconds: float,
                 ended: Callable[["GuardedConnection"], None]):
        self.handler, self.header_seconds = handler, header_seconds
        self._ended: Callable[[GuardedConnection], None] | None = ended
        self._transport: asyncio.BaseTransport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""  # the last bytes received, for a blank line split across two reads
        self.overdue = False  # closed for want of complete headers

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._deadline = asyncio.get_running_loop().call_later(self.header_seconds, self._headers_overdue)
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._deadline is not None:
            seen = self._tail + data
            if any(end in seen for end in _HEADERS_END):
                self._deadline.cancel()
                self._deadline = None
            self._tail = seen[-2:]
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self.handler.eof_received()

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.handler.connection_lost(exc)
        self.end()

    def end(self) -> None:
        """Tell the site the connection is gone (once, however often called)."""
        ended, self._ended = self._ended, None
        if ended is not None:
            ended(self)

    def _headers_overdue(self) -> None:
        self._deadline = None
        self.overdue = True
        if self._transport is not None:
            self._transport.abort()  # nothing to flush: the request never came


class CappedSite(web.BaseSite):
    """Serves ``runner`` on host:port within ``limits``: at most ``limits.connections`` open
    connections, ``limits.connections_per_client`` of them from one address, each given
    ``limits.header_seconds`` to send its request headers."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, limits: WebLimits, backlog: int = 128):
        super().__init__(runner, backlog=backlog)
        self._host, self._port, self.limits = host, port, limits
        self._sockets: list[socket.socket] = []
        self._accepting: list[asyncio.Task] = []
        self._by_peer: Counter[str] = Counter()  # open connections per peer address
        self.refused = 0  # connections answered 503 because a cap was reached
        self.overdue = 0  # connections closed for want of complete request headers
        self._refusals = LogThrottle(log, "refused connections")

    @property
    def max_connections(self) -> int:
        return self.limits.connections

    @property
    def name(self) -> str:
        return str(URL.build(scheme="http", host=self._host, port=self._port))

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self._host or None, self._port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
        try:
            for family, address in dict.fromkeys((info[0], info[4]) for info in infos):
                sock = socket.create_server(address, family=family, backlog=self._backlog)
                sock.setblocking(False)
                self._sockets.append(sock)
        except OSError:
            self._close_sockets()
            raise
        self._accepting = [asyncio.create_task(self._accept(sock), name=f"podium-web-accept {self.name}")
                           for sock in self._sockets]

    async def stop(self) -> None:
        for task in self._accepting:
            task.cancel()
        await asyncio.gather(*self._accepting, return_exceptions=True)
        self._accepting = []
        self._close_sockets()
        self._refusals.flush()
        await super().stop()

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        failures = AcceptFailures(self.name)
        while True:
            try:
                conn, address = await loop.sock_accept(sock)
            except (ConnectionAbortedError, InterruptedError):
                continue  # the client gave up before it was accepted
            except OSError as exc:
                await asyncio.sleep(failures.failed(exc))
                continue
            failures.succeeded()
            peer = str(address[0])
            if len(server.connections) >= self.max_connections:
                self._refuse(conn)
                continue
            if self._by_peer[peer] >= self.limits.connections_per_client and not self.limits.is_trusted_proxy(peer):
                self._refusals.line(logging.INFO, "refused a connection from %s: it holds %d, as many as one "
                                    "address may (--max-connections-per-client)", peer, self._by_peer[peer])
                self._refuse(conn)
                continue
            self._by_peer[peer] += 1
            guarded = GuardedConnection(server(), self.limits.header_seconds, functools.partial(self._ended, peer=peer))
            try:
                await loop.connect_accepted_socket(lambda: guarded, conn)
            except OSError:
                conn.close()  # reset by the client in between: nothing to serve
                guarded.end()

    def _ended(self, guarded: GuardedConnection, *, peer: str) -> None:
        self.overdue += guarded.overdue
        self._by_peer[peer] -= 1
        if not self._by_peer[peer]:
            del self._by_peer[peer]

    def _refuse(self, conn: socket.socket) -> None:
        self.refused += 1
        # Read what the client already sent: a socket closed with unread data resets the
        # connection, and the client would see the reset instead of the answer.
        with contextlib.suppress(OSError):
            conn.recv(65536)
        with contextlib.suppress(OSError):
            conn.send(REFUSAL)
        conn.close()
