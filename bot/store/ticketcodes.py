"""Ticket codes in SQLite (podium.db): which codes admit an attendee, who used each, and the
wrong codes each sender sent.

Only a code's digest is kept, an HMAC under the data directory's secret
(``bot.conference.attendees.code_digest``, ``bot.store.codesecret``): the database holds no code
anyone could send, nor one a guesser could hash their way back to without the secret. A code
admits one account once: using it is a single conditional UPDATE (``used_by IS NULL``), so of two
accounts sending the same code at once exactly one gets it. The use records the event that made
it, so a message handled again after a crash finds its own use and finishes it rather than being
told the code is taken.

Rows an older Podium wrote hold a bare SHA-256 (``digest`` is ``sha256``). They still admit their
codes' holders, and each is re-keyed as soon as its code is known again: when it is sent to the
bot, or loaded again. Re-keying overwrites the old digest in the file's pages too
(``secure_delete``), so it does not linger there.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import sqlite_utils

from ..conference.attendees import code_digest, code_shape, unkeyed_digest
from .codesecret import code_secret

CODES = "ticket_codes"
WRONG = "ticket_code_attempts"
#: How a row's ``code_key`` was made: an HMAC under the data directory's secret, or (rows of an
#: older Podium) a bare SHA-256.
KEYED, UNKEYED = "hmac-sha256", "sha256"


@dataclass(frozen=True)
class Loaded:
    added: int  # codes new to the store
    rekeyed: int  # codes an older Podium stored unkeyed, keyed now


@dataclass(frozen=True)
class CodeUse:
    used_by: str
    event_id: str
    at: float


class TicketCodeStore:
    def __init__(self, db: sqlite_utils.Database, secret: bytes | None = None):
        """``secret``: the digests' key (by default the data directory's, read when first needed)."""
        self.db = db
        self._secret = secret

    def load(self, conference: str, codes: list[str], at: float) -> Loaded:
        """Add the codes not loaded yet, each with its shape, and re-key those an older Podium
        stored unkeyed."""
        with self._overwriting(), self.db.conn:
            rekeyed = sum(self._rekey(conference, code) for code in codes)
            added = sum(self.db.execute(f"INSERT OR IGNORE INTO {CODES} (conference, code_key, digest, shape, loaded_at) "
                                        "VALUES (?, ?, ?, ?, ?)",
                                        [conference, self._digest(code), KEYED, code_shape(code), at]).rowcount
                        for code in codes)
        return Loaded(added, rekeyed)

    def shapes(self, conference: str) -> set[str | None]:
        """The shapes of ``conference``'s codes (None for a code loaded before shapes were kept)."""
        rows = self.db.execute(f"SELECT DISTINCT shape FROM {CODES} WHERE conference = ?", [conference]).fetchall()
        return {row[0] for row in rows}

    def count(self, conference: str) -> tuple[int, int]:
        """(codes loaded, codes used) for ``conference``."""
        row = self.db.execute(f"SELECT COUNT(*), COUNT(used_by) FROM {CODES} WHERE conference = ?",
                              [conference]).fetchone()
        return row[0], row[1]

    def unkeyed(self, conference: str) -> int:
        """How many of ``conference``'s codes are still stored as an older Podium's bare SHA-256."""
        return self.db.execute(f"SELECT COUNT(*) FROM {CODES} WHERE conference = ? AND digest = ?",
                               [conference, UNKEYED]).fetchone()[0]

    def use(self, conference: str, code: str, user_id: str, event_id: str, at: float) -> CodeUse | None:
        """Try to use ``code`` for ``user_id``; the code's use afterwards (None: no such code).
        The use is this one when its ``event_id`` is ``event_id``."""
        key = self._digest(code)
        with self._overwriting(), self.db.conn:
            self._rekey(conference, code)
            self.db.execute(f"UPDATE {CODES} SET used_by = ?, used_event_id = ?, used_at = ? "
                            "WHERE conference = ? AND code_key = ? AND used_by IS NULL",
                            [user_id, event_id, at, conference, key])
        row = self.db.execute(f"SELECT used_by, used_event_id, used_at FROM {CODES} "
                              "WHERE conference = ? AND code_key = ?", [conference, key]).fetchone()
        if row is None or row[0] is None:
            return None
        return CodeUse(row[0], row[1], row[2])

    def give_back(self, conference: str, code: str, event_id: str) -> None:
        """Undo the use ``event_id`` made of ``code`` (the invite it was for was refused), so the
        code admits its holder once they can be invited."""
        with self.db.conn:
            self.db.execute(f"UPDATE {CODES} SET used_by = NULL, used_event_id = NULL, used_at = NULL "
                            "WHERE conference = ? AND code_key = ? AND used_event_id = ?",
                            [conference, self._digest(code), event_id])

    def _digest(self, code: str) -> str:
        if self._secret is None:
            self._secret = code_secret(self.db)
        return code_digest(code, self._secret)

    def _rekey(self, conference: str, code: str) -> int:
        """Key ``code``'s row if an older Podium stored it unkeyed; 1 if it did."""
        return self.db.execute(f"UPDATE {CODES} SET code_key = ?, digest = ?, shape = ? "
                               "WHERE conference = ? AND code_key = ? AND digest = ?",
                               [self._digest(code), KEYED, code_shape(code), conference, unkeyed_digest(code),
                                UNKEYED]).rowcount

    @contextlib.contextmanager
    def _overwriting(self):
        """Deleted content (an old digest re-keyed) overwritten in the file, not only unlinked."""
        self.db.execute("PRAGMA secure_delete = ON")
        try:
            yield
        finally:
            self.db.execute("PRAGMA secure_delete = OFF")

    def note_wrong(self, conference: str, sender: str, event_id: str, at: float) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR IGNORE INTO {WRONG} (event_id, conference, sender, at) VALUES (?, ?, ?, ?)",
                            [event_id, conference, sender, at])

    def wrong_since(self, conference: str, sender: str, since: float, besides: str) -> list[float]:
        """When ``sender`` sent wrong codes after ``since``, not counting the message ``besides``
        (the one being handled, should it be handled again after a crash)."""
        rows = self.db.execute(f"SELECT at FROM {WRONG} WHERE conference = ? AND sender = ? AND at > ? "
                               "AND event_id != ?", [conference, sender, since, besides]).fetchall()
        return [row[0] for row in rows]
