"""The conference schedule: models, parsing and validation.

Organisers describe the whole event in one ``schedule.yaml`` (see the sample at the repository
root). This module turns that file - or a dict built by an importer - into a validated, frozen
:class:`Schedule`, or raises :class:`ScheduleInvalid` listing *every* mistake at once, each with
its file, line, path (``talks[3].duration``) and a plain-English message saying what is wrong and
what to do about it.

Entry points:

* :func:`load_schedule` / :func:`parse_schedule` - from a file / from YAML text.
* :func:`validate_schedule_data` - from plain data (importers build a dict and reuse this).
* :func:`check_schedule` - the cross-field checks alone, for a :class:`Schedule` built or edited
  in memory (e.g. after shifting a delayed track).

Times: a naive time (``2026-07-13 09:00``) is in the conference timezone; an explicit offset
(``2026-07-13T09:00+02:00`` or ``...Z``) is honoured (the same instant, expressed in the
conference timezone). All datetimes in the models are aware.
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Iterable, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..wording import counted
from .yamlsource import LineMap, YamlSourceError, format_path, load_yaml

__all__ = [
    "ConferenceInfo",
    "DEFAULT_LOBBY",
    "DurationError",
    "Helpdesk",
    "Job",
    "LobbyRoom",
    "OpenSpace",
    "OpenSpaceRoom",
    "Person",
    "Poster",
    "Schedule",
    "ScheduleError",
    "ScheduleInvalid",
    "ScheduleSource",
    "Slot",
    "Sponsor",
    "Staff",
    "Talk",
    "Track",
    "VideoSettings",
    "check_schedule",
    "is_free_form",
    "load_schedule",
    "load_schedule_source",
    "parse_duration",
    "parse_schedule",
    "parse_schedule_source",
    "validate_schedule_data",
]

MAX_DURATION = timedelta(hours=24)

#: The years a conference may take place in. Python's calendar ends with 9999 and every time
#: Podium works out (the day after the last, a talk's end, a delay, the same moment in another
#: timezone) must stay inside it; a conference before 1970 has no Matrix timestamps.
MIN_YEAR, MAX_YEAR = 1970, 9998

#: What the homeserver will store, field by field. A name or title becomes a room name, shown on
#: one line: the spec once capped room names at 255 bytes and some clients still refuse longer
#: ones. Topics, descriptions and abstracts may be long, but a room topic made of one must still
#: fit in a Matrix event (65,536 bytes) even at four bytes a character, with room to spare for
#: what a template adds. RFC 9110 asks every HTTP implementation to handle URLs of 8,000 octets.
#: Matrix user IDs are at most 255 bytes. Room events themselves are measured once the templates
#: have rendered them (bot.provisioning.limits).
MAX_NAME_LENGTH = 255
MAX_TEXT_LENGTH = 10_000
MAX_URL_LENGTH = 8_000
MAX_MATRIX_ID_BYTES = 255

CONFERENCE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$")
MATRIX_ID_RE = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d+)?$")


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ScheduleError:
    """One mistake in a schedule, located as precisely as we can."""

    file: str
    line: int | None
    path: str  # like "talks[3].duration"; "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def _sort_key(self) -> tuple:
        return (self.file, self.line is None, self.line or 0, self.path)


class ScheduleInvalid(Exception):
    """The schedule has mistakes; ``errors`` lists all of them (sorted by line)."""

    def __init__(self, errors: list[ScheduleError]) -> None:
        self.errors = sorted(errors, key=ScheduleError._sort_key)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.errors)
        files = sorted({e.file for e in self.errors})
        count = f"{counted(n, 'problem')} found in {', '.join(files) or 'the schedule'}"
        return "\n".join([*(str(e) for e in self.errors), f"{count}; fix and try again."])


class DurationError(ValueError):
    """A duration that cannot be understood or is out of range."""


def _err(kind: str, message: str) -> PydanticCustomError:
    # Without a context the message is used verbatim (no {placeholder} formatting), so user
    # input containing braces is safe.
    return PydanticCustomError(f"podium_{kind}", message)


def _show(value: Any) -> str:
    """Describe a YAML value the way an organiser wrote it."""
    if value is None:
        return "nothing (the value is empty)"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a block of fields"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


def _suggest(word: Any, choices: Iterable[str]) -> str:
    choices = [c for c in choices if isinstance(c, str)]
    if not isinstance(word, str):
        return ""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f" (did you mean '{lowered[word.lower()]}'?)"
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[match[0]]}'?)" if match else ""


# --------------------------------------------------------------------------- value parsers


_DURATION_WORDS = re.compile(
    r"^(?:(?P<h>\d{1,4})\s*h(?:ours?|rs?)?)?\s*(?:(?P<m>\d{1,6})\s*m(?:in(?:ute)?s?)?)?$")
_DURATION_CLOCK = re.compile(r"^(?P<h>\d{1,4}):(?P<m>[0-5]\d)$")
_DURATION_ISO = re.compile(r"^pt(?:(?P<h>\d{1,4})h)?(?:(?P<m>\d{1,6})m)?$")
_DURATION_HINT = 'write minutes (45) or hours and minutes ("45m", "1h", "1h30m")'


def parse_duration(value: Any) -> timedelta:
    """Parse a talk/slot length: ``45`` (minutes), ``"45m"``, ``"1h"``, ``"1h30m"``,
    ``"1h 30m"``, ``"90 min"``, ``"1:30"`` or ``"PT1H30M"``; also a ``timedelta``.

    The result is more than 0 and at most 24 hours. Anything else raises
    :class:`DurationError` (a ``ValueError``) with a message for organisers.
    """
    if isinstance(value, bool) or value is None:
        raise DurationError(f"{_show(value)} is not a duration; {_DURATION_HINT}")
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and (value != value or not value.is_integer()):
            raise DurationError(f"{_show(value)} is not a whole number of minutes; "
                                f"{_DURATION_HINT}")
        # Clamp before building the timedelta (huge numbers would overflow it); the range
        # check below then reports them.
        result = timedelta(minutes=int(max(-1, min(value, 24 * 60 + 1))))
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.isascii() and text.isdigit() and len(text) <= 6:
            result = timedelta(minutes=int(text))
        else:
            m = None
            for rx in (_DURATION_WORDS, _DURATION_CLOCK, _DURATION_ISO):
                m = rx.match(text)
                if m and (m.group("h") or m.group("m")):
                    break
                m = None
            if m is None or not text.isascii():
                raise DurationError(f"{_show(value)} is not a duration; {_DURATION_HINT}")
            result = timedelta(hours=int(m.group("h") or 0), minutes=int(m.group("m") or 0))
    else:
        raise DurationError(f"{_show(value)} is not a duration; {_DURATION_HINT}")
    if result <= timedelta(0):
        raise DurationError(f"the duration must be longer than 0 minutes (got {_show(value)}); "
                            f"{_DURATION_HINT}")
    if result > MAX_DURATION:
        raise DurationError(f"the duration {_show(value)} is longer than 24 hours; "
                            "split it into several entries")
    return result


def _fmt_duration(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m"


_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:\s*T\s*|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$", re.I)
_DATETIME_HINT = ("write it like 2026-07-13 09:00 (in the conference timezone) "
                  "or 2026-07-13T09:00+02:00 (with an explicit offset)")


def _in_years(day: date, shown: Any) -> None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise _err("year", f"{_show(shown)} is in the year {day.year}; Podium schedules "
                           f"conferences from {MIN_YEAR} to {MAX_YEAR}, so check the year")


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise _err("date", f"{_show(value.isoformat(' '))} has a time; "
                           "give just the day, like 2026-07-13")
    if isinstance(value, date):
        _in_years(value, value.isoformat())
        return value
    if isinstance(value, str):
        m = _DATE_RE.match(value.strip())
        if m:
            try:
                day = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise _err("date", f"{_show(value)} is not a real day of the calendar; "
                                   "check the month and day") from None
            _in_years(day, value)
            return day
        if _DATETIME_RE.match(value.strip()):
            raise _err("date", f"{_show(value)} has a time; give just the day, like 2026-07-13")
    raise _err("date", f"{_show(value)} is not a date; write it like 2026-07-13 (year-month-day)")


#: The timezone for naive times while a schedule is being validated (set from its conference).
_CURRENT_TZ: contextvars.ContextVar[tzinfo | None] = contextvars.ContextVar(
    "podium_schedule_tz", default=None)


def _localise(naive: datetime, tz: tzinfo, shown: Any) -> datetime:
    aware = naive.replace(tzinfo=tz)
    back = aware.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)
    if back != naive:
        raise _err("datetime", f"{_show(shown)} does not exist in {tz} (the clocks skip that "
                               "hour when summer time starts); pick another time")
    return aware


def _parse_datetime(value: Any, info: ValidationInfo) -> datetime:
    tz = (info.context or {}).get("tz") if isinstance(info.context, dict) else None
    tz = tz or _CURRENT_TZ.get()
    if isinstance(value, datetime):
        dt = value
        _in_years(dt, dt.isoformat(" "))
    elif isinstance(value, date):
        raise _err("datetime", f"{_show(value.isoformat())} has no time of day; {_DATETIME_HINT}")
    elif isinstance(value, str):
        text = value.strip()
        m = _DATETIME_RE.match(text)
        if not m:
            if _DATE_RE.match(text):
                raise _err("datetime", f"{_show(value)} has no time of day; {_DATETIME_HINT}")
            raise _err("datetime", f"{_show(value)} is not a date and time; {_DATETIME_HINT}")
        y, mo, d, h, mi, s, frac, off = m.groups()
        try:
            dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0),
                          int((frac or "0").ljust(6, "0")))
        except ValueError:
            raise _err("datetime", f"{_show(value)} is not a real date and time; check the "
                                   "month, day, hour (0-23) and minutes (0-59)") from None
        # Before any timezone arithmetic, which would overflow at the ends of the calendar.
        _in_years(dt, value)
        if off:
            off = off.upper()
            if off in ("Z", "UTC"):
                dt = dt.replace(tzinfo=timezone.utc)
            else:
                sign = -1 if off[0] == "-" else 1
                digits = off[1:].replace(":", "")
                oh, om = int(digits[:2]), int(digits[2:4] or 0)
                if oh > 23 or om > 59:
                    raise _err("datetime", f"{_show(value)} has an impossible UTC offset; "
                                           f"{_DATETIME_HINT}")
                dt = dt.replace(tzinfo=timezone(sign * timedelta(hours=oh, minutes=om)))
    else:
        raise _err("datetime", f"{_show(value)} is not a date and time; {_DATETIME_HINT}")
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        if tz is None:
            raise _err("datetime", f"{_show(value)} has no timezone; add an offset "
                                   "like +02:00, or validate it as part of a whole schedule "
                                   "(naive times use the conference timezone)")
        return _localise(dt, tz, value)
    # An explicit offset is honoured (same instant), shown in the conference timezone.
    return dt.astimezone(tz) if tz is not None else dt


def _check_duration(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise _err("duration", str(exc)) from None


def _id_suggestion(value: str, lower: bool) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", value.strip()).strip("-._")
    if lower:
        s = re.sub(r"[^a-z0-9-]+", "-", s.lower()).strip("-")[:24]
    else:
        s = s[:48]
    return f" (e.g. '{s}')" if s and s != value else ""


def _check_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _err("id", f"an id must be text, not {_show(value)}; "
                         "use letters, digits, '.', '_' or '-'")
    if not ID_RE.fullmatch(value):  # fullmatch: '$' alone lets a final line break through
        if not value:
            raise _err("id", "the id is empty; give every entry a short unique id like 'forum'")
        raise _err("id", f"{_show(value)} is not a valid id: use 1-48 letters, digits, '.', '_' "
                         f"or '-', starting with a letter or digit, no spaces"
                         f"{_id_suggestion(value, False)}")
    return value


def _check_conference_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not CONFERENCE_ID_RE.fullmatch(value):
        hint = _id_suggestion(value, True) if isinstance(value, str) else ""
        raise _err("conference_id",
                   f"{_show(value)} is not a valid conference id: use 1-24 lowercase letters, "
                   "digits or '-', starting with a letter or digit; it prefixes every room "
                   f"alias, like #ep2026-forum{hint}")
    return value


#: Unicode's control characters (category Cc), and the same but for line breaks and tabs.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str, *, lines: bool) -> str:
    """``text`` if it holds no control characters; long text (``lines``) may hold line breaks
    and tabs. Control characters cannot be shown, and in a terminal they can rewrite what is
    printed around them."""
    bad = (_CONTROL_BUT_LINES if lines else _CONTROL).search(text)
    if bad is None:
        return text
    if not lines and bad[0] in "\n\r":
        raise _err("text", "a name or title must be one line; remove the line break")
    raise _err("text", f"this text holds the control character U+{ord(bad[0]):04X}, which "
                       "cannot be shown; remove it")


def _check_length(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise _err("too_long", f"this {what} has {len(text):,} characters; Podium takes at most "
                               f"{limit:,} here, so that the homeserver can store the rooms made "
                               "from it; shorten it")
    return text


def _text_value(value: Any) -> str | None:
    """Text as written (numbers are text too), stripped; None when the value is empty."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _err("text", f"expected text here, not {_show(value)}; put it in quotes if you "
                           "meant it as text")
    return value.strip() or None


