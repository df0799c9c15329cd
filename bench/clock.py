#!/usr/bin/env python3
"""Benchmark: how late the conference clock's transitions fire, idle and under load.

What it does, in order:

1. Starts an embedded Synapse (SQLite, a temp dir, rate limits lifted) and applies a generated
   conference: ``--tracks`` tracks of back-to-back one-minute talks, each track starting a few
   seconds after the one before (``--aligned``: all at once), every talk with a speaker who has a
   Matrix ID, so every talk has a reminder, a check-in alert, a topic, notices and power changes.
2. Joins the load's clients (``bench/commands.py``: attendees, probe, responder, observer) to the
   first track's room, and starts the bot with its clock in its own process, as ``podium run``
   runs. Once the bot listens, its clock is the real clock shifted (``shifted_clock``) so that the
   first transition is due ``--lead`` seconds later: real speed, so any lateness is real.
3. **Idle** for ``--phase`` seconds: only the clock (and the floors below) works.
4. **Loaded** for ``--phase`` seconds more (after a few seconds for the load to settle): the load
   of ``bench/commands.py`` runs in the first track's room (``!ask``, votes, a probe and its
   answers), while the clock goes on in every track.
5. Stops the bot and reads what its store recorded: for each transition, ``due_at`` (conference
   time) and ``done_at`` (real time, once all its effects are carried out). Lateness is
   ``done_at - (due_at - offset)``, offset being the clock's shift (conference minus real time).

Floors, in the same run and the same process as the clock:

- *asyncio.sleep*: a bare sleep until each transition's due moment on the bot's own event loop,
  late by what the loop (and the machine) cannot help;
- *one send*: once a second, a plain message into a room of its own, sent through the bot's own
  adapter at a deadline, late by one round trip to the homeserver: the least a transition with
  one effect can cost.

It is a benchmark, not a test: it exits 0 when it ran, even if a target is missed (``MISS``),
and 1 when something failed outright (Synapse or the bot did not start, a transition never ran).

    python bench/clock.py                 # 8 tracks, 60 s idle and 60 s loaded: about 3 minutes
    python bench/clock.py --phase 30 --clients 20
    python bench/clock.py --aligned       # every track changes talk at the same moment
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils
import yaml

# Run as a script, this file's folder is on the path: the load is bench/commands.py's own.
from commands import (
    MIN_ASK_EVERY,
    PASSWORD,
    SERVER_NAME,
    TRACK,
    Figures,
    join_audience,
    load,
    log,
    percentile,
    setup_room,
    working_dir,
)

from bot.homeserver import EmbeddedSynapse

DAY = datetime(2026, 7, 13, 10, 0, tzinfo=timezone.utc)  # the first talk's start, in conference time
TARGET_IDLE = 1.0  # seconds: p99 lateness with nothing else going on
TARGET_LOADED = 2.0  # seconds: p99 lateness under the load of bench/commands.py
SETTLE = 5.0  # seconds the load runs before its phase is counted
SEND_FLOOR_EVERY = 1.0  # seconds between two probes of the one-send floor
TAIL = 10.0  # seconds of talks after the load's drain, so the clock never runs out of work


# ----------------------------------------------------------------------------- the conference


def offsets(tracks: int, aligned: bool) -> list[int]:
    """Each track's start after the first one's, in whole seconds: spread over a minute."""
    return [0 if aligned else round(k * 60 / tracks) for k in range(tracks)]


def track_id(k: int) -> str:
    return TRACK if k == 0 else f"track-{k}"  # the load goes to bench/commands.py's TRACK


def conference(tracks: int, talks: int, aligned: bool, moderator: str) -> tuple[dict, list[str]]:
    """The schedule (``schedule.yaml``'s shape) and its speakers' Matrix IDs."""
    conf_id = f"clock-{uuid.uuid4().hex[:6]}"
    speakers: list[str] = []
    talk_list = []
    for k, offset in enumerate(offsets(tracks, aligned)):
        for n in range(talks):
            speaker = f"@speaker-{conf_id}-{k}-{n}:{SERVER_NAME}"
            speakers.append(speaker)
            start = DAY + timedelta(seconds=offset, minutes=n)
            talk_list.append({
                "id": f"t{k}-{n}", "track": track_id(k), "title": f"Talk {n + 1} of track {k}",
                "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": 1,
                "speakers": [{"name": f"Speaker {k}.{n}", "matrix_id": speaker}],
            })
    data = {
        "conference": {"id": conf_id, "name": "Clock benchmark", "timezone": "UTC",
                       "start": DAY.date().isoformat(), "end": DAY.date().isoformat(), "access": "public"},
        "staff": {"moderators": [moderator]},
        "tracks": [{"id": track_id(k), "name": f"Track {k}"} for k in range(tracks)],
        "talks": talk_list,
    }
    return data, speakers


# ----------------------------------------------------------------------------- the bot's process
#
# The bot runs in a process of its own, as `podium run` does, so the load's clients do not share
# its event loop. The same file serves as that process (the hidden --serve-bot option): the bot,
# its clock, both floors, and what each transition's time went on, written to a JSON file when
# the process is stopped.


def serve_bot(config_path: Path) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = json.loads(config_path.read_text())
    return asyncio.run(_serve(config))


async def _serve(config: dict) -> int:
    from bot.conference.clock import shifted_clock, utc_now
    from bot.conference.transitions import transitions
    from bot.day.runner import DayOptions, DayRunner
    from bot.provisioning.desired import Settings
    from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build
    from bot.provisioning.programme import Programme
    from bot.runtime import Runtime, answering_adapter
    from bot.store.database import Store

    conf = build(Path(config["schedule"]), Settings(SERVER_NAME, config["user_id"], DEFAULT_PUBLIC_URL))
    options = DayOptions(remind_before=timedelta(seconds=config["remind_before"]),
                         pass_at_most=config["pass_at_most"])
    out = Path(config["out"])
    stamps: dict = {"passes": [], "transitions": [], "sleep_floor": [], "send_floor": []}
    carrying: contextvars.ContextVar[list] = contextvars.ContextVar("carrying")

    class Timed(DayRunner):
        """The runner as it is, with stamps: when each pass began, when each track's batch of
        transitions began and ended, and how long each effect's request took."""

        async def run_due(self):
            self._pass_began = time.time()
            stamps["passes"].append(self._pass_began)
            return await super().run_due()

        async def _run_track(self, batch, schedule):
            applied: list = []
            carrying.set(applied)  # per task: the runner carries out several tracks at once
            began = time.time()
            await super()._run_track(batch, schedule)
            for transition in batch:  # a track's due transitions are carried out as one batch
                stamps["transitions"].append({"key": transition.key, "pass": self._pass_began, "began": began,
                                              "ended": time.time(), "effects": applied})

        async def _apply(self, effect, room_id, txn_seed):
            began = time.time()
            try:
                await super()._apply(effect, room_id, txn_seed)
            finally:
                carrying.get([]).append([type(effect).__name__, time.time() - began])

    adapter = answering_adapter(config["homeserver"], config["user_id"], config["token"])
    store = Store(Path(config["data_dir"]))
    shifted = [utc_now]
    runtime = Runtime(adapter, Programme(conf), store, clock=lambda: shifted[0]())
    tasks: list[asyncio.Task] = []
    me = asyncio.current_task()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, me.cancel)
    try:
        answering = asyncio.create_task(runtime.run(), name="answering")
        tasks.append(answering)
        ready = asyncio.create_task(runtime.ready.wait())
        await asyncio.wait([answering, ready], return_when=asyncio.FIRST_COMPLETED)
        if not runtime.ready.is_set():
            answering.result()
        # Listening: from now the clock reads so that the first transition is due in `lead` s.
        planned = transitions(conf.schedule, remind_before=options.remind_before)
        first = planned[0].at
        real = utc_now()
        shifted[0] = shifted_clock(first - timedelta(seconds=config["lead"]), real=utc_now)
        offset = (first - timedelta(seconds=config["lead"]) - real).total_seconds()
        (out / "clock.json").write_text(json.dumps({"offset": offset, "first_due": first.timestamp() - offset,
                                                    "ready_at": real.timestamp()}))
        tasks.append(asyncio.create_task(Timed(runtime, options).run(), name="clock"))
        for transition in planned:
            tasks.append(asyncio.create_task(_sleep_floor(transition.at.timestamp() - offset, stamps)))
        tasks.append(asyncio.create_task(_send_floor(adapter, config["floor_room"],
                                                     first.timestamp() - offset + 0.5, stamps)))
        done, _ = await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # the bot or its clock failed: say so in the log
        return 1
    except asyncio.CancelledError:
        return 0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        (out / "stamps.json").write_text(json.dumps(stamps))
        store.close()
        await adapter.close()


