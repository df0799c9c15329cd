#!/usr/bin/env python3
"""Benchmark: the bot answering ``!ask`` under load, against the homeserver's own echo latency.

What it does, in order:

1. Starts an embedded Synapse (SQLite, a temp dir, rate limits lifted), registers the bot and
   applies a one-track conference whose talk is live for the whole run.
2. Starts the bot (``podium run``) as its own process, as an organiser would run it.
3. Registers N attendees (matrix-nio clients), a probe, a responder and an observer, all in the track room.
4. For ``--seconds``: every attendee sends ``!ask <question>`` at random intervals (one every ``--ask-every``
   to 1.5 x ``--ask-every`` seconds, starting at a random point of that cycle, so questions arrive
   at one steady rate from the start) and, one every 0.5 to 2 seconds, 👍s the questions the bot has
   posted; in the same run a probe client sends a plain message every ``ECHO_EVERY`` seconds, and
   the responder, a plain client with its own /sync, answers each of them the moment it arrives.
   The observer, one more matrix-nio client, sees everything through its own /sync.
5. Waits for the last replies, then prints:
   - bot reply latency: from just before an attendee sends ``!ask`` to the moment the observer
     sees the bot's post of that question;
   - echo latency: from just before the probe sends a message to the moment the observer sees
     it — the homeserver's own floor for "a message in, a message out", in the same run;
   - the plain client's answer: from just before the probe sends a message to the moment the
     observer sees the responder's answer — the same two trips as a bot reply, with nothing in
     between;
   - lost replies (an ``!ask`` the bot never posted) and duplicated replies (posted twice): both
     must be 0;
   - PASS/MISS for the target bot p99 <= 2 x echo p99;
   - the bot's p99 over the plain client's, and the plain client's over the echo: the same ratio
     as the target's for a client that does nothing but answer.

It is a benchmark, not a test: it exits 0 when it ran, even if a target is missed, and 1 when
something failed outright (Synapse or the bot did not start, a request failed).

    python bench/commands.py --seconds 20 --clients 20    # quick: under a minute
    python bench/commands.py                              # 50 clients for a minute
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from nio import AsyncClient, AsyncClientConfig, RoomMessageText, RoomSendResponse, SyncResponse

from bot.conference.qa import RATE_COUNT, RATE_WINDOW
from bot.homeserver import EmbeddedSynapse
from bot.ports import free_port

SERVER_NAME = "localhost"
PASSWORD = "bench-password"
TRACK = "main"
#: Seconds between the starts of two probe messages. A full run then has about as many probes as
#: questions, so both p99s are taken at the same rank (with fewer than 100 samples, p99 is the
#: slowest one).
ECHO_EVERY = 0.4
#: Each attendee's pause between two questions is ``--ask-every`` times 1 to this.
PAUSE_SPREAD = 1.5
DRAIN_SECONDS = 15.0  # how long to wait for replies after the load stops
TARGET_RATIO = 2.0  # bot p99 <= TARGET_RATIO x echo p99
#: The bot takes at most RATE_COUNT questions per person per RATE_WINDOW seconds; attendees here
#: stay under that, so every !ask must be posted (a refusal would count as a lost reply).
MIN_ASK_EVERY = RATE_WINDOW / RATE_COUNT + 1.0

#: Words questions are made of. Each question draws several at random so no two are alike
#: (the bot must not take them for rewordings of one another).
VOCABULARY = (
    "async generators packaging wheels typing protocols dataclasses descriptors metaclasses "
    "decorators coroutines threads subinterpreters garbage collection reference counting "
    "bytecode compiler parser tokenizer import system virtualenv pip poetry hatch tox nox "
    "pytest hypothesis mypy pyright ruff black flake8 sphinx docstrings unicode locale "
    "datetime zoneinfo decimal fractions statistics numpy pandas polars arrow duckdb sqlite "
    "postgres redis kafka celery django flask fastapi starlette uvicorn gunicorn websockets "
    "http2 tls certificates oauth jwt cookies sessions caching memoization profiling tracing "
    "logging metrics prometheus grafana docker kubernetes wasm pyodide micropython embedded "
    "robotics astronomy genomics finance teaching accessibility translation community funding"
).split()
OPENERS = ("How would you", "Why did you", "What made you", "Could you compare", "When should we",
           "Is it wise to", "Do you recommend", "What about")


def log(message: str) -> None:
    print(message, flush=True)


def question_text(rng: random.Random, tag: str) -> str:
    words = rng.sample(VOCABULARY, 5)
    return f"{rng.choice(OPENERS)} {' and '.join(words[:2])} with {', '.join(words[2:])}? [{tag}]"


def first_pause(rng: random.Random, ask_every: float) -> float:
    """How long an attendee waits before its first question: as if the run began at a random
    moment of its question cycle.

    Questions then arrive at one steady rate from the first second, as the probe messages do, so
    the bot's replies and the echo are measured under the same load. Starting everyone within the
    first few seconds sent the questions in waves (50 in 5 s, then 20 s of none) and the echo was
    measured mostly between them. The cycle is drawn in proportion to its length, as a moment
    chosen at random falls in a long cycle more often than in a short one, and the start is a
    uniform point of it.
    """
    cycle = ask_every * math.sqrt(1.0 + rng.random() * (PAUSE_SPREAD ** 2 - 1.0))
    return rng.uniform(0.0, cycle)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: with few samples p99 is the slowest one)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


# ----------------------------------------------------------------------------- the conference


def conference(now: datetime) -> dict:
    """One track whose only talk started ten minutes ago and runs for hours."""
    start = (now - timedelta(minutes=10)).replace(second=0, microsecond=0)
    return {
        "conference": {
            "id": f"cmd-{uuid.uuid4().hex[:6]}",
            "name": "Command benchmark",
            "timezone": "UTC",
            "start": start.date().isoformat(),
            "end": (start + timedelta(days=1)).date().isoformat(),
            "access": "public",
        },
        "tracks": [{"id": TRACK, "name": "Main track"}],
        "talks": [{
            "id": "keynote",
            "track": TRACK,
            "title": "A long keynote",
            "start": start.strftime("%Y-%m-%dT%H:%MZ"),
            "duration": "6h",
            "speakers": [{"name": "Speaker"}],
        }],
    }


# ----------------------------------------------------------------------------- measuring


@dataclass
class Figures:
    asks_sent: dict[str, float] = field(default_factory=dict)  # tag -> send time
    ask_replies: dict[str, list[float]] = field(default_factory=dict)  # tag -> times seen
    posts: list[tuple[str, str]] = field(default_factory=list)  # (room id, event id) of bot posts
    echo_sent: dict[str, float] = field(default_factory=dict)
    echo_seen: dict[str, list[float]] = field(default_factory=dict)
    answer_seen: dict[str, list[float]] = field(default_factory=dict)  # probe tag -> the responder's answer seen
    votes_sent: int = 0
    send_errors: list[str] = field(default_factory=list)
    # Where an echo's and a reply's time goes, on the homeserver's clock (origin_server_ts, ms)
    # and the wall clock (this machine's, which the homeserver shares): tag -> when.
    sent_wall: dict[str, float] = field(default_factory=dict)  # tag -> when its send began (wall, s)
    received: dict[str, int] = field(default_factory=dict)  # tag -> the homeserver took the !ask or probe (ms)
    seen_wall: dict[str, float] = field(default_factory=dict)  # tag -> the observer sees the !ask or probe (wall, s)
    post_received: dict[str, int] = field(default_factory=dict)  # the homeserver took the bot's post (ms)
    post_seen: dict[str, float] = field(default_factory=dict)  # the observer sees the post (wall, s)
    answer_received: dict[str, int] = field(default_factory=dict)  # the homeserver took the responder's answer (ms)
    started_at: float = 0.0  # when the attendees and the probe started (wall, s)
    stopped_at: float = 0.0  # ... and when the last of them stopped

    def breakdown(self) -> dict[str, list[float]]:
        """Seconds spent in each stretch of an echo and of a reply, for the tags where every
        stamp is known. "Taken" is the event's origin_server_ts: the homeserver stamps it as it
        builds the event, after its per-room checks, so "sent -> taken" is mostly the wait for
        those."""
        echoes = [t for t in self.echo_sent if t in self.received and t in self.seen_wall and t in self.sent_wall]
        replies = [t for t in self.post_received if t in self.received and t in self.post_seen and t in self.sent_wall]
        return {
            "echo: sent -> taken": [self.received[t] / 1000 - self.sent_wall[t] for t in echoes],
            "echo: taken -> another client has it": [self.seen_wall[t] - self.received[t] / 1000 for t in echoes],
            "!ask: sent -> taken": [self.received[t] / 1000 - self.sent_wall[t] for t in replies],
            "!ask: taken -> another client has it": [self.seen_wall[t] - self.received[t] / 1000
                                                     for t in replies if t in self.seen_wall],
            "bot: !ask taken -> its post taken": [(self.post_received[t] - self.received[t]) / 1000 for t in replies],
            "post: taken -> another client has it": [self.post_seen[t] - self.post_received[t] / 1000
                                                     for t in replies],
            "plain client: probe taken -> answer taken": [(self.answer_received[t] - self.received[t]) / 1000
                                                          for t in echoes if t in self.answer_received],
        }

    def bot_latencies(self) -> list[float]:
        return [self.ask_replies[t][0] - sent for t, sent in self.asks_sent.items() if self.ask_replies.get(t)]

    def echo_latencies(self) -> list[float]:
        return [self.echo_seen[t][0] - sent for t, sent in self.echo_sent.items() if self.echo_seen.get(t)]

    def answer_latencies(self) -> list[float]:
        return [self.answer_seen[t][0] - sent for t, sent in self.echo_sent.items() if self.answer_seen.get(t)]

    def lost(self) -> int:
        return sum(1 for t in self.asks_sent if not self.ask_replies.get(t))

    def duplicated(self) -> int:
        return sum(1 for times in self.ask_replies.values() if len(times) > 1)

    def outstanding(self) -> int:
        return self.lost() + sum(1 for t in self.echo_sent if not self.echo_seen.get(t) or not self.answer_seen.get(t))


def client(server: EmbeddedSynapse, user_id: str, token: str, request_timeout: float = 30) -> AsyncClient:
    # Fail rather than wait forever: a benchmark must report, not hang.
    config = AsyncClientConfig(max_limit_exceeded=3, max_timeouts=3, request_timeout=request_timeout)
    c = AsyncClient(server.base_url, user_id, config=config)
    c.access_token, c.user_id = token, user_id
    return c


#: What is in a message on its way to another client: the moment it arrives (perf_counter, s)
#: and wall-clock time (s), and the message.
OnMessage = Callable[[RoomMessageText, float, float], None]


async def follow(c: AsyncClient, room_id: str, on_message: OnMessage, figures: Figures, stop: asyncio.Event,
                 ready: asyncio.Event) -> None:
    """A client's /sync loop on the track room: every text message goes to ``on_message`` as it arrives."""
    sync_filter = {"presence": {"types": []}, "account_data": {"types": []},
                   "room": {"rooms": [room_id], "timeline": {"types": ["m.room.message"], "limit": 200},
                            "state": {"types": []}, "ephemeral": {"types": []}, "account_data": {"types": []}}}
    first = await c.sync(timeout=0, sync_filter=sync_filter)
    if not isinstance(first, SyncResponse):
        raise RuntimeError(f"{c.user_id}'s first sync failed: {first}")
    since = first.next_batch
    ready.set()
    while not stop.is_set():
        response = await c.sync(timeout=5000, sync_filter=sync_filter, since=since)
        seen = time.perf_counter()
        if not isinstance(response, SyncResponse):
            figures.send_errors.append(f"sync of {c.user_id}: {response}")
            await asyncio.sleep(0.5)
            continue
        wall = time.time()
        since = response.next_batch
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, RoomMessageText):
                on_message(event, seen, wall)


