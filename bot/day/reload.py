"""Schedule edits while ``podium run`` runs: noticed, checked, put in force, rooms reconciled.

The running bot looks at schedule.yaml every few seconds (and when an organiser sends
``!reload``). A changed file is loaded exactly as ``podium validate`` loads it: a broken one is
reported to the organisers with its located errors and the schedule in force stays. A good one
replaces the schedule the commands, the clock and the widget pages read (the runtime's
``Programme``); transitions the edit moved into the past
are recorded as skipped, so nothing already past fires again; and the rooms are reconciled
through the same planner and apply as ``podium apply``.

A ``!reload`` is answered in its room; a change noticed in the file is reported in the first
track's backstage, where the organisers are. A conference without tracks has no backstage: there
the report goes to the log only (the lobby rooms are the attendees', no place for file errors).

The file is read and checked in a worker thread, never on the event loop: the bot and the widget
pages go on answering while a large schedule is parsed. It is read only as ``podium validate``
reads it (bot.conference.inputfile): a regular file of at most SCHEDULE_LIMIT bytes; a FIFO or a
device at the path is refused without waiting on it, and a report quotes positions in the
schedule (file, line, field), not what a file that is no schedule holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ..commands.message import Message, message, user
from ..conference.clock import apply_delays
from ..conference.inputfile import SCHEDULE_LIMIT, InputRefused, read_input
from ..conference.roomkeys import backstage_key
from ..conference.schedule import Schedule, ScheduleInvalid
from ..conference.transitions import REMIND_BEFORE, transitions
from ..config import Connection
from ..provisioning.desired import Settings
from ..provisioning.pipeline import DEFAULT_TEMPLATES, Conference, build
from ..provisioning.programme import Programme
from ..provisioning.reconcile import reconcile
from ..provisioning.templates import TemplateProblem
from ..store.delays import DelayStore
from ..store.transitions import SKIPPED, TransitionStore
from ..wording import counted
from .running import RunningBot

log = logging.getLogger(__name__)
#: Errors listed in one report; the rest are counted.
SHOWN_ERRORS = 10


@dataclass(frozen=True)
class ReloadOptions:
    schedule: Path
    settings: Settings
    connection: Connection
    templates: Path | None = None
    every: float = 2.0  # seconds between looks at the file
    remind_before: timedelta = REMIND_BEFORE  # the clock's, to know which transitions an edit moved


def fingerprint(path: Path) -> str | None:
    """What the file at ``path`` holds, to notice a change: its digest, or for a file that will not
    be read (no regular file, too large) its type, size and time of change; None when it is gone.
    Blocks for as long as reading the file takes: run it in a worker thread."""
    try:
        return hashlib.sha256(read_input(path, SCHEDULE_LIMIT, "a schedule file")).hexdigest()
    except InputRefused:
        try:
            status = os.stat(path)
        except OSError:
            return None
        return f"refused {status.st_mode:o} {status.st_size} {status.st_mtime_ns} {status.st_ino}"
    except OSError:
        return None


class ScheduleFile:
    """schedule.yaml as the running conference reads it: looked at every ``every`` seconds for an
    edit, and loaded exactly as ``podium validate`` loads it. The bot's reloader and the pages
    running alone (``podium web``) both read it through this, so both take and refuse the same."""

    def __init__(self, path: Path, settings: Settings, templates: Path | None = None, every: float = 2.0):
        self.path, self.settings, self.templates, self.every = path, settings, templates, every
        self.seen = fingerprint(path)

    async def edited(self) -> None:
        """Return once the file holds something other than what was last loaded (or seen)."""
        while True:
            await asyncio.sleep(self.every)
            now = await asyncio.to_thread(fingerprint, self.path)
            if now is not None and now != self.seen:
                return

    async def load(self) -> Conference | Message:
        """The conference the file describes now; or, when it is broken, the report of why it was
        not loaded (its errors located by file, line and field), the schedule in force staying."""
        self.seen = await asyncio.to_thread(fingerprint, self.path)
        try:
            # Parsing a large file takes seconds: the loop goes on answering meanwhile.
            return await asyncio.to_thread(build, self.path, self.settings, self.templates or DEFAULT_TEMPLATES)
        except ScheduleInvalid as exc:
            shown = exc.errors[:SHOWN_ERRORS]
            more = len(exc.errors) - len(shown)
            report = message(f"{self.path.name} changed but was not loaded: {counted(len(exc.errors), 'problem')}; "
                             "the schedule in force stays. Fix the file and it is read again:").items(
                user(str(error)) for error in shown)
            return report.line(f"… and {counted(more, 'more problem')}.") if more else report
        except TemplateProblem as exc:
            return message(f"{self.path.name} changed but was not loaded; the schedule in force stays: ",
                           user(str(exc)))


async def follow_edits(programme: Programme, file: ScheduleFile) -> None:
    """The pages running without the bot (``podium web``): each good edit of the file put in force
    in ``programme``, a broken one logged with its located errors while the last good one stays.
    Rooms and transitions are the bot's to update: its own reloader reads the same file."""
    while True:
        await file.edited()
        try:
            loaded = await file.load()
        except Exception:
            log.exception("reloading %s failed; the schedule in force stays", file.path)
            continue
        if isinstance(loaded, Message):
            log.warning("%s", loaded.body)
            continue
        programme.put(loaded)
        log.info("%s reloaded: %s in %s", file.path.name, counted(len(loaded.schedule.talks), "talk"),
                 counted(len(loaded.schedule.tracks), "track"))