def _one_line(text: str) -> str:
    return _check_length(_printable(text, lines=False), MAX_NAME_LENGTH, "name or title")


def _check_text(value: Any) -> str:
    """A name or title: one line of text, required."""
    text = _text_value(value)
    if text is None:
        if value is None:
            raise _err("text", "this is empty; write some text after the colon")
        raise _err("text", "this must not be empty; write some text")
    return _one_line(text)


def _check_optional_line(value: Any) -> str:
    text = _text_value(value)
    return "" if text is None else _one_line(text)


def _check_optional_text(value: Any) -> str:
    """Long text: topics, descriptions, abstracts."""
    text = _text_value(value)
    if text is None:
        return ""
    return _check_length(_printable(text, lines=True), MAX_TEXT_LENGTH, "text")


def _check_matrix_id(value: Any) -> str:
    example = ("write it like @alice:example.org ('@', the lowercase user name, ':', the "
               "server name)")
    if not isinstance(value, str):
        raise _err("matrix_id", f"expected a Matrix ID, not {_show(value)}; {example}")
    text = value.strip()
    if MATRIX_ID_RE.match(text):
        if len(text.encode()) > MAX_MATRIX_ID_BYTES:
            raise _err("matrix_id", f"this Matrix ID has {len(text.encode()):,} characters; "
                                    f"Matrix IDs have at most {MAX_MATRIX_ID_BYTES}, so check it")
        return text
    hint = ""
    if not text.startswith("@"):
        hint = " (it must start with '@')"
    elif ":" not in text:
        hint = " (the server part, like ':example.org', is missing)"
    elif MATRIX_ID_RE.match(text.lower()):
        hint = f" (Matrix user names are lowercase: did you mean '{text.lower()}'?)"
    raise _err("matrix_id", f"{_show(value)} is not a valid Matrix ID{hint}; {example}")