def observing(room_id: str, bot_user: str, responder_user: str, figures: Figures) -> OnMessage:
    """The observer: stamps every question, post, probe and answer the moment it arrives."""

    def on_message(event: RoomMessageText, seen: float, wall: float) -> None:
        tag = _tag(event.body)
        if tag is None:
            return
        if event.sender == bot_user and tag in figures.asks_sent:
            figures.ask_replies.setdefault(tag, []).append(seen)
            figures.posts.append((room_id, event.event_id))
            figures.post_received.setdefault(tag, event.server_timestamp)
            figures.post_seen.setdefault(tag, wall)
        elif event.sender == responder_user and tag in figures.echo_sent:
            figures.answer_seen.setdefault(tag, []).append(seen)
            figures.answer_received.setdefault(tag, event.server_timestamp)
        elif tag in figures.asks_sent or tag in figures.echo_sent:
            figures.received[tag] = event.server_timestamp
            figures.seen_wall[tag] = wall
            if tag in figures.echo_sent:
                figures.echo_seen.setdefault(tag, []).append(seen)

    return on_message


def answering(responder: AsyncClient, room_id: str, probe_user: str, figures: Figures,
              sends: set[asyncio.Task]) -> OnMessage:
    """The responder: a plain client that answers each probe message the moment its /sync brings
    it, as the bot answers an ``!ask``. The floor for a reply: no store, no commands, no rules.
    Its sends run beside its /sync, as the bot's do."""

    async def answer(tag: str) -> None:
        sent = await responder.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": f"re [{tag}]"})
        if not isinstance(sent, RoomSendResponse):
            figures.send_errors.append(f"answer: {sent}")

    def on_message(event: RoomMessageText, seen: float, wall: float) -> None:
        tag = _tag(event.body)
        if event.sender == probe_user and tag in figures.echo_sent:
            task = asyncio.create_task(answer(tag))
            sends.add(task)
            task.add_done_callback(sends.discard)

    return on_message


