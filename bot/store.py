"""Podium's local state in SQLite (``--data-dir``/podium.db): what must survive between runs.

For provisioning that is the observation snapshot per bot account and homeserver: the /sync
token and the managed state it covers, so a re-apply reads only what changed. The homeserver
stays the source of truth: losing or deleting this file costs one full /sync, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlite_utils

from .observation import Snapshot

DATABASE = "podium.db"


class Store:
    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DATABASE
        self.db = sqlite_utils.Database(self.path)
        self.db["snapshots"].create({"account": str, "snapshot": str}, pk="account", if_not_exists=True)

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

    def close(self) -> None:
        self.db.close()
