"""The web server's listening sockets, with Podium's own accept loop.

asyncio's loop accepts by itself, and when ``accept()`` fails for want of file descriptors it
hands a traceback to the loop's exception handler and schedules a retry, once per failed
attempt in its batch; the retries multiply and the loop spins (CPython gh-151615, not fixed in
the Pythons Podium supports). That loop can neither be paused nor told how many connections are
too many, so this site accepts each connection itself:

* past ``max_connections`` open connections a new one gets a short 503 and is closed at once,
  so its descriptor is free again before the next ``accept()``;
* when ``accept()`` fails anyway (the process is out of descriptors, or the system is), that
  is logged once, then only counted, and the loop pauses, longer each time, until it works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

from aiohttp import web
from yarl import URL

from .limits import RETRY_AFTER_SECONDS

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


class CappedSite(web.BaseSite):
    """Serves ``runner`` on host:port with at most ``max_connections`` open connections."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int,
                 backlog: int = 128):
        super().__init__(runner, backlog=backlog)
        self._host, self._port, self.max_connections = host, port, max_connections
        self._sockets: list[socket.socket] = []
        self._accepting: list[asyncio.Task] = []
        self.refused = 0  # connections answered 503 because the cap was reached

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
                conn, _address = await loop.sock_accept(sock)
            except (ConnectionAbortedError, InterruptedError):
                continue  # the client gave up before it was accepted
            except OSError as exc:
                await asyncio.sleep(failures.failed(exc))
                continue
            failures.succeeded()
            if len(server.connections) >= self.max_connections:
                self._refuse(conn)
                continue
            try:
                await loop.connect_accepted_socket(server, conn)
            except OSError:
                conn.close()  # reset by the client in between: nothing to serve

    def _refuse(self, conn: socket.socket) -> None:
        self.refused += 1
        # Read what the client already sent: a socket closed with unread data resets the
        # connection, and the client would see the reset instead of the answer.
        with contextlib.suppress(OSError):
            conn.recv(65536)
        with contextlib.suppress(OSError):
            conn.send(REFUSAL)
        conn.close()