async def _sleep_floor(deadline: float, stamps: dict) -> None:
    await asyncio.sleep(max(0.0, deadline - time.time()))
    stamps["sleep_floor"].append([deadline, time.time() - deadline])


async def _send_floor(adapter, room_id: str, first: float, stamps: dict) -> None:
    """A plain message at each deadline, through the bot's own adapter: the round trip's lateness."""

    async def one(deadline: float) -> None:
        await adapter.send_event(room_id, "m.room.message", {"msgtype": "m.text", "body": "floor"},
                                 f"floor-{uuid.uuid4().hex}", what="send the floor's message")
        stamps["send_floor"].append([deadline, time.time() - deadline])

    sends: set[asyncio.Task] = set()
    deadline = first
    try:
        while True:
            await asyncio.sleep(max(0.0, deadline - time.time()))
            task = asyncio.create_task(one(deadline))
            sends.add(task)
            task.add_done_callback(sends.discard)
            deadline += SEND_FLOOR_EVERY
    finally:
        for task in sends:
            task.cancel()


# ----------------------------------------------------------------------------- the run


@dataclass
class Window:
    name: str
    start: float  # real time, s
    end: float

    def holds(self, moment: float) -> bool:
        return self.start <= moment < self.end


@dataclass
class Result:
    offset: float
    windows: list[Window]
    records: list[dict]  # the store's rows, with "due" (real) and "late" (s)
    stamps: dict
    load: Figures
    lead_seconds: float  # the bot's readiness to the first transition
    failures: list[str]


