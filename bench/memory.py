#!/usr/bin/env python3
"""Benchmark: the bot's peak memory (RSS) as the conference grows in rooms and in members.

What it does, in order:

1. Writes one synthetic conference per size (``--sizes``, in rooms: 100, 300 and 955, FOSDEM's,
   by default), made by ``bench/provision.py``'s generator with ``access: public``, and for each
   an application-service registration (``podium appservice``, its URL that bot's ``--listen``);
   starts one embedded Synapse (SQLite, rate limits lifted) that loads them all.
2. Builds every conference with ``podium apply --appservice``.
3. For each attendee count (``--members``: 0, 500 and 2,000 by default), in that order: registers
   the attendees still missing (shared-secret registration) and joins each to the four lobby
   rooms and one track room of the largest conference (of every one with
   ``--members-everywhere``), ``--in-flight`` joins at once; then, for each conference they
   joined (every one at 0 attendees), starts ``podium run --appservice`` as an organiser runs it, waits until it answers
   ``!now`` in a track room (it reads its rooms and their members at start, then takes what
   Synapse kept for it while it was stopped: the joins), reads ``VmHWM`` (peak RSS) and
   ``VmRSS`` from ``/proc/PID/status`` and stops it.
4. The floor, in the same run: a bare Python process that imports what ``podium run`` imports,
   and nothing else, read the same way.
5. Prints rooms x members -> peak RSS, the growth per 100 rooms and per 1,000 members (least
   squares over the table), and PASS/MISS against the target of ``TARGET_MB`` at FOSDEM size.

It is a benchmark, not a test: it exits 0 when it ran, even with a MISS, and 1 when something
failed outright (a bot did not start or answer, a request failed).

    python bench/memory.py --sizes 100,300 --members 0,200       # quick: a few minutes
    python bench/memory.py                                       # 100/300/955 rooms x 0/500/2,000
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import aiohttp
import yaml
from clock import stop_bot
from commands import PASSWORD, SERVER_NAME, client, conclude, load_average, log, start_bot, working_dir
from latency import Asker, apply_conference, register_service
from provision import synthetic_conference

from bot.homeserver import EmbeddedSynapse
from bot.matrix import CLIENT
from bot.ports import free_port
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build

TARGET_MB = 150.0
FOSDEM_ROOMS = 955
#: Lobby rooms every conference has by default; with the space and two rooms a track, the rest
#: of a size's rooms are talks.
LOBBY_ROOMS = 4
#: Tracks for a size: FOSDEM's proportion (100 devrooms in 955 rooms).
TRACKS_PER_ROOM = 100 / FOSDEM_ROOMS
#: What ``podium run`` imports before it connects: the floor imports these and nothing else.
BOT_IMPORTS = ("bot.cli", "bot.cli.run", "bot.serve", "bot.runtime", "bot.web.transactions", "bot.day.runner",
               "bot.day.reload")
READY_TIMEOUT = 300.0  # from the bot's start to its first answer, its rooms read and caught up
FLOOR_SCRIPT = ("import " + ", ".join(BOT_IMPORTS) + "\n"
                "print(open('/proc/self/status').read())")


def shape(rooms: int) -> tuple[int, int]:
    """(tracks, talks) for a conference of ``rooms`` rooms: the space, the lobby, a track room and
    a backstage per track, a breakout room per talk."""
    tracks = max(1, round(rooms * TRACKS_PER_ROOM))
    talks = rooms - 1 - LOBBY_ROOMS - 2 * tracks
    if talks < 0:
        raise SystemExit(f"a conference of {rooms} rooms is too small (at least {1 + LOBBY_ROOMS + 2} rooms)")
    return tracks, talks


def memory_of(status: str) -> tuple[float, float]:
    """(VmHWM, VmRSS) in MB from the text of /proc/PID/status."""
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return tuple(int(fields[key].split()[0]) / 1024 for key in ("VmHWM", "VmRSS"))  # type: ignore[return-value]


def floor_memory() -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT], capture_output=True, text=True, check=True)
    return memory_of(done.stdout)


# ----------------------------------------------------------------------------- the conferences


@dataclass
class Conference:
    rooms: int
    tracks: int
    talks: int
    bot_user: str
    schedule: Path
    data_dir: Path
    port: int
    joins: list[list[str]] = field(default_factory=list)  # per track: the room ids an attendee of it joins
    probe_room: str = ""
    registration: Path | None = None  # what `podium appservice` wrote, for Synapse

    @property
    def label(self) -> str:
        return f"{self.rooms} rooms"


def write_conference(work: Path, rooms: int) -> Conference:
    tracks, talks = shape(rooms)
    data = synthetic_conference(tracks, talks, 0.0).data
    data["conference"]["access"] = "public"  # attendees join without an invitation, as at FOSDEM
    folder = work / f"conf-{rooms}"
    folder.mkdir(parents=True, exist_ok=True)
    schedule = folder / "schedule.yaml"
    schedule.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    bot_user = f"@bench-mem-{rooms}-{uuid.uuid4().hex[:4]}:{SERVER_NAME}"
    conference = Conference(rooms, tracks, talks, bot_user, schedule, folder / "data", free_port())
    conference.registration = register_service(bot_user, schedule, conference.data_dir, conference.port)
    return conference


async def resolve_rooms(session: aiohttp.ClientSession, base_url: str, token: str, conference: Conference) -> None:
    """The rooms an attendee joins (the lobby and one track room), by their aliases."""
    built = build(conference.schedule, Settings(SERVER_NAME, conference.bot_user, DEFAULT_PUBLIC_URL))
    if len(built.rooms) != conference.rooms:
        raise RuntimeError(f"the conference of {conference.rooms} rooms has {len(built.rooms)}")
    by_key = {room.key: room.alias for room in built.rooms}
    ids: dict[str, str] = {}
    for key, alias in by_key.items():
        if key.startswith("lobby/") or key.startswith("track/"):
            async with session.get(f"{base_url}{CLIENT}/directory/room/{quote(f'#{alias}:{SERVER_NAME}')}",
                                   headers={"Authorization": f"Bearer {token}"}) as response:
                body = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"cannot resolve #{alias}: {body}")
                ids[key] = body["room_id"]
    lobby = [room_id for key, room_id in ids.items() if key.startswith("lobby/")]
    conference.joins = [lobby + [ids[f"track/{track['id']}"]]
                        for track in yaml.safe_load(conference.schedule.read_text())["tracks"]]
    conference.probe_room = conference.joins[0][-1]


# ----------------------------------------------------------------------------- attendees


def register_attendees(server: EmbeddedSynapse, first: int, count: int) -> list[tuple[str, str]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda n: server.register_user(f"bench-attendee-{n:05d}", PASSWORD),
                             range(first, first + count)))


async def join_all(session: aiohttp.ClientSession, base_url: str, attendees: list[tuple[int, str]],
                   conferences: list[Conference], in_flight: int) -> int:
    """Each attendee (its number, its token) joins the lobby and its track's room of every
    conference, ``in_flight`` joins at once; the joins made."""
    bound = asyncio.Semaphore(in_flight)
    made = 0
    t0 = time.perf_counter()

    async def join(token: str, room_id: str) -> None:
        nonlocal made
        async with bound:
            async with session.post(f"{base_url}{CLIENT}/join/{quote(room_id)}", json={},
                                    headers={"Authorization": f"Bearer {token}"}) as response:
                if response.status != 200:
                    raise RuntimeError(f"a join of {room_id} failed: {response.status} {await response.text()}")
        made += 1
        if made % 1000 == 0:
            log(f"  {made} joins, {time.perf_counter() - t0:.0f} s")

    await asyncio.gather(*(join(token, room_id)
                           for n, token in attendees
                           for conference in conferences
                           for room_id in conference.joins[n % len(conference.joins)]))
    return made


# ----------------------------------------------------------------------------- measuring


@dataclass
class Reading:
    rooms: int
    members: int
    peak_mb: float
    rss_mb: float
    answered_after: float  # seconds from the start to the first answer


async def measure(server: EmbeddedSynapse, conference: Conference, members: int, prober: Asker,
                  work: Path) -> Reading:
    """Start the bot of ``conference``, wait until it answers, read its memory, stop it."""
    log_path = work / f"bot-{conference.rooms}-{members}.log"
    t0 = time.perf_counter()
    bot = start_bot(server, conference.schedule, conference.data_dir, conference.bot_user, None, log_path,
                    ("--appservice", "--listen", f"127.0.0.1:{conference.port}"))
    try:
        await prober.until_answering(conference.label, READY_TIMEOUT)
        answered = time.perf_counter() - t0
        if bot.poll() is not None:
            raise RuntimeError(f"the bot of {conference.label} exited with {bot.returncode}")
        peak, rss = memory_of(Path(f"/proc/{bot.pid}/status").read_text())
    except Exception:
        log(f"--- {log_path.name} (last lines) ---")
        log("\n".join(log_path.read_text(errors="replace").splitlines()[-20:]))
        raise
    finally:
        stop_bot(bot)
    return Reading(conference.rooms, members, peak, rss, answered)


async def run(server: EmbeddedSynapse, conferences: list[Conference], args: argparse.Namespace,
              work: Path) -> list[Reading]:
    readings: list[Reading] = []
    async with aiohttp.ClientSession() as session:
        prober_user, prober_token = server.register_user(f"bench-prober-{uuid.uuid4().hex[:4]}", PASSWORD)
        for conference in conferences:
            await resolve_rooms(session, server.base_url, prober_token, conference)
        prober = Asker(client(server, prober_user, prober_token),
                       {conference.label: conference.probe_room for conference in conferences})
        for conference in conferences:
            response = await prober.client.join(conference.probe_room)
            if not hasattr(response, "room_id"):
                raise RuntimeError(f"the prober could not join {conference.probe_room}: {response}")
        # Joins are what the run spends most of its time on (about 15 a second on 2 busy cores):
        # attendees join the largest conference alone, unless asked otherwise.
        joined = conferences if args.members_everywhere else conferences[-1:]
        stop, ready = asyncio.Event(), asyncio.Event()
        following = asyncio.create_task(prober.follow(stop, ready))
        registered: list[tuple[str, str]] = []
        try:
            await asyncio.wait_for(ready.wait(), 30)
            for members in args.members:
                measured = conferences if members == 0 else joined
                if members > len(registered):
                    t0 = time.perf_counter()
                    new = register_attendees(server, len(registered), members - len(registered))
                    log(f"{len(new)} attendees registered in {time.perf_counter() - t0:.1f} s")
                    t0 = time.perf_counter()
                    made = await join_all(session, server.base_url,
                                          [(len(registered) + i, token) for i, (_, token) in enumerate(new)],
                                          joined, args.in_flight)
                    log(f"{made} joins in {time.perf_counter() - t0:.1f} s")
                    registered += new
                for conference in measured:
                    reading = await measure(server, conference, members, prober, work)
                    log(f"{conference.rooms} rooms, {members} attendees: peak {reading.peak_mb:.1f} MB, "
                        f"now {reading.rss_mb:.1f} MB; answered {reading.answered_after:.1f} s after it started")
                    readings.append(reading)
        finally:
            stop.set()
            await asyncio.gather(following, return_exceptions=True)
            await prober.client.close()
    return readings


# ----------------------------------------------------------------------------- the figures


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x, None with fewer than two distinct x."""
    xs = {x for x, _ in points}
    if len(xs) < 2:
        return None
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def report(readings: list[Reading], floor: tuple[float, float]) -> list[str]:
    sizes = sorted({r.rooms for r in readings})
    counts = sorted({r.members for r in readings})
    peak = {(r.rooms, r.members): r for r in readings}
    log("")
    log(f"peak RSS (VmHWM) of `podium run --appservice`, MB, once it answered !now; load average "
        f"{load_average()}")
    log(f"floor: a Python process with the bot's imports ({', '.join(BOT_IMPORTS)}): peak {floor[0]:.1f} MB")
    log("")
    log(f"{'rooms / attendees':>18}" + "".join(f"{m:>10,}" for m in counts))
    for rooms in sizes:
        log(f"{rooms:>18,}" + "".join(f"{peak[rooms, m].peak_mb:>10.1f}" if (rooms, m) in peak else f"{'':>10}"
                                      for m in counts))
    log(f"{'over the floor':>18}" + "".join(f"{'':>10}" for _ in counts))
    for rooms in sizes:
        log(f"{rooms:>18,}" + "".join(f"{peak[rooms, m].peak_mb - floor[0]:>10.1f}" if (rooms, m) in peak
                                      else f"{'':>10}" for m in counts))
    log(f"{'answered after, s':>18}" + "".join(f"{'':>10}" for _ in counts))
    for rooms in sizes:
        log(f"{rooms:>18,}" + "".join(f"{peak[rooms, m].answered_after:>10.1f}" if (rooms, m) in peak
                                      else f"{'':>10}" for m in counts))
    log("")
    per_rooms = [slope([(r.rooms, r.peak_mb) for r in readings if r.members == m]) for m in counts]
    per_members = [slope([(r.members, r.peak_mb) for r in readings if r.rooms == n]) for n in sizes]
    for m, s in zip(counts, per_rooms):
        if s is not None:
            log(f"MB per 100 rooms, {m:,} attendees: {100 * s:.2f}")
    for n, s in zip(sizes, per_members):
        if s is not None:
            log(f"MB per 1,000 attendees, {n:,} rooms: {1000 * s:.2f}")
    largest = max(sizes)
    worst = max(r.peak_mb for r in readings if r.rooms == largest)
    verdict = "PASS" if worst <= TARGET_MB else "MISS"
    log("")
    log(f"target: peak RSS <= {TARGET_MB:.0f} MB at {largest:,} rooms" +
        ("" if largest >= FOSDEM_ROOMS else f" (FOSDEM has {FOSDEM_ROOMS})") +
        f", any attendee count: {worst:.1f} MB  {verdict}")
    return []