class ScheduleReloader:
    def __init__(self, runtime: RunningBot, options: ReloadOptions):
        self.runtime = runtime
        self.options = options
        self.file = ScheduleFile(options.schedule, options.settings, options.templates, options.every)
        self.lock = asyncio.Lock()

    async def watch(self) -> None:
        await self.runtime.ready.wait()
        while True:
            await self.file.edited()
            try:
                await self.reload()
            except Exception:
                log.exception("reloading %s failed; the schedule in force stays", self.options.schedule)

    async def reload(self, *, announce: bool = True) -> Message:
        """Load schedule.yaml again and return the report; with ``announce`` (a change noticed in
        the file, not a ``!reload``, which answers in its own room) also tell the organisers."""
        async with self.lock:
            report = await self._reload()
        log.info("%s", report.body)
        room_id = self._organisers_room() if announce else None
        if room_id is not None:
            txn = "podium.reload." + hashlib.sha256(f"{self.file.seen}|{time.time()}".encode()).hexdigest()[:32]
            try:
                await self.runtime.send(room_id, "m.room.message", report.content(notice=True), txn)
            except Exception as exc:
                log.warning("reload report to %s failed: %s", room_id, exc)
        return report

    def _organisers_room(self) -> str | None:
        """Where a noticed change is reported: the first track's backstage, when the schedule in
        force has a track and the bot is in that room; else nowhere but the log."""
        tracks = self.runtime.schedule.tracks
        return self.runtime.room_id_of(backstage_key(tracks[0].id)) if tracks else None

    async def _reload(self) -> Message:
        path = self.options.schedule
        conference = await self.file.load()
        if isinstance(conference, Message):
            return conference
        old, new = self.runtime.schedule, conference.schedule
        moved = self._skip_what_moved_into_the_past(old, new)
        self.runtime.programme.put(conference)  # the commands, the clock and the pages, at once
        if self.runtime.wake_clock is not None:
            self.runtime.wake_clock()  # a talk the edit moved earlier starts on time
        reconciled = await reconcile(conference, self.options.connection)  # the same as `podium apply`
        for line in reconciled.lines(rerun="!reload"):
            log.info("%s", line)
        applied = reconciled.report
        problems = len(applied.failed) + len(applied.skipped) + len(applied.remaining)
        rooms = "rooms up to date" if applied.ok else f"{counted(problems, 'room change')} could not be made"
        report = message(f"{path.name} reloaded: {counted(len(new.talks), 'talk')} in "
                         f"{counted(len(new.tracks), 'track')}; {rooms}.")
        if moved:
            report = report.line(f"{counted(moved, 'transition')} the edit moved into the past will not run.")
        return report

    def _skip_what_moved_into_the_past(self, old: Schedule, new: Schedule) -> int:
        conference = self.runtime.conference_id
        store = TransitionStore(self.runtime.store.db)
        delays = DelayStore(self.runtime.store.db).all(conference)
        before = {t.key for t in transitions(apply_delays(old, delays), remind_before=self.options.remind_before)}
        done = store.done(conference)
        now = self.runtime.clock()
        moved = [t for t in transitions(apply_delays(new, delays), remind_before=self.options.remind_before)
                 if t.at <= now and t.key not in before and t.key not in done]
        for transition in moved:
            store.record(conference, transition.key, kind=transition.kind, talk_id=transition.talk_id,
                         due_at=transition.at.timestamp(), done_at=time.time(), outcome=SKIPPED)
        return len(moved)