def matrix_id_problem(value: Any) -> str | None:
    """Why ``value`` is not a Matrix ID, in the words the schedule uses (None: it is one). For
    other files that name people, such as the attendee lists ``podium invite`` reads."""
    try:
        _check_matrix_id(value)
    except PydanticCustomError as exc:
        return exc.message()
    return None


def _check_url(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _err("url", f"expected a web address, not {_show(value)}; "
                          "use a full https:// URL")
    text = value.strip()
    parts = None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = None
    if (parts is not None and parts.scheme.lower() in ("http", "https") and parts.hostname
            and not any(c.isspace() for c in text) and not _CONTROL.search(text)):
        return _check_length(text, MAX_URL_LENGTH, "web address")
    hint = ""
    if parts is not None and not parts.scheme and "." in text.split("/")[0]:
        hint = f" (did you mean 'https://{text}'?)"
    raise _err("url", f"{_show(value)} is not a web address; use a full http:// or https:// "
                      f"URL{hint}")


def _check_host(value: Any) -> str:
    # 253 characters: the longest name DNS can resolve.
    if isinstance(value, str) and HOST_RE.match(value.strip()) and len(value.strip()) <= 253:
        return value.strip()
    raise _err("host", f"{_show(value)} is not a host name; give just the server, like "
                       "meet.jit.si (no https:// and no path)")


def _listify(value: Any) -> Any:
    """An empty value is an empty list; a single item is a list of one."""
    if value is None:
        return []
    if isinstance(value, (str, dict)):
        return [value]
    return value


def _empty_list(value: Any) -> Any:
    return [] if value is None else value


def _lowercase(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _bool(value: Any) -> Any:
    return False if value is None else value


class _FreeForm:
    """Marks the fields organisers write freely (text, URLs, lists of people) and room
    templates copy into rooms: what makes a room event large, so what to shorten when one is
    too large for the homeserver."""

    def __repr__(self) -> str:
        return "FREE_FORM"


FREE_FORM = _FreeForm()


def is_free_form(model: type[BaseModel], field: str) -> bool:
    info = model.model_fields.get(field)
    return info is not None and any(m is FREE_FORM for m in info.metadata)


Id = Annotated[str, BeforeValidator(_check_id)]
Text = Annotated[str, BeforeValidator(_check_text), FREE_FORM]  # a name or title: one line
OptLine = Annotated[str, BeforeValidator(_check_optional_line), FREE_FORM]
OptText = Annotated[str, BeforeValidator(_check_optional_text), FREE_FORM]  # may be long
MatrixId = Annotated[str, BeforeValidator(_check_matrix_id)]
MatrixIds = Annotated[list[MatrixId], BeforeValidator(_listify), FREE_FORM]
Url = Annotated[Union[str, None], BeforeValidator(_check_url), FREE_FORM]
Duration = Annotated[timedelta, BeforeValidator(_check_duration)]
Moment = Annotated[datetime, BeforeValidator(_parse_datetime)]
Day = Annotated[date, BeforeValidator(_parse_date)]
Flag = Annotated[bool, BeforeValidator(_bool)]


# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class VideoSettings(_Model):
    jitsi_domain: Annotated[str, BeforeValidator(_check_host)] = "meet.jit.si"
    jitsi_wrapper_url: Annotated[str, BeforeValidator(_check_url), FREE_FORM] = (
        "https://app.element.io/jitsi.html")

    @field_validator("jitsi_wrapper_url", mode="after")
    @classmethod
    def _wrapper_required(cls, v: str | None) -> str:
        return v or "https://app.element.io/jitsi.html"


@functools.lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    try:
        return frozenset(available_timezones())
    except Exception:  # pragma: no cover - no tz database at all
        return frozenset()


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _check_timezone(value: Any) -> str:
    hint = "use an IANA timezone name such as Europe/Prague, America/New_York or UTC"
    if not isinstance(value, str) or not value.strip():
        raise _err("timezone", f"expected a timezone name, not {_show(value)}; {hint}")
    name = value.strip()
    try:
        _zone(name)
        return name
    except Exception:
        pass
    raise _err("timezone",
               f"unknown timezone {_show(name)}{_suggest(name, _known_timezones())}; {hint}")


class ConferenceInfo(_Model):
    id: Annotated[str, BeforeValidator(_check_conference_id)]
    name: Text
    description: OptText = ""
    timezone: Annotated[str, BeforeValidator(_check_timezone)]
    start: Day
    end: Day
    access: Annotated[Literal["public", "space-members", "invite"],
                      BeforeValidator(_lowercase)] = "space-members"
    video: Annotated[VideoSettings, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=VideoSettings)

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    @property
    def days(self) -> list[date]:
        """Every conference day, first to last."""
        n = (self.end - self.start).days + 1
        return [self.start + timedelta(days=i) for i in range(max(n, 0))]

    @property
    def starts_at(self) -> datetime:
        """Midnight at the start of the first day, in the conference timezone."""
        return datetime.combine(self.start, time(0), self.tz)

    @property
    def ends_at(self) -> datetime:
        """Midnight at the end of the last day (24:00), in the conference timezone."""
        return datetime.combine(self.end + timedelta(days=1), time(0), self.tz)


class Staff(_Model):
    organisers: MatrixIds = Field(default_factory=list)
    moderators: MatrixIds = Field(default_factory=list)


class LobbyRoom(_Model):
    id: Id
    name: Text
    topic: OptText = ""
    read_only: Flag = False


DEFAULT_LOBBY: tuple[LobbyRoom, ...] = (
    LobbyRoom(id="announcements", name="Announcements",
              topic="News from the organisers. Only organisers post here.", read_only=True),
    LobbyRoom(id="info-desk", name="Info desk",
              topic="Questions about the conference? Ask here."),
    LobbyRoom(id="hallway", name="Hallway", topic="Chat with everyone at the conference."),
    LobbyRoom(id="jobs", name="Jobs", topic="Job offers from sponsors and attendees."),
)


class Track(_Model):
    id: Id
    name: Text
    kind: Annotated[Literal["talk", "training", "plenary"], BeforeValidator(_lowercase)] = "talk"
    stream: Url = None
    chairs: MatrixIds = Field(default_factory=list)
    topic: OptText = ""

    @property
    def stream_kind(self) -> Literal["hls", "iframe"] | None:
        """``"hls"`` for an .m3u8 playlist, ``"iframe"`` for any other URL, None without one."""
        if not self.stream:
            return None
        return "hls" if urlsplit(self.stream).path.lower().endswith(".m3u8") else "iframe"


class Person(_Model):
    name: Text
    matrix_id: Annotated[Union[MatrixId, None], BeforeValidator(
        lambda v: None if v == "" else v)] = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return {"name": value}
        return value


People = Annotated[list[Person], BeforeValidator(_listify), FREE_FORM]


def later_by(moment: datetime, duration: timedelta) -> datetime:
    """``moment`` plus ``duration`` of real time, in ``moment``'s zone. Python adds to an aware
    datetime by its wall clock, so a two-hour talk at 01:30 on the night the clocks go back
    would otherwise end at 03:30 local, three hours later; counted in UTC it ends at 02:30."""
    return (moment.astimezone(timezone.utc) + duration).astimezone(moment.tzinfo)


def _check_ref(value: Any) -> str | None:
    text = _text_value(value)
    if text is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", text):
        raise _err("ref", f"{_show(value)} is not a reference Podium writes; `podium import` sets it to the "
                          "talk's pretalx code or frab guid (1-64 letters, digits, '.', '_', ':' or '-'): "
                          "restore it, or remove the line to make the talk your own")
    return text


class Talk(_Model):
    id: Id
    track: Id
    title: Text
    kind: Annotated[Literal["talk", "keynote", "lightning", "panel", "workshop", "tutorial"],
                    BeforeValidator(_lowercase)] = "talk"
    start: Moment
    duration: Duration
    speakers: People = Field(default_factory=list)
    abstract: OptText = ""
    #: The talk's identity in the system it was imported from (pretalx's submission code, a frab
    #: guid): how a re-import finds it again after its title or slot changed.
    ref: Annotated[str | None, BeforeValidator(_check_ref)] = None

    @property
    def end(self) -> datetime:
        return later_by(self.start, self.duration)


#: The largest poster PDF Podium reads or fetches: a few pages of vector graphics and photos.
MAX_POSTER_BYTES = 25 * 1024 * 1024
#: The folder of the schedule file being loaded: a poster's ``pdf`` may be a path inside it.
_SCHEDULE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "podium_schedule_dir", default=None)
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _check_poster_pdf(value: Any) -> str | None:
    """An http(s) URL, or the path of a PDF file beside schedule.yaml (``posters/x.pdf``).

    A path is checked when the schedule is loaded from its file: it must stay inside the
    schedule's folder (no ``..``, no absolute path, no symbolic link leading out), and name a
    PDF no larger than the web server serves. Parsed from text alone there is no folder to
    look in, so only its form is checked."""
    if not isinstance(value, str) or _URL_SCHEME.match(value.strip()) or value.strip().startswith("//"):
        return _check_url(value)
    text = value.strip()
    if not text:
        return None
    how = ("write an https:// URL, or the path of the PDF relative to the folder of "
           "schedule.yaml, like posters/my-poster.pdf")
    if _CONTROL.search(text):
        raise _err("pdf", f"{_show(value)} holds a control character; {how}")
    _check_length(text, MAX_URL_LENGTH, "path")
    relative = PurePosixPath(text.replace("\\", "/"))
    if relative.is_absolute() or text.startswith("~"):
        raise _err("pdf", f"{_show(value)} is an absolute path; the web server serves only "
                          f"files inside the schedule's folder: {how}")
    if ".." in relative.parts:
        raise _err("pdf", f"{_show(value)} leads out of the schedule's folder ('..'); the web "
                          f"server serves only files inside it: {how}")
    if relative.suffix.lower() != ".pdf":
        raise _err("pdf", f"{_show(value)} is not a .pdf file; {how}")
    folder = _SCHEDULE_DIR.get()
    if folder is not None:
        _check_poster_file(text, folder)
    return text


def _check_poster_file(text: str, folder: Path) -> Path:
    """The file ``text`` names inside ``folder``, resolved; a located error if it is missing,
    outside the folder once links are followed, too large or not a PDF."""
    root = folder.resolve()
    target = (root / text).resolve()
    if not target.is_relative_to(root):
        raise _err("pdf", f"{_show(text)} leads out of the schedule's folder {root} (through a "
                          "symbolic link); put the PDF itself inside that folder")
    if not target.is_file():
        raise _err("pdf", f"no file {target}; put the poster's PDF there, or fix the path "
                          "(it is relative to the folder of schedule.yaml)")
    try:
        size = target.stat().st_size
        with target.open("rb") as pdf:
            head = pdf.read(5)
    except OSError as exc:
        raise _err("pdf", f"cannot read {target}: {exc.strerror or exc}") from None
    if size > MAX_POSTER_BYTES:
        raise _err("pdf", f"{target} has {size / 2**20:.0f} MB; the web server serves posters of "
                          f"at most {MAX_POSTER_BYTES // 2**20} MB, so make it smaller")
    if head != b"%PDF-":
        raise _err("pdf", f"{target} is not a PDF file (it does not start with %PDF-); "
                          "export the poster as PDF")
    return target


PosterPdf = Annotated[str | None, BeforeValidator(_check_poster_pdf), FREE_FORM]


class Slot(_Model):
    start: Moment
    duration: Duration

    @property
    def end(self) -> datetime:
        return later_by(self.start, self.duration)


class Poster(_Model):
    id: Id
    title: Text
    presenters: People = Field(default_factory=list)
    #: When its presenters are in its room's call: the clock says so there as each one starts.
    sessions: Annotated[list[Slot], BeforeValidator(_empty_list)] = Field(default_factory=list)
    #: An http(s) URL, or a path relative to schedule.yaml (see pdf_file).
    pdf: PosterPdf = None
    abstract: OptText = ""
    _pdf_file: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _locate_pdf(self) -> Poster:
        folder = _SCHEDULE_DIR.get()
        if self.pdf is not None and self.pdf_url is None and folder is not None:
            self._pdf_file = (folder.resolve() / self.pdf).resolve()
        return self

    @property
    def pdf_url(self) -> str | None:
        """The PDF's web address, when ``pdf`` is one."""
        return self.pdf if self.pdf is not None and _URL_SCHEME.match(self.pdf) else None

    @property
    def pdf_file(self) -> Path | None:
        """The PDF file beside the schedule, when ``pdf`` is a path and the schedule was loaded
        from its file (checked then: inside its folder, a PDF, not too large)."""
        return self._pdf_file


class Job(_Model):
    title: Text
    url: Url = None

    @model_validator(mode="before")
    @classmethod
    def _from_title(cls, value: Any) -> Any:
        return {"title": value} if isinstance(value, str) else value


class Sponsor(_Model):
    id: Id
    name: Text
    level: OptLine = ""
    staff: MatrixIds = Field(default_factory=list)
    booth_url: Url = None
    description: OptText = ""
    jobs: Annotated[list[Job], BeforeValidator(_empty_list), FREE_FORM] = Field(
        default_factory=list)


class Helpdesk(_Model):
    id: Id
    name: Text
    staff: MatrixIds = Field(default_factory=list)
    video: Flag = False
    topic: OptText = ""


class OpenSpaceRoom(_Model):
    id: Id
    name: Text
    video: Flag = False
    topic: OptText = ""


class OpenSpace(_Model):
    rooms: Annotated[list[OpenSpaceRoom], BeforeValidator(_empty_list)] = Field(
        default_factory=list)
    slots: Annotated[list[Slot], BeforeValidator(_empty_list)] = Field(default_factory=list)


def _tz_from_raw(data: Any) -> tzinfo | None:
    """The conference timezone named in raw data, if it is a valid one."""
    try:
        conf = data.get("conference") if isinstance(data, dict) else None
        if isinstance(conf, ConferenceInfo):
            return conf.tz
        name = conf.get("timezone") if isinstance(conf, dict) else None
        return _zone(name.strip()) if isinstance(name, str) and name.strip() else None
    except Exception:
        return None


def _section(item_type: Any) -> Any:
    return Annotated[list[item_type], BeforeValidator(_empty_list)]


class Schedule(_Model):
    conference: ConferenceInfo
    staff: Annotated[Staff, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=Staff)
    lobby: Annotated[list[LobbyRoom], BeforeValidator(
        lambda v: list(DEFAULT_LOBBY) if v is None else v)] = Field(
        default_factory=lambda: list(DEFAULT_LOBBY))
    tracks: _section(Track) = Field(default_factory=list)
    talks: _section(Talk) = Field(default_factory=list)
    posters: _section(Poster) = Field(default_factory=list)
    sponsors: _section(Sponsor) = Field(default_factory=list)
    helpdesks: _section(Helpdesk) = Field(default_factory=list)
    open_space: Annotated[OpenSpace, BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=OpenSpace)

    @model_validator(mode="wrap")
    @classmethod
    def _conference_timezone(cls, data: Any, handler: Any) -> Any:
        # Naive times anywhere in the schedule are in the conference timezone.
        token = _CURRENT_TZ.set(_tz_from_raw(data) or _CURRENT_TZ.get())
        try:
            return handler(data)
        finally:
            _CURRENT_TZ.reset(token)

    # -- helpers ------------------------------------------------------------------------------

    def track(self, id: str) -> Track:
        for t in self.tracks:
            if t.id == id:
                return t
        raise KeyError(f"no track {id!r}")

    def talk(self, id: str) -> Talk:
        for t in self.talks:
            if t.id == id:
                return t
        raise KeyError(f"no talk {id!r}")

    def talks_in(self, track_id: str) -> list[Talk]:
        """The talks of one track, in order of start time."""
        return sorted((t for t in self.talks if t.track == track_id),
                      key=lambda t: (t.start, t.id))

    @property
    def organisers(self) -> list[str]:
        return list(self.staff.organisers)

    @property
    def moderators(self) -> list[str]:
        return list(self.staff.moderators)

    def all_matrix_ids(self) -> list[str]:
        """Every Matrix user named anywhere in the schedule, sorted, without repeats."""
        ids: set[str] = set(self.staff.organisers) | set(self.staff.moderators)
        for t in self.tracks:
            ids.update(t.chairs)
        for talk in self.talks:
            ids.update(p.matrix_id for p in talk.speakers if p.matrix_id)
        for poster in self.posters:
            ids.update(p.matrix_id for p in poster.presenters if p.matrix_id)
        for s in self.sponsors:
            ids.update(s.staff)
        for h in self.helpdesks:
            ids.update(h.staff)
        return sorted(ids)


# --------------------------------------------------------------------------- pydantic -> English


def _unwrap(t: Any) -> Any:
    while True:
        origin = get_origin(t)
        if origin is Annotated:
            t = get_args(t)[0]
        elif origin is Union or (origin is not None and str(origin) == "types.UnionType"):
            args = [a for a in get_args(t) if a is not type(None)]
            if len(args) != 1:
                return t
            t = args[0]
        else:
            return t


def _field_at(loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """The model that holds the last element of ``loc`` and that field's annotation."""
    t: Any = Schedule
    model: type[BaseModel] | None = None
    annotation: Any = None
    for part in loc:
        t = _unwrap(t)
        if isinstance(part, int):
            if get_origin(t) is list:
                t = get_args(t)[0]
                continue
            return None, None
        if isinstance(t, type) and issubclass(t, BaseModel):
            model = t
            f = t.model_fields.get(part)
            if f is None:
                return model, None
            t = annotation = f.annotation
            continue
        return None, None
    return model, _unwrap(annotation) if annotation is not None else None


_NOUNS = {"tracks": "track", "talks": "talk", "posters": "poster", "sponsors": "sponsor",
          "helpdesks": "helpdesk", "lobby": "lobby room", "rooms": "room", "slots": "slot",
          "jobs": "job", "speakers": "speaker", "presenters": "presenter"}


def _friendly(err: dict) -> str:
    kind: str = err["type"]
    loc: tuple = tuple(err["loc"])
    value = err.get("input")
    field = loc[-1] if loc else None
    if kind.startswith("podium_"):
        return err["msg"]
    if kind == "missing":
        if loc == ("conference",):
            return ("the conference section is missing; start the file with 'conference:' "
                    "giving id, name, timezone, start and end")
        model, _ = _field_at(loc)
        where = "this entry"
        if len(loc) >= 3 and isinstance(loc[-2], int) and loc[-3] in _NOUNS:
            where = f"this {_NOUNS[loc[-3]]}"
        elif len(loc) >= 2 and isinstance(loc[-2], str):
            where = f"'{loc[-2]}'"
        return f"required field '{field}' is missing; add '{field}: ...' to {where}"
    if kind == "extra_forbidden":
        model, _ = _field_at(loc)
        known = list(model.model_fields) if model else []
        hint = _suggest(field, known)
        if isinstance(field, str) and not hint:
            head = re.split(r"[\s:]", field, maxsplit=1)[0]
            if head in known and ":" in field:
                hint = f" (is a space missing after '{head}:'?)"
            elif head in known and head != field:
                hint = f" (is a ':' missing after '{head}'?)"
        if model is Schedule:
            return (f"unknown section '{field}'{hint}; the sections are: {', '.join(known)}")
        return f"unknown field '{field}'{hint}; fields allowed here: {', '.join(known)}"
    if kind == "invalid_key":
        return ("a field name must be text; check for a stray ':' or a missing name before "
                "the ':'")
    if kind == "literal_error":
        _, ann = _field_at(loc)
        allowed = [a for a in get_args(ann) if isinstance(a, str)] if ann is not None else []
        if not allowed:
            return f"{_show(value)} is not allowed here; choose one of {err['ctx']['expected']}"
        return (f"{_show(value)} is not a valid {field}{_suggest(value, allowed)}; choose one of: "
                f"{', '.join(allowed)}")
    if kind in ("string_type", "string_sub_type"):
        return f"expected text here, not {_show(value)}; put it in quotes if you meant text"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false here, not {_show(value)}"
    if kind in ("list_type", "tuple_type", "iterable_type"):
        noun = _NOUNS.get(field, "item") if isinstance(field, str) else "item"
        return (f"'{field}' should be a list, not {_show(value)}; write each {noun} on its own "
                "line starting with '- '")
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        model, ann = _field_at(loc)
        names = ", ".join(ann.model_fields) if isinstance(ann, type) and issubclass(
            ann, BaseModel) else ""
        what = f"'{field}'" if isinstance(field, str) else "this entry"
        return (f"{what} should be a block of 'name: value' fields"
                f"{' (' + names + ')' if names else ''}, not {_show(value)}; "
                "check the indentation")
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, ")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number here, not {_show(value)}"
    return f"{err['msg']} (got {_show(value)})"


def _without_typo_echoes(errors: list[dict]) -> list[dict]:
    """Drop "required field 'title' is missing" when the same entry has an unknown field
    'tittle' that looks like it: the unknown-field message already says "did you mean"."""
    unknown: dict[tuple, list[str]] = {}
    for err in errors:
        if err["type"] == "extra_forbidden" and err["loc"] and isinstance(err["loc"][-1], str):
            unknown.setdefault(tuple(err["loc"][:-1]), []).append(err["loc"][-1].lower())
    out = []
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc and isinstance(loc[-1], str):
            name, near = loc[-1].lower(), unknown.get(loc[:-1], [])
            heads = [re.split(r"[\s:]", u, maxsplit=1)[0] for u in near]
            if name in heads or difflib.get_close_matches(name, near, n=1, cutoff=0.6):
                continue
        out.append(err)
    return out


# --------------------------------------------------------------------------- semantic checks


@dataclass
class _ConfView:
    """What could be read of the conference section, even if the rest of it is broken."""

    tz: tzinfo | None
    start: date | None
    end: date | None
    timezone_name: str


@dataclass
class _Parts:
    conf: _ConfView
    tracks: list[tuple[int, Track]]
    talks: list[tuple[int, Talk]]
    slots: list[tuple[int, Slot]]
    #: ((poster index, session index), session) of every poster session.
    poster_sessions: list[tuple[tuple[int, int], Slot]]
    #: (section path, [(index, id)]) for every section whose ids must be unique.
    ids: dict[tuple, list[tuple[int, str]]]
    track_ids: list[str]
    #: (index, track id) of every talk that names a track, even if the talk is otherwise broken.
    talk_tracks: list[tuple[int, str]]


_ID_SECTIONS: tuple[tuple, ...] = (("lobby",), ("tracks",), ("talks",), ("posters",),
                                   ("sponsors",), ("helpdesks",), ("open_space", "rooms"))


def _parts_of(schedule: Schedule) -> _Parts:
    c = schedule.conference
    ids = {}
    for sec in _ID_SECTIONS:
        items = getattr(schedule, sec[0])
        if len(sec) > 1:
            items = getattr(items, sec[1])
        ids[sec] = [(i, x.id) for i, x in enumerate(items)]
    return _Parts(
        conf=_ConfView(c.tz, c.start, c.end, c.timezone),
        tracks=list(enumerate(schedule.tracks)),
        talks=list(enumerate(schedule.talks)),
        slots=list(enumerate(schedule.open_space.slots)),
        poster_sessions=[((i, j), session) for i, poster in enumerate(schedule.posters)
                         for j, session in enumerate(poster.sessions)],
        ids=ids,
        track_ids=[t.id for t in schedule.tracks],
        talk_tracks=[(i, t.track) for i, t in enumerate(schedule.talks)],
    )


def _quietly(fn, *args):
    try:
        return fn(*args)
    except Exception:
        return None


def _raw_list(data: dict, path: tuple) -> list:
    value: Any = data
    for p in path:
        value = value.get(p) if isinstance(value, dict) else None
    return value if isinstance(value, list) else []


def _parts_from_raw(data: dict) -> _Parts:
    """The parts of a schedule that *did* validate, for the cross-field checks."""
    conf = data.get("conference") if isinstance(data.get("conference"), dict) else {}
    tz_name = _quietly(_check_timezone, conf.get("timezone")) or ""
    view = _ConfView(
        tz=_zone(tz_name) if tz_name else None,
        start=_quietly(_parse_date, conf.get("start")),
        end=_quietly(_parse_date, conf.get("end")),
        timezone_name=tz_name,
    )

    def items_in(container: Any, path: tuple | str, model: type[BaseModel]) -> list:
        out = []
        for i, raw in enumerate(_raw_list(container, path if isinstance(path, tuple) else (path,))):
            try:
                out.append((i, model.model_validate(raw)))
            except ValidationError:
                pass
        return out

    def items(path: tuple, model: type[BaseModel]) -> list:
        return items_in(data, path, model)

    ids = {}
    for sec in _ID_SECTIONS:
        ids[sec] = [(i, str(raw["id"])) for i, raw in enumerate(_raw_list(data, sec))
                    if isinstance(raw, dict) and isinstance(raw.get("id"), (str, int))
                    and not isinstance(raw.get("id"), bool)]
    return _Parts(
        conf=view,
        tracks=items(("tracks",), Track),
        talks=items(("talks",), Talk),
        slots=items(("open_space", "slots"), Slot),
        poster_sessions=[((i, j), session) for i, raw in enumerate(_raw_list(data, ("posters",)))
                         for j, session in items_in(raw, "sessions", Slot)],
        ids=ids,
        track_ids=[i for _, i in ids[("tracks",)]],
        talk_tracks=[(i, str(raw["track"])) for i, raw in enumerate(_raw_list(data, ("talks",)))
                     if isinstance(raw, dict) and isinstance(raw.get("track"), (str, int))
                     and not isinstance(raw.get("track"), bool)],
    )


def _when(start: datetime, end: datetime, tz: tzinfo | None) -> str:
    if tz is not None:
        start, end = start.astimezone(tz), end.astimezone(tz)
    if start.date() == end.date():
        return f"{start:%a %d %b %H:%M}-{end:%H:%M}"
    return f"{start:%a %d %b %H:%M} to {end:%a %d %b %H:%M}"


def _semantic_errors(parts: _Parts, filename: str, lines: LineMap | None) -> list[ScheduleError]:
    errors: list[ScheduleError] = []

    def line(path: tuple) -> int | None:
        return lines.line_for(path) if lines is not None else None

    def add(path: tuple, message: str) -> None:
        errors.append(ScheduleError(filename, line(path), format_path(path), message))

    def at(path: tuple) -> str:
        n = line(path)
        return f"{format_path(path)} on line {n}" if n is not None else format_path(path)

    conf = parts.conf

    # The conference days.
    if conf.start and conf.end and conf.end < conf.start:
        add(("conference", "end"),
            f"the conference ends ({conf.end}) before it starts ({conf.start}); 'end' is the "
            "last day (inclusive), so it must be the same as or after 'start'")

    # Unique ids per section, ignoring case (they become room aliases).
    for sec, entries in parts.ids.items():
        seen: dict[str, int] = {}
        for i, ident in entries:
            key = ident.lower()
            if key in seen:
                first = seen[key]
                add(sec + (i, "id"),
                    f"duplicate id '{ident}': {at(sec + (first, 'id'))} already uses it (ids "
                    f"must be unique within {format_path(sec)}, ignoring case); give this "
                    "entry its own id")
            else:
                seen[key] = i

    # A re-import finds each talk by its ref, so no two talks may share one.
    refs: dict[str, int] = {}
    for i, talk in parts.talks:
        if talk.ref is None:
            continue
        if talk.ref in refs:
            add(("talks", i, "ref"),
                f"duplicate ref '{talk.ref}': {at(('talks', refs[talk.ref], 'ref'))} already has it; a "
                "re-import could not tell the two talks apart, so remove the copy")
        else:
            refs[talk.ref] = i

    # Every talk names a track.
    known = parts.track_ids
    for i, track in parts.talk_tracks:
        if track not in known:
            if known:
                add(("talks", i, "track"),
                    f"unknown track '{track}'{_suggest(track, known)} - known tracks: "
                    f"{', '.join(known)}; fix the id or add the track under 'tracks:'")
            else:
                add(("talks", i, "track"),
                    f"unknown track '{track}' - there are no tracks yet; add it under "
                    "'tracks:'")

    # Everything happens during the conference days.
    if conf.tz is not None and conf.start and conf.end and conf.end >= conf.start:
        opens = datetime.combine(conf.start, time(0), conf.tz)
        closes = datetime.combine(conf.end + timedelta(days=1), time(0), conf.tz)
        days = f"{conf.start} to {conf.end}, {conf.timezone_name}"
        for what, items in (("talk", parts.talks), ("slot", parts.slots)):
            for i, item in items:
                if item.start < opens or item.end > closes:
                    path = ("talks", i, "start") if what == "talk" else (
                        "open_space", "slots", i, "start")
                    name = f"talk '{item.id}'" if what == "talk" else "this open-space slot"
                    add(path, f"{name} ({_when(item.start, item.end, conf.tz)}) is outside the "
                              f"conference days ({days}); fix its start or duration, or change "
                              "conference start/end")
        for (i, j), session in parts.poster_sessions:
            if session.start < opens or session.end > closes:
                add(("posters", i, "sessions", j, "start"),
                    f"this poster session ({_when(session.start, session.end, conf.tz)}) is outside the "
                    f"conference days ({days}); fix its start or duration, or change conference start/end")

    # No two talks at the same time in one track.
    by_track: dict[str, list[tuple[int, Talk]]] = {}
    for i, talk in parts.talks:
        by_track.setdefault(talk.track, []).append((i, talk))
    for track_id, talks in by_track.items():
        talks.sort(key=lambda it: (it[1].start, it[1].end, it[0]))
        latest: tuple[int, Talk] | None = None
        for i, talk in talks:
            if latest is not None and talk.start < latest[1].end:
                j, other = latest
                add(("talks", i, "start"),
                    f"talk '{talk.id}' ({_when(talk.start, talk.end, conf.tz)}) overlaps talk "
                    f"'{other.id}' ({_when(other.start, other.end, conf.tz)}, "
                    f"{at(('talks', j))}) in track '{track_id}'; move one of them or put it "
                    "in another track")
            if latest is None or talk.end > latest[1].end:
                latest = (i, talk)

    # Open-space slots are bookable in every room, so they must not overlap each other.
    slots = sorted(parts.slots, key=lambda it: (it[1].start, it[1].end, it[0]))
    latest_slot: tuple[int, Slot] | None = None
    for i, slot in slots:
        if latest_slot is not None and slot.start < latest_slot[1].end:
            j, other = latest_slot
            add(("open_space", "slots", i, "start"),
                f"this slot ({_when(slot.start, slot.end, conf.tz)}) overlaps the slot "
                f"{_when(other.start, other.end, conf.tz)} ({at(('open_space', 'slots', j))}); "
                "slots are bookable in every open-space room, so they must not overlap")
        if latest_slot is None or slot.end > latest_slot[1].end:
            latest_slot = (i, slot)

    return errors


def check_schedule(schedule: Schedule, filename: str = "schedule.yaml",
                   lines: LineMap | None = None) -> list[ScheduleError]:
    """The cross-field checks (ids, tracks, days, overlaps) for an already-built Schedule."""
    return _semantic_errors(_parts_of(schedule), filename, lines)


# --------------------------------------------------------------------------- entry points


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
        errors.append(ScheduleError(filename, line(()), "",
                                    "the schedule should be made of sections like "
                                    "'conference:', 'tracks:' and 'talks:', not "
                                    f"{_show(data)}"))
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
        data = path.read_bytes()
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