def _tag(body: str) -> str | None:
    start = body.rfind("[")
    end = body.find("]", start)
    return body[start + 1:end] if 0 <= start < end else None


async def attendee(c: AsyncClient, room_id: str, figures: Figures, stop: asyncio.Event, ask_every: float,
                   rng: random.Random) -> None:
    """Ask now and then; between questions, 👍 questions the bot has posted."""
    await asyncio.sleep(first_pause(rng, ask_every))
    voted: set[str] = set()
    while not stop.is_set():
        tag = uuid.uuid4().hex[:12]
        body = f"!ask {question_text(rng, tag)}"
        figures.sent_wall[tag] = time.time()
        figures.asks_sent[tag] = time.perf_counter()
        response = await c.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
        if not isinstance(response, RoomSendResponse):
            figures.asks_sent.pop(tag, None)
            figures.send_errors.append(f"!ask by {c.user_id}: {response}")
        pause = ask_every * rng.uniform(1.0, PAUSE_SPREAD)  # never faster than the bot's rate limit allows
        deadline = time.perf_counter() + pause
        while True:
            # Each vote comes after a pause, the first one too. Voting the moment its own !ask went
            # through put every asker's vote into the room's queue just ahead of the bot's post of
            # that question, a lockstep no audience keeps: with 10 attendees it held the post up
            # by 30 ms at the median.
            await asyncio.sleep(min(max(0.0, deadline - time.perf_counter()), rng.uniform(0.5, 2.0)))
            if stop.is_set() or time.perf_counter() >= deadline:
                break
            candidates = [p for p in figures.posts if p[1] not in voted]
            if candidates:
                _room, event_id = rng.choice(candidates)
                voted.add(event_id)
                content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "👍"}}
                sent = await c.room_send(room_id, "m.reaction", content)
                if isinstance(sent, RoomSendResponse):
                    figures.votes_sent += 1
                else:
                    figures.send_errors.append(f"vote by {c.user_id}: {sent}")


