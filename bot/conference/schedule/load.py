"""The ways in: a schedule file, YAML text or plain data, validated into a :class:`Schedule` or
rejected with every mistake at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..inputfile import SCHEDULE_LIMIT, InputRefused, read_input
from ..yamlsource import LineMap, YamlSourceError, format_path, load_yaml
from .checks import _parts_from_raw, _parts_of, _semantic_errors
from .errors import ScheduleError, ScheduleInvalid
from .fields import _CURRENT_TZ
from .messages import _friendly, _without_typo_echoes
from .models import _SCHEDULE_DIR, Schedule, _tz_from_raw


def validate_schedule_data(data: Any, filename: str = "schedule.yaml",
                           lines: LineMap | None = None) -> Schedule:
    """Validate plain data (as loaded from YAML, or built by an importer).

    Raises :class:`ScheduleInvalid` with every problem found; ``lines`` (from
    :func:`~bot.conference.yamlsource.load_yaml`) adds line numbers to the errors.
    """
    return _validate(data, filename, lines, [])


def _validate(data: Any, filename: str, lines: LineMap | None,
              errors: list[ScheduleError]) -> Schedule:
    def line(path: tuple) -> int | None:
        return lines.line_for(path) if lines is not None else None

    if data is None:
        errors.append(ScheduleError(filename, line(()), "",
                                    "the schedule is empty; start it with a 'conference:' "
                                    "section (see the sample schedule.yaml)"))
        raise ScheduleInvalid(errors)
    if not isinstance(data, dict):
        # Said without quoting the file: one that is no YAML mapping is likely no schedule at all
        # (a path that names another file, a link to a secret), and the report may be read in a
        # room the bot shares with others.
        errors.append(ScheduleError(filename, line(()), "",
                                    f"this is not a schedule: the file holds {_kind_of(data)}, where a "
                                    "schedule is made of sections like 'conference:', 'tracks:' and "
                                    "'talks:'; check that the path names your schedule.yaml"))
        raise ScheduleInvalid(errors)

    # If the conference timezone is broken (reported on its own), read naive times as UTC so
    # the rest of the file is still checked without a cascade of "no timezone" errors.
    token = _CURRENT_TZ.set(_tz_from_raw(data) or timezone.utc)
    try:
        try:
            schedule: Schedule | None = Schedule.model_validate(data)
        except ValidationError as exc:
            schedule = None
            for err in _without_typo_echoes(exc.errors(include_url=False)):
                loc = tuple(err["loc"])
                errors.append(ScheduleError(filename, line(loc), format_path(loc),
                                            _friendly(err)))
            parts = _parts_from_raw(data)
        else:
            parts = _parts_of(schedule)
    finally:
        _CURRENT_TZ.reset(token)
    errors.extend(_semantic_errors(parts, filename, lines))
    if errors or schedule is None:
        raise ScheduleInvalid(errors)
    return schedule


def _kind_of(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, bool):
        return "a yes-or-no value"
    if isinstance(data, (int, float)):
        return "a number"
    return "text"


@dataclass(frozen=True)
class ScheduleSource:
    """A valid schedule and where each of its values was written: for mistakes that only show
    later, such as a room event too large for the homeserver."""

    schedule: Schedule
    file: str
    lines: LineMap

    def error(self, path: tuple, message: str) -> ScheduleError:
        """A mistake at ``path`` (like ``("talks", 3, "title")``), on the line it was written."""
        return ScheduleError(self.file, self.lines.line_for(path), format_path(path), message)


def parse_schedule(text: str, filename: str = "schedule.yaml") -> Schedule:
    """Parse and validate YAML text; raises :class:`ScheduleInvalid` with every problem."""
    return parse_schedule_source(text, filename).schedule


def parse_schedule_source(text: str, filename: str = "schedule.yaml") -> ScheduleSource:
    """:func:`parse_schedule`, keeping the line of every value."""
    errors: list[ScheduleError] = []
    try:
        data, lines = load_yaml(text, filename)
    except YamlSourceError as exc:
        errors = [ScheduleError(filename, p.line, format_path(p.path), p.message)
                  for p in exc.problems]
        if not exc.has_data:
            raise ScheduleInvalid(errors) from None
        data, lines = exc.data, exc.lines
    return ScheduleSource(_validate(data, filename, lines, errors), filename, lines)


def load_schedule(path: Path | str) -> Schedule:
    """Read and validate a schedule file; raises :class:`ScheduleInvalid` (also when the file
    cannot be read)."""
    return load_schedule_source(path).schedule


def load_schedule_source(path: Path | str) -> ScheduleSource:
    """:func:`load_schedule`, keeping the line of every value."""
    path = Path(path)
    try:
        data = read_input(path, SCHEDULE_LIMIT, "a schedule file (schedule.yaml)")
    except InputRefused as exc:
        raise ScheduleInvalid([ScheduleError(str(path), None, "", exc.reason)]) from None
    except FileNotFoundError:
        raise ScheduleInvalid([ScheduleError(str(path), None, "",
                                             "file not found; check the path")]) from None
    except OSError as exc:
        raise ScheduleInvalid([ScheduleError(
            str(path), None, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    try:
        # Line breaks stay as written: the YAML reader counts \r\n, \r and \n as one each.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise ScheduleInvalid([ScheduleError(
            str(path), data.count(b"\n", 0, exc.start) + 1, "",
            f"the file is not UTF-8 text ({exc.reason} at column {exc.start - line_start + 1}); "
            "save it as UTF-8")]) from None
    # Poster PDFs given as paths are found, and checked, beside the file.
    token = _SCHEDULE_DIR.set(path.parent)
    try:
        return parse_schedule_source(text, str(path))
    finally:
        _SCHEDULE_DIR.reset(token)