def counts(text: str) -> list[int]:
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of numbers like 100,300,955") from None
    if not values or values[0] < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers of 0 or more, like 100,300,955")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=counts, default=[100, 300, FOSDEM_ROOMS], metavar="ROOMS,...",
                        help=f"conference sizes in rooms, default 100,300,{FOSDEM_ROOMS}")
    parser.add_argument("--members", type=counts, default=[0, 500, 2000], metavar="N,...",
                        help="attendee counts, each joined to the lobby and a track room of every conference; "
                             "default 0,500,2000")
    parser.add_argument("--members-everywhere", action="store_true",
                        help="attendees join every conference, not only the largest (a full table; the joins take "
                             "as many times longer as there are sizes)")
    parser.add_argument("--in-flight", type=int, default=8, metavar="N", help="joins at once, default 8")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use DIR for Synapse's and the bots' data and keep it")
    args = parser.parse_args(argv)
    if args.in_flight < 1:
        parser.error("need --in-flight >= 1")
    for rooms in args.sizes:
        shape(rooms)

    work = working_dir(args.keep, "memory")
    failures: list[str] = []
    floor = floor_memory()
    log(f"floor: the bot's imports alone, peak RSS {floor[0]:.1f} MB")
    conferences = [write_conference(work, rooms) for rooms in args.sizes]
    server = EmbeddedSynapse(work / "synapse", server_name=SERVER_NAME, lift_limits=True,
                             app_services=tuple(c.registration for c in conferences if c.registration))
    try:
        t0 = time.perf_counter()
        server.start()
        log(f"synapse up in {time.perf_counter() - t0:.1f} s at {server.base_url}")
        for conference in conferences:
            t0 = time.perf_counter()
            apply_conference(server, conference.schedule, conference.data_dir, conference.bot_user, None)
            log(f"{conference.rooms} rooms ({conference.tracks} tracks, {conference.talks} talks) applied in "
                f"{time.perf_counter() - t0:.1f} s")
        readings = asyncio.run(run(server, conferences, args, work))
        again = floor_memory()
        log(f"floor again, after the run: peak RSS {again[0]:.1f} MB")
        failures = report(readings, floor)
    except Exception as exc:  # noqa: BLE001 - report it, stop Synapse, exit 1
        traceback.print_exc()
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        server.stop()
    return conclude(failures, work, keep=bool(args.keep))


if __name__ == "__main__":
    sys.exit(main())
