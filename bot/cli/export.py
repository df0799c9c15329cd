"""``podium export ical`` and ``podium export archive``: the I/O around the pure exports in
``bridges/`` (reading the schedule and the data directory, writing files).

Both only read the data directory. Files are written all or nothing: each goes to a temporary
name beside its target first and takes the target's name only once every one is complete, so
an error (a full disk, a file that may not be replaced) leaves no half-written export behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bridges.archive import FILES, archive_files
from bridges.ical import calendar_bytes

from ..conference.clock import apply_delays, utc_now
from ..conference.display import RoomLinks
from ..conference.openspace import sessions
from ..conference.schedule import Schedule
from ..config import ConfigProblem
from ..provisioning.desired import Settings
from ..provisioning.pipeline import Conference
from ..store.bookings import bookings_in
from ..store.database import DATABASE
from ..store.delays import delays_in
from ..store.polls import POLLS, PollStore
from ..store.questions import QUESTIONS, QuestionStore
from ..store.schema import NewerDatabase, check_readable
from ..wording import counted


class ExportProblem(ConfigProblem):
    """An export cannot be made as asked; the message says why and what to do."""


def unknown_track(schedule: Schedule, tracks: Sequence[str] | None, schedule_file: Path) -> str | None:
    """The message for the first of ``tracks`` (--track values) the schedule does not have."""
    known = [track.id for track in schedule.tracks]
    unknown = [track for track in tracks or [] if track not in known]
    if not unknown:
        return None
    return f"--track {unknown[0]}: no such track in {schedule_file}; the tracks are {', '.join(known)}"


# ----------------------------------------------------------------------------- iCalendar


def calendar_of(conference: Conference, data_dir: Path, tracks: Sequence[str] | None) -> bytes:
    """The conference's calendar as the web server serves it: the talks at their times with the
    delays moderators set (kept in ``data_dir``) applied, and the open-space sessions booked
    there, linked to the rooms ``podium apply`` made."""
    schedule = conference.schedule
    delays = delays_in(data_dir / DATABASE, schedule.conference.id)
    booked = sessions(schedule, bookings_in(data_dir / DATABASE, schedule.conference.id))
    rooms = RoomLinks.of(conference.rooms, conference.settings.server_name)
    return calendar_bytes(apply_delays(schedule, delays), rooms, conference.settings.public_url, stamp=utc_now(),
                          tracks=tracks, sessions=booked)


def export_settings(user_id: str | None, public_url: str) -> Settings:
    """Where the rooms are (the bot's homeserver, which names their aliases) and the pages."""
    if not user_id:
        raise ExportProblem("the room links need the bot's Matrix ID, whose homeserver the rooms are on: "
                            "pass --user-id @podium:example.org or set PODIUM_USER_ID")
    if not user_id.startswith("@") or ":" not in user_id:
        raise ExportProblem(f"user id {user_id!r} must look like @podium:example.org")
    return Settings(user_id.split(":", 1)[1], user_id, public_url.rstrip("/"))


def write_calendar(data: bytes, output: Path | None) -> None:
    """To ``output`` (replaced as a whole, so a web server serving it never sends half a file),
    or to standard output."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    write_all({output: data}, replace=True)
    sessions = data.count(b"\r\nCATEGORIES:open-space\r\n")
    posters = data.count(b"\r\nCATEGORIES:poster\r\n")
    events = counted(data.count(b"BEGIN:VEVENT") - sessions - posters, "talk")
    if sessions:
        events += f", {counted(sessions, 'open-space session')}"
    if posters:
        events += f", {counted(posters, 'poster session')}"
    print(f"Wrote {output}: {events}.", file=sys.stderr)


# ----------------------------------------------------------------------------- archive


@dataclass(frozen=True)
class ArchiveReport:
    questions: int
    polls: int
    written: list[Path]


def export_archive(schedule: Schedule, data_dir: Path, directory: Path, *, with_askers: bool,
                   force: bool) -> ArchiveReport:
    """Write the archive of ``schedule``'s conference from ``data_dir`` into ``directory``."""
    db = open_store(data_dir)
    try:
        conference = schedule.conference.id
        questions = QuestionStore(db).in_conference(conference) if db[QUESTIONS].exists() else []
        polls = PollStore(db).in_conference(conference) if db[POLLS].exists() else []
    except sqlite3.Error as exc:
        raise ExportProblem(f"{data_dir / DATABASE}: cannot read it ({exc}); is it a Podium data directory?") \
            from None
    finally:
        db.close()
    files = archive_files(schedule, questions, polls, with_askers=with_askers)
    targets = {directory / name: files[name].encode("utf-8") for name in FILES}
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        one = len(existing) == 1
        raise ExportProblem(f"{', '.join(existing)} already {'exists' if one else 'exist'}; nothing was written. "
                            "Choose another directory, or pass --force to replace "
                            f"{'it' if one else 'them'}.")
    if directory.exists() and not directory.is_dir():
        raise ExportProblem(f"{directory} is a file, not a directory; choose another DIR")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportProblem(f"cannot create {directory}: {exc.strerror or exc}; nothing was written") from None
    write_all(targets, replace=force)
    return ArchiveReport(len(questions), len(polls), list(targets))


def open_store(data_dir: Path) -> sqlite_utils.Database:
    """The data directory's database, for reading only: an export never changes what the bot
    keeps, and works while the bot runs."""
    path = data_dir / DATABASE
    if not data_dir.is_dir():
        raise ExportProblem(f"--data-dir {data_dir}: there is no such directory; give the data directory "
                            "`podium run` used (its --data-dir, or PODIUM_DATA_DIR; default ./.podium)")
    if not path.is_file():
        # `podium demo` keeps its bot's store one folder down (.podium/demo), beside the default.
        below = sorted(str(found.parent) for found in data_dir.glob(f"*/{DATABASE}"))
        hint = f" ({' or '.join(below)} holds one)" if below else ""
        raise ExportProblem(f"--data-dir {data_dir}: it holds no {DATABASE}, so no bot kept its questions and "
                            "polls there; give the data directory `podium run` used (its --data-dir, or "
                            f"PODIUM_DATA_DIR){hint}")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise ExportProblem(f"{path}: cannot read it as Podium's store ({exc})") from None
    try:
        check_readable(connection, path)
    except NewerDatabase:
        connection.close()
        raise
    return sqlite_utils.Database(connection)


# ----------------------------------------------------------------------------- files


def write_all(files: Mapping[Path, bytes], *, replace: bool) -> None:
    """Write every file or none: each to a temporary name beside it, then all renamed into place
    (a rename replaces its target whole). Without ``replace`` the callers have checked that no
    target exists; should a rename fail, the targets placed before it are taken away again."""
    partial: dict[Path, Path] = {}
    placed: list[Path] = []
    target = next(iter(files))
    try:
        for target, data in files.items():
            temporary = target.with_name(f".{target.name}.partial")
            partial[target] = temporary
            with temporary.open("wb") as out:
                out.write(data)
        for target, temporary in partial.items():
            os.replace(temporary, target)
            placed.append(target)
    except OSError as exc:
        for temporary in partial.values():
            _remove(temporary)
        if not replace:
            for target in placed:
                _remove(target)
            placed = []
        done = f"only {', '.join(map(str, placed))} replaced" if placed else "nothing was written"
        raise ExportProblem(f"cannot write {target}: {exc.strerror or exc}; {done}") from None


def _remove(path: Path) -> None:
    """Take away what an unfinished export left; a path that cannot hold a file (its folder is a
    file) holds nothing to take away."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