def start_bot(work: Path, config: dict) -> subprocess.Popen:
    path = work / "bot.json"
    path.write_text(json.dumps(config))
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-bot", str(path)]
    with (work / "bot.log").open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_bot(bot: subprocess.Popen) -> None:
    if bot.poll() is None:
        os.killpg(bot.pid, signal.SIGTERM)
        try:
            bot.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(bot.pid, signal.SIGKILL)
            bot.wait()


async def run(server: EmbeddedSynapse, args: argparse.Namespace, work: Path) -> Result:
    from bot.matrix import MatrixAdapter

    bot_user, bot_token = server.register_user(f"clock-bot-{uuid.uuid4().hex[:6]}", PASSWORD, displayname="Podium")
    server.override_ratelimit(bot_user)
    moderator, _ = server.register_user(f"clock-mod-{uuid.uuid4().hex[:6]}", PASSWORD, displayname="Mo")
    span = 2 * args.phase + SETTLE + 16.0 + TAIL  # idle, settle, loaded, the load's drain, a tail
    talks = math.ceil(span / 60) + 1
    data, speakers = conference(args.tracks, talks, args.aligned, moderator)
    for speaker in speakers:
        server.register_user(speaker[1:].split(":")[0], PASSWORD)
    schedule_path = work / "schedule.yaml"
    schedule_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    t0 = time.perf_counter()
    room_id = await setup_room(server, schedule_path, bot_user, bot_token)
    log(f"conference applied in {time.perf_counter() - t0:.1f} s: {args.tracks} tracks x {talks} talks of "
        f"1 minute ({'all tracks at once' if args.aligned else 'staggered starts'})")
    async with MatrixAdapter(server.base_url, bot_user, bot_token) as adapter:
        floor_room = await adapter.create_room({"name": "clock floor"}, what="create the floor's room")
    audience = await join_audience(server, room_id, args.clients)
    log(f"{len(audience.attendees)} attendees, a probe, a responder and an observer joined the first track's room")

    config = {"homeserver": server.base_url, "user_id": bot_user, "token": bot_token,
              "schedule": str(schedule_path), "data_dir": str(work / "bot"), "out": str(work),
              "lead": args.lead, "remind_before": args.remind_before, "pass_at_most": args.pass_at_most,
              "floor_room": floor_room}
    bot = start_bot(work, config)
    failures: list[str] = []
    figures = Figures()
    try:
        deadline = time.monotonic() + 90
        while not (work / "clock.json").exists():
            if bot.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bot did not start listening (see bot.log)")
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.1)  # the file is written in one go; let it land
        clock = json.loads((work / "clock.json").read_text())
        first_due = clock["first_due"]
        log(f"the bot listens; the first transition is due in {first_due - time.time():.1f} s; "
            f"idle for {args.phase:.0f} s")
        idle = Window("idle", first_due - 1.0, first_due + args.phase)
        await asyncio.sleep(max(0.0, idle.end - time.time()))
        log(f"load starts ({args.clients} attendees), {SETTLE:.0f} s to settle, then {args.phase:.0f} s loaded")
        await load(audience, room_id, bot_user, figures, seconds=SETTLE + args.phase, ask_every=args.ask_every)
        loaded = Window("loaded", figures.started_at + SETTLE, figures.stopped_at)
        if bot.poll() is not None:
            failures.append(f"the bot exited with status {bot.returncode}")
    finally:
        stop_bot(bot)
        await audience.close()

    db = sqlite_utils.Database(work / "bot" / "podium.db")
    records = [dict(row) for row in db["clock_transitions"].rows]
    for record in records:
        record["due"] = record["due_at"] - clock["offset"]
        record["late"] = record["done_at"] - record["due"]
    stamps = json.loads((work / "stamps.json").read_text()) if (work / "stamps.json").exists() else {}
    if not stamps:
        failures.append("the bot's process left no stamps (see bot.log)")
    skipped = [r["key"] for r in records if r["outcome"] != "ran"]
    if skipped:
        failures.append(f"{len(skipped)} transitions were skipped, not run: {skipped[:3]}")
    failures.extend(figures.send_errors[:5])
    return Result(clock["offset"], [idle, loaded], records, stamps, figures, first_due - clock["ready_at"], failures)


