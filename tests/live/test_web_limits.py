"""The web server cannot silence the bot: caps on event streams and connections, the bot's
reserve of file descriptors, and accept() running out of them.

The caps are checked on a web server in this process, reached from several loopback addresses
(Linux answers on all of 127.0.0.0/8) by raw HTTP clients; the bot's side in a `podium run`
subprocess with a low limit on open files, against the session's Synapse, while a crowd holds
more streams and connections than the process has descriptors for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference.schedule import load_schedule
from bot.provisioning.desired import Settings
from bot.web import create_app, start_web
from bot.web.background import free_port
from bot.web.limits import (
    DEFAULT_STREAMS_PER_CLIENT,
    RESERVED_FOR_BOT,
    ROOM_FOR_PAGES,
    LimitProblem,
    StreamSlots,
    WebLimits,
    client_address,
    proxy_networks,
    raise_open_file_limit,
)
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.live import LiveSetup, Person
from tests.support.pages import NOW
from tests.support.waiting import PATIENCE, eventually

# ----------------------------------------------------------------------------- sizing, pure


@pytest.mark.parametrize("open_files", [256, 1024, 4096, 65536, 1 << 20])
def test_default_caps_leave_the_bot_its_reserve(open_files):
    limits = WebLimits.within(open_files)
    assert limits.connections <= open_files - RESERVED_FOR_BOT
    assert limits.streams <= limits.connections - ROOM_FOR_PAGES, "page loads still fit beside the streams"
    assert 0 < limits.streams_per_client <= limits.streams


def test_asked_for_caps_are_kept_and_a_per_client_cap_never_exceeds_the_total():
    assert WebLimits.within(1024, streams=40, streams_per_client=8) == WebLimits(896, 40, 8)
    assert WebLimits.within(1024, streams=6).streams_per_client == 6
    assert WebLimits.within(1024, streams_per_client=1000).streams_per_client == WebLimits.within(1024).streams
    assert WebLimits.within(1024).streams_per_client == DEFAULT_STREAMS_PER_CLIENT
    # More streams than the default connections: the connection cap grows with them, within the budget.
    assert WebLimits.within(8192, streams=5000).connections == 5000 + ROOM_FOR_PAGES


def test_caps_that_do_not_fit_the_file_limit_are_refused_with_what_to_change():
    with pytest.raises(LimitProblem, match=r"--max-streams 1000: .*\(1024\) allows at most 864.*ulimit -n"):
        WebLimits.within(1024, streams=1000)
    with pytest.raises(LimitProblem, match=r"limit on open files \(150\) leaves the web server too few.*ulimit -n"):
        WebLimits.within(150)


def test_a_trusted_proxy_names_the_client_and_nobody_else_can():
    local = proxy_networks("127.0.0.1, ::1")
    assert client_address("203.0.113.7", None, local) == "203.0.113.7"
    assert client_address("127.0.0.1", "198.51.100.2", local) == "198.51.100.2"
    # nginx appends the address it saw: only the last entry is the proxy's word.
    assert client_address("127.0.0.1", "10.9.9.9, 198.51.100.2", local) == "198.51.100.2"
    assert client_address("::1", "2001:db8::5", local) == "2001:db8::5"
    assert client_address("203.0.113.7", "198.51.100.2", local) == "203.0.113.7", \
        "a remote client cannot pick its own name"
    assert client_address("127.0.0.1", " ", local) == "127.0.0.1"
    assert client_address("127.0.0.1", "198.51.100.2") == "127.0.0.1", "no proxy is trusted unless named"


def test_stream_slots_count_per_client_and_in_total():
    slots = StreamSlots(WebLimits(connections=10, streams=3, streams_per_client=2))
    assert [slots.take("a"), slots.take("a"), slots.take("a")] == [True, True, False]
    assert [slots.take("b"), slots.take("c")] == [True, False]
    slots.give_back("a")
    assert slots.take("c") and not slots.take("a")
    assert slots.open == 3


# ----------------------------------------------------------------------------- a raw HTTP client


class Answer:
    """One connection: the status line and headers the server answered, kept open."""

    def __init__(self, status: int, headers: dict[str, str], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        self.status, self.headers, self.reader, self.writer = status, headers, reader, writer

    async def body(self) -> str:
        return (await self.reader.readexactly(int(self.headers["content-length"]))).decode()

    async def closed_by_server(self, timeout: float = PATIENCE) -> bool:
        """True once the server has closed the connection, False if it is still open after ``timeout``."""
        try:
            await asyncio.wait_for(self.reader.read(), timeout)  # returns only at end of stream
        except asyncio.TimeoutError:
            return False
        except ConnectionError:
            pass
        return True

    def close(self) -> None:
        self.writer.transport.abort()


async def connect(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 10)


async def get(port: int, path: str, *, source: str = "127.0.0.1", headers: dict[str, str] | None = None,
              timeout: float = 10.0) -> Answer:
    reader, writer = await connect(port, source)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    return await read_head(reader, writer, timeout)


async def read_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> Answer:
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)).decode()
    status_line, *header_lines = head.strip().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return Answer(int(status_line.split()[1]), headers, reader, writer)


async def open_stream(port: int, source: str = "127.0.0.1", *, track: str = "plenary", **options) -> Answer:
    """A Q&A board's event stream; a 200 is held until its first event arrived (the page is live)."""
    answer = await get(port, f"/widgets/qa/{track}/events", source=source, **options)
    if answer.status == 200:
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert b"data: " in await asyncio.wait_for(answer.reader.readuntil(b"\n\n"), 10)  # in a chunk
    return answer


