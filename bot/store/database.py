"""Podium's local state in SQLite (``--data-dir``/podium.db): what must survive between runs.

For provisioning that is the observation snapshot per bot account and homeserver: the /sync
token and the managed state it covers, so a re-apply reads only what changed. The homeserver
stays the source of truth: losing or deleting this file costs one full /sync, nothing else.

For the running bot it is where it got to: its own /sync token (separate from provisioning's),
and the ids of the events it has handled, so a restart neither replays nor drops a command.
Losing those means old commands are ignored (the bot starts from "now"), never answered twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

from ..roomstate.observation import Snapshot
from .schema import open_database

DATABASE = "podium.db"

class Store:
    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DATABASE
        self.db = open_database(self.path)
        # The web server reads this file while the bot writes it: in WAL mode readers never
        # block the bot's commits, nor the bot their reads.
        self.db.enable_wal()
        # With WAL, NORMAL still survives the process being killed at any point (what the bot's
        # exactly-once promise is about) and saves an fsync on every commit; only a power cut
        # could lose the last commits.
        self.db.execute("PRAGMA synchronous=NORMAL")

    @staticmethod
    def account(user_id: str, homeserver: str) -> str:
        """Snapshots are per bot account and homeserver URL."""
        return f"{user_id} {homeserver.rstrip('/')}"

    def load_snapshot(self, account: str) -> Snapshot:
        try:
            row = self.db["snapshots"].get(account)
        except sqlite_utils.db.NotFoundError:
            return Snapshot()
        return Snapshot.from_json(json.loads(row["snapshot"]))

    def save_snapshot(self, account: str, snapshot: Snapshot) -> None:
        self.db["snapshots"].upsert({"account": account, "snapshot": json.dumps(snapshot.to_json())}, pk="account")

    def forget_snapshot(self, account: str) -> None:
        self.db["snapshots"].delete_where("account = ?", [account])

    # ---- the homeserver's rate limits, as apply met them -------------------------------

    def save_limits(self, account: str, limits: dict[str, tuple[float, int]], at: float) -> None:
        """``limits``: kind of write -> (requests a second, burst), measured at ``at``."""
        with self.db.conn:
            for kind, (per_second, burst) in limits.items():
                self.db.execute("INSERT OR REPLACE INTO homeserver_limits VALUES (?, ?, ?, ?, ?)",
                                [account, kind, per_second, burst, at])

    def load_limits(self, account: str) -> tuple[dict[str, tuple[float, int]], float | None]:
        """The limits last measured for ``account``, and when (None: never)."""
        rows = self.db.execute("SELECT kind, per_second, burst, measured_at FROM homeserver_limits WHERE account = ?",
                               [account]).fetchall()
        return {kind: (rate, burst) for kind, rate, burst, _ in rows}, max((r[3] for r in rows), default=None)

    # ---- createRoom requests on their way ---------------------------------------------
    #
    # A room's alias is reserved inside createRoom before the room has its first event. When the
    # homeserver stops in between, the alias names a room that not even the bot is in; only this
    # record tells the next run that the bot itself asked for that alias and never heard back.

    def unanswered_creates(self, account: str) -> set[str]:
        rows = self.db.execute("SELECT alias FROM unanswered_creates WHERE account = ?", [account]).fetchall()
        return {row[0] for row in rows}

    def note_create(self, account: str, alias: str, at: float) -> None:
        with self.db.conn:
            self.db.execute("INSERT OR REPLACE INTO unanswered_creates (account, alias, sent_at) VALUES (?, ?, ?)",
                            [account, alias, at])

    def forget_create(self, account: str, alias: str) -> None:
        with self.db.conn:
            self.db.execute("DELETE FROM unanswered_creates WHERE account = ? AND alias = ?", [account, alias])

    # ---- speakers' invitations --------------------------------------------------------
    #
    # Whom provisioning itself invited into a room as one of its speakers (``invited``), and whose
    # invitation it withdrew because they no longer speak there (``withdrawn``). Only these are ever
    # withdrawn: the room cannot tell who invited someone once they joined, and staff and people
    # invited by hand must stay.

    def speaker_invites(self, account: str) -> dict[tuple[str, str], str]:
        """(room id, user) → ``invited`` or ``withdrawn``."""
        rows = self.db.execute("SELECT room_id, user_id, state FROM speaker_invites WHERE account = ?",
                               [account]).fetchall()
        return {(room_id, user_id): state for room_id, user_id, state in rows}

    def note_speaker_invite(self, account: str, room_id: str, user_id: str, state: str, at: float) -> None:
        with self.db.conn:
            self.db.execute("INSERT OR REPLACE INTO speaker_invites (account, room_id, user_id, state, at) "
                            "VALUES (?, ?, ?, ?, ?)", [account, room_id, user_id, state, at])

    def forget_speaker_invite(self, account: str, room_id: str, user_id: str) -> None:
        with self.db.conn:
            self.db.execute("DELETE FROM speaker_invites WHERE account = ? AND room_id = ? AND user_id = ?",
                            [account, room_id, user_id])

    # ---- the running bot --------------------------------------------------------------

    def load_sync_token(self, account: str) -> str | None:
        row = self.db.execute("SELECT since FROM sync_tokens WHERE account = ?", [account]).fetchone()
        return None if row is None else row[0]

    def save_sync_token(self, account: str, since: str) -> None:
        with self.db.conn:
            self.db.execute("INSERT OR REPLACE INTO sync_tokens (account, since) VALUES (?, ?)", [account, since])

    def is_handled(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM handled_events WHERE event_id = ?", [event_id]).fetchone() is not None

    def mark_handled(self, event_id: str, at: float) -> None:
        with self.db.conn:
            self.db.execute("INSERT OR IGNORE INTO handled_events (event_id, handled_at) VALUES (?, ?)", [event_id, at])

    def forget_handled_before(self, cutoff: float) -> int:
        """Drop the marks of events handled before ``cutoff`` (unix seconds); how many went.
        Only an event the homeserver delivers again needs its mark, and it delivers again only
        what came after the saved sync token: marks far older than any stop are dead weight."""
        with self.db.conn:
            return self.db.execute("DELETE FROM handled_events WHERE handled_at < ?", [cutoff]).rowcount

    def close(self) -> None:
        self.db.close()
