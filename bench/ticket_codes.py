#!/usr/bin/env python3
"""Benchmark: how long a ticket code stored in podium.db resists someone who has the file.

``podium tickets`` loads one order code (``--length`` characters of A-Z and 0-9, pretix's order
codes are 5) into a fresh data directory, and the guesser does what anyone with a copy of
podium.db can do: hash every code of that length and alphabet until one matches the stored digest.

1. **Floor, bare SHA-256**: the digest an older Podium stored (``unkeyed_digest``), searched over
   the whole space; the time until the code is found, candidates per second.
2. **podium.db alone**: the keyed digest ``podium tickets`` stores now, searched over the same
   space with every key a guesser could try short of the data directory's secret (here: all
   zeros): codes found (must be 0). Without the secret the search is over 2**256 keys, not codes.
3. **The whole data directory** (podium.db and ``ticket-codes.key``): the same search with the
   secret, candidates per second against the floor. What is left then is the code's own length,
   which is why ``podium tickets`` warns of codes under 40 bits.

Times for longer codes are extrapolated from the rates. It is a benchmark, not a test: it exits 0
when it ran.

    python bench/ticket_codes.py              # 4 characters: 1.7 million candidates, seconds
    python bench/ticket_codes.py --length 5   # a pretix order code: 60 million, about a minute
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import io
import itertools
import math
import secrets
import sqlite3
import string
import tempfile
import time
from pathlib import Path

import yaml

from bot.cli import main
from bot.conference.attendees import STRONG_CODE_BITS, unkeyed_digest
from bot.store.codesecret import SECRET_FILE
from bot.store.database import DATABASE

ALPHABET = string.ascii_uppercase + string.digits


def candidates(length: int):
    return (("".join(chars)).encode() for chars in itertools.product(ALPHABET, repeat=length))


def search_bare(target: bytes, length: int) -> tuple[bytes | None, int, float]:
    """(the code found, candidates tried, seconds) hashing candidates with bare SHA-256."""
    started, tried = time.perf_counter(), 0
    for tried, guess in enumerate(candidates(length), 1):
        if hashlib.sha256(guess).digest() == target:
            return guess, tried, time.perf_counter() - started
    return None, tried, time.perf_counter() - started


def search_keyed(target: bytes, length: int, key: bytes) -> tuple[bytes | None, int, float]:
    """The same search with HMAC-SHA256 under ``key`` (its inner and outer state made once)."""
    template = hmac.new(key, digestmod=hashlib.sha256)
    started, tried = time.perf_counter(), 0
    for tried, guess in enumerate(candidates(length), 1):
        mac = template.copy()
        mac.update(guess)
        if mac.digest() == target:
            return guess, tried, time.perf_counter() - started
    return None, tried, time.perf_counter() - started


def load(directory: Path, code: str) -> Path:
    """A data directory ``podium tickets`` loaded ``code`` into."""
    schedule, codes, data = directory / "schedule.yaml", directory / "codes.txt", directory / "data"
    schedule.write_text(yaml.safe_dump({"conference": {"id": "bench", "name": "Bench", "timezone": "UTC",
                                                       "start": "2026-07-13", "end": "2026-07-13",
                                                       "access": "space-members"}}))
    codes.write_text(code + "\n")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["tickets", str(codes), "--schedule", str(schedule), "--data-dir", str(data)]) == 0
    return data


def human(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.2f} s"


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--length", type=int, default=4, help="characters of the code (default 4)")
    args = parser.parse_args()
    # The last code of the space: the search covers all of it, the worst case for the guesser.
    code = ALPHABET[-1] * (args.length - 1) + secrets.choice(ALPHABET)
    space = len(ALPHABET) ** args.length
    print(f"code: {args.length} characters of A-Z0-9 ({space:,} candidates, {math.log2(space):.1f} bits)")

    found, tried, seconds = search_bare(bytes.fromhex(unkeyed_digest(code)), args.length)
    assert found == code.encode(), "the floor finds the code"
    bare_rate = tried / seconds
    print(f"floor, bare SHA-256 (an older Podium's podium.db): found after {tried:,} candidates in {seconds:.2f} s "
          f"({bare_rate:,.0f} a second)")

    with tempfile.TemporaryDirectory() as directory:
        data = load(Path(directory), code)
        with sqlite3.connect(data / DATABASE) as db:
            [(stored,)] = db.execute("SELECT code_key FROM ticket_codes").fetchall()
        secret = bytes.fromhex((data / SECRET_FILE).read_text().strip())
    target = bytes.fromhex(stored)
    found, tried, seconds = search_keyed(target, args.length, bytes(32))
    print(f"podium.db alone (keyed digest, the secret unknown): {0 if found is None else 1} codes found in "
          f"{tried:,} candidates, {seconds:.2f} s; the search is over 2**256 secrets")
    found, tried, seconds = search_keyed(target, args.length, secret)
    assert found == code.encode(), "with the secret the code is found"
    keyed_rate = tried / seconds
    print(f"whole data directory (podium.db and {SECRET_FILE}): found after {tried:,} candidates in {seconds:.2f} s "
          f"({keyed_rate:,.0f} a second, {bare_rate / keyed_rate:.1f} x the floor's time per candidate)")

    print("extrapolated, one core: bare SHA-256 from podium.db alone / keyed, with the whole data directory:")
    for length in (5, 6, 8):
        space = len(ALPHABET) ** length
        print(f"  {length} characters of A-Z0-9 ({length * math.log2(len(ALPHABET)):.0f} bits): "
              f"{human(space / bare_rate)} / {human(space / keyed_rate)}")
    print(f"  {STRONG_CODE_BITS} bits (podium tickets warns below): {human(2 ** STRONG_CODE_BITS / bare_rate)} / "
          f"{human(2 ** STRONG_CODE_BITS / keyed_rate)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_bench())