@contextlib.asynccontextmanager
async def web_runner(tmp_path: Path, limits: WebLimits):
    """The sample's pages served in this process: (its runner, its port)."""
    schedule = load_schedule(SAMPLE_SCHEDULE)
    app = create_app(schedule, Settings("localhost", "@podium:localhost", "http://127.0.0.1"),
                     data_dir=tmp_path, now=lambda: NOW, limits=limits)
    port = free_port()
    runner = await start_web(app, "127.0.0.1", port)
    try:
        yield runner, port
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def web_server(tmp_path: Path, limits: WebLimits):
    async with web_runner(tmp_path, limits) as (_runner, port):
        yield port


async def eventually_status(port: int, source: str, status: int, **options) -> Answer:
    """An event stream answered with ``status``, once the server gives one."""

    async def answered() -> Answer | None:
        answer = await open_stream(port, source, **options)
        if answer.status == status:
            return answer
        answer.close()
        return None

    return await eventually(answered, what=f"a {status} for an event stream from {source}")


async def page_served(port: int) -> Answer | None:
    page = await get(port, "/")
    if page.status == 200:
        return page
    page.close()
    return None


# ----------------------------------------------------------------------------- the caps, in process


async def test_event_streams_over_a_cap_get_a_503_that_says_the_page_retries(tmp_path):
    async with web_server(tmp_path, WebLimits(connections=50, streams=4, streams_per_client=2)) as port:
        first = [await open_stream(port, "127.0.0.2") for _ in range(3)]
        assert [a.status for a in first] == [200, 200, 503], "two per client address"
        busy = first[2]
        assert busy.headers["retry-after"].isdigit()
        assert busy.headers["content-type"].startswith("text/plain")
        assert "tries again by itself" in await busy.body()
        assert busy.headers["content-security-policy"] and busy.headers["x-content-type-options"] == "nosniff"
        assert await busy.closed_by_server(), "a refused stream does not keep its connection"

        others = [await open_stream(port, "127.0.0.3"), await open_stream(port, "127.0.0.4")]
        assert [a.status for a in others] == [200, 200]
        assert (await open_stream(port, "127.0.0.5")).status == 503, "four in all"

        # A page closed in the browser gives its slot back at once.
        first[0].close()
        again = await eventually_status(port, "127.0.0.5", 200)
        assert again.status == 200
        # The plain pages are not capped by the streams.
        page = await get(port, "/schedule")
        assert page.status == 200
        for answer in [*first, *others, again, page]:
            answer.close()


async def test_behind_a_local_proxy_each_forwarded_client_has_its_own_cap(tmp_path):
    limits = WebLimits(connections=50, streams=10, streams_per_client=1, trusted_proxies=proxy_networks("127.0.0.1"))
    async with web_server(tmp_path, limits) as port:
        via_proxy = [await open_stream(port, headers={"X-Forwarded-For": f"198.51.100.{n}"}) for n in (1, 2, 1)]
        assert [a.status for a in via_proxy] == [200, 200, 503]
        for answer in via_proxy:
            answer.close()


