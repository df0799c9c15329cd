#!/usr/bin/env python3
"""Benchmark: how long `podium apply` takes to stop on Ctrl-C while the homeserver holds one of
its requests, against the floor of a Python process that stops on Ctrl-C while doing nothing.

What it does:

1. Starts an embedded Synapse (SQLite, a temp dir, rate limits lifted), a proxy in front of it
   that can hold a request (tests/support/proxy.py), and registers a bot.
2. For each of ``--runs`` runs: starts `podium apply` on a fresh two-track conference as its own
   process, waits until the proxy holds its ``--nth`` createRoom (the request is provably on its
   way and stays so), sends SIGINT and times the exit; then lets the request go.
3. The floor, in the same run: a process that has imported the same command line and waits in
   its event loop, sent SIGINT the same way, ``--runs`` times.
4. Prints p50 and max of both, and PASS when apply's p50 is within 1 s of the floor's.

It is a benchmark, not a test: it exits 0 when it ran, and 1 when something failed outright.

    python bench/interrupt.py            # 5 runs, about 30 s
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.homeserver import EmbeddedSynapse  # noqa: E402
from tests.support.provisioning import small_schedule  # noqa: E402
from tests.support.proxy import CountingProxy, Fault  # noqa: E402

#: A process as `podium apply` is, at rest: the command line imported, waiting in its event loop.
IDLE = ("import asyncio, sys, bot.cli\n"
        "async def rest():\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(3600)\n"
        "try:\n"
        "    asyncio.run(rest())\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(130)\n")
PATIENCE = 60.0


def log(message: str) -> None:
    print(message, flush=True)


def apply_stop(server: EmbeddedSynapse, proxy: CountingProxy, user_id: str, token: str, work: Path,
               nth: int) -> float:
    """Seconds from SIGINT to exit of one `podium apply` held inside its ``nth`` createRoom."""
    path, _ = small_schedule(work, talks=4)
    seen, arrived, release = [0], threading.Event(), threading.Event()

    def hold(method: str, request_path: str) -> Fault | None:
        if method == "POST" and "/createRoom" in request_path:
            seen[0] += 1
            if seen[0] == nth:
                return Fault(release=release, arrived=arrived)
        return None

    proxy.faults[:] = [hold]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_HOMESERVER=proxy.base_url, PODIUM_USER_ID=user_id, PODIUM_ACCESS_TOKEN=token,
               PODIUM_DATA_DIR=str(work / f"data-{path.stem}"))
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "apply", "--schedule", str(path), "--quiet"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if not arrived.wait(PATIENCE):
            raise RuntimeError("apply never reached the held createRoom")
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=PATIENCE)
        took = time.monotonic() - sent
    finally:
        process.kill()
        release.set()
    if process.returncode != 130 or "stopped by Ctrl-C" not in output:
        raise RuntimeError(f"apply did not stop as it should (exit {process.returncode}):\n{output}")
    proxy.settled()
    return took


def idle_stop() -> float:
    """Seconds from SIGINT to exit of a process at rest in its event loop: the floor."""
    process = subprocess.Popen([sys.executable, "-c", IDLE], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    if process.stdout.readline() != "ready\n":
        raise RuntimeError("the idle process did not start")
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=PATIENCE)
    return time.monotonic() - sent


def describe(name: str, values: list[float]) -> str:
    return f"{name:34} p50 {statistics.median(values) * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="interrupts of each kind (default 5)")
    parser.add_argument("--nth", type=int, default=3, help="the createRoom held when Ctrl-C comes (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="podium-bench-interrupt-"))
    server = EmbeddedSynapse(work / "synapse", lift_limits=True)
    try:
        server.start()
        user_id, token = server.register_user("bench-bot", "bench-password")
        server.override_ratelimit(user_id)
        proxy = CountingProxy(server.base_url)
        proxy.start()
        try:
            applied = [apply_stop(server, proxy, user_id, token, work, args.nth) for _ in range(args.runs)]
        finally:
            proxy.stop()
        floor = [idle_stop() for _ in range(args.runs)]
    except Exception as exc:  # a benchmark says what failed and exits 1
        log(f"FAILED: {exc}")
        return 1
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    log(f"Ctrl-C to exit, {args.runs} runs each, createRoom #{args.nth} held by the homeserver:")
    log(describe("podium apply, a request held", applied))
    log(describe("floor: a process at rest", floor))
    over = statistics.median(applied) - statistics.median(floor)
    log(f"apply over the floor: {over * 1000:.0f} ms at the median "
        f"({'PASS' if over <= 1.0 else 'MISS'}: target within 1 s of the floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
