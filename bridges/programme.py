"""The programme an outside system publishes, as Podium reads it: pure data, whatever the source.

Every reader (pretalx's JSON export, frab XML, pretalx's REST API) turns its input into one
:class:`Programme`; :mod:`bridges.merge` then writes that into ``schedule.yaml``. The helpers
here are what the readers share: located problems, lenient durations and times, HTML to text,
event types to Podium's talk kinds.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from html.parser import HTMLParser
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from bot.conference.schedule import (
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    MAX_YEAR,
    MIN_YEAR,
    DurationError,
    ScheduleError,
    ScheduleInvalid,
    parse_duration,
)
from bot.conference.userinput import one_line

__all__ = ["ImportedConference", "ImportedPerson", "ImportedTalk", "Problems", "Programme",
           "abstract_text", "kind_of", "lenient_duration", "title_text"]


@dataclass(frozen=True)
class ImportedPerson:
    name: str
    #: The person's code in pretalx (or id in frab), when the source gives one.
    ref: str = ""
    matrix_id: str | None = None


@dataclass(frozen=True)
class ImportedTalk:
    #: The talk's identity in its system: pretalx's submission code, else frab's guid.
    ref: str
    title: str
    room: str
    start: datetime  # aware
    duration: timedelta
    #: The source's event type as written ("Talk", "Lightning talk", "Meetup").
    type: str = ""
    speakers: tuple[ImportedPerson, ...] = ()
    abstract: str = ""
    #: Where the talk was read, for messages: "days[0].rooms['Gray Room'][3]" or "line 42".
    where: str = ""
    #: The source's track (FOSDEM's devroom), which is not the room.
    category: str = ""
    subtitle: str = ""
    language: str = ""
    description: str = ""
    #: (title, url) of recordings, slides and pages the source links the talk to.
    links: tuple[tuple[str, str], ...] = ()
    do_not_record: bool = False
    #: The source says it will not take place: a state, or "CANCELLED" before its title.
    cancelled: bool = False


@dataclass(frozen=True)
class ImportedConference:
    acronym: str
    title: str
    timezone: str
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Programme:
    source: str  # the file or URL it was read from
    format: str  # "pretalx JSON export", "frab XML", "pretalx API"
    conference: ImportedConference
    talks: tuple[ImportedTalk, ...]
    #: Every room, in the source's order, including rooms without talks.
    rooms: tuple[str, ...] = ()
    version: str = ""
    #: What reading it noticed without stopping (a time zone worked out from the talks' offsets).
    notes: tuple[str, ...] = ()
    #: Refs of talks the source says were cancelled but no longer lists with a slot (pretalx takes
    #: a cancelled talk out of the schedule it releases): one already imported is marked cancelled.
    cancelled: frozenset[str] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.conference.timezone)


@dataclass
class Problems:
    """Collects what a source gets wrong, each located in it, to raise all at once."""

    source: str
    errors: list[ScheduleError] = field(default_factory=list)

    #: For each message, the talks it was found at: one error per kind of problem, not per talk.
    _grouped: dict[str, tuple[int, list[tuple[str, int | None]]]] = field(default_factory=dict)

    def add(self, where: str, message: str, line: int | None = None, *, talks: str = "") -> None:
        """A problem at ``where``. With ``talks`` (the source's word: "talks", "events"), the same
        ``message`` at other talks is told once, with how many and where the first few are."""
        if not talks:
            self.errors.append(ScheduleError(self.source, line, where, message))
            return
        if message not in self._grouped:
            self._grouped[message] = (len(self.errors), [])
            self.errors.append(ScheduleError(self.source, line, where, message))
        first, places = self._grouped[message]
        places.append((where, line))
        if len(places) > 1:
            shown = ", ".join(f"line {n}" if n is not None else w for w, n in places[1:4])
            more = f" and {len(places) - 4} more" if len(places) > 4 else ""
            self.errors[first] = ScheduleError(self.source, places[0][1], places[0][0],
                                               f"{len(places)} {talks} (this one, {shown}{more}): {message}")

    def raise_any(self) -> None:
        if self.errors:
            raise ScheduleInvalid(self.errors)


_CANCELLED_TITLE = re.compile(r"^\s*(?:\[\s*)?cancell?ed\b\s*\]?[\s:\-–—!]*", re.IGNORECASE)
#: States in which a programme says a talk will not take place (c3voc's schedule v2, pretalx).
CANCELLED_STATES = frozenset({"canceled", "cancelled", "withdrawn", "deleted", "rejected"})


def cancelled_title(title: str) -> tuple[str, bool]:
    """``title`` without a leading "CANCELLED", and whether it had one (FOSDEM's way to say so)."""
    bare = _CANCELLED_TITLE.sub("", title, count=1)
    return (bare, True) if bare != title and bare else (title, False)


def zone_from_offsets(moments: list[Any], given: str | None, named: Any, problems: Problems, where: str,
                      notes: list[str], line: int | None = None) -> ZoneInfo | None:
    """The conference's zone: ``given`` (--timezone) first, else the one the source ``named``,
    else, when every talk's start carries the same UTC offset, the fixed zone of that offset
    (with a note saying so). An error asking for --timezone when none of these can be had."""
    if given:
        try:
            return ZoneInfo(given.strip())
        except (ValueError, KeyError, OSError):
            problems.add("--timezone", f"{given!r} is not an IANA time zone; give one like Europe/Brussels")
            return None
    if isinstance(named, str) and named.strip():
        try:
            return ZoneInfo(named.strip())
        except (ValueError, KeyError, OSError):
            problems.add(where, f"{named.strip()!r} is not an IANA time zone (like Europe/Berlin); fix the event's "
                                "time zone in the source, or pass --timezone ZONE", line)
            return None
    offsets = set()
    for text in moments:
        moment = parse_moment(text, None) if isinstance(text, str) else None
        if moment is not None and moment.tzinfo is not None:
            offsets.add(moment.utcoffset())
    seen = ", ".join(sorted(_offset_text(o) for o in offsets))
    if len(offsets) == 1:
        offset = offsets.pop()
        hours, rest = divmod(int(offset.total_seconds()), 3600)
        if not rest and -12 <= hours <= 14:
            # IANA's Etc zones count the other way round: Etc/GMT-1 is UTC+01:00.
            name = "Etc/UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
            notes.append(f"the source names no time zone; every talk starts at {_offset_text(offset)}, so the "
                         f"conference is in {name} ({_offset_text(offset)}); pass --timezone (like "
                         "--timezone Europe/Berlin) to name the real one")
            return ZoneInfo(name)
    why = (f"its talks carry several UTC offsets ({seen})" if offsets else
           "its talks' times carry no UTC offset")
    problems.add(where, f"the source names no time zone and {why}; pass --timezone ZONE (the conference's IANA "
                        "time zone, like --timezone Europe/Brussels)", line)
    return None


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def link_pairs(values: Any) -> tuple[tuple[str, str], ...]:
    """(title, url) of each http(s) link in a list of ``{"url"|"href", "title"}`` or URL strings."""
    out = []
    for value in values if isinstance(values, list) else []:
        if isinstance(value, str):
            url, title = value, ""
        elif isinstance(value, dict):
            url, title = value.get("url") or value.get("href") or "", value.get("title") or value.get("type") or ""
        else:
            continue
        url = url.strip() if isinstance(url, str) else ""
        if re.match(r"^https?://[^\s]+$", url) and len(url) <= MAX_URL_LENGTH:
            out.append((title_text(title), url))
    return tuple(dict.fromkeys(out))


def recording_links(*urls: Any) -> tuple[tuple[str, str], ...]:
    """The recording links a source gives in fields of their own (frab's video_download_url)."""
    return link_pairs([{"url": url, "title": "Recording"} for url in urls if isinstance(url, str) and url])


def path_of(*parts: Any) -> str:
    """A JSON path as people read it: ``schedule.conference.days[0].rooms['Gray Room'][3]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


# ------------------------------------------------------------------------- lenient values


_DAYS_CLOCK = re.compile(r"^(\d+):(\d{1,2}):(\d{2})$")  # frab's D:HH:MM


def lenient_duration(value: Any) -> timedelta:
    """A duration as exports write it: ``"00:30"`` (HH:MM), ``"0:01:30"`` (D:HH:MM, frab), minutes,
    or anything :func:`parse_duration` takes. Raises DurationError."""
    if isinstance(value, str):
        days = _DAYS_CLOCK.match(value.strip())
        if days:
            return parse_duration(timedelta(days=int(days[1]), hours=int(days[2]), minutes=int(days[3])))
    return parse_duration(value)


def duration_or_problem(value: Any, problems: Problems, where: str, line: int | None = None) -> timedelta | None:
    if value is None or value == "":
        problems.add(where, "the talk has no duration; give it one in the source (Podium needs "
                            "each talk's length)", line)
        return None
    try:
        return lenient_duration(value)
    except (OverflowError, ValueError) as exc:  # DurationError is a ValueError; so is a NaN
        if not isinstance(exc, DurationError):
            exc = DurationError(f"{value!r} is no duration Podium can use")
        problems.add(where, f"{exc} (in the source; fix it there)", line)
        return None


#: What the readers say when they cannot use a talk's start.
WHEN_WANTED = (f"Podium needs an ISO date and time in the years {MIN_YEAR} to {MAX_YEAR}, like "
               "2026-07-13T09:00:00+02:00")


def schedulable(moment: datetime | date | None):
    """``moment`` if it is in the years Podium schedules (so that moving it into another zone, or a
    day on, stays inside the calendar), else None."""
    return moment if moment is not None and MIN_YEAR <= moment.year <= MAX_YEAR else None


def parse_moment(text: Any, tz: tzinfo | None) -> datetime | None:
    """An ISO date and time; one without an offset is in ``tz``. None if unreadable, or outside
    the years Podium schedules."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return schedulable(moment.replace(tzinfo=tz) if moment.tzinfo is None else moment)


def list_or_problem(value: Any, problems: Problems, where: str, what: str, line: int | None = None) -> list:
    """``value`` when it is a list (or missing: an empty one); else the problem, and an empty list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    problems.add(where, f"expected a list of {what} here, not {_kind_of_json(value)}; export it again", line)
    return []


def _kind_of_json(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "an object" if isinstance(value, dict) else "a value of another kind"


class _TextOnly(HTMLParser):
    """HTML to its text: block elements become line breaks, everything else is dropped."""

    BLOCKS: ClassVar[frozenset[str]] = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


_TAG = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def abstract_text(*values: Any) -> str:
    """The first non-empty of ``values`` as plain text: HTML tags stripped, entities decoded,
    paragraphs kept, control characters dropped, cut to what a schedule takes."""
    for value in values:
        if not isinstance(value, str) or not value.strip():
            continue
        text = value.replace("\r\n", "\n").replace("\r", "\n")
        if _TAG.search(text):
            parser = _TextOnly()
            parser.feed(text)
            parser.close()
            text = "".join(parser.parts)
        else:
            text = html.unescape(text)
        text = _CONTROL_BUT_LINES.sub("", text)
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        if len(text) > MAX_TEXT_LENGTH:
            text = text[:MAX_TEXT_LENGTH - 1].rstrip() + "…"
        if text:
            return text
    return ""


def texts_of(abstract: Any, description: Any) -> dict[str, str]:
    """A talk's ``abstract`` (the source's abstract, else its description) and ``description``
    (the description too, when there is an abstract beside it), as plain text."""
    short, long = abstract_text(abstract), abstract_text(description)
    if not short:
        return {"abstract": long, "description": ""}
    return {"abstract": short, "description": long if long != short else ""}


def title_text(value: Any) -> str:
    """A title or name as one line of plain text (HTML and entities removed), cut to fit a room name."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    text = html.unescape(_TAG.sub("", value))
    return one_line(text, MAX_NAME_LENGTH)


#: Words in an event type that say which of Podium's talk kinds it is, checked in this order
#: (a "Keynote talk" is a keynote, a "Lightning talk" lightning).
_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("keynote", ("keynote", "plenary")),
    ("lightning", ("lightning", "blitz", "flash")),
    ("panel", ("panel", "podium discussion", "discussion", "roundtable", "round table")),
    ("workshop", ("workshop", "hands-on", "hackathon", "sprint", "training")),
    ("tutorial", ("tutorial", "course", "class")),
    ("talk", ("talk", "vortrag", "lecture", "presentation", "session", "short", "long")),
)


def kind_of(event_type: str) -> str | None:
    """Podium's kind for an event type (``"Lightning Talk"`` → ``lightning``); None when no word says."""
    lowered = event_type.lower()
    for kind, words in _KIND_WORDS:
        if any(word in lowered for word in words):
            return kind
    return None