async def echo_probe(c: AsyncClient, room_id: str, figures: Figures, stop: asyncio.Event) -> None:
    n = 0
    next_at = time.monotonic()
    while not stop.is_set():
        n += 1
        tag = f"echo-{n}-{uuid.uuid4().hex[:6]}"
        figures.sent_wall[tag] = time.time()
        figures.echo_sent[tag] = time.perf_counter()
        response = await c.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": f"hello [{tag}]"})
        if not isinstance(response, RoomSendResponse):
            figures.echo_sent.pop(tag, None)
            figures.send_errors.append(f"echo: {response}")
        next_at += ECHO_EVERY
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


# ----------------------------------------------------------------------------- the run


@dataclass
class Audience:
    """The load's clients, each joined to the room: one observer, one probe, one responder and
    the attendees."""

    observer: AsyncClient
    probe: AsyncClient
    responder: AsyncClient
    attendees: list[AsyncClient]

    async def close(self) -> None:
        for c in (self.observer, self.probe, self.responder, *self.attendees):
            await c.close()


async def join_audience(server: EmbeddedSynapse, room_id: str, attendees: int) -> Audience:
    """Register ``attendees`` attendees, a probe, a responder and an observer, and join them to ``room_id``."""
    users = [server.register_user(f"bench-{n:03d}-{uuid.uuid4().hex[:4]}", PASSWORD) for n in range(attendees + 3)]
    clients = [client(server, user_id, token) for user_id, token in users]
    for c in clients:
        joined = await c.join(room_id)
        if not hasattr(joined, "room_id"):
            raise RuntimeError(f"{c.user_id} could not join the room: {joined}")
    return Audience(clients[0], clients[1], clients[2], clients[3:])