async def test_connections_over_the_cap_are_answered_503_and_closed(tmp_path):
    async with web_runner(tmp_path, WebLimits(connections=6, streams=4, streams_per_client=4)) as (runner, port):
        held = [await open_stream(port) for _ in range(4)]
        idle = [await connect(port) for _ in range(2)]
        assert [a.status for a in held] == [200] * 4
        await eventually(lambda: len(runner.server.connections) == 6, what="the idle two accepted: six open")
        over = [await read_head(*await connect(port), timeout=PATIENCE) for _ in range(3)]
        assert [a.status for a in over] == [503] * 3
        assert "reload the page in a few seconds" in await over[0].body()
        assert over[0].headers["retry-after"].isdigit()
        assert all([await a.closed_by_server() for a in over])
        for _, writer in idle:
            writer.transport.abort()
        # Served again once the server notices the two idle connections went away.
        page = await eventually(lambda: page_served(port), what="a page served once the idle two left")
        for answer in [*held, *over, page]:
            answer.close()


# ----------------------------------------------------------------------------- accept() without descriptors


def lowest_free_fd() -> int:
    """A limit below which every descriptor is taken: the next one opened would be this one."""
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    return fd


async def test_running_out_of_descriptors_is_logged_once_and_accept_backs_off(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with web_server(tmp_path, WebLimits(connections=500, streams=10, streams_per_client=10)) as port:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        waiting: list[socket.socket] = []
        try:
            for _ in range(20):  # connected in the kernel, waiting to be accepted
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", port))
                waiting.append(sock)
            # Not one descriptor more: every accept() fails with EMFILE.
            resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free_fd(), hard))
            await eventually(lambda: any("cannot accept connections" in r.getMessage() for r in caplog.records),
                             what="accept() failing")
            # Three seconds of failing, to count the attempts in: a bound on how often it tries (a
            # busy machine makes fewer attempts, never more), not a bet on how fast anything is.
            await asyncio.sleep(3.0)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        page = await get(port, "/")
        assert page.status == 200, "accepting again once descriptors are free"
        page.close()
        for sock in waiting:
            sock.close()
    lines = [r for r in caplog.records if r.name.startswith(("bot.web", "asyncio", "aiohttp"))]
    failing = [r.getMessage() for r in lines if "cannot accept connections" in r.getMessage()]
    again = [r.getMessage() for r in lines if "accepts connections again" in r.getMessage()]
    assert len(failing) == 1 and "Too many open files" in failing[0], [r.getMessage() for r in lines]
    assert len(again) == 1, [r.getMessage() for r in lines]
    attempts = int(again[0].split("after ")[1].split()[0])
    # Pauses of 0.05 s doubling to 2 s: about seven attempts in three seconds, not thousands.
    assert 2 <= attempts <= 15, again[0]
    assert not [r for r in lines if r.exc_info], "no traceback"
    assert len(lines) <= 4, [r.getMessage() for r in lines]


def test_the_soft_limit_on_open_files_is_raised_to_the_hard_limit():
    # In a child process: lowering a hard limit cannot be undone.
    code = ("import resource; from bot.web.limits import raise_open_file_limit as r\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (300, 600))\n"
            "print(r(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["600", "600"]
    assert raise_open_file_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ----------------------------------------------------------------------------- the bot under a crowd

#: The child `podium run` may open this many files; the crowd asks for far more.
CHILD_OPEN_FILES = 256
MAX_STREAMS, PER_CLIENT = 40, 8


def _low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (CHILD_OPEN_FILES, CHILD_OPEN_FILES))


async def answers_help(person: Person, room: str, bot_id: str) -> bool:
    """One ``!help``: True once the bot answered it. Asked again until it does: the bot ignores
    what was said before its first sync, which the child may not have finished yet."""
    try:
        reply = await person.ask(room, "!help", bot_id, timeout=5)
    except AssertionError:
        return False
    return "!ask" in reply["body"]


#: The crowd test's conference, applied; the bot is the ``podium run`` it starts.
LIVE = LiveSetup(people=(("attendee", "Ada"),), joins={"attendee": ("track",)}, bot_running=False)


