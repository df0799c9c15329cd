"""frab / pentabarf schedule XML (``schedule.xml``, which pretalx exports too), read into a
:class:`~bridges.programme.Programme`. Pure: XML text in, a programme out.

Problems are located by the XML line of the element they are in. The reader refuses document
type declarations: a schedule needs no entities, and entity expansion is how XML files blow up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from xml.parsers import expat

from .frab_json import read_day, start_of, talk_ref
from .programme import (
    ImportedConference,
    ImportedPerson,
    ImportedTalk,
    WHEN_WANTED,
    Problems,
    CANCELLED_STATES,
    Programme,
    cancelled_title,
    duration_or_problem,
    link_pairs,
    recording_links,
    texts_of,
    title_text,
    zone_from_offsets,
)

FORMAT = "frab XML"


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Node | None:
        return next((child for child in self.children if child.tag == tag), None)

    def all(self, tag: str) -> list[Node]:
        return [child for child in self.children if child.tag == tag]

    def text_of(self, tag: str) -> str:
        child = self.find(tag)
        return child.text.strip() if child is not None else ""


class XmlUnreadable(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line


def parse_xml_tree(text: str | bytes) -> Node:
    """The element tree of ``text`` with each element's line; XmlUnreadable when it is not XML."""
    parser = expat.ParserCreate()
    root: list[Node] = []
    stack: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag, attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def data(chunk: str) -> None:
        if stack:
            stack[-1].text += chunk

    def doctype(*args) -> None:
        raise XmlUnreadable(parser.CurrentLineNumber, "the file declares a document type (<!DOCTYPE ...>); a frab "
                                                      "schedule has none: remove it")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise XmlUnreadable(exc.lineno, f"not well-formed XML: {expat.ErrorString(exc.code)} at column "
                                        f"{exc.offset + 1}; export the schedule again") from None
    except (ValueError, LookupError):
        # expat hands encodings it does not know to Python's codecs, which refuse the ones that
        # are not one byte a character (UTF-7, Shift JIS...) with a ValueError.
        raise XmlUnreadable(parser.CurrentLineNumber or 1, f"the file declares the encoding "
                                                           f"{_declared_encoding(text)}, which Podium does not "
                                                           "read; export the schedule as UTF-8") from None
    if not root:
        raise XmlUnreadable(None, "the file holds no XML element")
    return root[0]


_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


def _declared_encoding(text: str | bytes) -> str:
    found = _ENCODING.match(text.encode("utf-8", "replace") if isinstance(text, str) else text[:200])
    return found.group(1).decode("ascii") if found else "it declares"


def parse_frab_xml(text: str | bytes, source: str, timezone: str | None = None) -> Programme:
    """The programme in a frab schedule.xml; ScheduleInvalid lists every problem with its line.
    ``timezone`` (--timezone) names the conference's zone when the file does not."""
    problems = Problems(source)
    try:
        root = parse_xml_tree(text)
    except XmlUnreadable as exc:
        problems.add("", str(exc), exc.line)
        problems.raise_any()
        raise AssertionError("unreachable")
    conf = root.find("conference")
    if root.tag != "schedule" or conf is None:
        problems.add(root.tag, "this is not a frab schedule (a <schedule> with a <conference>); give the URL "
                               "of /<event>/schedule/export/schedule.xml", root.line)
        problems.raise_any()
    assert conf is not None
    zone = conf.find("time_zone_name")
    notes: list[str] = []
    moments = [event.text_of("date") for day in root.all("day") for room in day.all("room")
               for event in room.all("event")]
    tz = zone_from_offsets(moments, timezone, conf.text_of("time_zone_name"), problems, "conference.time_zone_name",
                           notes, zone.line if zone is not None else conf.line)
    acronym = title_text(conf.text_of("acronym"))
    conference = ImportedConference(acronym=acronym, title=title_text(conf.text_of("title")) or acronym,
                                    timezone=str(tz) if tz else "UTC", start=read_day(conf.text_of("start")),
                                    end=read_day(conf.text_of("end")))
    talks: list[ImportedTalk] = []
    rooms: list[str] = []
    for day in root.all("day"):
        day_date = read_day(day.attrs.get("date"))
        for room in day.all("room"):
            room_name = title_text(room.attrs.get("name"))
            if room_name:
                rooms.append(room_name)
            for event in room.all("event"):
                talk = _talk(event, day_date, room_name, tz, problems)
                if talk is not None:
                    talks.append(talk)
    problems.raise_any()
    return Programme(source, FORMAT, conference, tuple(talks), tuple(dict.fromkeys(rooms)),
                     root.text_of("version"), tuple(notes))


def _talk(event: Node, day, room_name: str, tz, problems: Problems) -> ImportedTalk | None:
    where = f"event (line {event.line})"

    def line_of(tag: str) -> int:
        child = event.find(tag)
        return child.line if child is not None else event.line

    ref = talk_ref(code=event.attrs.get("code"), url=event.text_of("url"), guid=event.attrs.get("guid"),
                   event_id=event.attrs.get("id"))
    if not ref:
        problems.add(f"{where}.guid", "the event has neither a code, a talk URL, a guid nor an id, so a "
                                      "re-import could not find it again; give it a guid attribute", event.line,
                     talks="events")
    title, cancelled = cancelled_title(title_text(event.text_of("title")))
    if not title:
        problems.add(f"{where}.title", "the event has no title; give it one in the source", line_of("title"),
                     talks="events")
    duration = duration_or_problem(event.text_of("duration"), problems, f"{where}.duration", line_of("duration"))
    start = None
    if tz is not None:
        start = start_of(event.text_of("date"), day, event.text_of("start"), tz)
        if start is None:
            problems.add(f"{where}.date", f"cannot read when the event starts (date {event.text_of('date')!r}, "
                                          f"start {event.text_of('start')!r}); {WHEN_WANTED}", line_of("date"))
    room = title_text(event.text_of("room")) or room_name
    if not room:
        problems.add(f"{where}.room", "the event has no room; schedule it in a room in the source", line_of("room"))
    if not (ref and title and duration and start and room):
        return None
    persons = event.find("persons")
    speakers = tuple(ImportedPerson(title_text(person.text), person.attrs.get("id", ""))
                     for person in (persons.all("person") if persons is not None else [])
                     if title_text(person.text))
    recording = event.find("recording")
    links = [{"url": link.attrs.get("href", ""), "title": link.text.strip()}
             for group in ("links", "attachments") if event.find(group) is not None
             for link in event.find(group).children]
    return ImportedTalk(ref=ref, title=title, room=room, start=start, duration=duration or timedelta(0),
                        type=title_text(event.text_of("type")), speakers=speakers, where=f"line {event.line}",
                        **texts_of(event.text_of("abstract"), event.text_of("description")),
                        category=title_text(event.text_of("track")), subtitle=title_text(event.text_of("subtitle")),
                        language=title_text(event.text_of("language")),
                        links=link_pairs(links) + recording_links(event.text_of("video_download_url")),
                        do_not_record=recording is not None and recording.text_of("optout").lower() == "true",
                        cancelled=cancelled or event.text_of("state").lower() in CANCELLED_STATES)