async def load(audience: Audience, room_id: str, bot_user: str, figures: Figures, *, seconds: float,
               ask_every: float = MIN_ASK_EVERY) -> None:
    """The load, measured into ``figures``: the observer and the responder follow the room, the
    attendees ask and vote and the probe sends for ``seconds``; then up to ``DRAIN_SECONDS`` for
    the outstanding replies. ``figures.started_at`` and ``stopped_at`` say when the attendees and
    the probe started and stopped (wall clock)."""
    stop, observing_ready, answering_ready = asyncio.Event(), asyncio.Event(), asyncio.Event()
    answers: set[asyncio.Task] = set()
    on_observed = observing(room_id, bot_user, audience.responder.user_id, figures)
    on_probe = answering(audience.responder, room_id, audience.probe.user_id, figures, answers)
    watchers = [asyncio.create_task(follow(audience.observer, room_id, on_observed, figures, stop, observing_ready)),
                asyncio.create_task(follow(audience.responder, room_id, on_probe, figures, stop, answering_ready))]
    await asyncio.wait_for(asyncio.gather(observing_ready.wait(), answering_ready.wait()), 30)
    rng = random.Random(2026)
    load_stop = asyncio.Event()
    figures.started_at = time.time()
    tasks = [asyncio.create_task(attendee(c, room_id, figures, load_stop, ask_every, random.Random(rng.random())))
             for c in audience.attendees]
    tasks.append(asyncio.create_task(echo_probe(audience.probe, room_id, figures, load_stop)))
    await asyncio.sleep(seconds)
    load_stop.set()
    await asyncio.gather(*tasks)
    figures.stopped_at = time.time()
    log(f"load stopped; waiting up to {DRAIN_SECONDS:.0f} s for outstanding replies")
    deadline = time.monotonic() + DRAIN_SECONDS
    while figures.outstanding() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # a late duplicate would arrive now
    stop.set()
    await asyncio.gather(*watchers, *answers)


async def setup_room(server: EmbeddedSynapse, schedule_path: Path, bot_user: str, bot_token: str, *,
                     appservice: bool = False) -> str:
    """Apply the conference as ``podium apply`` would (``--appservice``: ``bot_token`` is the
    service's as_token); return the track room's id."""
    from bot.matrix import MatrixAdapter
    from bot.provisioning.apply import converge
    from bot.provisioning.desired import Settings
    from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build

    conf = build(schedule_path, Settings(server_name=SERVER_NAME, bot_user_id=bot_user, public_url=DEFAULT_PUBLIC_URL))
    async with MatrixAdapter(server.base_url, bot_user, bot_token, appservice=appservice) as adapter:
        if appservice:
            await adapter.claim_user()
        version = await adapter.default_room_version()
        _plan, report = await converge(adapter, conf.rooms, conference_id=conf.schedule.conference.id,
                                       room_version=version)
        if report.failed or report.skipped:
            raise RuntimeError(f"applying the conference failed: {report.failed[:3]} {report.skipped[:3]}")
        room_id = await adapter.resolve_alias(f"#{conf.schedule.conference.id}-track-{TRACK}:{SERVER_NAME}")
    if room_id is None:
        raise RuntimeError("the track room was not created")
    return room_id


