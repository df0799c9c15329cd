"""The data directory's secret for ticket code digests: ``ticket-codes.key`` beside podium.db.

Kept out of the database on purpose: podium.db is what leaves the machine most easily (a backup,
a copy for the web server, an export run against it), and without this file its digests give no
code back. The file is made once, by whichever Podium needs it first (``podium tickets`` or the
running bot), readable by its owner alone (mode 0600), and written whole before it appears under
its name, so two Podiums starting at once read the same secret. Losing it makes every loaded code
unusable until the codes are loaded again; it is never printed nor logged.

A database that lives only in memory gets a secret that lives as long.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import weakref
from pathlib import Path

import sqlite_utils

log = logging.getLogger(__name__)

SECRET_FILE = "ticket-codes.key"
SECRET_BYTES = 32

_IN_MEMORY: weakref.WeakKeyDictionary[sqlite_utils.Database, bytes] = weakref.WeakKeyDictionary()


class SecretProblem(Exception):
    """The secret's file is there but is not one Podium wrote."""


def code_secret(db: sqlite_utils.Database) -> bytes:
    """The secret of the data directory ``db`` is in, made if it has none yet."""
    path = _database_file(db)
    if path is None:
        return _IN_MEMORY.setdefault(db, secrets.token_bytes(SECRET_BYTES))
    return read_or_make(path.parent / SECRET_FILE)


#: What to do when the ticket codes' secret file holds something else.
CODES_REMEDY = ("put back the one from your backup, or move it away and load the ticket codes again with "
                "`podium tickets` (codes loaded before cannot be checked without it)")


def read_or_make(path: Path, remedy: str = CODES_REMEDY) -> bytes:
    """The random secret ``path`` holds (as hex digits), made first if there is no such file;
    ``remedy`` says what to do when the file holds anything else."""
    try:
        return _read(path, remedy)
    except FileNotFoundError:
        pass
    # Written under a name of its own, then linked into place: no one ever reads half a secret,
    # and of two made at once the first linked is the one both use.
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(SECRET_BYTES) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
    finally:
        draft.unlink()
    return _read(path, remedy)


def _read(path: Path, remedy: str) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise SecretProblem(f"{path} is not the secret Podium keeps there ({SECRET_BYTES * 2} hex digits): {remedy}")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s can be read by others than its owner (mode %o): chmod 600 it", path, mode)
    return secret


def _database_file(db: sqlite_utils.Database) -> Path | None:
    """The file the database is in (None: it lives in memory)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None
