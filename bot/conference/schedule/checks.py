"""The checks across fields and sections (unique ids, known tracks, the conference days, no
overlaps), on a built schedule or on what could be read of a broken one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, ValidationError

from ..yamlsource import LineMap, format_path
from .errors import ScheduleError, _suggest
from .fields import _parse_date
from .models import Person, Schedule, Slot, Speaker, Talk, Track, _check_timezone, _zone, speaker_key


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
    #: (index, entry) of the ``speakers:`` section.
    speakers: list[tuple[int, Speaker]]
    #: (path, person) of every talk's speaker and poster's presenter that gives a Matrix ID.
    people_with_ids: list[tuple[tuple, Person]]
    #: Every name a talk or poster gives, by :func:`speaker_key`, even if it is otherwise broken.
    speaking: dict[str, str]


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
        speakers=list(enumerate(schedule.speakers)),
        people_with_ids=[(path, p) for path, p in _people_of(schedule) if p.matrix_id],
        speaking={speaker_key(p.name): p.name for _, p in _people_of(schedule)},
    )


def _people_of(schedule: Schedule) -> list[tuple[tuple, Person]]:
    return ([(("talks", i, "speakers", j), p) for i, t in enumerate(schedule.talks) for j, p in enumerate(t.speakers)]
            + [(("posters", i, "presenters", j), p) for i, x in enumerate(schedule.posters)
               for j, p in enumerate(x.presenters)])


def written_people(data: dict) -> list[tuple[tuple, Any]]:
    """(path, entry as written: a name or a mapping) of every talk's speaker and poster's
    presenter in plain schedule data."""
    out = []
    for section, field in (("talks", "speakers"), ("posters", "presenters")):
        for i, raw in enumerate(_raw_list(data, (section,))):
            people = raw.get(field) if isinstance(raw, dict) else None
            people = [people] if isinstance(people, (str, dict)) else people
            for j, person in enumerate(people if isinstance(people, list) else []):
                out.append(((section, i, field, j), person))
    return out


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
        speakers=items(("speakers",), Speaker),
        people_with_ids=[(path, person) for path, raw in written_people(data)
                         for person in [_quietly(Person.model_validate, raw)] if person and person.matrix_id],
        speaking={speaker_key(str(name)): str(name) for _, raw in written_people(data)
                  for name in [raw.get("name") if isinstance(raw, dict) else raw] if isinstance(name, (str, int))},
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

    _speaker_errors(parts, add, at)

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

    # No two talks at the same time in one track, but for those marked parallel (the imported
    # programme has them side by side in one room) and those cancelled (their slot is free).
    by_track: dict[str, list[tuple[int, Talk]]] = {}
    for i, talk in parts.talks:
        if not (talk.parallel or talk.cancelled):
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
                    f"{at(('talks', j))}) in track '{track_id}'; move one of them, put it "
                    "in another track, or, if both really run at once in that room, mark it "
                    "'parallel: true'")
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


def _speaker_errors(parts: _Parts, add, at) -> None:
    """A speaker has one entry under ``speakers:`` and one Matrix ID, and every entry names
    someone who speaks."""
    entries: dict[str, tuple[int, Speaker]] = {}
    refs: dict[str, int] = {}
    for i, speaker in parts.speakers:
        key = speaker_key(speaker.name)
        if key in entries:
            add(("speakers", i, "name"),
                f"'{speaker.name}' is listed already ({at(('speakers', entries[key][0]))}); a speaker has one "
                "entry and one Matrix ID: remove this one, or keep the right ID in the other")
            continue
        entries[key] = (i, speaker)
        if speaker.ref is not None:
            if speaker.ref in refs:
                add(("speakers", i, "ref"),
                    f"duplicate ref '{speaker.ref}': {at(('speakers', refs[speaker.ref], 'ref'))} already has it; "
                    "a re-import could not tell the two speakers apart, so remove the copy")
            else:
                refs[speaker.ref] = i
        if key not in parts.speaking:
            add(("speakers", i, "name"),
                f"'{speaker.name}' is no speaker of any talk or poster"
                f"{_suggest(speaker.name, sorted(parts.speaking.values()))}; write the "
                "name as the talks' speakers: write it, or remove the entry")
    first_given: dict[str, tuple[tuple, str]] = {}
    for path, person in parts.people_with_ids:
        key = speaker_key(person.name)
        if key in entries and entries[key][1].matrix_id:
            j, entry = entries[key]
            if entry.matrix_id != person.matrix_id:
                add(path + ("matrix_id",),
                    f"'{person.matrix_id}' disagrees with the Matrix ID of {person.name} under speakers: "
                    f"('{entry.matrix_id}', {at(('speakers', j))}); a speaker has one Matrix ID, kept under "
                    "speakers:: remove it here, or correct the one there")
        elif key not in first_given:
            first_given[key] = (path, person.matrix_id)
        elif first_given[key][1] != person.matrix_id:
            other, matrix_id = first_given[key]
            add(path + ("matrix_id",),
                f"'{person.matrix_id}' differs from '{matrix_id}' given to {person.name} at {at(other)}; a "
                "speaker has one Matrix ID: list the speaker once under speakers: with the right one and remove "
                "it from the talks, or, if these are two people, write their names apart")


def check_schedule(schedule: Schedule, filename: str = "schedule.yaml",
                   lines: LineMap | None = None) -> list[ScheduleError]:
    """The cross-field checks (ids, tracks, days, overlaps) for an already-built Schedule."""
    return _semantic_errors(_parts_of(schedule), filename, lines)
