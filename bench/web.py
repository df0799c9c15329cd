#!/usr/bin/env python3
"""Benchmark: how soon a live page follows the store, and how much a crowd of connections slows the bot.

What it does, in order:

1. **Live page**: serves the sample conference's pages in this process (no homeserver) and opens
   the forum's Q&A board, moderator view, in headless Chromium. ``--changes`` times, a question
   is added to the store the way the bot adds it, and the time until the open page shows it is
   taken. The floor, in the same run: the same page loaded anew until it shows the question (what
   a reload costs). Target: every change shown within 5 s.
2. **The bot under a crowd**: starts an embedded Synapse, applies a one-track conference and runs
   ``podium run`` as its own process with its open files limited to 256. An attendee asks
   ``!help`` ``--asks`` times (the floor: the bot's answer time with nobody on its pages); then
   a crowd opens more event streams than the caps allow and more idle connections than the
   process has descriptors left, and the attendee asks again. Target: the median answer with the
   crowd at most 5 times the floor's (the held streams are idle: it should not be slower at all).

It is a benchmark, not a test: it exits 0 when it ran, even if a target is missed, and 1 when
something failed outright (Synapse, the web server or the bot did not start, a request failed).

    python bench/web.py                    # both parts: about a minute
    python bench/web.py --part page        # only the live page
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils
import yaml
from clock import stop_bot
from commands import (PASSWORD, SERVER_NAME, TRACK, client, conclude, conference, percentile, setup_room,
                      wait_bot_ready, working_dir)

from bot import SAMPLE_SCHEDULE
from bot.homeserver import EmbeddedSynapse
from bot.ports import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
#: Monday 13 July 2026, 10:10 in Prague: the forum's talk below is on.
NOW = datetime(2026, 7, 13, 8, 10, tzinfo=timezone.utc)
FORUM_TALK = "typing-in-practice"
UPDATE_TARGET_SECONDS = 5.0
#: The child ``podium run`` may open this many files; the crowd asks for far more.
CHILD_OPEN_FILES = 256
MAX_STREAMS, PER_CLIENT = 40, 8
SLOWDOWN_TARGET = 5.0


# ----------------------------------------------------------------------------- the live page


async def live_page(work: Path, changes: int) -> list[str]:
    """Part 1; returns what failed outright."""
    from playwright.async_api import async_playwright

    from bot.conference.schedule import load_schedule
    from bot.provisioning.desired import Settings
    from bot.store.database import DATABASE
    from bot.store.questions import QuestionStore
    from bot.web import create_app, start_web

    schedule = load_schedule(SAMPLE_SCHEDULE)
    conf_id = schedule.conference.id
    data_dir = work / "page-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(schedule, Settings(SERVER_NAME, "@podium:localhost", "http://127.0.0.1"), data_dir=data_dir,
                     now=lambda: NOW)
    port = free_port()
    runner = await start_web(app, "127.0.0.1", port)
    questions = QuestionStore(sqlite_utils.Database(data_dir / DATABASE))
    url = f"http://127.0.0.1:{port}/widgets/qa/forum?view=moderator"
    shown = "n => document.querySelectorAll('#open .question').length >= n"
    updates: list[float] = []
    reloads: list[float] = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            live, fresh = await browser.new_page(), await browser.new_page()
            await live.goto(url)
            await live.locator("#status.live").wait_for()
            for n in range(1, changes + 1):
                questions.add(conference=conf_id, room_id="!forum:localhost", track_id="forum", talk_id=FORUM_TALK,
                              asker=f"@a{n}:localhost", asker_name=f"A{n}", text=f"Question number {n}?",
                              asked_at=time.time(), source_event_id=f"$bench{n}")
                started = time.perf_counter()
                await live.wait_for_function(shown, arg=n, timeout=60_000)
                updates.append(time.perf_counter() - started)
                started = time.perf_counter()
                await fresh.goto(url)
                await fresh.wait_for_function(shown, arg=n, timeout=60_000)
                reloads.append(time.perf_counter() - started)
            await browser.close()
    finally:
        await runner.cleanup()
    print_figures("live page: store change shown", updates)
    print_figures("floor: the page loaded anew", reloads)
    ratio = statistics.median(updates) / statistics.median(reloads)
    worst = max(updates)
    print(f"  update / reload, medians: {ratio:.2f}")
    print(f"  {'PASS' if worst <= UPDATE_TARGET_SECONDS else 'MISS'}: slowest update {worst:.2f} s "
          f"(target <= {UPDATE_TARGET_SECONDS:g} s)")
    return []


# ----------------------------------------------------------------------------- the bot under a crowd


def _low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (CHILD_OPEN_FILES, CHILD_OPEN_FILES))


async def open_stream(port: int, source: str) -> tuple[int, asyncio.StreamWriter]:
    """A Q&A board's event stream from ``source``: (its status, the connection, left open)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 30)
    writer.write(f"GET /widgets/qa/{TRACK}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode()
    return int(head.split()[1]), writer


async def answer_times(attendee, room_id: str, bot_user: str, count: int) -> list[float]:
    """``!help`` ``count`` times, one after another: seconds from sending to the bot's reply arriving."""
    from nio import SyncResponse

    sync_filter = {"room": {"rooms": [room_id], "timeline": {"types": ["m.room.message"], "limit": 50}}}
    since = (await attendee.sync(timeout=0, sync_filter=sync_filter)).next_batch
    times = []
    for _ in range(count):
        started = time.perf_counter()
        sent = await attendee.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "!help"})
        answered = False
        while not answered:
            if time.perf_counter() - started > 60:
                raise RuntimeError("the bot did not answer !help within 60 s")
            response = await attendee.sync(timeout=1000, sync_filter=sync_filter, since=since)
            if isinstance(response, SyncResponse):
                since = response.next_batch
                room = response.rooms.join.get(room_id)
                answered = bool(room) and any(
                    e.sender == bot_user and (e.source.get("content", {}).get("m.relates_to", {})
                                              .get("m.in_reply_to", {}).get("event_id")) == sent.event_id
                    for e in room.timeline.events)
        times.append(time.perf_counter() - started)
    return times