async def test_a_crowd_of_streams_cannot_silence_the_bot(live, tmp_path):
    bot, attendee, track = live.connection, live.attendee, live.track
    port = free_port()
    log_path = tmp_path / "podium.log"
    env = {**os.environ, "PODIUM_HOMESERVER": live.homeserver, "PODIUM_USER_ID": bot.user_id,
           "PODIUM_ACCESS_TOKEN": bot.access_token or ""}
    with open(log_path, "wb") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--schedule", str(live.conf.schedule_path),
             "--data-dir", str(tmp_path / "data"),
             "--listen", f"127.0.0.1:{port}", "--max-streams", str(MAX_STREAMS),
             "--max-streams-per-client", str(PER_CLIENT)],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, preexec_fn=_low_file_limit)
    crowd: list[Answer] = []
    idle: list[asyncio.StreamWriter] = []
    try:
        await eventually(lambda: answers_help(attendee, track, bot.user_id), what="the bot answering")

        # One address asks for more streams than it may hold; twelve more ask for more than all may.
        greedy = await asyncio.gather(*(open_stream(port, "127.0.0.2", track="forum") for _ in range(PER_CLIENT + 4)))
        many = await asyncio.gather(*(open_stream(port, f"127.0.0.{n}", track="forum")
                                      for n in range(3, 15) for _ in range(6)))
        crowd += [*greedy, *many]
        assert sum(a.status == 200 for a in greedy) == PER_CLIENT
        assert sum(a.status == 200 for a in crowd) == MAX_STREAMS
        refused_streams = [a for a in crowd if a.status == 503]
        assert len(refused_streams) == len(crowd) - MAX_STREAMS
        assert "tries again by itself" in await refused_streams[0].body()
        # Then more idle connections than the child has descriptors left.
        for n in range(CHILD_OPEN_FILES + 50):
            _reader, writer = await connect(port, f"127.0.1.{n % 200 + 1}")
            idle.append(writer)
        # The bot still answers with the crowd holding its connections (how much slower, if at
        # all, is bench/web.py's to measure: a figure, not a test on a shared machine).
        for _ in range(5):
            reply = await attendee.ask(track, "!help", bot.user_id)
            assert "!ask" in reply["body"]
        in_use = len(os.listdir(f"/proc/{child.pid}/fd"))
        print(f"{in_use} of {CHILD_OPEN_FILES} descriptors open with the crowd")
        assert child.poll() is None, "podium run is still running"
        assert in_use <= CHILD_OPEN_FILES - RESERVED_FOR_BOT // 2, f"{in_use} of {CHILD_OPEN_FILES} open"
        # The crowd leaves; the streams' slots are free again.
        for answer in crowd:
            answer.close()
        for writer in idle:
            writer.transport.abort()
        live = await eventually_status(port, "127.0.0.2", 200, track="forum")
        assert live.status == 200
        live.close()
    finally:
        for answer in crowd:
            answer.close()
        for writer in idle:
            writer.transport.abort()
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    log = log_path.read_text(errors="replace").splitlines()
    assert not [line for line in log if "Too many open files" in line or "EMFILE" in line], log[-20:]
    assert not [line for line in log if "Traceback" in line], log[-40:]
    assert len(log) < 30, f"{len(log)} lines of log: {log[:10]}"


# ----------------------------------------------------------------------------- the pages back off


async def test_a_live_page_turned_away_waits_longer_each_time_and_goes_live_once_there_is_room(tmp_path):
    playwright_async = pytest.importorskip("playwright.async_api")
    async with web_server(tmp_path, WebLimits(connections=50, streams=1, streams_per_client=1)) as port:
        holder = await open_stream(port)  # the only stream there is
        async with playwright_async.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page()
            attempts: list[float] = []
            page.on("request", lambda r: attempts.append(time.monotonic()) if r.url.endswith("/events") else None)
            await page.goto(f"http://127.0.0.1:{port}/widgets/qa/plenary")
            await page.locator("#status.down").wait_for(timeout=PATIENCE * 1000)
            await eventually(lambda: len(attempts) >= 3, what="two retries of the event stream")
            # Turned away: a retry after 2.5-5 s, the next 5-10 s after that; never every few hundred
            # ms. A busy machine only lengthens the pauses (the allowance is for the reports of the
            # requests reaching this process a little late or early).
            gaps = [round(later - earlier, 1) for earlier, later in zip(attempts, attempts[1:])]
            assert gaps[0] >= 2.0 and gaps[1] >= 4.0, gaps
            assert await page.locator("#status").inner_text() == "reconnecting…"
            holder.close()
            await page.locator("#status.live").wait_for(timeout=PATIENCE * 1000)
            await browser.close()
