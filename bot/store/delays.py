"""How late each track runs, in SQLite (podium.db), set by moderators with ``!delay``.

The bot writes; the web server reads through its own connection (see ``bot.web.live``), and both
shift the schedule with ``bot.conference.clock.apply_delays`` before asking what is on now. A delay is kept
per conference and track, with who set it and when, so a restart keeps the track where it was.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from .records import read_only

DELAYS = "track_delays"


def delays_in(database: Path, conference: str) -> dict[str, int]:
    """The delays kept in ``database`` (a bot's podium.db), read without writing anything: none
    when there is no database yet or it has no delays table."""
    with read_only(database, DELAYS) as db:
        if db is None:
            return {}
        rows = db.execute(f"SELECT track_id, minutes FROM {DELAYS} WHERE conference = ? AND minutes != 0",
                          [conference]).fetchall()
    return {track: minutes for track, minutes in rows}


class DelayStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def all(self, conference: str) -> dict[str, int]:
        """Track id -> minutes late (negative: early), for tracks not on time."""
        rows = self.db.execute(f"SELECT track_id, minutes FROM {DELAYS} WHERE conference = ? AND minutes != 0",
                               [conference]).fetchall()
        return {track: minutes for track, minutes in rows}

    def set(self, conference: str, track_id: str, minutes: int, *, by: str, at: float) -> None:
        with self.db.conn:
            self.db.execute(
                f"INSERT INTO {DELAYS} (conference, track_id, minutes, set_by, set_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (conference, track_id) DO UPDATE SET minutes = excluded.minutes, "
                "set_by = excluded.set_by, set_at = excluded.set_at",
                [conference, track_id, minutes, by, at])
