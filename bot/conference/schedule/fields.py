"""The values a schedule is written in (durations, dates and times, ids, text, Matrix IDs, web
addresses), each parsed and checked with a message saying what to write instead, and the
annotated field types the models are built from."""

from __future__ import annotations

import contextvars
import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any, Union
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from .errors import DurationError, _err, _show

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