async def crowd(server: EmbeddedSynapse, work: Path, asks: int) -> list[str]:
    """Part 2; returns what failed outright."""
    bot_user, bot_token = server.register_user("podium-bench", PASSWORD, admin=False, displayname="Podium")
    server.override_ratelimit(bot_user)
    schedule_path = work / "schedule.yaml"
    schedule_path.write_text(yaml.safe_dump(conference(datetime.now(timezone.utc)), sort_keys=False))
    room_id = await setup_room(server, schedule_path, bot_user, bot_token)
    port = free_port()
    env = {**os.environ, "PODIUM_HOMESERVER": server.base_url, "PODIUM_USER_ID": bot_user,
           "PODIUM_ACCESS_TOKEN": bot_token}
    log_path = work / "bot.log"
    with log_path.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--schedule", str(schedule_path), "--data-dir", str(work / "data"),
             "--listen", f"127.0.0.1:{port}", "--max-streams", str(MAX_STREAMS),
             "--max-streams-per-client", str(PER_CLIENT)],
            env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_low_file_limit, start_new_session=True)
    user_id, token = server.register_user("bench-attendee", PASSWORD)
    attendee = client(server, user_id, token)
    held: list[asyncio.StreamWriter] = []
    try:
        await attendee.join(room_id)
        await wait_bot_ready(attendee, room_id, bot_user)
        before = await answer_times(attendee, room_id, bot_user, asks)
        sources = [("127.0.0.2", PER_CLIENT + 4)] + [(f"127.0.0.{n}", 6) for n in range(3, 15)]
        statuses = []
        for source, count in sources:
            for _ in range(count):
                status, writer = await open_stream(port, source)
                statuses.append(status)
                held.append(writer)
        for n in range(CHILD_OPEN_FILES + 50):
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, local_addr=(f"127.0.1.{n % 200 + 1}", 0)), 30)
            held.append(writer)
        during = await answer_times(attendee, room_id, bot_user, asks)
        in_use = len(os.listdir(f"/proc/{child.pid}/fd"))
    finally:
        for writer in held:
            writer.transport.abort()
        await attendee.close()
        stop_bot(child)
    print_figures("floor: !help answered, no crowd", before)
    print_figures("!help answered with the crowd", during)
    print(f"  streams: {statuses.count(200)} held, {statuses.count(503)} refused; "
          f"{in_use} of {CHILD_OPEN_FILES} descriptors open in podium run")
    ratio = statistics.median(during) / statistics.median(before)
    print(f"  {'PASS' if ratio <= SLOWDOWN_TARGET else 'MISS'}: crowd / floor, medians {ratio:.2f} "
          f"(target <= {SLOWDOWN_TARGET:g})")
    failures = []
    if statuses.count(200) != MAX_STREAMS:
        failures.append(f"{statuses.count(200)} streams held, not {MAX_STREAMS}")
    log_text = log_path.read_text(errors="replace")
    if "Traceback" in log_text or "Too many open files" in log_text:
        failures.append(f"podium run's log shows a failure: see {log_path}")
    return failures


# ----------------------------------------------------------------------------- report


def print_figures(what: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{what}: n {len(ms)}, p50 {percentile(ms, 50):.0f} ms, p90 {percentile(ms, 90):.0f} ms, "
          f"max {max(ms):.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("page", "crowd", "both"), default="both", help="what to run; default both")
    parser.add_argument("--changes", type=int, default=10, help="store changes the live page follows; default 10")
    parser.add_argument("--asks", type=int, default=5, help="!help asked before and with the crowd; default 5")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use DIR for the data and keep it")
    args = parser.parse_args(argv)
    if args.changes < 1 or args.asks < 1:
        parser.error("need --changes >= 1 and --asks >= 1")

    work = working_dir(args.keep, "web")
    failures: list[str] = []
    server = None
    try:
        if args.part in ("page", "both"):
            failures += asyncio.run(live_page(work, args.changes))
        if args.part in ("crowd", "both"):
            server = EmbeddedSynapse(work / "synapse", server_name=SERVER_NAME, lift_limits=True)
            server.start()
            failures += asyncio.run(crowd(server, work, args.asks))
    except Exception as exc:  # noqa: BLE001 - report it, stop Synapse, exit 1
        traceback.print_exc()
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        if server is not None:
            server.stop()
    return conclude(failures, work, keep=bool(args.keep))


if __name__ == "__main__":
    sys.exit(main())
