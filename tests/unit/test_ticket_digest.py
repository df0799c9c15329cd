"""Ticket codes at rest: podium.db keeps an HMAC-SHA256 of each code under a secret of the data
directory (``ticket-codes.key``, made once, mode 0600, never printed), so the database alone gives
no code back however short; a data directory whose codes an older Podium stored as bare SHA-256
digests is upgraded in place and its codes re-keyed; ``podium tickets`` warns of codes short
enough to be guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import sqlite3
import stat
from pathlib import Path

import yaml

from bot.cli import main
from bot.store.database import DATABASE, Store
from bot.store.schema import VERSION, version

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datadir-1-sha256-tickets.sql"
#: The codes the fixture's podium.db holds as bare SHA-256 digests (the first one used by @ada).
OLD_CODES = ("tix-old-ada-7k2m9q4x8v3b", "tix-old-ben-p5w8r2n6c1zt", "tix-old-cy-h4j7d9f2s6ga")
KEY_FILE = "ticket-codes.key"
CONF = "ep2026"


def schedule_file(tmp_path: Path) -> Path:
    path = tmp_path / "schedule.yaml"
    path.write_text(yaml.safe_dump({"conference": {"id": CONF, "name": "EP", "timezone": "UTC", "start": "2026-07-13",
                                                   "end": "2026-07-13", "access": "space-members"}}))
    return path


def tickets(tmp_path: Path, text: str, data: Path, name: str = "codes.txt") -> int:
    codes = tmp_path / name
    codes.write_text(text)
    return main(["tickets", str(codes), "--schedule", str(schedule_file(tmp_path)), "--data-dir", str(data)])


def stored_digests(data: Path) -> list[str]:
    with sqlite3.connect(data / DATABASE) as db:
        return [row[0] for row in db.execute("SELECT code_key FROM ticket_codes ORDER BY loaded_at, code_key")]


def sha256(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def file_bytes(data: Path) -> bytes:
    """Everything SQLite keeps of podium.db on disk: the file and its write-ahead log."""
    return b"".join(path.read_bytes() for path in data.glob(f"{DATABASE}*"))


def test_the_database_alone_no_longer_gives_a_short_code_back(tmp_path, capsys, caplog):
    data = tmp_path / "data"
    caplog.set_level(logging.DEBUG)
    assert tickets(tmp_path, "4711\n", data) == 0
    [stored] = stored_digests(data)

    # What an attacker with podium.db alone does: hash every code of that length and alphabet.
    found = [guess for guess in map("".join, itertools.product("0123456789", repeat=4)) if sha256(guess) == stored]
    assert found == [], "a bare SHA-256 digest gives the code back"

    key_file = data / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = key_file.read_text().strip()
    assert stored == hmac.new(bytes.fromhex(secret), b"4711", hashlib.sha256).hexdigest()
    output = capsys.readouterr()
    assert secret not in output.out + output.err + caplog.text, "the secret is never printed nor logged"

    assert tickets(tmp_path, "4711\n9999\n", data) == 0
    assert key_file.read_text().strip() == secret, "made once: loading again keys with the same secret"
    assert stored_digests(data)[0] == stored and len(stored_digests(data)) == 2


def test_a_data_directory_with_bare_sha256_digests_is_upgraded_and_re_keyed_by_loading_again(tmp_path, capsys):
    from bot.store.ticketcodes import TicketCodeStore

    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / DATABASE) as db:
        db.executescript(FIXTURE.read_text())
    assert stored_digests(data) == sorted(sha256(code) for code in OLD_CODES)

    store = Store(data)
    try:
        assert version(store.db.conn) == VERSION
        codes = TicketCodeStore(store.db)
        assert codes.count(CONF) == (3, 1) and codes.unkeyed(CONF) == 3
        # Until they are re-keyed, the old digests still admit their holders, once.
        ben = codes.use(CONF, OLD_CODES[1].upper(), "@ben:example.org", "$ben:example.org", 1_780_000_200.0)
        assert ben is not None and ben.used_by == "@ben:example.org"
        again = codes.use(CONF, OLD_CODES[0], "@eve:example.org", "$eve:example.org", 1_780_000_201.0)
        assert again is not None and again.used_by == "@ada:example.org", "used before the upgrade: stays used"
        assert codes.unkeyed(CONF) == 1, "a code sent is re-keyed: the bot knows it then"
    finally:
        store.close()

    capsys.readouterr()
    assert tickets(tmp_path, "Order code,Secret\n" + "".join(f"X{n},{code}\n" for n, code in enumerate(OLD_CODES)),
                   data, "orders.csv") == 0
    out = capsys.readouterr().out
    assert "Loaded 0 new ticket codes" in out and "(3 loaded before)" in out
    assert "re-keyed 1 code an older Podium stored as a bare SHA-256 digest" in out
    store = Store(data)
    try:
        codes = TicketCodeStore(store.db)
        assert codes.count(CONF) == (3, 2) and codes.unkeyed(CONF) == 0
        used = codes.use(CONF, OLD_CODES[0], "@eve:example.org", "$eve2:example.org", 1_780_000_300.0)
        assert used is not None and used.used_by == "@ada:example.org", "who used a code is kept through re-keying"
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    on_disk = file_bytes(data)
    assert not any(sha256(code).encode() in on_disk for code in OLD_CODES), "no bare digest is left in the file"


def test_podium_tickets_says_while_codes_stay_unkeyed_and_what_to_do(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / DATABASE) as db:
        db.executescript(FIXTURE.read_text())
    assert tickets(tmp_path, "a-new-code-q8w4e7r2t9y5\n", data) == 0
    out = capsys.readouterr().out
    assert (f"warning: {data} holds 3 ticket codes an older Podium stored as bare SHA-256 digests, which anyone "
            "with podium.db can guess back: load the file they came from again with `podium tickets` to re-key "
            "them") in out


def test_codes_too_short_to_resist_guessing_are_named_by_line(tmp_path, capsys):
    data = tmp_path / "data"
    orders = "Order code,Email\n" + "".join(f"AB{n:03},x{n}@example.org\n" for n in range(12)) + "LONGERCODE12,y@x\n"
    assert tickets(tmp_path, orders, data, "orders.csv") == 0
    out = capsys.readouterr().out
    assert (f"warning: {tmp_path / 'orders.csv'}: 12 of 13 codes are too short to resist guessing (under 40 bits, "
            "estimated from their length and the letters, digits and signs they use; 5 letters and digits are "
            "26 bits): lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more. They are loaded; longer codes (pretix: "
            "the Secret column) keep guessers out") in out

    capsys.readouterr()
    assert tickets(tmp_path, "Secret\nq8w4e7r2t9y5u1i3o6p0a2s4d6f8g0h1\n", data, "secrets.csv") == 0
    assert "warning" not in capsys.readouterr().out


def test_a_key_file_podium_did_not_write_is_refused_with_what_to_do(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / KEY_FILE).write_text("not a secret\n")
    assert tickets(tmp_path, "q8w4e7r2t9y5u1i3\n", data) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"podium: error: {data / KEY_FILE} is not the secret Podium keeps there")
    assert "Traceback" not in err and stored_digests(data) == [], "nothing loaded"