def start_bot(server: EmbeddedSynapse, schedule_path: Path, data_dir: Path, bot_user: str, bot_token: str | None,
              log_path: Path, options: tuple[str, ...] = ()) -> subprocess.Popen:
    """``podium run`` in its own process, as an organiser runs it, with ``options`` after its
    own (``--appservice``, ``--listen``). Without a token the bot is an application service: its
    tokens are in ``data_dir``. Without ``--listen`` its pages go on a free port, not 8080, where
    a demo or another bench may already listen."""
    if "--listen" not in options:
        options = (*options, "--listen", f"127.0.0.1:{free_port()}")
    env = {**os.environ, "PODIUM_HOMESERVER": server.base_url, "PODIUM_USER_ID": bot_user,
           "PODIUM_DATA_DIR": str(data_dir)}
    if bot_token is not None:
        env["PODIUM_ACCESS_TOKEN"] = bot_token
    command = [sys.executable, "-m", "bot.cli", "run", "--schedule", str(schedule_path), "--data-dir", str(data_dir),
               *options]
    with log_path.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def wait_bot_ready(probe: AsyncClient, room_id: str, bot_user: str, timeout: float = 60.0) -> None:
    """Until the bot answers ``!help`` in the room (it is syncing and dispatching).

    Asked again every few seconds: on its first run the bot treats what was said before it
    started listening as history, so an early ``!help`` goes unanswered.
    """
    sync_filter = {"room": {"rooms": [room_id], "timeline": {"types": ["m.room.message"], "limit": 50}}}
    first = await probe.sync(timeout=0, sync_filter=sync_filter)
    since = first.next_batch
    deadline = time.monotonic() + timeout
    asked = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - asked > 3.0:
            await probe.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "!help"})
            asked = time.monotonic()
        response = await probe.sync(timeout=1000, sync_filter=sync_filter, since=since)
        if isinstance(response, SyncResponse):
            since = response.next_batch
            room = response.rooms.join.get(room_id)
            if room and any(e.sender == bot_user for e in room.timeline.events):
                return
    raise RuntimeError(f"the bot did not answer !help within {timeout:.0f} s")


async def run(server: EmbeddedSynapse, args: argparse.Namespace, work: Path) -> Figures:
    bot_user, bot_token = server.register_user(f"bench-bot-{uuid.uuid4().hex[:6]}", PASSWORD, displayname="Podium")
    server.override_ratelimit(bot_user)
    schedule_path = work / "schedule.yaml"
    schedule_path.write_text(yaml.safe_dump(conference(datetime.now(timezone.utc))), encoding="utf-8")
    room_id = await setup_room(server, schedule_path, bot_user, bot_token)
    log(f"conference applied; track room {room_id}")

    audience = await join_audience(server, room_id, args.clients)
    log(f"{len(audience.attendees)} attendees, a probe, a responder and an observer joined")

    bot = start_bot(server, schedule_path, work / "bot", bot_user, bot_token, work / "bot.log")
    figures = Figures()
    try:
        await wait_bot_ready(audience.probe, room_id, bot_user)
        log("the bot is answering; load starts")
        await load(audience, room_id, bot_user, figures, seconds=args.seconds, ask_every=args.ask_every)
        if bot.poll() is not None:
            figures.send_errors.append(f"the bot exited with status {bot.returncode}")
    finally:
        if bot.poll() is None:
            os.killpg(bot.pid, signal.SIGTERM)
            try:
                bot.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(bot.pid, signal.SIGKILL)
                bot.wait()
        await audience.close()
    return figures


