#!/usr/bin/env python3
"""Benchmark: the same load on three homeserver shapes, each against floors measured in the same
run on that shape.

The shapes (bench/homeservers.py, from the files deploy/ ships): ``sqlite`` (one Synapse process on
SQLite, as the test-suite runs it), ``postgres`` (one Synapse process on PostgreSQL) and
``workers`` (PostgreSQL, Redis, the main process and the shipped workers behind nginx with the
shipped routes). The bot is an application service on every shape (``podium appservice``'s
registration, the transactions pushed to ``podium run --appservice``).

On each shape, in order:

1. **Messages**: a one-track conference applied through the application service; ``podium run
   --appservice`` in its own process; K attendees send ``!ask`` and vote while a probe sends plain
   messages, a plain client answers each probe and an observer stamps everything
   (bench/commands.py's load). Figures: the bot's reply p50/p99 against the homeserver's echo and a
   plain client's answer (the floors), lost and duplicated replies.
2. **Build**: the bot's build of a synthetic conference through the application service, with the
   bare-createRoom floor split around it (bench/provision.py's run). Figures: wall time, ms a room
   against the floor's, writes per room, failed actions, 429s.

    python bench/deployment.py --quick                     # 45 rooms, 10 attendees for 15 s a shape
    python bench/deployment.py                             # 245 rooms, 20 attendees for 30 s a shape
    python bench/deployment.py --shapes postgres,workers --tracks 50 --talks 500

It needs PostgreSQL, redis-server and nginx (Debian's packages) and ``pip install -e '.[bench]'``;
it is a benchmark: it exits 0 when it ran, and 1 when something failed (an error, a failed action,
a lost reply).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

# Run as a script, this file's folder is on the path: the loads are bench/commands.py's and
# bench/provision.py's own, the shapes bench/homeservers.py's.
import commands
import provision
from homeservers import SHAPES, Deployment, end_process_group
from bot.cli.appservice import registration
from bot.conference.schedule import validate_schedule_data
from bot.matrix import DEFAULT_IN_FLIGHT
from bot.ports import free_port
from bot.provisioning.desired import Settings, desired_rooms
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, DEFAULT_TEMPLATES
from bot.provisioning.templates import RoomTemplates

SERVER_NAME = "localhost"
log = commands.log


@dataclass
class ShapeFigures:
    shape: str
    processes: str = ""
    started_in: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    messages: commands.Figures | None = None
    build: provision.Results | None = None
    failures: list[str] = field(default_factory=list)


def service_registration(bot_user: str, conference_ids: list[str], url: str, as_token: str,
                         hs_token: str) -> dict:
    """One registration claiming the aliases of every conference the run applies."""
    first, *others = (registration(bot_user, conf_id, [], url, as_token, hs_token) for conf_id in conference_ids)
    for other in others:
        first["namespaces"]["aliases"] += other["namespaces"]["aliases"]
    return first


def start_bot(hs: Deployment, schedule_path: Path, work: Path, bot_user: str, as_token: str, hs_token: str,
              port: int) -> subprocess.Popen:
    """``podium run --appservice`` in its own process: Synapse pushes the room's events to it."""
    env = {**os.environ, "PODIUM_HOMESERVER": hs.base_url, "PODIUM_USER_ID": bot_user, "PODIUM_APPSERVICE": "1",
           "PODIUM_AS_TOKEN": as_token, "PODIUM_HS_TOKEN": hs_token}
    command = [sys.executable, "-m", "bot.cli", "run", "--appservice", "--listen", f"127.0.0.1:{port}",
               "--schedule", str(schedule_path), "--data-dir", str(work / "bot")]
    with (work / "bot.log").open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def messages(hs: Deployment, schedule_path: Path, work: Path, bot_user: str, as_token: str, hs_token: str,
                   bot_port: int, clients: int, seconds: float) -> commands.Figures:
    room_id = await commands.setup_room(hs, schedule_path, bot_user, as_token, appservice=True)
    audience = await commands.join_audience(hs, room_id, clients)
    log(f"  {clients} attendees, a probe, a responder and an observer joined {room_id}")
    bot = start_bot(hs, schedule_path, work, bot_user, as_token, hs_token, bot_port)
    figures = commands.Figures()
    try:
        await commands.wait_bot_ready(audience.probe, room_id, bot_user)
        log("  the bot answers (events pushed to it); load starts")
        await commands.load(audience, room_id, bot_user, figures, seconds=seconds)
        if bot.poll() is not None:
            figures.send_errors.append(f"the bot exited with status {bot.returncode}")
    finally:
        end_process_group(bot)
        await audience.close()
    return figures


