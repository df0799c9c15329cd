"""The web server's read-only window on Podium's SQLite store, and the signal that it changed.

The bot writes questions, votes and polls into ``podium.db``; the web server opens its own
connection to the same file and asks SQLite's ``PRAGMA data_version`` twice a second. That
number changes only when another connection commits, so the check costs microseconds and the
server learns of every change without the bot having to tell it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5


class LiveData:
    """Reads questions and polls for the pages; wakes waiting pages when the store changes."""

    def __init__(self, path: Path, *, interval: float = POLL_INTERVAL):
        self.path = path
        self.interval = interval
        self.version = 0  # bumped on every change another connection commits
        self._db: sqlite_utils.Database | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._questions: Any = None
        self._polls: Any = None
        self._delays: Any = None
        self._delays_read: tuple[int, str, dict[str, int]] | None = None  # (version, conference, delays)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite_utils.Database(self.path)
        # Readers must not wait behind the bot's writes, nor make it wait.
        self._db.execute("PRAGMA busy_timeout = 2000")
        self._task = asyncio.create_task(self._watch(), name="podium-web-data-version")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _watch(self) -> None:
        seen = self._data_version()
        while True:
            await asyncio.sleep(self.interval)
            try:
                current = self._data_version()
            except sqlite3.Error as exc:  # a locked or replaced file: try again next tick
                log.debug("data_version: %s", exc)
                continue
            if current != seen:
                seen = current
                self.version += 1
                self._changed.set()

    def _data_version(self) -> int:
        assert self._db is not None
        return self._db.execute("PRAGMA data_version").fetchone()[0]

    def wake(self) -> None:
        """Wake every waiting page now (at shutdown, so open event streams end at once)."""
        self._changed.set()

    async def changed(self, since: int, timeout: float) -> int:
        """Wait until the store changes after version ``since``, or ``timeout`` seconds pass."""
        if self.version == since:
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        return self.version

    # -- reading -----------------------------------------------------------------------------

    def questions(self, track_id: str) -> list[Any]:
        """The track's questions as the Q&A store ranks them, hidden ones excluded."""
        store = self._store("_questions", "bot.qa_store", "QuestionStore")
        if store is None:
            return []
        try:
            return list(store.for_track(track_id, include_hidden=False))
        except sqlite3.OperationalError:  # nobody has asked anything yet: no table
            return []

    def polls(self, track_id: str) -> list[Any]:
        """The track's polls, newest first."""
        store = self._store("_polls", "bot.poll_store", "PollStore")
        if store is None:
            return []
        try:
            return list(store.for_track(track_id))
        except sqlite3.OperationalError:
            return []

    def delays(self, conference: str) -> dict[str, int]:
        """Track id -> minutes late, as moderators set them; read again only after a change."""
        if self._delays_read and self._delays_read[:2] == (self.version, conference):
            return self._delays_read[2]
        store = self._store("_delays", "bot.delay_store", "DelayStore")
        try:
            delays = store.all(conference) if store is not None else {}
        except sqlite3.OperationalError:
            delays = {}
        self._delays_read = (self.version, conference, delays)
        return delays

    def _store(self, attribute: str, module: str, name: str) -> Any:
        store = getattr(self, attribute)
        if store is None and self._db is not None:
            try:
                cls = getattr(__import__(module, fromlist=[name]), name)
            except ImportError:
                # A build without Q&A or polls serves empty boards rather than failing.
                return None
            store = cls(self._db)
            setattr(self, attribute, store)
        return store
