#!/usr/bin/env python3
"""Benchmark: a crowd of attendees against the bot, every question, vote, poll answer and join
counted, and the bot's replies timed against a plain client's in the same run.

What it does, in order:

1. Starts a Synapse of its own (``start_homeserver``: SQLite, a temp dir, a free loopback port,
   rate limits lifted), writes a conference of a few tracks whose talks are live for the whole
   run (the conference public: attendees join the space and a track room themselves), and builds
   it with ``podium apply``. By default the bot is an application service (``podium appservice``
   writes its registration and tokens, Synapse loads them, the bot's events are pushed to it);
   ``--sync`` runs it as a normal account that polls /sync, for comparison.
2. Starts the bot as ``podium run`` in its own process, as organisers run it.
3. Registers the attendees (shared-secret registration) and has each join the conference space
   (the bot welcomes every new member in a direct chat) and its track room: the first
   ``--room-size`` sit in the first track, the rest are spread over the others.
4. A moderator starts a poll (``!poll``) in each track room the crowd sits in.
5. The load, ``--in-flight`` attendees at a time: each asks one question (``!ask``), puts a 👍 on
   ``--votes`` of the questions the bot has posted in its room, and answers the poll.
6. Who sees what: not every attendee /syncs. One **observer** per track room (a client that
   /syncs that room alone) stamps every message the moment its /sync brings it; the attendees
   only send. The **plain-client floor**, in the same run: a **responder**, a minimal matrix-nio
   client in the same rooms, answers every ``!ask`` with a fixed reply the moment its /sync brings
   it. Both replies are timed the same way, from just before the attendee's send to the moment
   the observer sees the reply.
7. Waits until the bot's store holds everything sent (or ``DRAIN_SECONDS`` pass without change),
   then reads the bot's ``podium.db`` read-only and prints received against sent: questions,
   question posts, votes, poll answers, joins (welcomes); lost and duplicated must be 0. Also the
   bot's peak RSS (VmHWM of the ``podium run`` process).

It is a benchmark, not a test: it exits 0 when it ran, and 1 when something failed outright (the
bot did not start or crashed, a request failed, something was lost or duplicated).

    python bench/crowd.py --quick              # 100 attendees: a few minutes
    python bench/crowd.py                      # 500 attendees, one room holding 500
    python bench/crowd.py --attendees 2000     # 500 in one room, 1,500 over three more tracks
    python bench/crowd.py --sync               # the bot as a normal account polling /sync
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml
from nio import AsyncClient, RoomMessageText

from bot.conference.polls import RESPONSE, START
from bot.conference.qa import UPVOTE
from bot.homeserver import EmbeddedSynapse
from bot.ports import free_port

# Run as a script, this file's folder is on the path: the helpers are bench/commands.py's own.
from clock import stop_bot
from commands import (PASSWORD, SERVER_NAME, _tag, client, conclude, crashed, load_average, log, percentile,
                      question_text, wait_bot_ready, working_dir)

IN_FLIGHT = 64  # attendees acting at once
ROOM_SIZE = 500  # attendees in the first track room
MIN_TRACKS = 3
QUICK_ATTENDEES = 100
VOTES = 2  # 👍 each attendee puts on questions the bot posted
#: After the load, how long the store may stay unchanged before what is missing counts as lost.
DRAIN_SECONDS = 60.0
#: A budget for the whole run: past it the load stops being sent and what it reached is printed.
BUDGET_SECONDS = 15 * 60
REGISTER_THREADS = 4
#: How long the staff's clients wait for one request: under the crowd, a send waits its turn
#: behind hundreds in its room.
REQUEST_TIMEOUT = 180
POLL_OPTIONS = ("Alpha", "Beta", "Gamma")
CLIENT_PATH = "/_matrix/client/v3"


# ----------------------------------------------------------------------------- the homeserver


def start_homeserver(work: Path, app_services: tuple[Path, ...]) -> EmbeddedSynapse:
    """The homeserver the crowd runs against, started: an embedded Synapse on SQLite with its
    limits lifted (as the test-suite's). Another launcher with the same interface (``base_url``,
    ``register_user``, ``override_ratelimit``, ``stop``) can take its place here."""
    server = EmbeddedSynapse(work / "synapse", server_name=SERVER_NAME, lift_limits=True, app_services=app_services)
    server.start()
    return server


def homeserver_pids(server: EmbeddedSynapse) -> dict[str, int]:
    """The homeserver's process, to count its CPU: the embedded Synapse runs in the child it
    started (another launcher may name its processes, or none)."""
    process = getattr(server, "_proc", None)
    return {"homeserver": process.pid} if process is not None else {}


# ----------------------------------------------------------------------------- the conference


def track_ids(attendees: int, room_size: int) -> list[str]:
    return [f"t{n}" for n in range(max(MIN_TRACKS, math.ceil(attendees / room_size)))]


def seats(attendees: int, room_size: int) -> list[int]:
    """Which track each attendee sits in: the first ``room_size`` in the first track, the rest
    round-robin over the others."""
    tracks = len(track_ids(attendees, room_size))
    return [0 if n < room_size else 1 + (n - room_size) % (tracks - 1) for n in range(attendees)]


def conference(now: datetime, tracks: list[str], moderator: str) -> dict:
    """A public conference whose tracks each have one talk live for the whole run."""
    start = (now - timedelta(minutes=10)).replace(second=0, microsecond=0)
    return {
        "conference": {"id": f"crowd-{uuid.uuid4().hex[:6]}", "name": "Crowd benchmark", "timezone": "UTC",
                       "start": start.date().isoformat(), "end": (start + timedelta(days=1)).date().isoformat(),
                       "access": "public"},
        "staff": {"moderators": [moderator]},
        "tracks": [{"id": t, "name": f"Track {t}"} for t in tracks],
        "talks": [{"id": f"talk-{t}", "track": t, "title": f"A long talk in {t}",
                   "start": start.strftime("%Y-%m-%dT%H:%MZ"), "duration": "6h",
                   "speakers": [{"name": f"Speaker {t}"}]} for t in tracks],
    }


def podium(work: Path, env: dict[str, str], *argv: str) -> None:
    """``podium ARGV`` as an organiser types it; its output goes to ``podium.log``."""
    with (work / "podium.log").open("ab") as out:
        done = subprocess.run([sys.executable, "-m", "bot.cli", *argv], env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"podium {argv[0]} exited {done.returncode}: see {work / 'podium.log'}")


# ----------------------------------------------------------------------------- the figures


@dataclass
class Phase:
    name: str
    seconds: float
    requests: int
    cpu: dict[str, float]  # CPU seconds the homeserver and the bot used in it
    load: str  # the machine's 1-minute load average at its end


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    asks: dict[str, float] = field(default_factory=dict)  # tag -> when the !ask's send began
    asks_wall: dict[str, float] = field(default_factory=dict)  # ... on the wall clock (s)
    taken: dict[str, int] = field(default_factory=dict)  # event id -> origin_server_ts, of what observers saw
    bot_taken: dict[str, int] = field(default_factory=dict)  # tag -> the homeserver took the bot's post (ms)
    plain_taken: dict[str, int] = field(default_factory=dict)  # tag -> ... the plain client's answer (ms)
    bot_seen_wall: dict[str, float] = field(default_factory=dict)  # tag -> an observer saw the bot's post (wall, s)
    ask_events: dict[str, str] = field(default_factory=dict)  # tag -> the !ask's event id
    bot_seen: dict[str, list[float]] = field(default_factory=dict)  # tag -> the bot's posts of it, seen
    plain_seen: dict[str, list[float]] = field(default_factory=dict)  # tag -> the responder's answers, seen
    posts: dict[str, list[str]] = field(default_factory=dict)  # room id -> the bot's question posts seen
    polls: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # room id -> (poll id, answer ids)
    votes: set[str] = field(default_factory=set)  # reaction event ids sent
    poll_answers: set[str] = field(default_factory=set)  # response event ids sent
    joined: set[str] = field(default_factory=set)  # attendees who joined the space
    phases: list[Phase] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)  # "homeserver", "bot" -> process id
    _began: dict[str, float] = field(default_factory=dict)  # CPU seconds of each at the phase's start

    def begin(self) -> float:
        """A phase starts: its CPU is counted from now. Returns the moment (monotonic)."""
        self._began = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return time.monotonic()

    def phase(self, name: str, began: float, requests: int = 0) -> None:
        cpu = {who: cpu_seconds(pid) - self._began[who] for who, pid in self.pids.items() if who in self._began}
        self.phases.append(Phase(name, time.monotonic() - began, requests, cpu,
                                 Path("/proc/loadavg").read_text().split()[0]))
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    gaps: int = 0  # observer syncs whose timeline was cut short (some events unseen)
    cut_short: str = ""  # what the budget stopped, if it did
    load_began: float = 0.0  # when the first !ask went (wall, s)
    transactions: list[float] = field(default_factory=list)  # when the bot finished each pushed one since

    def latencies(self, seen: dict[str, list[float]]) -> list[float]:
        return [seen[t][0] - sent for t, sent in self.asks.items() if seen.get(t)]

    def breakdown(self) -> dict[str, list[float]]:
        """Seconds in each stretch of a reply, from this machine's clock (sends, the observers)
        and the homeserver's ``origin_server_ts`` (the same clock: one machine). "Taken" is when
        the homeserver stamped the event, after its per-room checks."""
        ask_taken = {t: self.taken[e] / 1000 for t, e in self.ask_events.items() if e in self.taken}
        return {
            "!ask: sent -> taken": [ask_taken[t] - self.asks_wall[t] for t in ask_taken],
            "bot: !ask taken -> its post taken": [self.bot_taken[t] / 1000 - ask_taken[t]
                                                  for t in ask_taken if t in self.bot_taken],
            "plain client: !ask taken -> its answer taken": [self.plain_taken[t] / 1000 - ask_taken[t]
                                                             for t in ask_taken if t in self.plain_taken],
            "bot's post: taken -> an observer has it": [self.bot_seen_wall[t] - self.bot_taken[t] / 1000
                                                        for t in self.bot_taken if t in self.bot_seen_wall],
        }


# ----------------------------------------------------------------------------- attendees


@dataclass
class Attendee:
    """An attendee that only sends: plain HTTP requests with its own token, over a shared
    connection pool."""

    user_id: str
    token: str
    track: int


class Http:
    """Client-server requests of many attendees over one connection pool, each with its token.
    A failed request is tried again with the same transaction id (idempotent) a few times."""

    def __init__(self, base_url: str, figures: Figures, in_flight: int):
        self.base_url = base_url
        self.figures = figures
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight + 8),
                                             timeout=aiohttp.ClientTimeout(total=120))

    async def request(self, method: str, path: str, token: str, body: dict, what: str) -> dict | None:
        for attempt in range(4):
            try:
                async with self.session.request(method, self.base_url + CLIENT_PATH + path, json=body,
                                                headers={"Authorization": f"Bearer {token}"}) as response:
                    payload = await response.json(content_type=None)
                    if response.status == 200:
                        return payload
                    if response.status < 500 and response.status != 429:
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                payload = {"error": repr(exc)}
            self.figures.retries += 1
            await asyncio.sleep(0.5 * (attempt + 1))
        self.figures.errors.append(f"{what}: {payload}")
        return None

    async def send(self, who: Attendee, room_id: str, event_type: str, content: dict, what: str) -> str | None:
        txn = uuid.uuid4().hex
        sent = await self.request("PUT", f"/rooms/{quote(room_id)}/send/{quote(event_type)}/{txn}", who.token,
                                  content, what)
        return sent.get("event_id") if sent else None

    async def join(self, who: Attendee, room: str) -> str | None:
        joined = await self.request("POST", f"/join/{quote(room)}", who.token, {}, f"{who.user_id} joining {room}")
        return joined.get("room_id") if joined else None

    async def close(self) -> None:
        await self.session.close()


async def bounded(items: list, in_flight: int, act: Callable[[Any], Awaitable[None]], deadline: float,
                  phase: str, figures: Figures) -> int:
    """``act`` on every item, ``in_flight`` at a time, none started past ``deadline``; how many ran."""
    queue = list(reversed(items))
    done = 0

    async def worker() -> None:
        nonlocal done
        while queue and time.monotonic() < deadline:
            await act(queue.pop())
            done += 1

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    if done < len(items) and not figures.cut_short:
        figures.cut_short = f"{phase}: {done} of {len(items)} before the budget ran out"
    return done


# ----------------------------------------------------------------------------- who /syncs


class Follower:
    """A client's /sync of some rooms, every timeline event of them handed to ``on_event`` with
    the moment its /sync returned (perf_counter)."""

    def __init__(self, c: AsyncClient, rooms: list[str], figures: Figures):
        self.client, self.rooms, self.figures = c, rooms, figures
        self.filter = {"presence": {"types": []}, "account_data": {"types": []},
                       "room": {"rooms": rooms, "timeline": {"limit": 1000},
                                "state": {"lazy_load_members": True, "types": []},
                                "ephemeral": {"types": []}, "account_data": {"types": []}}}
        self.since: str | None = None

    async def start(self) -> None:
        first = await self.client.sync(timeout=0, sync_filter=self.filter, full_state=False)
        if not hasattr(first, "next_batch"):
            raise RuntimeError(f"{self.client.user_id}'s first sync failed: {first}")
        self.since = first.next_batch

    async def run(self, on_event: Callable[[str, dict, float], None], stop: asyncio.Event) -> None:
        while not stop.is_set():
            response = await self.client.sync(timeout=2000, sync_filter=self.filter, since=self.since)
            seen = time.perf_counter()
            if not hasattr(response, "next_batch"):
                self.figures.errors.append(f"sync of {self.client.user_id}: {response}")
                await asyncio.sleep(0.5)
                continue
            self.since = response.next_batch
            for room_id, room in response.rooms.join.items():
                if room.timeline.limited:
                    self.figures.gaps += 1
                for event in room.timeline.events:
                    on_event(room_id, event.source, seen)


def observing(bot_user: str, responder_user: str, figures: Figures) -> Callable[[str, dict, float], None]:
    """The observer: stamps the bot's posts and the responder's answers, keeps the posts to vote
    on and the polls to answer."""

    def on_event(room_id: str, event: dict, seen: float) -> None:
        sender, content = event.get("sender"), event.get("content") or {}
        figures.taken[event.get("event_id", "")] = event.get("origin_server_ts", 0)
        if event.get("type") == START and sender == bot_user:
            answers = [a["id"] for a in content.get(START, {}).get("answers", [])]
            figures.polls.setdefault(room_id, (event["event_id"], answers))
            return
        if event.get("type") != "m.room.message" or not isinstance(content.get("body"), str):
            return
        tag = _tag(content["body"])
        if tag not in figures.asks:
            return
        if sender == bot_user:
            figures.bot_seen.setdefault(tag, []).append(seen)
            figures.bot_taken.setdefault(tag, event.get("origin_server_ts", 0))
            figures.bot_seen_wall.setdefault(tag, time.time())
            figures.posts.setdefault(room_id, []).append(event["event_id"])
        elif sender == responder_user:
            figures.plain_seen.setdefault(tag, []).append(seen)
            figures.plain_taken.setdefault(tag, event.get("origin_server_ts", 0))

    return on_event


def answering(responder: AsyncClient, tasks: set[asyncio.Task], figures: Figures) -> Callable[[RoomMessageText], Any]:
    """The plain-client floor: a matrix-nio client that answers each ``!ask`` with a fixed reply."""

    async def on_message(room: Any, event: RoomMessageText) -> None:
        if event.body.startswith("!ask ") and (tag := _tag(event.body)):
            task = asyncio.create_task(responder.room_send(room.room_id, "m.room.message",
                                                           {"msgtype": "m.text", "body": f"re [{tag}]"}))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return on_message


# ----------------------------------------------------------------------------- the bot


@dataclass
class Bot:
    process: subprocess.Popen
    user_id: str
    data_dir: Path
    log_path: Path

    def peak_rss_kib(self) -> int | None:
        """VmHWM of ``podium run``: the most memory it has held resident."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
        return int(line.split()[1]) if line else None