# ----------------------------------------------------------------------------- the report


def _row(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label:<40}{0:>5}" + f"{'-':>9}" * 4
    ms = [percentile(values, p) * 1000 for p in (50, 90, 99)] + [max(values) * 1000]
    return f"  {label:<40}{len(values):>5}" + "".join(f"{v:>9.1f}" for v in ms)


def report(result: Result, args: argparse.Namespace) -> list[str]:
    from bot.conference.transitions import KINDS

    failures = list(result.failures)
    stamps = result.stamps
    by_key = {s["key"]: s for s in stamps.get("transitions", [])}
    verdicts = []
    log("")
    log(f"{args.tracks} tracks, {'aligned' if args.aligned else 'staggered'}; clock shifted by "
        f"{result.offset / 86400:+.3f} days; the bot was ready {result.lead_seconds:.1f} s before the first "
        f"transition; runner passes: {len(stamps.get('passes', []))}")
    log(f"lateness, ms{'':31}{'n':>5}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
    for window, target in zip(result.windows, (TARGET_IDLE, TARGET_LOADED), strict=True):
        ran = [r for r in result.records if window.holds(r["due"])]
        late = [r["late"] for r in ran]
        log(f"{window.name} ({window.end - window.start:.0f} s)")
        log(_row("transitions (done_at - due)", late))
        for kind in KINDS:
            log(_row(f"  {kind}", [r["late"] for r in ran if r["kind"] == kind]))
        log(_row("floor: asyncio.sleep to the deadline",
                 [late for due, late in stamps.get("sleep_floor", []) if window.holds(due)]))
        log(_row("floor: one send at a deadline",
                 [late for due, late in stamps.get("send_floor", []) if window.holds(due)]))
        timed = [by_key[r["key"]] | {"due": r["due"]} for r in ran if r["key"] in by_key]
        log("  where a transition's time goes:")
        log(_row("  the pass woke, after the due time", [t["pass"] - t["due"] for t in timed]))
        log(_row("  its track's batch began, after the pass", [t["began"] - t["pass"] for t in timed]))
        log(_row("  its track's batch, effects in order", [t["ended"] - t["began"] for t in timed]))
        log(_row("  one effect's request", [d for t in timed for _kind, d in t["effects"]]))
        effects = [len(t["effects"]) for t in timed]
        passes = defaultdict(int)
        for t in timed:
            passes[t["pass"]] += 1
        if effects:
            log(f"    effects in its track's batch: mean {sum(effects) / len(effects):.2f}, most {max(effects)}; "
                f"transitions per pass: mean {len(timed) / len(passes):.2f}, most {max(passes.values())}")
        deadlines = [due for due, _late in stamps.get("sleep_floor", []) if window.holds(due)]
        if len(deadlines) > len(ran):
            failures.append(f"{len(deadlines) - len(ran)} transitions due in the {window.name} phase never ran")
        if not late:
            failures.append(f"no transition was due in the {window.name} phase")
        verdicts.append((window.name, percentile(late, 99), target))
    planned_due = [t for t in result.records if any(w.holds(t["due"]) for w in result.windows)]
    log("")
    figures = result.load
    bot = figures.bot_latencies()
    echo = figures.echo_latencies()
    log(f"the load: {len(figures.asks_sent)} !ask, {figures.votes_sent} votes, {len(figures.echo_sent)} probes; "
        f"bot reply p50 {percentile(bot, 50) * 1000:.0f} ms, p99 {percentile(bot, 99) * 1000:.0f} ms; "
        f"echo p50 {percentile(echo, 50) * 1000:.0f} ms, p99 {percentile(echo, 99) * 1000:.0f} ms; "
        f"lost replies {figures.lost()}")
    for name, p99, target in verdicts:
        ok = p99 < target
        log(f"{name} p99 lateness  {p99 * 1000:>8.1f} ms   (target < {target * 1000:.0f} ms)  "
            f"{'PASS' if ok else 'MISS'}")
    if not planned_due:
        failures.append("no transition was recorded")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=8,
                        help="tracks, each of back-to-back one-minute talks; default %(default)s (4 transitions "
                             "a minute each)")
    parser.add_argument("--phase", type=float, default=60.0, metavar="SECONDS",
                        help="length of the idle phase and of the loaded one; default %(default).0f. The run "
                             "takes about 2 x SECONDS + 1 minute")
    parser.add_argument("--aligned", action="store_true",
                        help="every track changes talk at the same moment, as at most conferences (default: "
                             "track k starts k/tracks of a minute after the first)")
    parser.add_argument("--clients", type=int, default=50, help="attendees of the load, default %(default)s")
    parser.add_argument("--ask-every", type=float, default=MIN_ASK_EVERY, metavar="SECONDS",
                        help=f"each attendee asks again after SECONDS to 1.5 x SECONDS (at least "
                             f"{MIN_ASK_EVERY:.0f}); default %(default).0f")
    parser.add_argument("--lead", type=float, default=5.0, metavar="SECONDS",
                        help="from the bot listening to its first transition; default %(default).0f")
    parser.add_argument("--remind-before", type=float, default=30.0, metavar="SECONDS",
                        help="the speakers' reminder, this long before a talk; default %(default).0f")
    parser.add_argument("--pass-at-most", type=float, default=15.0, metavar="SECONDS",
                        help="the clock's longest sleep between passes (DayOptions.pass_at_most); "
                             "default %(default).0f, as podium run")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use DIR for Synapse's and the bot's data and keep it")
    parser.add_argument("--serve-bot", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bot:
        return serve_bot(args.serve_bot)
    if args.tracks < 1 or args.clients < 1 or args.ask_every < MIN_ASK_EVERY or args.lead < 1 \
            or not 0 < args.remind_before <= args.phase:
        # The load starts a phase after the first reminder: with the reminder further ahead than
        # that, its first questions would come before the first talk, when Q&A is closed.
        parser.error(f"need --tracks >= 1, --clients >= 1, --lead >= 1, --ask-every >= {MIN_ASK_EVERY:.0f} "
                     "and 0 < --remind-before <= --phase")

    work = working_dir(args.keep, "clock")
    server = EmbeddedSynapse(work / "synapse", server_name=SERVER_NAME, lift_limits=True)
    failures: list[str] = []
    try:
        t0 = time.perf_counter()
        server.start()
        log(f"synapse up in {time.perf_counter() - t0:.1f} s at {server.base_url}")
        result = asyncio.run(run(server, args, work))
        failures = report(result, args)
    except Exception as exc:  # noqa: BLE001 - report it, stop Synapse, exit 1
        traceback.print_exc()
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        bot_log = work / "bot.log"
        if failures and bot_log.exists() and bot_log.stat().st_size:
            log("--- the bot's log (last lines) ---")
            log("\n".join(bot_log.read_text(errors="replace").splitlines()[-15:]))
        server.stop()
        if args.keep:
            log(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        log(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
