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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from ..conference.openspace import Booking
from ..conference.polls import PollView
from ..conference.qa import Question
from ..conference.sponsors import Job
from ..store.bookings import BookingStore
from ..store.delays import DelayStore
from ..store.jobs import JobStore
from ..store.polls import PollStore
from ..store.questions import QuestionStore
from ..store.schema import open_database

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
T = TypeVar("T")


class LiveData:
    """Reads questions, polls, delays and posted jobs for the pages; wakes waiting pages when the store changes."""

    def __init__(self, path: Path, *, interval: float = POLL_INTERVAL):
        self.path = path
        self.interval = interval
        self.version = 0  # bumped on every change another connection commits
        self._db: sqlite_utils.Database | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._questions: QuestionStore | None = None
        self._polls: PollStore | None = None
        self._delays: DelayStore | None = None
        self._jobs: JobStore | None = None
        self._bookings: BookingStore | None = None
        self._read: dict[str, tuple[int, str, Any]] = {}  # what -> (version, conference, value)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Upgraded on opening as the bot's store is, so reads never meet a missing table even
        # when the web server opens the file first.
        self._db = open_database(self.path)
        # Readers must not wait behind the bot's writes, nor make it wait.
        self._db.execute("PRAGMA busy_timeout = 2000")
        self._questions, self._polls, self._delays = QuestionStore(self._db), PollStore(self._db), DelayStore(self._db)
        self._jobs = JobStore(self._db)
        self._bookings = BookingStore(self._db)
        self._task = asyncio.create_task(self._watch(), name="podium-web-data-version")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._db is not None:
            self._questions = self._polls = self._delays = self._jobs = self._bookings = None
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

    def questions(self, conference: str, track_id: str) -> list[Question]:
        """The track's questions as the Q&A store ranks them, hidden ones excluded."""
        return self._questions.for_track(conference, track_id, include_hidden=False) if self._questions else []

    def qa_session(self, conference: str, track_id: str) -> tuple[str, str | None] | None:
        """The moderators' last ``!qa open``/``close`` in the track: (state, talk id), or None."""
        return self._questions.session(conference, track_id) if self._questions else None

    def polls(self, conference: str, track_id: str) -> list[PollView]:
        """The track's polls, newest first."""
        return self._polls.for_track(conference, track_id) if self._polls else []

    def jobs(self, conference: str, sponsor: str) -> list[Job]:
        """The jobs the sponsor's staff posted with ``!job`` and have not taken down, oldest first."""
        return self._jobs.listed(conference, sponsor) if self._jobs else []

    def delays(self, conference: str) -> dict[str, int]:
        """Track id -> minutes late, as moderators set them; read again only after a change."""
        return self._read_once("delays", conference, lambda: self._delays.all(conference) if self._delays else {})

    def bookings(self, conference: str) -> list[Booking]:
        """The active open-space bookings; read again only after a change."""
        return self._read_once("bookings", conference,
                               lambda: self._bookings.active(conference) if self._bookings else [])

    def _read_once(self, what: str, conference: str, read: Callable[[], T]) -> T:
        """``read()``, or what it returned for ``conference`` before, when nothing changed since:
        every page asks for these on every request and tick."""
        seen = self._read.get(what)
        if seen is not None and seen[:2] == (self.version, conference):
            return seen[2]
        value = read()
        self._read[what] = (self.version, conference, value)
        return value
