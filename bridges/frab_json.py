"""pretalx's schedule JSON export (``/<event>/schedule/export/schedule.json``, frab-compatible), read
into a :class:`~bridges.programme.Programme`. Pure: parsed JSON in, a programme out.

Lenient with what real exports hold (no ``code`` in older pretalx, capitals in acronyms, HTML in
abstracts, talk times in another zone than the conference's); strict, with the JSON path, about
what Podium needs: each talk's identity, title, start, duration and room.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .programme import (
    ImportedConference,
    ImportedPerson,
    ImportedTalk,
    Problems,
    Programme,
    CANCELLED_STATES,
    WHEN_WANTED,
    cancelled_title,
    duration_or_problem,
    link_pairs,
    list_or_problem,
    parse_moment,
    path_of,
    recording_links,
    schedulable,
    texts_of,
    title_text,
    zone_from_offsets,
)

#: pretalx's public talk pages end with the submission code: /democon/talk/G9JGWY/
TALK_CODE_IN_URL = re.compile(r"/talk/([A-Za-z0-9]+)/?$")
FORMAT = "pretalx JSON export"


def is_frab_json(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("schedule"), dict) \
        and isinstance(data["schedule"].get("conference"), dict)


def read_timezone(value: Any, problems: Problems, where: str, line: int | None = None) -> ZoneInfo | None:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        problems.add(where, "the conference has no time zone; set the event's time zone in the source", line)
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        problems.add(where, f"{name!r} is not an IANA time zone (like Europe/Berlin); fix the event's time "
                            "zone in the source", line)
        return None


def read_day(value: Any) -> date | None:
    if isinstance(value, str):
        try:
            return schedulable(date.fromisoformat(value.strip()[:10]))
        except ValueError:
            return None
    return None


def talk_ref(*, code: Any = None, url: Any = None, guid: Any = None, event_id: Any = None) -> str:
    """A talk's identity: pretalx's code (also read from its public URL), else the frab guid, else
    the event's numeric id (older frab and pentabarf give no guid; the id is as stable)."""
    in_url = TALK_CODE_IN_URL.search(url.strip()) if isinstance(url, str) else None
    for value in (code, in_url and in_url.group(1), guid, event_id):
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def start_of(moment: Any, day: date | None, clock: Any, tz: ZoneInfo) -> datetime | None:
    """A talk's start: its ISO ``date`` (with offset) if readable, else the day's date and ``HH:MM``."""
    parsed = parse_moment(moment, tz)
    if parsed is not None:
        return parsed
    if day is not None and isinstance(clock, str):
        try:
            return schedulable(datetime.combine(day, time.fromisoformat(clock.strip()), tz))
        except ValueError:
            return None
    return None


def _entries(days: Any, problems: Problems | None = None):
    """(day index, day, room name, index, entry) of every entry in a schedule.json's days; with
    ``problems``, a room whose talks are no list is one."""
    for d, day in enumerate(days if isinstance(days, list) else []):
        if not isinstance(day, dict):
            continue
        day_rooms = day.get("rooms") if isinstance(day.get("rooms"), dict) else {}
        for room_name, entries in day_rooms.items():
            if problems is not None:
                entries = list_or_problem(entries, problems, path_of("schedule", "conference", "days", d, "rooms",
                                                                     room_name), "talks")
            for n, entry in enumerate(entries if isinstance(entries, list) else []):
                yield d, day, room_name, n, entry


