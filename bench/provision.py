#!/usr/bin/env python3
"""Benchmark: provision a FOSDEM-size conference on a real Synapse, against a same-run floor.

What it does, in order:

1. Starts an embedded Synapse (SQLite, a temp dir, rate limits lifted) and registers a bot
   account whose own rate limits are overridden (admin API ``override_ratelimit``).
2. Builds a synthetic conference as plain data (by default 100 tracks and 750 talks over two
   days, plus the default lobby), validates it with ``validate_schedule_data`` and computes its
   desired rooms with the real room templates.
3. Floor: as many bare ``createRoom`` calls (body ``{}``) as the conference has rooms, sent one
   at a time through the same ``MatrixAdapter`` to the same server. Half are timed before the
   conference is applied and half after, so both sides see a database of the same size on
   average. The floor rooms are left (untimed) once measured, so they do not inflate the
   bot's /sync.
4. Apply: ``bot.provisioning.apply.converge`` on an empty server, timed, with the requests it sent.
5. Re-apply with nothing changed: timed, and it must send no writes.
6. A table of figures and targets (PASS/MISS).

It is a benchmark, not a test: it exits 0 even when a target is missed, and 1 only when
something failed outright (a failed or skipped action, an error, rooms missing afterwards).

    python bench/provision.py --quick            # 10 tracks, 60 talks: about a minute
    python bench/provision.py                    # 100 tracks, 750 talks: several minutes
    python bench/provision.py --speaker-ids 0.5  # half the speakers have Matrix IDs (invites)
    python bench/provision.py --appservice       # Synapse's stock limits, the bot an application service

With ``--appservice`` Synapse keeps its stock rate limits (one room a minute after a burst of 10)
and the bot acts through an application-service registration (``rate_limited: false``), as
``podium appservice`` writes it: the build must not wait once. Beside it the figures say how long
the same build would take a normal account at Synapse's default limits (``podium plan``'s
preflight, from the counts the apply made).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import secrets
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import yaml

from bot.cli.appservice import registration
from bot.conference.schedule import ScheduleInvalid, validate_schedule_data
from bot.homeserver import EmbeddedSynapse
from bot.matrix import CLIENT, DEFAULT_IN_FLIGHT, MatrixAdapter
from bot.provisioning.apply import converge
from bot.provisioning.desired import Settings, desired_rooms
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, DEFAULT_TEMPLATES
from bot.provisioning.planner import CreateRoom, Invite
from bot.provisioning.preflight import SYNAPSE_DEFAULTS, seconds_needed
from bot.provisioning.templates import RoomTemplates
from bot.roomstate.state import DesiredRoom
from bot.store.database import Store

SERVER_NAME = "localhost"
PUBLIC_URL = DEFAULT_PUBLIC_URL  # http://localhost:8080
PASSWORD = "bench-password"
FIRST_DAY = date(2026, 1, 31)  # FOSDEM weekend
DAYS = 2
DAY_START_MINUTES = 9 * 60  # talks run 09:00 ...
DAY_END_MINUTES = 19 * 60  # ... to 19:00
PROGRESS_EVERY = 100

# Targets
MAX_RATIO = 1.25  # apply wall time / floor wall time
MAX_WRITES_PER_ROOM = 2.0  # createRoom + the m.space.child in the parent space
MAX_REAPPLY_SECONDS = 5.0


# ----------------------------------------------------------------------------- the conference


@dataclass
class Synthetic:
    data: dict[str, Any]
    speaker_ids: list[str]  # Matrix IDs that must exist before applying


def synthetic_conference(tracks: int, talks: int, speaker_id_fraction: float, seed: int = 2026) -> Synthetic:
    """A schedule.yaml-shaped dict: ``talks`` spread over ``tracks`` and two days, no overlaps."""
    rng = random.Random(seed)
    conf_id = f"bench-{uuid.uuid4().hex[:8]}"  # unique, so a kept data dir can be reused
    track_list = []
    for t in range(tracks):
        track: dict[str, Any] = {"id": f"track-{t:03d}", "name": f"Devroom {t:03d}"}
        # Most devrooms stream (two widgets), some as HLS; a few have no stream (one widget).
        if t % 10 == 9:
            pass
        elif t % 3 == 0:
            track["stream"] = f"https://streams.example.org/{conf_id}/{t:03d}/index.m3u8"
        else:
            track["stream"] = f"https://www.youtube.com/embed/{conf_id}-{t:03d}"
        track_list.append(track)

    # Talk i goes to track i % tracks; within a track, its talks alternate between the days and
    # are laid out in equal slots from DAY_START to DAY_END (a 5-minute changeover between talks).
    per_track = math.ceil(talks / tracks) if tracks else 0
    per_day = max(1, math.ceil(per_track / DAYS))
    slot = (DAY_END_MINUTES - DAY_START_MINUTES) // per_day
    if slot < 2:
        raise SystemExit(f"{talks} talks do not fit in {tracks} tracks over {DAYS} days")
    duration = max(1, min(slot - 5 if slot > 10 else slot - 1, 50))
    kinds = ["talk", "talk", "talk", "lightning", "panel", "workshop"]
    speaker_ids: list[str] = []
    speaker_no = 0
    talk_list = []
    for i in range(talks):
        track_index, j = i % tracks, i // tracks
        day = FIRST_DAY + timedelta(days=j % DAYS)
        minutes = DAY_START_MINUTES + (j // DAYS) * slot
        start = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
        speakers = []
        for _ in range(2 if i % 4 == 3 else 1):  # a quarter of the talks have two speakers
            speaker_no += 1
            person: dict[str, Any] = {"name": f"Speaker {speaker_no:04d}"}
            if speaker_id_fraction > 0 and rng.random() < speaker_id_fraction:
                person["matrix_id"] = f"@bench-speaker-{speaker_no:04d}:{SERVER_NAME}"
                speaker_ids.append(person["matrix_id"])
            speakers.append(person)
        talk_list.append({
            "id": f"talk-{i:04d}",
            "track": track_list[track_index]["id"],
            "title": f"Talk {i:04d}: a synthetic session about subject {rng.randrange(10_000)}",
            "kind": kinds[i % len(kinds)],
            "start": start.strftime("%Y-%m-%d %H:%M"),
            "duration": duration,
            "speakers": speakers,
        })

    data = {
        "conference": {
            "id": conf_id,
            "name": "Synthetic FOSDEM",
            "description": "A synthetic conference for the provisioning benchmark.",
            "timezone": "Europe/Brussels",
            "start": FIRST_DAY.isoformat(),
            "end": (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat(),
            "access": "space-members",
        },
        # lobby left out: the four default lobby rooms
        "tracks": track_list,
        "talks": talk_list,
    }
    return Synthetic(data, speaker_ids)


# ----------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    seconds: float
    reads: int
    writes: int


class Stopwatch:
    """Wall time and the adapter's read/write counts over a block."""

    def __init__(self, adapter: MatrixAdapter):
        self.adapter = adapter

    def __enter__(self) -> Self:
        self._reads, self._writes = self.adapter.stats.reads, self.adapter.stats.writes
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.result = Measure(
            time.perf_counter() - self._t0,
            self.adapter.stats.reads - self._reads,
            self.adapter.stats.writes - self._writes,
        )


