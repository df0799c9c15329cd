"""Sponsors' jobs and digital swag, pure: what ``!job`` takes, what the jobs room is told, and how
a file of swag codes is read.

A job posted with ``!job`` is numbered per sponsor (1, 2, 3 …, never given twice, so ``!job
remove 2`` means the same job to everyone looking at the list), and shown beside the jobs the
schedule lists under the sponsor's ``jobs:``.

Swag codes come from the organisers in a file: plain text with one code per line, or a CSV file
(by its ``.csv`` name) with a ``code`` column. Blank lines and repeated codes are skipped and
reported; a code that cannot be one (too long, control characters) stops the whole file, located
by line, so that nothing is half loaded.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .roomkeys import SPONSOR, kind_of, lobby_key, object_id
from .schedule import Schedule, ScheduleError, ScheduleInvalid, Sponsor
from .userinput import UsageError, one_line, quoted, visible_length

#: The room kind sponsor rooms are made from, and the lobby room job offers are posted in.
SPONSOR_KIND = "sponsor"
JOBS_ROOM = lobby_key("jobs")
#: A job title is one line the jobs room shows whole.
MAX_TITLE = 200
#: Long enough for any careers page, short enough to read in a chat line.
MAX_JOB_URL = 2_000
#: A swag code is something to paste: a voucher, a licence key, a link.
MAX_CODE = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def sponsor_of(schedule: Schedule, room_key: str) -> Sponsor | None:
    """The sponsor whose booth room ``room_key`` is (``sponsor/<id>``), if it is in the schedule."""
    kind, item = kind_of(room_key), object_id(room_key)
    if kind != SPONSOR:
        return None
    return next((s for s in schedule.sponsors if s.id == item), None)


# ----------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """A job a sponsor's staff posted in their room."""

    sponsor: str
    number: int
    title: str
    url: str
    posted_by: str
    posted_at: float  # unix seconds, the homeserver's time of the !job
    source_event_id: str
    announced_event_id: str | None = None  # its post in the jobs room
    removal_event_id: str | None = None  # the ``!job remove`` that took it down

    @property
    def label(self) -> str:
        return f"#{self.number}"


def parse_job(args: str) -> tuple[str, str]:
    """(title, url) of ``!job <title> <url>``: the last word is the address, the rest the title."""
    words = args.split()
    if not words:
        raise UsageError("give the job's title and then its web address")
    *title_words, url = words
    if not title_words:
        if http_url(url) is None:
            raise UsageError("give the job's title and then its web address")
        raise UsageError("give the job's title before its web address")
    checked = http_url(url)
    if checked is None:
        raise UsageError(f"{quoted(url)} is not a web address; end with the job's full http:// or https:// address")
    if len(url) > MAX_JOB_URL:
        raise UsageError(f"the web address can be at most {MAX_JOB_URL} characters; this one has {len(url)}")
    title = one_line(" ".join(title_words))
    if visible_length(title) == 0:
        raise UsageError("give the job's title before its web address")
    if len(title) > MAX_TITLE:
        raise UsageError(f"a job title can be at most {MAX_TITLE} characters; this one has {len(title)}")
    return title, checked


def http_url(text: str) -> str | None:
    """``text`` if it is a full http(s) address with a host, on one line (its scheme in lower
    case, as links take it), else None."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or _CONTROL.search(text):
        return None
    if any(c.isspace() for c in text):
        return None
    return parts.scheme.lower() + text[len(parts.scheme):]


# ----------------------------------------------------------------------------- swag


@dataclass(frozen=True)
class SwagCodes:
    """The codes of a file, in order, each with its line; what was skipped, and why."""

    codes: tuple[tuple[int, str], ...]
    blank_lines: tuple[int, ...]
    repeated: tuple[tuple[int, int], ...]  # (line, the line it repeats)


def read_swag_codes(text: str, file: str, *, as_csv: bool) -> SwagCodes:
    """The codes in a file's ``text`` (``file`` names it in errors). ScheduleInvalid, with every
    bad line located, when any code cannot be one or there is none."""
    rows = _csv_rows(text, file) if as_csv else list(enumerate(text.splitlines(), 1))
    codes: list[tuple[int, str]] = []
    blank: list[int] = []
    repeated: list[tuple[int, int]] = []
    first_line: dict[str, int] = {}
    errors: list[ScheduleError] = []
    for line, raw in rows:
        value = raw.strip()
        if not value:
            blank.append(line)
        elif _CONTROL.search(value):
            errors.append(ScheduleError(file, line, "code", "this code has a control character (a tab, say) in it; "
                                                             "write one code per line and nothing else"))
        elif len(value) > MAX_CODE:
            errors.append(ScheduleError(file, line, "code", f"this code has {len(value):,} characters; a code can "
                                                             f"have at most {MAX_CODE}"))
        elif value in first_line:
            repeated.append((line, first_line[value]))
        else:
            first_line[value] = line
            codes.append((line, value))
    if not errors and not codes:
        errors.append(ScheduleError(file, None, "", "there are no codes in this file; write one code per line"
                                    + (" in its 'code' column" if as_csv else "")))
    if errors:
        raise ScheduleInvalid(errors)
    return SwagCodes(tuple(codes), tuple(blank), tuple(repeated))


def _csv_rows(text: str, file: str) -> list[tuple[int, str]]:
    """(line, the ``code`` column) of every row of a CSV file after its header."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None:
            raise ScheduleInvalid([ScheduleError(file, None, "", "the file is empty; a CSV file of swag codes starts "
                                                                 "with a header line naming a 'code' column")])
        names = [name.strip().lower() for name in header]
        if "code" not in names:
            shown = ", ".join(f"'{one_line(name, 40)}'" for name in header) or "nothing"
            raise ScheduleInvalid([ScheduleError(file, 1, "", f"there is no 'code' column (the header has {shown}); "
                                                              "name the column of codes 'code'")])
        column = names.index("code")
        rows = []
        for row in reader:
            rows.append((reader.line_num, row[column] if column < len(row) else ""))
        return rows
    except csv.Error as exc:
        raise ScheduleInvalid([ScheduleError(file, reader.line_num, "", f"this is not CSV the reader understands "
                                                                        f"({exc})")]) from None