def run_shape(shape: str, args: argparse.Namespace) -> ShapeFigures:
    result = ShapeFigures(shape, load_before=os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix=f"podium-bench-deploy-{shape}-"))
    os.chmod(work, 0o711)  # PostgreSQL's own user passes through to its cluster under --keep's folder
    bot_user = f"@bench-bot-{uuid.uuid4().hex[:6]}:{SERVER_NAME}"
    as_token, hs_token = secrets.token_hex(32), secrets.token_hex(32)
    bot_port = free_port("127.0.0.1")
    synthetic = provision.synthetic_conference(args.tracks, args.talks, 0.0)
    chat = commands.conference(datetime.now(timezone.utc))
    schedule_path = work / "schedule.yaml"
    schedule_path.write_text(yaml.safe_dump(chat), encoding="utf-8")
    reg_path = work / "registration.yaml"
    reg_path.write_text(yaml.safe_dump(service_registration(
        bot_user, [chat["conference"]["id"], synthetic.data["conference"]["id"]], f"http://127.0.0.1:{bot_port}",
        as_token, hs_token)))
    hs = Deployment(shape, work / "homeserver" if args.keep else None, server_name=SERVER_NAME, lift_limits=True,
                    app_services=(reg_path,))
    result.processes = hs.processes()
    try:
        t0 = time.perf_counter()
        hs.start()
        result.started_in = time.perf_counter() - t0
        log(f"[{shape}] {result.processes}: up in {result.started_in:.1f} s at {hs.base_url}")
        log(f"[{shape}] messages: {args.clients} attendees for {args.seconds:g} s")
        result.messages = asyncio.run(messages(hs, schedule_path, work, bot_user, as_token, hs_token, bot_port,
                                               args.clients, args.seconds))
        result.failures += result.messages.send_errors[:5]
        lost = result.messages.lost()
        if lost:
            result.failures.append(f"{lost} !ask never answered")

        schedule = validate_schedule_data(synthetic.data, "<synthetic>")
        settings = Settings(server_name=SERVER_NAME, bot_user_id=bot_user, public_url=DEFAULT_PUBLIC_URL)
        rooms = desired_rooms(schedule, RoomTemplates.load(DEFAULT_TEMPLATES), settings)
        log(f"[{shape}] build: {len(rooms)} rooms through the application service")
        result.build = provision.Results(appservice=True)
        asyncio.run(provision.run(hs, rooms, synthetic.data["conference"]["id"], bot_user, as_token, result.build,
                                  args.in_flight, appservice=True))
        if result.build.apply_failed or result.build.apply_skipped:
            result.failures.append(f"build: {result.build.apply_failed} failed, {result.build.apply_skipped} skipped")
        if result.build.apply_creates != len(rooms):
            result.failures.append(f"build created {result.build.apply_creates} of {len(rooms)} rooms")
    except Exception as exc:  # noqa: BLE001 - report it, stop everything, go on to the next shape
        commands.crashed(exc, work / "bot.log", result.failures, lines=20)
    finally:
        hs.stop()
        result.load_after = os.getloadavg()
        if args.keep:
            log(f"[{shape}] data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def table(results: list[ShapeFigures]) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, cell) -> None:  # noqa: ANN001 - a function of one shape's figures
        values = []
        for r in results:
            try:
                values.append(cell(r))
            except (AttributeError, TypeError, ZeroDivisionError, AssertionError):
                values.append("-")
        rows.append((name, values))

    def lat(kind: str, r: ShapeFigures) -> str:
        values = getattr(r.messages, f"{kind}_latencies")()
        return f"{ms(commands.percentile(values, 50))} / {ms(commands.percentile(values, 99))}"

    def stretch(r: ShapeFigures, name: str) -> str:
        values = r.messages.breakdown()[name]
        return f"{ms(commands.percentile(values, 50))} / {ms(commands.percentile(values, 99))}"

    def build_ms(r: ShapeFigures) -> float:
        return r.build.apply.seconds / r.build.rooms

    def floor_ms(r: ShapeFigures) -> float:
        b = r.build
        return (b.floor_before.seconds + b.floor_after.seconds) / (b.floor_before.writes + b.floor_after.writes)

    row("load average at start (1, 5 min)", lambda r: f"{r.load_before[0]:.1f}, {r.load_before[1]:.1f}")
    row("started in", lambda r: f"{r.started_in:.1f} s")
    row("messages: !ask answered / sent", lambda r: f"{len(r.messages.bot_latencies())} / {len(r.messages.asks_sent)}")
    row("bot reply p50 / p99 ms", lambda r: lat("bot", r))
    row("floor: echo p50 / p99 ms", lambda r: lat("echo", r))
    row("floor: plain client's answer p50 / p99", lambda r: lat("answer", r))
    row("bot p99 / plain answer p99", lambda r: f"{commands.percentile(r.messages.bot_latencies(), 99) / commands.percentile(r.messages.answer_latencies(), 99):.2f}")
    row("bot: !ask taken -> its post taken", lambda r: stretch(r, "bot: !ask taken -> its post taken"))
    row("plain client: probe taken -> answer taken",
        lambda r: stretch(r, "plain client: probe taken -> answer taken"))
    row("lost / duplicated replies", lambda r: f"{r.messages.lost()} / {r.messages.duplicated()}")
    row("build: rooms", lambda r: f"{r.build.apply_creates} of {r.build.rooms}")
    row("build: wall time", lambda r: f"{r.build.apply.seconds:.1f} s")
    row("build: ms a room", lambda r: f"{1000 * build_ms(r):.1f}")
    row("floor: bare createRoom ms a room", lambda r: f"{1000 * floor_ms(r):.1f}")
    row("build / floor", lambda r: f"{build_ms(r) / floor_ms(r):.2f}")
    row("build: writes per room", lambda r: f"{(r.build.apply.writes - r.build.apply_invites) / r.build.rooms:.3f}")
    row("build: failed, 429s", lambda r: f"{r.build.apply_failed + r.build.apply_skipped}, {r.build.rate_limited}")
    row("re-apply: wall time, writes", lambda r: f"{r.build.reapply.seconds:.2f} s, {r.build.reapply.writes}")
    row("load average at end (1 min)", lambda r: f"{r.load_after[0]:.1f}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"which shapes, in order (default {','.join(SHAPES)})")
    parser.add_argument("--tracks", type=int, default=20, help="tracks of the build, default 20")
    parser.add_argument("--talks", type=int, default=200, help="talks of the build, default 200 (245 rooms)")
    parser.add_argument("--clients", type=int, default=20, help="attendees of the message load, default 20")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the message load runs, default 30")
    parser.add_argument("--in-flight", type=int, default=DEFAULT_IN_FLIGHT, metavar="N",
                        help=f"requests in flight during the build and its floor (default {DEFAULT_IN_FLIGHT}, as `podium apply`)")
    parser.add_argument("--quick", action="store_true", help="5 tracks and 30 talks (45 rooms), 10 attendees for 15 s")
    parser.add_argument("--keep", action="store_true", help="keep each shape's data (logs, databases) and say where")
    args = parser.parse_args(argv)
    if args.quick:
        args.tracks, args.talks, args.clients, args.seconds = 5, 30, 10, 15.0
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or not shapes:
        parser.error(f"--shapes: {', '.join(unknown) or 'none given'}; choose from {', '.join(SHAPES)}")
    if args.tracks < 1 or args.talks < 0 or args.clients < 1 or args.seconds <= 0 or args.in_flight < 1:
        parser.error("need --tracks >= 1, --talks >= 0, --clients >= 1, --seconds > 0, --in-flight >= 1")

    results = [run_shape(shape, args) for shape in shapes]
    rows = table(results)
    width = max(len(name) for name, _ in rows)
    widths = [max(len(r.shape), *(len(values[i]) for _, values in rows)) for i, r in enumerate(results)]
    log("")
    log(f"{args.clients} attendees for {args.seconds:g} s, then a build of {args.tracks} tracks and {args.talks} talks; "
        "the bot an application service")
    log(f"{'':<{width}}  " + "  ".join(f"{r.shape:>{w}}" for r, w in zip(results, widths)))
    for name, values in rows:
        log(f"{name:<{width}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(values, widths)))
    for r in results:
        log(f"{r.shape}: {r.processes}")
    failures = [f"{r.shape}: {f}" for r in results for f in r.failures]
    for failure in failures:
        log(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
