#!/usr/bin/env python3
"""Benchmark: reply latency with events pushed (application service) vs /sync vs a plain client.

What it does, in order:

1. Writes two one-track conferences whose talk is live for the whole run, and the
   application-service registration of the first (``podium appservice``, its URL the first bot's
   ``--listen``); starts one embedded Synapse (SQLite, rate limits lifted) that loads it.
2. Applies both with ``podium apply``: the first as the application service, the second as a
   normal account. Starts both bots as organisers run them, side by side on the one Synapse:
   ``podium run --appservice`` (Synapse pushes the first conference's events to it as
   transactions) and ``podium run`` (it long-polls ``/sync`` for the second's).
3. The floor: a plain matrix-nio client in a room of its own, in its own process, that answers
   the same command with a fixed text the moment its ``/sync`` brings it (its sends beside its
   ``/sync``, as the bot's are).
4. One asker (a matrix-nio client in all three rooms, with its own ``/sync``) sends the same
   command ``--rounds`` times to each path and times each from just before the send to the moment
   its own ``/sync`` brings the reply (the reply is a Matrix reply to the command: matched by the
   command's event id). Sequential: one command at a time, the paths taking turns (their order
   rotating each round). Concurrent: ``--burst`` commands at once into one path's room, the
   paths taking turns by burst.
5. Prints n, p50, p90, p99 and max per path and mode, and each path's ratio to the floor.

It is a benchmark, not a test: it exits 0 when it ran and 1 when something failed outright (a
bot did not start, a reply never came, a request failed).

    python bench/latency.py --rounds 20             # quick: about a minute
    python bench/latency.py                         # 100 rounds each way: a few minutes
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import subprocess
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml
from clock import stop_bot
from commands import (PASSWORD, SERVER_NAME, TRACK, client, conclude, conference, load_average, log, percentile,
                      start_bot, working_dir)
from nio import AsyncClient, RoomMessage, RoomSendResponse, RoomVisibility, SyncResponse

from bot.cli.appservice import REGISTRATION_FILE
from bot.commands.budget import CAPACITY
from bot.config import APPSERVICE_FOLDER
from bot.homeserver import EmbeddedSynapse
from bot.ports import free_port

COMMAND = "!now"
FLOOR_TEXT = "Now: a long keynote"  # what the plain client answers, whatever the command
PATHS = ("pushed (appservice)", "/sync (normal account)", "plain client (floor)")
FLOOR = PATHS[2]
REPLY_TIMEOUT = 30.0  # a reply not seen by then is lost
READY_TIMEOUT = 90.0
#: Commands of its budget an asker keeps unspent: the first asker's tries until the paths answer.
SPARE = 2


# ----------------------------------------------------------------------------- the podium CLI


def podium(*argv: str, env: dict[str, str] | None = None) -> str:
    """``podium ARGV`` in its own process, as an organiser types it; what it printed. Raises with
    that output when it fails."""
    done = subprocess.run([sys.executable, "-m", "bot.cli", *argv], env={**os.environ, **(env or {})},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"podium {argv[0]} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def register_service(bot_user: str, schedule: Path, data_dir: Path, port: int) -> Path:
    """``podium appservice`` for a bot listening on ``port``; the registration file it wrote."""
    podium("appservice", "--user-id", bot_user, "--url", f"http://127.0.0.1:{port}", "--data-dir", str(data_dir),
           "--schedule", str(schedule))
    return data_dir / APPSERVICE_FOLDER / REGISTRATION_FILE


def apply_conference(server: EmbeddedSynapse, schedule: Path, data_dir: Path, bot_user: str,
                     token: str | None) -> str:
    """``podium apply`` (as the application service without a token); what it printed."""
    env = {"PODIUM_HOMESERVER": server.base_url, "PODIUM_USER_ID": bot_user}
    if token is not None:
        env["PODIUM_ACCESS_TOKEN"] = token
    options = ("--appservice",) if token is None else ()
    return podium("apply", "--schedule", str(schedule), "--data-dir", str(data_dir), "--quiet", *options, env=env)


# ----------------------------------------------------------------------------- the floor


async def plain_client(homeserver: str, user_id: str, room_id: str) -> None:
    """The floor: a plain matrix-nio client that answers every ``COMMAND`` in ``room_id`` with a
    fixed text, as a Matrix reply, its sends beside its /sync. Runs until killed."""
    c = AsyncClient(homeserver, user_id)
    c.access_token = os.environ["FLOOR_ACCESS_TOKEN"]
    sends: set[asyncio.Task] = set()
    started = time.time() * 1000

    async def answer(room, event: RoomMessage) -> None:
        if room.room_id != room_id or event.sender == user_id or event.server_timestamp < started:
            return
        if getattr(event, "body", "").strip() == COMMAND:
            task = asyncio.create_task(c.room_send(room_id, "m.room.message", {
                "msgtype": "m.notice", "body": FLOOR_TEXT,
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}}}))
            sends.add(task)
            task.add_done_callback(sends.discard)

    c.add_event_callback(answer, RoomMessage)
    await c.sync_forever(timeout=30_000)


def start_plain_client(server: EmbeddedSynapse, user_id: str, token: str, room_id: str,
                       log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "FLOOR_ACCESS_TOKEN": token}
    command = [sys.executable, __file__, "--plain-client", server.base_url, user_id, room_id]
    with log_path.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


# ----------------------------------------------------------------------------- measuring


@dataclass
class Asker:
    """One client in every path's room: sends the command and times the replies its /sync brings."""

    client: AsyncClient
    rooms: dict[str, str]  # path -> room id
    sent: dict[str, float] = field(default_factory=dict)  # command event id -> perf_counter before its send
    replies: dict[str, asyncio.Future] = field(default_factory=dict)  # command event id -> seconds to its reply
    reply_seen: dict[str, float] = field(default_factory=dict)  # command event id -> perf_counter its reply came
    errors: list[str] = field(default_factory=list)

    async def follow(self, stop: asyncio.Event, ready: asyncio.Event) -> None:
        sync_filter = {"presence": {"types": []}, "account_data": {"types": []},
                       "room": {"rooms": list(self.rooms.values()),
                                "timeline": {"types": ["m.room.message"], "limit": 100},
                                "state": {"types": []}, "ephemeral": {"types": []}, "account_data": {"types": []}}}
        first = await self.client.sync(timeout=0, sync_filter=sync_filter)
        if not isinstance(first, SyncResponse):
            raise RuntimeError(f"the asker's first sync failed: {first}")
        since = first.next_batch
        ready.set()
        while not stop.is_set():
            response = await self.client.sync(timeout=5000, sync_filter=sync_filter, since=since)
            seen = time.perf_counter()
            if not isinstance(response, SyncResponse):
                self.errors.append(f"sync: {response}")
                await asyncio.sleep(0.5)
                continue
            since = response.next_batch
            for room in response.rooms.join.values():
                for event in room.timeline.events:
                    relates = (event.source.get("content") or {}).get("m.relates_to") or {}
                    command = (relates.get("m.in_reply_to") or {}).get("event_id")
                    if command is not None:
                        self.reply_seen.setdefault(command, seen)
                        future = self.replies.get(command)
                        if future is not None and not future.done():
                            future.set_result(seen - self.sent[command])

    async def ask(self, path: str) -> float | None:
        """Send the command into ``path``'s room; seconds until the reply is seen (None: lost)."""
        started = time.perf_counter()
        response = await self.client.room_send(self.rooms[path], "m.room.message",
                                               {"msgtype": "m.text", "body": COMMAND})
        if not isinstance(response, RoomSendResponse):
            self.errors.append(f"{COMMAND} into {path}: {response}")
            return None
        self.sent[response.event_id] = started
        if response.event_id in self.reply_seen:  # the reply came before room_send returned
            return self.reply_seen[response.event_id] - started
        future = self.replies.setdefault(response.event_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            return None

    async def until_answering(self, path: str, timeout: float = READY_TIMEOUT) -> None:
        """Until ``path`` answers the command: a bot treats what was said before it listened as
        history, so an early command goes unanswered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = asyncio.ensure_future(self.ask(path))
            done, _ = await asyncio.wait({pending}, timeout=3.0)
            if done and pending.result() is not None:
                return
            pending.cancel()
        raise RuntimeError(f"{path} did not answer {COMMAND} within {timeout:.0f} s")


@dataclass
class Samples:
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (mode, path) -> latencies
    lost: dict[tuple[str, str], int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    askers: int = 0

    def add(self, mode: str, path: str, latency: float | None) -> None:
        if latency is None:
            self.lost[mode, path] = self.lost.get((mode, path), 0) + 1
        else:
            self.seconds.setdefault((mode, path), []).append(latency)


class Askers:
    """The senders, taking turns: the bot answers one person at most ``CAPACITY`` commands in a
    burst (``bot.commands.budget``), so no asker sends more than that to one path in a run."""

    def __init__(self, askers: list[Asker]):
        self.askers = askers
        self._turn = itertools.cycle(askers)

    @staticmethod
    def needed(commands_per_path: int) -> int:
        return max(1, math.ceil(commands_per_path / (CAPACITY - SPARE)))

    async def ask(self, path: str) -> float | None:
        return await next(self._turn).ask(path)


async def sequential(askers: Askers, rounds: int, samples: Samples) -> None:
    for n in range(rounds):
        order = PATHS[n % len(PATHS):] + PATHS[:n % len(PATHS)]  # no path always first
        for path in order:
            samples.add("sequential", path, await askers.ask(path))


async def concurrent(askers: Askers, rounds: int, burst: int, samples: Samples) -> None:
    bursts = -(-rounds // burst)
    for n in range(bursts):
        order = PATHS[n % len(PATHS):] + PATHS[:n % len(PATHS)]
        size = min(burst, rounds - n * burst)
        for path in order:
            for latency in await asyncio.gather(*(askers.ask(path) for _ in range(size))):
                samples.add(f"concurrent ({burst} at once)", path, latency)


# ----------------------------------------------------------------------------- the run


@dataclass
class Bots:
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            stop_bot(process)

    def exited(self) -> list[str]:
        return [f"{log_path.name} exited with status {p.returncode}"
                for p, log_path in zip(self.processes, self.logs) if p.poll() is not None]


async def resolve(c: AsyncClient, alias: str) -> str:
    response = await c.room_resolve_alias(alias)
    if not hasattr(response, "room_id"):
        raise RuntimeError(f"cannot resolve {alias}: {response}")
    return response.room_id


async def run(server: EmbeddedSynapse, args: argparse.Namespace, work: Path, pushed_service: tuple[str, Path, int],
              bots: Bots) -> Samples:
    pushed_user, pushed_schedule, pushed_port = pushed_service
    pushed_data = work / "pushed"
    polled_schedule = work / "polled.yaml"
    polled_schedule.write_text(yaml.safe_dump(conference(datetime.now(timezone.utc))), encoding="utf-8")
    polled_user, polled_token = server.register_user(f"bench-sync-{uuid.uuid4().hex[:6]}", PASSWORD,
                                                     displayname="Podium")
    server.override_ratelimit(polled_user)
    t0 = time.perf_counter()
    apply_conference(server, pushed_schedule, pushed_data, pushed_user, None)
    apply_conference(server, polled_schedule, work / "polled", polled_user, polled_token)
    log(f"both conferences applied in {time.perf_counter() - t0:.1f} s")

    per_path = args.rounds * (2 if args.mode == "both" else 1)
    askers = [Asker(client(server, *server.register_user(f"bench-asker-{n:02d}-{uuid.uuid4().hex[:4]}", PASSWORD)),
                    {}) for n in range(Askers.needed(per_path))]
    floor_user, floor_token = server.register_user(f"bench-floor-{uuid.uuid4().hex[:6]}", PASSWORD)
    floor = client(server, floor_user, floor_token)
    rooms: dict[str, str] = {}
    try:
        for path, schedule in ((PATHS[0], pushed_schedule), (PATHS[1], polled_schedule)):
            conf_id = yaml.safe_load(schedule.read_text())["conference"]["id"]
            rooms[path] = await resolve(floor, f"#{conf_id}-track-{TRACK}:{SERVER_NAME}")
        created = await floor.room_create(name="Plain client", visibility=RoomVisibility.public)
        if not hasattr(created, "room_id"):
            raise RuntimeError(f"the plain client could not create its room: {created}")
        rooms[FLOOR] = created.room_id
        for asker in askers:
            asker.rooms.update(rooms)
            for room_id in rooms.values():
                joined = await asker.client.join(room_id)
                if not hasattr(joined, "room_id"):
                    raise RuntimeError(f"{asker.client.user_id} could not join {room_id}: {joined}")
    finally:
        await floor.close()
    log(f"{len(askers)} askers joined the two track rooms and the plain client's room")

    for name, process in (
        ("pushed.log", lambda p: start_bot(server, pushed_schedule, pushed_data, pushed_user, None, p,
                                           ("--appservice", "--listen", f"127.0.0.1:{pushed_port}"))),
        ("polled.log", lambda p: start_bot(server, polled_schedule, work / "polled", polled_user, polled_token, p,
                                           ("--listen", f"127.0.0.1:{free_port()}"))),
        ("plain-client.log", lambda p: start_plain_client(server, floor_user, floor_token, rooms[FLOOR], p)),
    ):
        bots.logs.append(work / name)
        bots.processes.append(process(work / name))

    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in askers]
    following = [asyncio.create_task(asker.follow(stop, ready)) for asker, ready in zip(askers, readies)]
    samples = Samples(askers=len(askers))
    pool = Askers(askers)
    try:
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
        t0 = time.perf_counter()
        await asyncio.gather(*(askers[0].until_answering(path) for path in PATHS))
        log(f"all three answer {COMMAND} ({time.perf_counter() - t0:.1f} s after they started); measuring")
        if args.mode in ("sequential", "both"):
            t0 = time.perf_counter()
            await sequential(pool, args.rounds, samples)
            log(f"sequential: {args.rounds} rounds in {time.perf_counter() - t0:.1f} s")
        if args.mode in ("concurrent", "both"):
            t0 = time.perf_counter()
            await concurrent(pool, args.rounds, args.burst, samples)
            log(f"concurrent: {args.rounds} commands a path, {args.burst} at once, in {time.perf_counter() - t0:.1f} s")
    finally:
        stop.set()
        await asyncio.gather(*following, return_exceptions=True)
        for asker in askers:
            await asker.client.close()
    samples.errors = [e for asker in askers for e in asker.errors] + bots.exited()
    return samples


def report(samples: Samples) -> list[str]:
    modes = list(dict.fromkeys(mode for mode, _ in samples.seconds))
    log("")
    log(f"{COMMAND} sent by {samples.askers} askers, time from just before a send to the reply in the sender's own "
        f"/sync (ms); both bots run side by side on one Synapse, each with a conference of its own; load average "
        f"{load_average()}")
    failures: list[str] = []
    for mode in modes:
        log("")
        log(f"{mode}:")
        log(f"  {'':28}{'n':>5}{'lost':>6}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}   ratio to the floor (p50 p90 p99)")
        floor = samples.seconds.get((mode, FLOOR), [])
        for path in PATHS:
            values = samples.seconds.get((mode, path), [])
            lost = samples.lost.get((mode, path), 0)
            if lost:
                failures.append(f"{mode}: {lost} replies never came from {path}")
            figures = [percentile(values, p) * 1000 for p in (50, 90, 99, 100)]
            ratios = "" if path == FLOOR else "   " + " ".join(
                f"{percentile(values, p) / percentile(floor, p):.2f}" for p in (50, 90, 99))
            log(f"  {path:<28}{len(values):>5}{lost:>6}" + "".join(f"{f:>9.1f}" for f in figures) + ratios)
    failures.extend(samples.errors[:10])
    return failures


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--plain-client"]:
        asyncio.run(plain_client(*argv[1:4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100, help="commands sent to each path in each mode, default 100")
    parser.add_argument("--mode", choices=("sequential", "concurrent", "both"), default="both",
                        help="one command at a time, --burst at once, or both (default)")
    parser.add_argument("--burst", type=int, default=10,
                        help="commands sent at once in the concurrent mode, default 10")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use DIR for Synapse's and the bots' data and keep it")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.burst < 1:
        parser.error("need --rounds >= 1 and --burst >= 1")

    work = working_dir(args.keep, "latency")
    # The registration must be in Synapse's configuration before it starts.
    pushed_user = f"@bench-as-{uuid.uuid4().hex[:6]}:{SERVER_NAME}"
    pushed_schedule = work / "pushed.yaml"
    pushed_schedule.write_text(yaml.safe_dump(conference(datetime.now(timezone.utc))), encoding="utf-8")
    port = free_port()
    registration = register_service(pushed_user, pushed_schedule, work / "pushed", port)
    server = EmbeddedSynapse(work / "synapse", server_name=SERVER_NAME, lift_limits=True, app_services=(registration,))
    bots = Bots()
    failures: list[str] = []
    try:
        t0 = time.perf_counter()
        server.start()
        log(f"synapse up in {time.perf_counter() - t0:.1f} s at {server.base_url}")
        samples = asyncio.run(run(server, args, work, (pushed_user, pushed_schedule, port), bots))
        failures = report(samples)
    except Exception as exc:  # noqa: BLE001 - report it, stop everything, exit 1
        traceback.print_exc()
        failures.append(f"{type(exc).__name__}: {exc}")
        for log_path in bots.logs:
            if log_path.exists():
                log(f"--- {log_path.name} (last lines) ---")
                log("\n".join(log_path.read_text(errors="replace").splitlines()[-20:]))
    finally:
        bots.stop()
        server.stop()
    return conclude(failures, work, keep=bool(args.keep))


if __name__ == "__main__":
    sys.exit(main())
