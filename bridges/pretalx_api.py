"""pretalx's REST API (v2, pretalx 2025.2 and later), read into a
:class:`~bridges.programme.Programme`. Pure: the parsed answers in, a programme out; fetching them
is :mod:`bridges.fetch`'s job.

What is read: the event (``/api/events/<e>/``), its latest released schedule
(``/schedules/latest/``), the cancelled submissions (``/submissions/?state=canceled``, with a
token), that schedule's slots with their rooms, submissions, speakers and
submission types expanded (``/slots/?schedule=<id>&expand=...``), and, for speakers' Matrix IDs,
the answers to one speaker question (``/questions/``, ``/answers/?question=<id>``). Only
confirmed talks with a room and a start are imported: what the public schedule shows.
(``/api/events/<e>/talks/``, which older clients call, answers 404 since pretalx 2025.2.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .frab_json import read_day, read_timezone
from .programme import (
    ImportedConference,
    ImportedPerson,
    ImportedTalk,
    WHEN_WANTED,
    Problems,
    Programme,
    abstract_text,
    list_or_problem,
    parse_moment,
    path_of,
    title_text,
)

FORMAT = "pretalx API"
SLOT_EXPAND = "room,submission,submission.speakers,submission.submission_type"
#: What the public schedule shows; "accepted" talks are not yet confirmed by their speakers.
IMPORTED_STATES = ("confirmed",)
#: A talk the organisers cancelled (pretalx spells it so); the API shows it only with a token.
CANCELLED_STATES = ("canceled",)


def is_pretalx_event(data: Any) -> bool:
    """An ``/api/events/<e>/`` answer."""
    return isinstance(data, dict) and "slug" in data and "date_from" in data and "timezone" in data


def i18n(value: Any) -> str:
    """pretalx's translated strings (``{"en": "Talk", "de": "Vortrag"}``) as one text: English first."""
    if isinstance(value, dict):
        for key in ("en", *sorted(value)):
            if isinstance(value.get(key), str) and value[key].strip():
                return value[key]
        return ""
    return value if isinstance(value, str) else ""


def find_question(questions: list[dict], wanted: str) -> dict | None:
    """The question ``wanted`` names: its id, identifier, or text in any language (ignoring case)."""
    key = wanted.strip().casefold()
    for question in questions:
        if not isinstance(question, dict):
            continue
        texts = question.get("question")
        names = list(texts.values()) if isinstance(texts, dict) else [texts]
        names += [str(question.get("id", "")), str(question.get("identifier") or "")]
        if any(isinstance(name, str) and name.strip().casefold() == key for name in names):
            return question
    return None


def matrix_ids_from_answers(answers: list[dict]) -> dict[str, str]:
    """Speaker code → the answer's text, stripped; empty answers are left out."""
    out = {}
    for answer in answers:
        if not isinstance(answer, dict):
            continue
        person = answer.get("person")
        code = person.get("code") if isinstance(person, dict) else person
        text = answer.get("answer")
        if isinstance(code, str) and isinstance(text, str) and text.strip():
            out[code] = text.strip()
    return out


def parse_pretalx_api(event: Any, schedule: Any, slots: list[Any], source: str,
                      matrix_ids: dict[str, str] | None = None, cancelled: list[Any] = ()) -> Programme:
    """The programme from the API's answers; ScheduleInvalid lists every problem with its URL and JSON path."""
    problems = Problems(source)
    if not is_pretalx_event(event):
        problems.add("", "this is not a pretalx event (no slug, date_from and timezone); give the event's API "
                         "URL, like https://pretalx.example.org/api/events/<event>/")
        problems.raise_any()
    tz = read_timezone(event.get("timezone"), problems, "timezone")
    slug = title_text(event.get("slug"))
    conference = ImportedConference(acronym=slug, title=title_text(i18n(event.get("name"))) or slug,
                                    timezone=str(tz) if tz else "UTC", start=read_day(event.get("date_from")),
                                    end=read_day(event.get("date_to")))
    talks: list[ImportedTalk] = []
    rooms: list[tuple[int, str]] = []
    for n, slot in enumerate(slots):
        where = path_of("slots", n)
        if not isinstance(slot, dict):
            problems.add(where, "expected a slot (a JSON object) here")
            continue
        submission = slot.get("submission")
        room = slot.get("room")
        if isinstance(room, dict) and title_text(i18n(room.get("name"))):
            position = room.get("position")
            position = position if isinstance(position, (int, float)) and not isinstance(position, bool) else 0
            rooms.append((position, title_text(i18n(room.get("name")))))
        if not isinstance(submission, dict) or submission.get("state") not in IMPORTED_STATES:
            continue  # a break, or a talk not (or no longer) confirmed
        if not slot.get("start") or not isinstance(room, dict) or slot.get("is_visible") is False:
            continue  # not scheduled
        talk = _talk(slot, submission, room, where, tz, problems, matrix_ids or {})
        if talk is not None:
            talks.append(talk)
    problems.raise_any()
    version = schedule.get("version") if isinstance(schedule, dict) else ""
    ordered_rooms = [name for _, name in sorted(rooms, key=lambda r: r[0])]
    # pretalx takes a cancelled talk out of the schedule it releases: only its submission says so.
    cancelled_refs = frozenset(str(s["code"]) for s in cancelled
                               if isinstance(s, dict) and s.get("state") in CANCELLED_STATES and s.get("code"))
    return Programme(source, FORMAT, conference, tuple(talks), tuple(dict.fromkeys(ordered_rooms)),
                     str(version or ""), cancelled=cancelled_refs - {t.ref for t in talks})


def _talk(slot: dict, submission: dict, room: dict, where: str, tz, problems: Problems,
          matrix_ids: dict[str, str]) -> ImportedTalk | None:
    ref = str(submission.get("code") or "").strip()
    if not ref:
        problems.add(f"{where}.submission.code", "the submission has no code; is this pretalx's API?")
    title = title_text(submission.get("title"))
    if not title:
        problems.add(f"{where}.submission.title", "the talk has no title; give it one in pretalx")
    start = parse_moment(slot.get("start"), tz) if tz is not None else None
    if tz is not None and start is None:
        problems.add(f"{where}.start", f"cannot read when the talk starts ({slot.get('start')!r}); {WHEN_WANTED}")
    end = parse_moment(slot.get("end"), tz) if tz is not None else None
    minutes = slot.get("duration")
    duration = (end - start) if start and end else (
        timedelta(minutes=minutes) if isinstance(minutes, int) and 0 < minutes < 100_000 else None)
    if start is not None and (duration is None or duration <= timedelta(0)):
        problems.add(f"{where}.end", "the slot has no end after its start; give the talk a duration in pretalx")
        duration = None
    room_name = title_text(i18n(room.get("name")))
    if not room_name:
        problems.add(f"{where}.room.name", "the room has no name; name it in pretalx")
    if not (ref and title and start and duration and room_name):
        return None
    speakers = []
    for person in list_or_problem(submission.get("speakers"), problems, f"{where}.submission.speakers", "speakers"):
        if isinstance(person, dict) and title_text(person.get("name")):
            code = str(person.get("code") or "")
            speakers.append(ImportedPerson(title_text(person.get("name")), code, matrix_ids.get(code)))
    kind = submission.get("submission_type")
    return ImportedTalk(ref=ref, title=title, room=room_name, start=start, duration=duration,
                        type=title_text(i18n(kind.get("name")) if isinstance(kind, dict) else ""),
                        speakers=tuple(speakers), abstract=abstract_text(submission.get("abstract"),
                                                                         submission.get("description")),
                        where=where)