def parse_frab_json(data: Any, source: str, timezone: str | None = None) -> Programme:
    """The programme in a parsed schedule.json; ScheduleInvalid lists every problem, located.
    ``timezone`` (--timezone) names the conference's zone when the export does not."""
    problems = Problems(source)
    if not is_frab_json(data):
        problems.add("schedule.conference", "this is not a pretalx/frab schedule JSON (no "
                                            "schedule.conference); give the URL of /<event>/schedule/export/"
                                            "schedule.json")
        problems.raise_any()
    conf = data["schedule"]["conference"]
    notes: list[str] = []
    moments = [entry.get("date") for *_, entry in _entries(conf.get("days")) if isinstance(entry, dict)]
    tz = zone_from_offsets(moments, timezone, conf.get("time_zone_name"), problems,
                           path_of("schedule", "conference", "time_zone_name"), notes)
    acronym = title_text(conf.get("acronym"))
    conference = ImportedConference(acronym=acronym, title=title_text(conf.get("title")) or acronym,
                                    timezone=str(tz) if tz else "UTC", start=read_day(conf.get("start")),
                                    end=read_day(conf.get("end")))
    rooms = [title_text(room.get("name"))
             for room in list_or_problem(conf.get("rooms"), problems, path_of("schedule", "conference", "rooms"),
                                         "rooms")
             if isinstance(room, dict)]
    talks: list[ImportedTalk] = []
    days = conf.get("days")
    if not isinstance(days, list):
        problems.add(path_of("schedule", "conference", "days"), "the export has no list of days; export the "
                                                                 "schedule again once it is released")
        days = []
    for d, day, room_name, n, entry in _entries(days, problems):
        where = path_of("schedule", "conference", "days", d, "rooms", room_name, n)
        talk = _talk(entry, where, read_day(day.get("date")), title_text(room_name), tz, problems)
        if talk is not None:
            talks.append(talk)
    problems.raise_any()
    if not rooms:
        rooms = list(dict.fromkeys(t.room for t in talks))
    return Programme(source, FORMAT, conference, tuple(talks), tuple(dict.fromkeys(rooms)),
                     str(data["schedule"].get("version") or ""), tuple(notes))


def _talk(entry: Any, where: str, day: date | None, room_key: str, tz: ZoneInfo | None,
          problems: Problems) -> ImportedTalk | None:
    if not isinstance(entry, dict):
        problems.add(where, "expected a talk (a JSON object) here; export the schedule again")
        return None
    ref = talk_ref(code=entry.get("code"), url=entry.get("url"), guid=entry.get("guid"), event_id=entry.get("id"))
    if not ref:
        problems.add(f"{where}.code", "the talk has neither a code, a talk URL, a guid nor an id, so a "
                                      "re-import could not find it again; export it from pretalx or give it a "
                                      "guid", talks="talks")
    title, cancelled = cancelled_title(title_text(entry.get("title")))
    if not title:
        problems.add(f"{where}.title", "the talk has no title; give it one in the source", talks="talks")
    duration = duration_or_problem(entry.get("duration"), problems, f"{where}.duration")
    start = None
    if tz is not None:
        start = start_of(entry.get("date"), day, entry.get("start"), tz)
        if start is None:
            problems.add(f"{where}.date", f"cannot read when the talk starts (date {entry.get('date')!r}, start "
                                          f"{entry.get('start')!r}); {WHEN_WANTED}")
    room = title_text(entry.get("room")) or room_key
    if not room:
        problems.add(f"{where}.room", "the talk has no room; schedule it in a room in the source")
    if not (ref and title and duration and start and room):
        return None
    speakers = []
    for person in list_or_problem(entry.get("persons"), problems, f"{where}.persons", "people"):
        if isinstance(person, dict):
            name = title_text(person.get("public_name") or person.get("name"))
            if name:
                speakers.append(ImportedPerson(name, str(person.get("code") or person.get("id") or "")))
        elif title_text(person):
            speakers.append(ImportedPerson(title_text(person)))
    state = entry.get("state")
    return ImportedTalk(ref=ref, title=title, room=room, start=start, duration=duration or timedelta(0),
                        type=title_text(entry.get("type")), speakers=tuple(speakers), where=where,
                        **texts_of(entry.get("abstract"), entry.get("description")),
                        category=title_text(entry.get("track")), subtitle=title_text(entry.get("subtitle")),
                        language=title_text(entry.get("language")),
                        links=link_pairs(entry.get("links")) + link_pairs(entry.get("attachments"))
                        + recording_links(entry.get("video_download_url")),
                        do_not_record=entry.get("do_not_record") is True,
                        cancelled=cancelled or (isinstance(state, str) and state.lower() in CANCELLED_STATES))