def report(figures: Figures, args: argparse.Namespace) -> list[str]:
    bot, echo, answer = figures.bot_latencies(), figures.echo_latencies(), figures.answer_latencies()
    bot_p50, bot_p99 = percentile(bot, 50) * 1000, percentile(bot, 99) * 1000
    echo_p50, echo_p99 = percentile(echo, 50) * 1000, percentile(echo, 99) * 1000
    answer_p50, answer_p99 = percentile(answer, 50) * 1000, percentile(answer, 99) * 1000
    lost, duplicated = figures.lost(), figures.duplicated()
    echo_lost = sum(1 for t in figures.echo_sent if not figures.echo_seen.get(t))
    ratio = bot_p99 / echo_p99 if echo_p99 else float("inf")
    ok_ratio = ratio <= TARGET_RATIO

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    log("")
    log(f"{args.clients} attendees for {args.seconds:.0f} s: {len(figures.asks_sent)} !ask, "
        f"{figures.votes_sent} votes, {len(figures.echo_sent)} echo probes")
    log(f"{'':28}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}")
    log(f"{'bot reply to !ask':28}{len(bot):>6}{bot_p50:>10.1f}{bot_p99:>10.1f}")
    log(f"{'homeserver echo (floor)':28}{len(echo):>6}{echo_p50:>10.1f}{echo_p99:>10.1f}")
    log(f"{'plain client answers probe':28}{len(answer):>6}{answer_p50:>10.1f}{answer_p99:>10.1f}")
    log("where the time goes (stamps of this machine and the homeserver, one clock):")
    for stretch, values in figures.breakdown().items():
        if values:
            log(f"  {stretch:<44}{len(values):>6}{percentile(values, 50) * 1000:>10.1f}"
                f"{percentile(values, 99) * 1000:>10.1f}")
    log("")
    log(f"lost replies        {lost:>6}   (target 0)  {verdict(lost == 0)}")
    log(f"duplicated replies  {duplicated:>6}   (target 0)  {verdict(duplicated == 0)}")
    log(f"bot p99 / echo p99  {ratio:>6.3f}   (target <= {TARGET_RATIO:.0f})  {verdict(ok_ratio)}")
    log(f"bot p99 / plain client's answer p99  {bot_p99 / answer_p99 if answer_p99 else float('inf'):.3f}"
        "   (the same two trips without the bot: 1 means the bot adds nothing)")
    log(f"plain client's answer p99 / echo p99  {answer_p99 / echo_p99 if echo_p99 else float('inf'):.3f}"
        f"   (the floor of the target's ratio: a client that only answers, measured the same way)")
    if echo_lost:
        log(f"note: {echo_lost} echo probes were never seen by the observer")
    unanswered = sum(1 for t in figures.echo_sent if not figures.answer_seen.get(t))
    if unanswered:
        log(f"note: the observer never saw the answer to {unanswered} echo probes")
    failures = list(figures.send_errors[:10])
    if not figures.asks_sent:
        failures.append("no !ask was sent")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="attendee clients, default 50")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs, default 60")
    parser.add_argument("--ask-every", type=float, default=MIN_ASK_EVERY, metavar="SECONDS",
                        help=f"each attendee asks again after SECONDS to {PAUSE_SPREAD:g} x SECONDS; at least "
                             f"{MIN_ASK_EVERY:.0f} (the bot's per-person rate limit); default %(default).0f")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use DIR for Synapse's and the bot's data and keep it")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.ask_every < MIN_ASK_EVERY:
        parser.error(f"need --clients >= 1, --seconds > 0 and --ask-every >= {MIN_ASK_EVERY:.0f}")

    work = working_dir(args.keep, "commands")
    server = EmbeddedSynapse(work / "synapse", server_name=SERVER_NAME, lift_limits=True)
    failures: list[str] = []
    try:
        t0 = time.perf_counter()
        server.start()
        log(f"synapse up in {time.perf_counter() - t0:.1f} s at {server.base_url}")
        figures = asyncio.run(run(server, args, work))
        failures = report(figures, args)
    except Exception as exc:  # noqa: BLE001 - report it, stop Synapse, exit 1
        crashed(exc, work / "bot.log", failures)
    finally:
        server.stop()
    return conclude(failures, work, keep=bool(args.keep))


def crashed(exc: BaseException, bot_log: Path, failures: list[str], *, lines: int = 30) -> None:
    """A benchmark stopped by ``exc``: its traceback printed, a failure added, and the last
    ``lines`` of the bot's log shown, where the cause usually is."""
    traceback.print_exc()
    failures.append(f"{type(exc).__name__}: {exc}")
    if bot_log.exists():
        log("--- the bot's log (last lines) ---")
        log("\n".join(bot_log.read_text(errors="replace").splitlines()[-lines:]))


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes, as the figures print it."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def working_dir(keep: Path | None, name: str) -> Path:
    """Where a benchmark keeps Synapse's and the bots' data: ``keep`` (``--keep DIR``), kept
    afterwards, else a new temporary folder that :func:`conclude` removes."""
    work = keep.resolve() if keep else Path(tempfile.mkdtemp(prefix=f"podium-bench-{name}-"))
    work.mkdir(parents=True, exist_ok=True)
    return work


def conclude(failures: list[str], work: Path, *, keep: bool) -> int:
    """The end of a benchmark's run: its data kept or removed, what failed said; the exit code."""
    if keep:
        log(f"data kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        log(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