def podium_env(server_url: str, bot_user: str, token: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PODIUM_")}
    env.update(PODIUM_HOMESERVER=server_url, PODIUM_USER_ID=bot_user)
    if token:
        env["PODIUM_ACCESS_TOKEN"] = token
    return env


async def wait_for_log(bot: Bot, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise RuntimeError(f"podium run exited {bot.process.returncode}")
        if bot.log_path.exists() and text in bot.log_path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"podium run did not say {text!r} within {timeout:.0f} s")


# ----------------------------------------------------------------------------- what the bot recorded


def recorded(data_dir: Path, conference_id: str, figures: Figures, attendees: set[str]) -> dict[str, tuple[int, int]]:
    """(received, duplicated) of each kind the crowd sent, read from the bot's podium.db
    (read-only, while the bot runs)."""
    db = sqlite3.connect(f"file:{data_dir / 'podium.db'}?mode=ro", uri=True, timeout=30)
    try:
        questions = db.execute("SELECT text, event_id FROM qa_questions WHERE conference = ?",
                               [conference_id]).fetchall()
        per_tag = Counter(_tag(text) for text, _ in questions)
        posted = Counter(_tag(text) for text, event_id in questions if event_id)
        votes = [key for (key,) in db.execute("SELECT key FROM qa_votes WHERE conference = ?", [conference_id])]
        answers = [e for (e,) in db.execute('SELECT event_id FROM "poll_responses"')]
        welcomes = Counter(u for (u,) in db.execute("SELECT user_id FROM welcomes WHERE conference = ?",
                                                    [conference_id]))
    finally:
        db.close()

    def count(found: Counter, sent: set[str]) -> tuple[int, int]:
        return sum(1 for k in sent if found.get(k)), sum(1 for k in sent if found.get(k, 0) > 1)

    return {
        "questions (!ask)": count(per_tag, set(figures.asks)),
        "question posts": count(posted, set(figures.asks)),
        "votes (👍)": count(Counter(votes), figures.votes),
        "poll answers": count(Counter(answers), figures.poll_answers),
        "joins (welcomes)": count(welcomes, figures.joined & attendees),
    }


def pushed(data_dir: Path, since: float) -> list[float]:
    """When the bot finished each transaction the homeserver pushed it after ``since`` (unix s):
    empty for a bot that syncs."""
    db = sqlite3.connect(f"file:{data_dir / 'podium.db'}?mode=ro", uri=True, timeout=30)
    try:
        return [at for (at,) in db.execute("SELECT handled_at FROM pushed_transactions WHERE handled_at >= ? "
                                           "ORDER BY handled_at", [since])]
    finally:
        db.close()


async def settle(read: Callable[[], dict[str, tuple[int, int]]], want: dict[str, int], figures: Figures,
                 deadline: float) -> bool:
    """Read the store until it holds everything sent (True), until it has not changed for
    DRAIN_SECONDS (what is missing is lost: True), or until DRAIN_SECONDS past the budget while the
    bot is still catching up (False: what is missing is still pending)."""
    last, changed = None, time.monotonic()
    while True:
        counts = read()
        if all(counts[k][0] >= want[k] for k in want) and len(figures.bot_seen) >= want["question posts"]:
            return True
        if counts != last:
            last, changed = counts, time.monotonic()
        elif time.monotonic() - changed > DRAIN_SECONDS:
            return True
        if time.monotonic() > deadline + DRAIN_SECONDS:
            return False
        await asyncio.sleep(1.0)


async def posts_up(figures: Figures, deadline: float) -> None:
    """Until the observers have seen the bot's post of every question asked, or none came for
    DRAIN_SECONDS (what is missing then is counted as lost at the end)."""
    last, changed = -1, time.monotonic()
    while len(figures.bot_seen) < len(figures.asks) and time.monotonic() < deadline:
        if len(figures.bot_seen) != last:
            last, changed = len(figures.bot_seen), time.monotonic()
        elif time.monotonic() - changed > DRAIN_SECONDS:
            return
        await asyncio.sleep(0.2)


# ----------------------------------------------------------------------------- the run


@dataclass
class Setup:
    work: Path
    schedule: Path
    data_dir: Path
    conference_id: str
    bot_user: str
    env: dict[str, str]
    port: int


async def run(args: argparse.Namespace, work: Path, server_box: list) -> tuple[Figures, dict, dict]:
    started = time.monotonic()
    deadline = started + args.budget
    figures = Figures()
    tracks = track_ids(args.attendees, args.room_size)
    moderator = f"@crowd-moderator:{SERVER_NAME}"
    bot_user = f"@crowd-bot-{uuid.uuid4().hex[:6]}:{SERVER_NAME}"
    data = conference(datetime.now(timezone.utc), tracks, moderator)
    conf_id = data["conference"]["id"]
    schedule = work / "schedule.yaml"
    schedule.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    data_dir = work / "bot"
    port = free_port()
    listen = f"127.0.0.1:{port}"
    mode = ["--appservice"] if not args.sync else []

    # The homeserver, with the registration `podium appservice` wrote when the bot is one.
    t0 = figures.begin()
    app_services: tuple[Path, ...] = ()
    if not args.sync:
        podium(work, podium_env("http://unused", bot_user, None), "appservice", "--user-id", bot_user,
               "--url", f"http://{listen}", "--data-dir", str(data_dir), "--schedule", str(schedule))
        app_services = (data_dir / "appservice" / "registration.yaml",)
    server = start_homeserver(work, app_services)
    server_box.append(server)
    figures.pids.update(homeserver_pids(server))
    token = None
    if args.sync:
        _, token = server.register_user(bot_user[1:].split(":")[0], PASSWORD, displayname="Podium")
        server.override_ratelimit(bot_user)
    env = podium_env(server.base_url, bot_user, token)
    log(f"homeserver up at {server.base_url} in {time.monotonic() - t0:.1f} s; the bot "
        f"{'an application service (events pushed)' if not args.sync else 'a normal account (/sync)'}")

    # Everyone's accounts, registered as the test fixtures do (shared secret), a few at a time.
    t0 = figures.begin()
    names = [f"crowd-{n:05d}" for n in range(args.attendees)] + ["crowd-moderator", "crowd-responder"] + \
            [f"crowd-observer-{t}" for t in tracks]
    with ThreadPoolExecutor(REGISTER_THREADS) as pool:
        accounts = list(pool.map(lambda name: server.register_user(name, PASSWORD), names))
    attendee_seats = seats(args.attendees, args.room_size)
    crowd = [Attendee(u, t, attendee_seats[n]) for n, (u, t) in enumerate(accounts[:args.attendees])]
    (mod_user, mod_token), (resp_user, resp_token) = accounts[args.attendees:args.attendees + 2]
    observer_accounts = accounts[args.attendees + 2:]
    figures.phase("register accounts", t0, len(names))
    log(f"{len(names)} accounts registered in {time.monotonic() - t0:.1f} s")

    t0 = figures.begin()
    podium(work, env, "apply", *mode, "--schedule", str(schedule), "--data-dir", str(data_dir), "--quiet")
    figures.phase("podium apply", t0)
    log(f"podium apply: {len(tracks)} tracks built in {time.monotonic() - t0:.1f} s")

    log_path = work / "bot.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", *mode, "--schedule", str(schedule),
                                    "--data-dir", str(data_dir), "--listen", listen],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    bot = Bot(process, bot_user, data_dir, log_path)
    figures.pids["bot"] = process.pid
    http = Http(server.base_url, figures, args.in_flight)
    staff: list[AsyncClient] = []
    stop = asyncio.Event()
    background: list[asyncio.Task] = []
    answers: set[asyncio.Task] = set()
    try:
        await wait_for_log(bot, "Podium is answering")
        space = f"#{conf_id}:{SERVER_NAME}"
        seated = sorted(set(attendee_seats))
        rooms: dict[int, str] = {}
        moderator_client = client(server, mod_user, mod_token, REQUEST_TIMEOUT)
        responder = client(server, resp_user, resp_token, REQUEST_TIMEOUT)
        observers = [client(server, u, t, REQUEST_TIMEOUT) for u, t in observer_accounts[:len(seated)]]
        staff.extend([moderator_client, responder, *observers])
        for c in staff:
            for n in seated:
                joined = await c.join(f"#{conf_id}-track-{tracks[n]}:{SERVER_NAME}")
                if not hasattr(joined, "room_id"):
                    raise RuntimeError(f"{c.user_id} could not join track {tracks[n]}: {joined}")
                rooms[n] = joined.room_id
        # Until the bot answers: asked again now and then, since a first run takes what was said
        # before it listened for history.
        await wait_bot_ready(moderator_client, rooms[seated[0]], bot_user, timeout=120)
        log("the bot is answering")

        on_seen = observing(bot_user, resp_user, figures)
        followers = [Follower(o, [rooms[n]], figures) for o, n in zip(observers, seated)]
        for f in followers:
            await f.start()
        background += [asyncio.create_task(f.run(on_seen, stop)) for f in followers]
        responder.add_event_callback(answering(responder, answers, figures), RoomMessageText)
        everywhere = {**followers[0].filter, "room": {**followers[0].filter["room"], "rooms": list(rooms.values())}}
        await responder.sync(timeout=0, sync_filter=everywhere)
        background.append(asyncio.create_task(responder.sync_forever(timeout=2000, sync_filter=everywhere)))

        # Joins: the space (each new member is welcomed) and the attendee's track room.
        t0 = figures.begin()

        async def join(a: Attendee) -> None:
            if await http.join(a, space):
                figures.joined.add(a.user_id)
            await http.join(a, rooms[a.track])

        done = await bounded(crowd, args.in_flight, join, deadline, "joins", figures)
        figures.phase("joins (space + track room)", t0, 2 * done)
        log(f"{done} attendees joined the space and their track room in {time.monotonic() - t0:.1f} s")
        crowd = crowd[:done]

        # A poll in every room the crowd sits in, started by a moderator.
        options = " ".join(f'"{o}"' for o in POLL_OPTIONS)
        for n in seated:
            await moderator_client.room_send(rooms[n], "m.room.message",
                                             {"msgtype": "m.text", "body": f'!poll "Which next?" {options}'})
        while len(figures.polls) < len(seated) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

        # The load, in two rounds: each attendee asks and answers the poll; then, once the bot's
        # posts of those questions are up, each votes on some of them.
        t0 = figures.begin()
        rng = random.Random(2026)
        seq = iter(range(10 ** 9))

        async def ask(a: Attendee) -> None:
            room_id = rooms[a.track]
            tag = f"a{next(seq)}x{uuid.uuid4().hex[:4]}"
            body = f"!ask {question_text(rng, tag)}"
            figures.asks_wall[tag] = time.time()
            figures.asks[tag] = time.perf_counter()
            event_id = await http.send(a, room_id, "m.room.message", {"msgtype": "m.text", "body": body}, "!ask")
            if event_id is None:
                figures.asks.pop(tag)
                return
            figures.ask_events[tag] = event_id
            if room_id in figures.polls:
                poll_id, answer_ids = figures.polls[room_id]
                content = {"m.relates_to": {"rel_type": "m.reference", "event_id": poll_id},
                           RESPONSE: {"answers": [rng.choice(answer_ids)]}}
                answer = await http.send(a, room_id, RESPONSE, content, "poll answer")
                if answer:
                    figures.poll_answers.add(answer)

        figures.load_began = time.time()
        done = await bounded(crowd, args.in_flight, ask, deadline, "asks", figures)
        figures.phase("load: !ask and a poll answer each", t0, len(figures.asks) + len(figures.poll_answers))
        log(f"{done} attendees asked and answered the poll in {time.monotonic() - t0:.1f} s")
        t0 = figures.begin()
        await posts_up(figures, deadline)
        figures.phase("wait: the bot's posts seen by the observers", t0)

        async def vote(a: Attendee) -> None:
            room_id = rooms[a.track]
            posts = figures.posts.get(room_id, [])
            for post in rng.sample(posts, min(args.votes, len(posts))):
                content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": post, "key": UPVOTE}}
                sent = await http.send(a, room_id, "m.reaction", content, "vote")
                if sent:
                    figures.votes.add(sent)

        t0 = figures.begin()
        await bounded(crowd, args.in_flight, vote, deadline, "votes", figures)
        figures.phase("load: 👍 votes", t0, len(figures.votes))
        log(f"{len(figures.votes)} votes in {time.monotonic() - t0:.1f} s; waiting for the bot")

        t0 = figures.begin()
        want = {"questions (!ask)": len(figures.asks), "question posts": len(figures.asks),
                "votes (👍)": len(figures.votes), "poll answers": len(figures.poll_answers),
                "joins (welcomes)": len(figures.joined)}
        members = {a.user_id for a in crowd}
        settled = await settle(lambda: recorded(data_dir, conf_id, figures, members), want, figures, deadline)
        figures.phase("drain: until the store holds everything", t0)
        await asyncio.sleep(2.0)  # a late duplicate would show now
        counts = recorded(data_dir, conf_id, figures, members)
        if bot.process.poll() is not None:
            figures.errors.append(f"podium run exited {bot.process.returncode} during the run")
        peak = bot.peak_rss_kib()
        figures.transactions = pushed(data_dir, figures.load_began)
    finally:
        stop.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, *answers, return_exceptions=True)
        for c in staff:
            await c.close()
        await http.close()
        stop_bot(process)
    return figures, counts, {"want": want, "peak_rss_kib": peak, "settled": settled, "seconds": time.monotonic() - started,
                             "rooms": len(seated), "tracks": len(tracks), "attendees": len(crowd)}