def log(message: str) -> None:
    print(message, flush=True)


async def bare_rooms(adapter: MatrixAdapter, count: int, label: str) -> tuple[Measure, list[str]]:
    """``count`` bare createRoom calls, sent as the apply sends its requests (as many at once as
    the adapter allows): the floor."""
    room_ids: list[str] = []
    t0 = time.perf_counter()

    async def one(n: int) -> None:
        room_ids.append(await adapter.create_room({}, what=f"create floor room {n}"))
        done = len(room_ids)
        if done % PROGRESS_EVERY == 0 or done == count:
            elapsed = time.perf_counter() - t0
            log(f"  floor {label}: {done}/{count} rooms, {elapsed:6.1f} s, {1000 * elapsed / done:5.1f} ms/room")

    with Stopwatch(adapter) as watch:
        await asyncio.gather(*(one(n) for n in range(1, count + 1)))
    return watch.result, room_ids


async def leave_all(adapter: MatrixAdapter, room_ids: list[str]) -> None:
    """Leave the floor rooms (untimed, outside the counts) so the bot's /sync does not carry them."""
    async def leave(room_id: str) -> None:
        await adapter.request("POST", f"{CLIENT}/rooms/{quote(room_id)}/leave", {}, what=f"leave {room_id}")

    for i in range(0, len(room_ids), 50):
        await asyncio.gather(*(leave(r) for r in room_ids[i:i + 50]))


