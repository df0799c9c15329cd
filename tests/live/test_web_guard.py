"""One client cannot take the widget pages down: a cap on the connections one address holds, a
deadline for a connection's request headers, and one short log line per bad request, so many.

Each test serves the sample's pages in this process and reaches them from several loopback
addresses (Linux answers on all of 127.0.0.0/8) with raw sockets: a browser cannot send half a
request or a broken one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from bot import SAMPLE_SCHEDULE
from bot.conference.schedule import load_schedule
from bot.provisioning.desired import Settings
from bot.web import create_app, start_web
from bot.web.background import free_port
from bot.web.limits import WebLimits, proxy_networks
from tests.support.pages import NOW
from tests.support.waiting import PATIENCE, eventually

ATTACKER, VISITOR, PROXY = "127.0.0.2", "127.0.0.3", "127.0.0.4"
#: The start of a request whose headers never end.
HALF_A_REQUEST = b"GET /schedule HTTP/1.1\r\nHost: podium.example.org\r\nUser-Agent: slow"


@contextlib.asynccontextmanager
async def pages(tmp_path: Path, limits: WebLimits):
    """The sample's pages served in this process: (the runner, its listening site, the port)."""
    app = create_app(load_schedule(SAMPLE_SCHEDULE), Settings("localhost", "@podium:localhost", "http://127.0.0.1"),
                     data_dir=tmp_path, now=lambda: NOW, limits=limits)
    port = free_port()
    runner = await start_web(app, "127.0.0.1", port)
    try:
        yield runner, next(iter(runner.sites)), port
    finally:
        await runner.cleanup()


async def open_from(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), PATIENCE)


async def send_half_a_request(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await open_from(port, source)
    writer.write(HALF_A_REQUEST)
    await writer.drain()
    return reader, writer


async def answer_to(port: int, source: str, request: bytes) -> bytes:
    """Everything the server sent back to ``request`` on a fresh connection, until it closed it."""
    reader, writer = await open_from(port, source)
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(), PATIENCE)
    except ConnectionError:
        return b""
    finally:
        writer.transport.abort()


async def page_status(port: int, source: str, path: str = "/") -> int:
    answer = await answer_to(port, source, f"GET {path} HTTP/1.1\r\nHost: podium.example.org\r\n"
                                           f"Connection: close\r\n\r\n".encode())
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(ConnectionError):
        await reader.read()  # returns only at the end of the stream
    return True


def abort(connections) -> None:
    for _reader, writer in connections:
        writer.transport.abort()


# ----------------------------------------------------------------------------- per client


async def test_half_sent_requests_from_one_address_leave_the_pages_to_everyone_else(tmp_path):
    # The header deadline outlasts the test: the connections stay stalled, only the cap can help.
    limits = WebLimits(connections=100, streams=10, streams_per_client=4, connections_per_client=20,
                       header_seconds=PATIENCE * 4)
    async with pages(tmp_path, limits) as (runner, site, port):
        stalled = [await send_half_a_request(port, ATTACKER) for _ in range(150)]
        try:
            await eventually(lambda: len(runner.server.connections) + site.refused >= len(stalled),
                             what="every stalled connection accepted or refused")
            statuses = [await page_status(port, VISITOR) for _ in range(20)]
            print(f"with {len(stalled)} stalled connections from one address, "
                  f"{statuses.count(200)} of {len(statuses)} page requests from another answered")
            assert statuses == [200] * 20
            assert len(runner.server.connections) == limits.connections_per_client, "the attacker's share"
            assert site.refused == len(stalled) - limits.connections_per_client
        finally:
            abort(stalled)


async def test_a_trusted_proxy_is_not_held_to_one_clients_share(tmp_path):
    limits = WebLimits(connections=100, streams=10, streams_per_client=4, connections_per_client=5,
                       trusted_proxies=proxy_networks(PROXY))
    async with pages(tmp_path, limits) as (runner, site, port):
        from_proxy = [await send_half_a_request(port, PROXY) for _ in range(12)]
        from_other = [await send_half_a_request(port, ATTACKER) for _ in range(12)]
        try:
            await eventually(lambda: len(runner.server.connections) + site.refused >= 24,
                             what="every connection accepted or refused")
            assert site.refused == 12 - 5, "only the address that is no proxy is held to its share"
        finally:
            abort(from_proxy + from_other)


