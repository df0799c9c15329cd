"""c3voc's schedule v2 JSON (schema https://c3voc.de/schedule/schema.json, version 2: what the
CCC congress hub exports), read into a :class:`~bridges.programme.Programme`. Pure: parsed JSON in,
a programme out.

Unlike schedule v1 (pretalx's and frab's export, :mod:`bridges.frab_json`), v2 lists the talks once
in ``schedule.events``, each with an ISO ``start`` and ``end``, its room and track as references
(``{"slug": …}`` or ``{"name": …}``), texts that may be given per language, and ``participants``
with a role: speakers are imported, other contributors are not.
"""

from __future__ import annotations

from typing import Any

from .frab_json import read_day, talk_ref
from .programme import (
    CANCELLED_STATES,
    ImportedConference,
    ImportedPerson,
    ImportedTalk,
    Problems,
    Programme,
    cancelled_title,
    duration_or_problem,
    WHEN_WANTED,
    link_pairs,
    list_or_problem,
    parse_moment,
    path_of,
    texts_of,
    title_text,
    zone_from_offsets,
)

FORMAT = "schedule v2 JSON"
#: The roles that speak: those of them in ``participants`` become the talk's speakers.
SPEAKING_ROLES = frozenset({"speaker", "moderator", "host"})


def is_schedule_v2(data: Any) -> bool:
    """A schedule v2 document: its talks in ``schedule.events`` rather than in the days' rooms."""
    return isinstance(data, dict) and isinstance(data.get("schedule"), dict) \
        and isinstance(data["schedule"].get("events"), list) \
        and isinstance(data["schedule"].get("conference"), dict)


def localized(value: Any, language: str = "") -> str:
    """A LocalizableString: the text itself, or the one in ``language``, English, or the first given."""
    if isinstance(value, dict):
        for key in (language, "en", *sorted(value)):
            if isinstance(value.get(key), str) and value[key].strip():
                return value[key]
        return ""
    return value if isinstance(value, str) else ""


def _reference(value: Any, by_slug: dict[str, str]) -> str:
    """The name a ``{"name"|"slug"|"guid"}`` reference (or a plain string) stands for."""
    if isinstance(value, dict):
        name = localized(value.get("name"))
        if name:
            return title_text(name)
        for key in ("slug", "guid"):
            if isinstance(value.get(key), str) and value[key] in by_slug:
                return by_slug[value[key]]
        return ""
    return title_text(value)


def parse_schedule_v2(data: Any, source: str, timezone: str | None = None) -> Programme:
    """The programme in a parsed schedule v2 document; ScheduleInvalid lists every problem, located."""
    problems = Problems(source)
    schedule = data["schedule"]
    conf = schedule["conference"]
    events = schedule["events"]
    notes: list[str] = []
    tz = zone_from_offsets([e.get("start") for e in events if isinstance(e, dict)], timezone,
                           conf.get("time_zone_name"), problems, path_of("schedule", "conference", "time_zone_name"),
                           notes)
    acronym = title_text(conf.get("acronym"))
    conference = ImportedConference(acronym=acronym, title=title_text(conf.get("title")) or acronym,
                                    timezone=str(tz) if tz else "UTC", start=read_day(conf.get("start")),
                                    end=read_day(conf.get("end")))
    names: dict[str, str] = {}
    rooms = []
    for group in ("tracks", "rooms"):
        for item in list_or_problem(conf.get(group), problems, path_of("schedule", "conference", group), group):
            if isinstance(item, dict) and title_text(localized(item.get("name"))):
                name = title_text(localized(item.get("name")))
                names.update({item[k]: name for k in ("slug", "guid") if isinstance(item.get(k), str)})
                if group == "rooms":
                    rooms.append(name)
    talks: list[ImportedTalk] = []
    for n, event in enumerate(events):
        where = path_of("schedule", "events", n)
        if not isinstance(event, dict):
            problems.add(where, "expected a talk (a JSON object) here; export the schedule again", talks="entries")
            continue
        talk = _talk(event, where, tz, names, problems)
        if talk is not None:
            talks.append(talk)
    problems.raise_any()
    return Programme(source, FORMAT, conference, tuple(talks),
                     tuple(dict.fromkeys(rooms or [t.room for t in talks])),
                     str(schedule.get("version") or ""), tuple(notes))


def _talk(event: dict, where: str, tz, names: dict[str, str], problems: Problems) -> ImportedTalk | None:
    ref = talk_ref(code=event.get("code"), url=None, guid=event.get("guid"), event_id=event.get("id"))
    if not ref:
        problems.add(f"{where}.guid", "the talk has neither a code, a guid nor an id, so a re-import could not "
                                      "find it again; export it again from its system", talks="talks")
    language = title_text(event.get("language"))
    title, cancelled = cancelled_title(title_text(localized(event.get("title"), language)))
    if not title:
        problems.add(f"{where}.title", "the talk has no title; give it one in the source", talks="talks")
    start = end = None
    if tz is not None:
        start = parse_moment(event.get("start"), tz)
        end = parse_moment(event.get("end"), tz)
        if start is None:
            problems.add(f"{where}.start", f"cannot read when the talk starts ({event.get('start')!r}); "
                                           f"{WHEN_WANTED}")
    duration = (end - start) if start is not None and end is not None and end > start else \
        duration_or_problem(event.get("duration"), problems, f"{where}.end")
    room = _reference(event.get("room"), names)
    if not room:
        problems.add(f"{where}.room", "the talk has no room; schedule it in a room in the source", talks="talks")
    if not (ref and title and start and duration and room):
        return None
    speakers = tuple(
        ImportedPerson(title_text(p.get("name") or p.get("public_name")), str(p.get("guid") or p.get("id") or ""))
        for p in list_or_problem(event.get("participants") or event.get("persons"), problems, f"{where}.participants",
                                 "participants")
        if isinstance(p, dict) and title_text(p.get("name") or p.get("public_name"))
        and str(p.get("role") or "speaker").lower() in SPEAKING_ROLES)
    state = event.get("state")
    return ImportedTalk(ref=ref, title=title, room=room, start=start, duration=duration,
                        type=title_text(event.get("type")), speakers=speakers, where=where,
                        **texts_of(localized(event.get("abstract"), language),
                                   localized(event.get("description"), language)),
                        category=_reference(event.get("track"), names),
                        subtitle=title_text(localized(event.get("subtitle"), language)), language=language,
                        links=link_pairs(event.get("links")) + link_pairs(event.get("attachments")),
                        do_not_record=event.get("do_not_record") is True,
                        cancelled=cancelled or (isinstance(state, str) and state.lower() in CANCELLED_STATES))