def register_all(server: EmbeddedSynapse, user_ids: list[str]) -> None:
    localparts = [u[1:].split(":", 1)[0] for u in user_ids]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda lp: server.register_user(lp, PASSWORD), localparts))


# ----------------------------------------------------------------------------- the run


@dataclass
class Results:
    rooms: int = 0
    spaces: int = 0
    desired_invites: int = 0
    floor_before: Measure | None = None
    floor_after: Measure | None = None
    apply: Measure | None = None
    apply_creates: int = 0
    apply_state: int = 0
    apply_invites: int = 0
    apply_failed: int = 0
    apply_skipped: int = 0
    floor_events: int = 0  # state events in a bare room
    room_events: float = 0.0  # state events per conference room at creation (excl. m.space.child)
    reapply: Measure | None = None
    reapply_cold: Measure | None = None
    reapply_actions: int = 0
    reapply_failed: int = 0
    reapply_creates: int = 0  # rooms the re-apply did not find
    speaker_ids: int = 0
    appservice: bool = False
    rate_limited: int = 0  # 429s the homeserver answered the apply
    waited: float = 0.0  # seconds the apply waited them out


async def run(server: EmbeddedSynapse, rooms: list[DesiredRoom], conf_id: str, bot_user: str, token: str,
              results: Results, in_flight: int, appservice: bool = False) -> None:
    results.rooms = len(rooms)
    results.spaces = sum(r.is_space for r in rooms)
    results.desired_invites = sum(len(r.invites) for r in rooms)
    half = len(rooms) // 2
    # The data dir `podium apply` keeps: what the last run saw, so a re-apply reads only changes.
    store = Store(Path(tempfile.mkdtemp(prefix="podium-bench-data-")))
    async with MatrixAdapter(server.base_url, bot_user, token, max_in_flight=in_flight,
                             appservice=appservice) as adapter:
        if appservice:
            await adapter.claim_user()
        room_version = await adapter.default_room_version()
        log(f"room version {room_version}")

        log(f"floor, first half: {half} bare createRoom calls")
        results.floor_before, floor_ids = await bare_rooms(adapter, half, "before")
        results.floor_events = len(await room_state(adapter, floor_ids[0])) if floor_ids else 0
        await leave_all(adapter, floor_ids)

        log(f"apply: {len(rooms)} rooms")
        t0 = time.perf_counter()
        counts = {"create": 0, "state": 0, "invite": 0, "failed": 0}
        errors: list[str] = []

        def progress(action: Any, error: str | None) -> None:
            kind = "create" if isinstance(action, CreateRoom) else "invite" if isinstance(action, Invite) else "state"
            counts[kind] += 1
            if error:
                counts["failed"] += 1
                if len(errors) < 10:
                    errors.append(f"{action.describe()} ({action.key}): {error}")
            if kind == "create" and (counts["create"] % PROGRESS_EVERY == 0 or counts["create"] == len(rooms)):
                elapsed = time.perf_counter() - t0
                log(f"  apply: {counts['create']}/{len(rooms)} rooms, {elapsed:6.1f} s, "
                    f"{1000 * elapsed / counts['create']:5.1f} ms/room, {counts['state']} state events, "
                    f"{counts['invite']} invites")

        with Stopwatch(adapter) as watch:
            _plan, report = await converge(adapter, rooms, conference_id=conf_id, room_version=room_version,
                                           progress=progress, store=store)
        results.apply = watch.result
        results.apply_creates, results.apply_state, results.apply_invites = (
            counts["create"], counts["state"], counts["invite"])
        results.rate_limited, results.waited = adapter.stats.rate_limited, adapter.stats.waited
        results.apply_failed, results.apply_skipped = len(report.failed), len(report.skipped)
        for line in errors:
            log(f"  FAILED {line}")
        for action, why in report.skipped[:10]:
            log(f"  SKIPPED {action.describe()} ({action.key}): {why}")

        await count_events(adapter, rooms, report.created, results)

        log(f"floor, second half: {len(rooms) - half} bare createRoom calls")
        results.floor_after, floor_ids = await bare_rooms(adapter, len(rooms) - half, "after")
        await leave_all(adapter, floor_ids)

        log("re-apply without local state (one full /sync), nothing changed")
        with Stopwatch(adapter) as watch:
            await converge(adapter, rooms, conference_id=conf_id, room_version=room_version)
        results.reapply_cold = watch.result

        log("re-apply as `podium apply` runs it (incremental /sync from the data dir), nothing changed")
        with Stopwatch(adapter) as watch:
            again, report = await converge(adapter, rooms, conference_id=conf_id, room_version=room_version,
                                           store=store)
        results.reapply = watch.result
        results.reapply_actions = len(again.actions)
        results.reapply_creates = again.creates
        results.reapply_failed = len(report.failed) + len(report.skipped)
        for action in again.actions[:10]:
            log(f"  re-apply still wanted: {action.describe()} ({action.key})")