# ----------------------------------------------------------------------------- header deadline


async def test_a_request_whose_headers_never_end_is_closed_at_the_header_deadline(tmp_path):
    limits = WebLimits(connections=100, streams=10, streams_per_client=4)
    assert limits.header_seconds < 15, "a few seconds by default"
    async with pages(tmp_path, limits) as (_runner, _site, port):
        # An idle connection that sent a whole request first: it may stay open for a while (a
        # browser reuses it for the page's scripts), longer than the header deadline.
        idle_reader, idle_writer = await open_from(port, VISITOR)
        assert await ask_again(idle_reader, idle_writer) == 200
        # Then a request sent a few bytes at a time, never finished.
        slow_reader, slow_writer = await open_from(port, ATTACKER)
        trickle = asyncio.create_task(trickle_forever(slow_writer))
        try:
            assert await asyncio.wait_for(closed_by_server(slow_reader), PATIENCE)
            assert await ask_again(idle_reader, idle_writer) == 200, "the idle connection, older, is still open"
        finally:
            trickle.cancel()
            slow_writer.transport.abort()
            idle_writer.transport.abort()


async def ask_again(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """The status of one more page asked for on a kept-alive connection (0: it was closed)."""
    writer.write(b"GET / HTTP/1.1\r\nHost: podium.example.org\r\n\r\n")
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE)
    except (asyncio.IncompleteReadError, ConnectionError):
        return 0
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def trickle_forever(writer: asyncio.StreamWriter) -> None:
    """A header line a few bytes at a time, each half a second after the last: what a slow
    attacker sends to keep a connection just alive."""
    writer.write(b"GET / HTTP/1.1\r\nX-Padding: ")
    with contextlib.suppress(ConnectionError):
        while not writer.is_closing():
            writer.write(b"ab")
            await writer.drain()
            await asyncio.sleep(0.5)


# ----------------------------------------------------------------------------- bad requests

#: Requests aiohttp cannot parse, each a different way.
MALFORMED = [
    b"GET / HTTP/1.1\r\nHost podium.example.org\r\n\r\n",  # a header without its colon
    b"GET / HTTP/1.1\r\nHost: podium.example.org\r\nContent-Length: many\r\n\r\n",
    b"GET / HTTP/7.5\r\nHost: podium.example.org\r\n\r\n",
    b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: podium.example.org\r\n\r\n",  # a line too long
]


async def test_bad_requests_are_logged_one_short_line_each_and_only_so_many(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    limits = WebLimits(connections=100, streams=10, streams_per_client=4)
    async with pages(tmp_path, limits) as (_runner, _site, port):
        answers = [await answer_to(port, VISITOR, MALFORMED[n % len(MALFORMED)]) for n in range(100)]
        assert all(a.startswith(b"HTTP/1.") and a.split(b" ", 2)[1] == b"400" for a in answers), \
            {a[:40] for a in answers}
        during = list(caplog.records)
    logged = [r for r in during if r.name.startswith(("aiohttp", "bot.web")) and r.levelno >= logging.INFO]
    print(f"100 bad requests: {len(logged)} log records, {sum(1 for r in during if r.exc_info)} with a traceback")
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    assert "Traceback" not in caplog.text
    assert 1 <= len(logged) <= 10, [r.getMessage() for r in logged]
    assert all("\n" not in r.getMessage() and "bad request from 127.0.0.3" in r.getMessage() for r in logged), \
        [r.getMessage() for r in logged]
    # The rest are counted, and the count is told when the minute is up or the server stops.
    summary = [r.getMessage() for r in caplog.records if "suppressed" in r.getMessage()]
    assert summary == [f"{100 - len(logged)} more bad requests suppressed"], summary