# ----------------------------------------------------------------------------- the report


def report(figures: Figures, counts: dict, extra: dict, args: argparse.Namespace, load: str) -> list[str]:
    failures = list(figures.errors[:10])
    log("")
    log(f"{extra['attendees']} attendees in {extra['rooms']} track rooms ({extra['tracks']} tracks, the first "
        f"holding {min(args.room_size, extra['attendees'])}), {args.in_flight} in flight; the bot "
        f"{'polling /sync' if args.sync else 'an application service'}; load average before the run {load}")
    log(f"who /syncs: the bot, one observer per track room ({extra['rooms']}) and the responder; "
        f"the {extra['attendees']} attendees only send")
    log("")
    log(f"{'phase':<44}{'seconds':>9}{'requests':>10}{'per s':>8}{'homeserver CPU':>16}{'bot CPU':>9}{'load':>6}")
    for ph in figures.phases:
        rate = f"{ph.requests / ph.seconds:8.1f}" if ph.requests and ph.seconds else f"{'':8}"
        cpu = "".join(f"{ph.cpu[who]:>{w}.1f}" if who in ph.cpu else f"{'':>{w}}"
                      for who, w in (("homeserver", 16), ("bot", 9)))
        log(f"{ph.name:<44}{ph.seconds:>9.1f}{ph.requests or '':>10}{rate}{cpu}{ph.load:>6}")
    log("(CPU: seconds of CPU time the process used in the phase; the machine has 2 cores, shared)")
    log("")
    missing = "lost" if extra["settled"] else "pending"
    log(f"{'received = sent':<24}{'sent':>8}{'received':>10}{missing:>9}{'duplicated':>12}")
    for kind, (received, duplicated) in counts.items():
        sent = extra["want"][kind]
        lost = sent - received
        log(f"{kind:<24}{sent:>8}{received:>10}{lost:>9}{duplicated:>12}")
        if (lost and extra["settled"]) or duplicated:
            failures.append(f"{kind}: {lost} lost, {duplicated} duplicated")
    if not extra["settled"]:
        log(f"pending: the bot was still recording when the drain ran {DRAIN_SECONDS:.0f} s past the budget")
    log("")
    bot, plain = figures.latencies(figures.bot_seen), figures.latencies(figures.plain_seen)
    log(f"{'reply to !ask, seen by an observer':<40}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, values in (("the bot (podium run)", bot), ("plain client (floor)", plain)):
        log(f"{name:<40}{len(values):>6}{percentile(values, 50) * 1000:>10.0f}{percentile(values, 99) * 1000:>10.0f}"
            f"{(max(values) if values else float('nan')) * 1000:>10.0f}")
    if bot and plain:
        log(f"bot / floor: p50 {percentile(bot, 50) / percentile(plain, 50):.2f}, "
            f"p99 {percentile(bot, 99) / percentile(plain, 99):.2f}")
    log("where the time goes (this machine's clock and the homeserver's origin_server_ts):")
    for stretch, values in figures.breakdown().items():
        if values:
            log(f"  {stretch:<46}{len(values):>6}{percentile(values, 50) * 1000:>10.0f}"
                f"{percentile(values, 99) * 1000:>10.0f}")
    twice = sum(1 for seen in figures.bot_seen.values() if len(seen) > 1)
    log(f"posts seen twice by an observer: {twice}; replies never seen: bot "
        f"{len(figures.asks) - len(bot)}, plain client {len(figures.asks) - len(plain)}")
    if figures.gaps:
        log(f"note: {figures.gaps} observer syncs were cut short (limited): a reply in the gap counts as unseen")
    if figures.transactions:
        gaps = [b - a for a, b in zip(figures.transactions, figures.transactions[1:])]
        events = len(figures.asks) + len(figures.poll_answers) + len(figures.votes)
        log(f"transactions pushed to the bot from the first !ask on: {len(figures.transactions)}, one at a time "
            f"({events / len(figures.transactions):.1f} of the crowd's events a transaction, besides the bot's own "
            f"and the plain client's); from one stored to the next: p50 {percentile(gaps, 50) * 1000:.0f} ms, "
            f"p99 {percentile(gaps, 99) * 1000:.0f} ms")
    peak = extra["peak_rss_kib"]
    log(f"the bot's peak RSS (VmHWM of podium run): {peak / 1024:.0f} MiB" if peak else "peak RSS: unknown")
    log(f"requests tried again: {figures.retries}; whole run {extra['seconds']:.0f} s")
    if figures.cut_short:
        log(f"BUDGET: {figures.cut_short}")
    if twice:
        failures.append(f"{twice} questions posted twice")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attendees", type=int, default=ROOM_SIZE, help="attendee clients, default %(default)s")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ATTENDEES} attendees")
    parser.add_argument("--room-size", type=int, default=ROOM_SIZE,
                        help="attendees in the first track room; the rest spread over the others; default %(default)s")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT, help="attendees acting at once, default %(default)s")
    parser.add_argument("--votes", type=int, default=VOTES, help="👍 per attendee, default %(default)s")
    parser.add_argument("--sync", action="store_true", help="run the bot as a normal account polling /sync")
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS, metavar="SECONDS",
                        help="stop sending after this long and print what was reached; default %(default).0f")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use DIR for Synapse's and the bot's data and keep it")
    args = parser.parse_args(argv)
    if args.quick:
        args.attendees = QUICK_ATTENDEES
    if args.attendees < 1 or args.room_size < 1 or args.in_flight < 1 or args.votes < 0:
        parser.error("need --attendees, --room-size and --in-flight >= 1, --votes >= 0")

    work = working_dir(args.keep, "crowd")
    load = load_average()
    server_box: list[EmbeddedSynapse] = []
    failures: list[str] = []
    try:
        figures, counts, extra = asyncio.run(run(args, work, server_box))
        failures = report(figures, counts, extra, args, load)
    except Exception as exc:  # noqa: BLE001 - report it, stop Synapse, exit 1
        crashed(exc, work / "bot.log", failures)
    finally:
        for server in server_box:
            server.stop()
    log(f"load average after the run {load_average()}")
    return conclude(failures, work, keep=bool(args.keep))


if __name__ == "__main__":
    sys.exit(main())