async def room_state(adapter: MatrixAdapter, room_id: str) -> list[dict[str, Any]]:
    data = await adapter.request("GET", f"{CLIENT}/rooms/{quote(room_id)}/state", what=f"read the state of {room_id}")
    return data.get("value", [])  # the adapter wraps a JSON list as {"value": [...]}


async def count_events(adapter: MatrixAdapter, rooms: list[DesiredRoom], created: dict[str, str],
                       results: Results) -> None:
    """State events each conference room got from its createRoom (untimed): one room of each
    kind is read and weighted by how many rooms of that kind there are. m.space.child events and
    invitees' memberships are left out: they come from the separate writes."""
    by_kind: dict[tuple[str, bool], list[DesiredRoom]] = {}
    for room in rooms:
        by_kind.setdefault((room.kind, room.key == "space"), []).append(room)
    total = 0
    for group in by_kind.values():
        room_id = created.get(group[0].key)
        if room_id is None:
            continue
        state = await room_state(adapter, room_id)
        total += len(group) * sum(
            1 for e in state
            if e.get("type") != "m.space.child"
            and not (e.get("type") == "m.room.member" and e.get("state_key") != adapter.user_id)  # invites
        )
    results.room_events = total / len(rooms)


def report(results: Results, speaker_ids_on: bool) -> list[str]:
    """Print the figures and the targets; return what failed outright."""
    r = results
    assert r.apply and r.floor_before and r.floor_after and r.reapply
    floor_s = r.floor_before.seconds + r.floor_after.seconds
    floor_rooms = r.floor_before.writes + r.floor_after.writes
    ratio = r.apply.seconds / floor_s if floor_s else float("inf")
    floor_ms = floor_s / max(floor_rooms, 1)
    # Synapse's cost goes by events persisted: a complete room has about twice a bare room's.
    event_ratio = (r.room_events + 1) / r.floor_events if r.floor_events else float("inf")
    per_event = ratio / event_ratio
    invites = r.apply_invites
    writes_ex_invites = r.apply.writes - invites
    per_room = writes_ex_invites / r.rooms
    failures: list[str] = []
    if r.apply_failed or r.apply_skipped:
        failures.append(f"apply: {r.apply_failed} failed and {r.apply_skipped} skipped actions")
    if r.apply_creates != r.rooms:
        failures.append(f"apply created {r.apply_creates} rooms, the conference has {r.rooms}")
    if r.reapply_creates:
        failures.append(f"re-apply did not find {r.reapply_creates} of the rooms the apply created")
    if r.reapply_failed:
        failures.append(f"re-apply: {r.reapply_failed} failed or skipped actions")

    rows = [
        ("rooms (spaces)", f"{r.rooms} ({r.spaces})"),
        ("floor: bare createRoom", (f"{floor_rooms} rooms in {floor_s:.1f} s "
                                    f"({r.floor_before.seconds:.1f} s before + {r.floor_after.seconds:.1f} s after), "
                                    f"{1000 * floor_ms:.1f} ms/room")),
        ("apply: rooms created", f"{r.apply_creates}"),
        ("apply: write requests", (f"{r.apply.writes} ({r.apply_creates} createRoom, {r.apply_state} state, "
                                   f"{invites} invites)")),
        ("apply: read requests", f"{r.apply.reads}"),
        ("apply: writes per room", f"{per_room:.3f}" + (f" + {invites / r.rooms:.3f} invites" if speaker_ids_on else "")),
        ("apply: wall time", f"{r.apply.seconds:.1f} s"),
        ("apply: ms per room", f"{1000 * r.apply.seconds / r.rooms:.1f}"),
        ("apply / floor", f"{ratio:.2f}"),
        ("state events per room", f"{r.room_events:.1f} (floor room: {r.floor_events}) + 1 m.space.child"),
        ("apply / floor, per event", f"{per_event:.2f} (the ratio over the events each room needs: "
                                     f"{event_ratio:.2f}× a bare room's)"),
        ("apply: failed actions", f"{r.apply_failed} (+{r.apply_skipped} skipped)"),
        ("re-apply, no local state", f"{r.reapply_cold.seconds:.2f} s, {r.reapply_cold.writes} writes, "
                                     f"{r.reapply_cold.reads} reads"),
        ("re-apply: wall time", f"{r.reapply.seconds:.2f} s"),
        ("re-apply: requests", f"{r.reapply.writes} writes, {r.reapply.reads} reads"),
    ]
    if speaker_ids_on:
        rows.insert(1, ("speakers with Matrix IDs", f"{r.speaker_ids} (desired invites {r.desired_invites})"))
    if r.appservice:
        # What the same writes would cost a normal account at Synapse's stock limits, as
        # `podium plan` estimates it (provisioning/preflight.py).
        normal = seconds_needed({"create": r.apply_creates, "state": r.apply_state, "invite": invites},
                                SYNAPSE_DEFAULTS)
        rows += [("apply: rate limited", f"{r.rate_limited} times, {r.waited:.1f} s waited (application service)"),
                 ("normal account, stock limits", f"at least {normal / 3600:.1f} h ({normal / r.apply.seconds:.0f}× "
                                                  "the application service's wall time)")]
    width = max(len(k) for k, _ in rows)
    log("")
    log("figures")
    for key, value in rows:
        log(f"  {key:<{width}}  {value}")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    targets = [
        (f"apply / floor <= {MAX_RATIO}", f"{ratio:.2f}", ratio <= MAX_RATIO),
        (f"writes per room <= {MAX_WRITES_PER_ROOM:g}" + (" (+ invites)" if speaker_ids_on else ""),
         f"{per_room:.3f}" + (f" + {invites / r.rooms:.3f}" if speaker_ids_on else ""),
         per_room <= MAX_WRITES_PER_ROOM),
        (f"re-apply < {MAX_REAPPLY_SECONDS:g} s", f"{r.reapply.seconds:.2f} s", r.reapply.seconds < MAX_REAPPLY_SECONDS),
        ("re-apply writes == 0", f"{r.reapply.writes}", r.reapply.writes == 0),
    ]
    if r.appservice:
        targets.append(("rate limited == 0 (appservice)", f"{r.rate_limited}", r.rate_limited == 0))
    width = max(len(t) for t, _, _ in targets)
    log("")
    log("targets")
    for target, value, ok in targets:
        log(f"  {target:<{width}}  {value:>14}  {verdict(ok)}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=100, help="tracks (devrooms), default 100")
    parser.add_argument("--talks", type=int, default=750, help="talks, default 750")
    parser.add_argument("--speaker-ids", type=float, default=0.0, metavar="FRACTION",
                        help="fraction of speakers with a Matrix ID on this server, who get invited (default 0)")
    parser.add_argument("--quick", action="store_true", help="a small run: 10 tracks, 60 talks")
    parser.add_argument("--in-flight", type=int, default=DEFAULT_IN_FLIGHT, metavar="N",
                        help=f"requests in flight at once, for the apply and the floor alike (default {DEFAULT_IN_FLIGHT}, "
                             "as `podium apply`)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use DIR for Synapse's data and keep it")
    parser.add_argument("--appservice", action="store_true",
                        help="Synapse with its stock rate limits, the bot an application service (rate_limited: false)")
    args = parser.parse_args(argv)
    if args.quick:
        args.tracks, args.talks = 10, 60
    if args.tracks < 1 or args.talks < 0 or not 0 <= args.speaker_ids <= 1 or args.in_flight < 1:
        parser.error("need --tracks >= 1, --talks >= 0, 0 <= --speaker-ids <= 1 and --in-flight >= 1")

    synthetic = synthetic_conference(args.tracks, args.talks, args.speaker_ids)
    conf_id = synthetic.data["conference"]["id"]
    try:
        schedule = validate_schedule_data(synthetic.data, "<synthetic>")
    except ScheduleInvalid as exc:
        log(f"the synthetic schedule is invalid (a bug in this benchmark):\n{exc}")
        return 1

    data_dir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="podium-bench-"))
    bot_user = f"@bench-bot-{uuid.uuid4().hex[:6]}:{SERVER_NAME}"
    service = None
    if args.appservice:
        as_token, hs_token = secrets.token_hex(32), secrets.token_hex(32)
        service = (as_token, data_dir / "appservice.yaml")
        data_dir.mkdir(parents=True, exist_ok=True)
        # The URL is never reached: the build needs no pushed events.
        service[1].write_text(yaml.safe_dump(registration(bot_user, conf_id, [], "http://127.0.0.1:9", as_token,
                                                          hs_token)))
    server = EmbeddedSynapse(data_dir, server_name=SERVER_NAME, lift_limits=not args.appservice,
                             app_services=(service[1],) if service else ())
    results = Results(speaker_ids=len(synthetic.speaker_ids), appservice=args.appservice)
    failures: list[str] = []
    try:
        t0 = time.perf_counter()
        server.start()
        log(f"synapse up in {time.perf_counter() - t0:.1f} s at {server.base_url} (data in {data_dir})")
        if service is None:
            bot_user, token = server.register_user(bot_user[1:].split(":")[0], PASSWORD)
            server.override_ratelimit(bot_user)
        else:
            token = service[0]  # the bot acts as a user of the service's namespace
        if synthetic.speaker_ids:
            t0 = time.perf_counter()
            register_all(server, synthetic.speaker_ids)
            log(f"registered {len(synthetic.speaker_ids)} speakers in {time.perf_counter() - t0:.1f} s")

        settings = Settings(server_name=SERVER_NAME, bot_user_id=bot_user, public_url=PUBLIC_URL)
        rooms = desired_rooms(schedule, RoomTemplates.load(DEFAULT_TEMPLATES), settings)
        log(f"conference {conf_id}: {len(schedule.tracks)} tracks, {len(schedule.talks)} talks, "
            f"{len(schedule.lobby)} lobby rooms -> {len(rooms)} rooms")

        asyncio.run(run(server, rooms, conf_id, bot_user, token, results, args.in_flight, appservice=bool(service)))
        failures = report(results, speaker_ids_on=bool(synthetic.speaker_ids))
    except Exception as exc:  # noqa: BLE001 - report it, stop Synapse, exit 1
        traceback.print_exc()
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        server.stop()
        if args.keep:
            log(f"Synapse data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    if failures:
        log("")
        for failure in failures:
            log(f"FAILED: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
