"""An imported programme merged into ``schedule.yaml``: the programme updated, the organisers'
additions and the file's comments kept. Pure: the programme and the file's text in, the new text
and what changed out.

What the import owns, and rewrites on every run: for each imported talk (found again by its
``ref``, the pretalx code, frab guid or event id) its track (the room), title, start, duration,
speakers, category (the source's own track: FOSDEM's devroom), subtitle, language, abstract,
description, links, do-not-record flag, and whether it runs in parallel with another talk of its
room or was cancelled. Everything else is the organisers': the conference section (only widened
when the programme outgrows its days), staff, lobby, the tracks' names, streams, chairs and
topics, posters, sponsors, helpdesks, open space, talks without a ref, a talk's ``kind`` once it
is in the file (the source's event type only suggests one), and the speakers' Matrix IDs. Those
belong to the person and live under ``speakers:``: the answers to pretalx's Matrix-ID question are
written there (with the speaker's code, ``ref``, which finds the entry again after a rename), an ID
the organisers wrote there or on a talk is never overwritten, and a talk's speakers are written as
names. An entry whose speaker no longer speaks at any talk is removed, and reported. A talk's ``id``
names its rooms, so it is chosen once, from the title, and never changed after. A talk the
programme no longer has is reported, and removed only when asked (``prune``); the refs under
``import: exclude:`` are never imported again; a cancelled talk is left out, or, if it was
already announced, kept and marked ``cancelled: true``.

The text is edited with ruamel.yaml's round-trip loader, which keeps comments, key order and
quoting of everything the import does not touch.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.conference.schedule import (
    CONFERENCE_ID_RE,
    MATRIX_ID_RE,
    Schedule,
    ScheduleError,
    ScheduleInvalid,
    Speaker,
    Talk,
    parse_schedule,
    speaker_key,
    validate_schedule_data,
    written_people,
)
from bot.conference.yamlsource import load_yaml
from bot.wording import counted

from .programme import ImportedTalk, Programme, kind_of

HEADER = """\
# schedule.yaml - imported by `podium import` from {source}
#
# Run the same import again to take in changes to the programme: talks are found again by their
# `ref`, and what you add here (streams, chairs, posters, sponsors, staff, comments, and the
# speakers' Matrix IDs under `speakers:`) is kept. See `podium init` for a commented sample of every section.
"""


#: What the import kept, changed or left out beyond adding and updating, as the summary says it:
#: (for one talk, for several).
KIND_PHRASES = {
    "excluded": ("talk excluded by import.exclude", "talks excluded by import.exclude"),
    "cancelled": ("cancelled talk left out", "cancelled talks left out"),
    "now cancelled": ("announced talk now cancelled: kept, marked cancelled: true",
                      "announced talks now cancelled: kept, marked cancelled: true"),
    "parallel": ("talk overlaps another in its room: kept, marked parallel: true",
                 "talks overlap another in their room: kept, marked parallel: true"),
    "kind kept": ("talk keeps the kind set in the file", "talks keep the kind set in the file"),
}


@dataclass
class MergeResult:
    text: str
    changes: list[str] = field(default_factory=list)
    #: What the import noticed but did not stop for: event types read as talks, answers that are no Matrix IDs.
    notes: list[str] = field(default_factory=list)
    added: int = 0
    changed: int = 0
    withdrawn: int = 0
    removed: int = 0
    schedule: Schedule | None = None
    #: What the import kept, changed or left out, by kind ("cancelled"), with the
    #: talks' lines: the summary says each kind once, with how many.
    kinds: dict[str, list[str]] = field(default_factory=dict)

    def tell(self, kind: str, line: str) -> None:
        self.kinds.setdefault(kind, []).append(line)


# ------------------------------------------------------------------------- ids


def _ascii_words(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def _cut(slug: str, limit: int) -> str:
    """``slug`` at most ``limit`` long, cut at a hyphen where one is near the end."""
    if len(slug) <= limit:
        return slug
    head = slug[:limit]
    return (head.rsplit("-", 1)[0] if "-" in head[limit // 2:] else head).strip("-")


def conference_id_for(acronym: str) -> str:
    """A valid conference id from an acronym (``"DemoCon 2026!"`` → ``democon-2026``)."""
    slug = _cut(_ascii_words(acronym), 24) or "conference"
    return slug if CONFERENCE_ID_RE.fullmatch(slug) else "conference"


def unique_id(text: str, taken: set[str], fallback: str, limit: int = 40) -> str:
    """A valid, new id from ``text`` (lowercase words joined by '-'); ``taken`` holds the ids
    in use, lowercased, and gets the new one."""
    base = _cut(_ascii_words(text), limit) or fallback
    candidate, n = base, 2
    while candidate.lower() in taken:
        candidate = f"{base}-{n}"
        n += 1
    taken.add(candidate.lower())
    return candidate


# ------------------------------------------------------------------------- values


def local_time(moment: datetime, tz: tzinfo) -> str:
    """A start as schedule.yaml writes it: in the conference's time zone without an offset,
    unless that wall-clock time is ambiguous (the hour clocks go back), then with its offset."""
    local = moment.astimezone(tz)
    naive = local.replace(tzinfo=None)
    if naive.replace(tzinfo=tz).astimezone(tz).utcoffset() != local.utcoffset():
        return local.isoformat(timespec="minutes")
    return f"{naive:%Y-%m-%d %H:%M}"


def _minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


def _when(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%a %d %b %H:%M}"


@dataclass(frozen=True)
class _Wanted:
    """One imported talk as the schedule should hold it."""

    talk: ImportedTalk
    track: str
    kind: str
    #: (name, the speaker's code in the source, the Matrix ID the speaker answered) of each speaker.
    speakers: tuple[tuple[str, str, str | None], ...]
    parallel: bool = False


def _speakers_value(speakers: tuple[tuple[str, str, str | None], ...]) -> CommentedSeq:
    """A talk's speakers, by name: their Matrix IDs are under ``speakers:``."""
    return CommentedSeq(name for name, _, _ in speakers)


def _text_value(text: str) -> Any:
    return LiteralScalarString(text) if "\n" in text else text


# ------------------------------------------------------------------------- the merge


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quotes stay
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long title onto a second line
    yaml.indent(mapping=2, sequence=4, offset=2)  # the sample's style: "  - id: ..."
    return yaml


def merge(programme: Programme, existing: str | None, filename: str, *, prune: bool = False) -> MergeResult:
    """``programme`` merged into the text of ``filename`` (None: there is none yet).

    The existing file must be valid (ScheduleInvalid otherwise: fix it first, nothing is merged).
    The result is validated too; ScheduleInvalid names the imported talk behind each problem."""
    yaml = _yaml()
    notes: list[str] = []
    if existing is None:
        old: Schedule | None = None
        doc = _new_document(programme)
    else:
        old = parse_schedule(existing, filename)
        doc = yaml.load(existing)
    tz = old.conference.tz if old is not None else programme.tz
    result = MergeResult(text="", notes=notes)

    tracks = doc.setdefault("tracks", CommentedSeq())
    if tracks is None:
        tracks = doc["tracks"] = CommentedSeq()
    talks = doc.setdefault("talks", CommentedSeq())
    if talks is None:
        talks = doc["talks"] = CommentedSeq()

    old_talks: list[Talk] = list(old.talks) if old is not None else []
    by_ref = {talk.ref: i for i, talk in enumerate(old_talks) if talk.ref}
    excluded = set(old.import_settings.exclude) if old is not None else set()
    programme = _without_left_out(programme, by_ref, excluded, result)
    room_tracks = _room_tracks(programme, tracks, result)
    wanted = _wanted(programme, room_tracks, notes)
    _mark_parallel(wanted, result)
    known_ids = _matrix_ids_of(old_talks)

    taken = {str(entry.get("id", "")).lower() for entry in talks if isinstance(entry, dict)}
    seen: set[str] = set()
    #: Matrix IDs written on talks whose speakers the import rewrites: they move under speakers:.
    moving: dict[str, str] = {}
    for want in wanted:
        talk = want.talk
        seen.add(talk.ref)
        if talk.ref in by_ref:
            i = by_ref[talk.ref]
            lines = _update(talks[i], old_talks[i], want, tz, result, moving)
            if lines:
                result.changed += 1
                result.changes += [f"~ talk {old_talks[i].id} ({talk.ref}): {line}" for line in lines]
        else:
            entry = _new_talk(want, unique_id(talk.title, taken, f"talk-{talk.ref.lower()}"), tz)
            talks.append(entry)
            result.added += 1
            result.changes.append(f"+ talk {entry['id']} ({talk.ref}): \"{talk.title}\", {_when(talk.start, tz)}, "
                                  f"{_minutes(talk.duration)} min, in {want.track}")
    for ref in sorted(programme.cancelled & by_ref.keys() - seen - excluded):
        # Cancelled after it was announced, and so out of the schedule the source released: kept
        # where it was, so the pages say it is cancelled, and nothing runs for it.
        seen.add(ref)
        old_talk = old_talks[by_ref[ref]]
        if not old_talk.cancelled:
            talks[by_ref[ref]]["cancelled"] = True
            result.changed += 1
            result.changes.append(f"~ talk {old_talk.id} ({ref}): cancelled")
            result.tell("now cancelled", f"{old_talk.id} ({ref}): \"{old_talk.title}\"")
    for i in sorted((i for ref, i in by_ref.items() if ref not in seen and ref not in excluded), reverse=True):
        gone = old_talks[i]
        result.withdrawn += 1
        if prune:
            del talks[i]
            result.removed += 1
            result.changes.append(f"- talk {gone.id} ({gone.ref}): \"{gone.title}\" is no longer in the programme; "
                                  "removed (`podium apply --prune` archives its rooms)")
        else:
            result.changes.append(f"! talk {gone.id} ({gone.ref}): \"{gone.title}\" is no longer in the programme; "
                                  "kept (pass --prune to remove it)")
    _speakers_section(doc, old, wanted, known_ids, moving, result)
    result.changes.sort(key=lambda line: line[0] == "!")  # withdrawn last, after what changed
    _widen_days(doc, [w.talk for w in wanted], tz, result)

    out = io.StringIO()
    yaml.dump(doc, out)
    text = out.getvalue()
    if existing is None:
        text = HEADER.format(source=programme.source) + "\n" + text
    result.text = text
    result.schedule = _validated(text, filename, programme, wanted, talks)
    return result


def _new_document(programme: Programme) -> CommentedMap:
    conf = programme.conference
    days = sorted({t.start.astimezone(programme.tz).date() for t in programme.talks})
    start = conf.start or (days[0] if days else date.today())
    end = conf.end or (days[-1] if days else start)
    conference = CommentedMap(id=conference_id_for(conf.acronym or conf.title), name=conf.title or conf.acronym,
                              timezone=conf.timezone, start=start.isoformat(), end=max(start, end).isoformat())
    return CommentedMap(conference=conference, tracks=CommentedSeq(), talks=CommentedSeq())


def _speakers_section(doc: CommentedMap, old: Schedule | None, wanted: list[_Wanted], known_ids: dict[str, str],
                      moving: dict[str, str], result: MergeResult) -> None:
    """Bring ``speakers:`` up to date: the speakers' answers, and the IDs of talks whose speakers
    were rewritten, written there; a renamed speaker's entry renamed; entries of speakers who no
    longer speak removed. What the organisers wrote there stays as it is."""
    section = doc.get("speakers")
    entries = section if isinstance(section, CommentedSeq) else CommentedSeq()
    old_entries = list(old.speakers) if old is not None else []
    by_ref = {s.ref: i for i, s in enumerate(old_entries) if s.ref}
    by_name = {speaker_key(s.name): i for i, s in enumerate(old_entries)}
    done: set[str] = set()
    on_talks = _speaking(doc, with_ids=True)
    for name, ref, answer in (person for want in wanted for person in want.speakers):
        key = speaker_key(name)
        if key in done:
            continue
        done.add(key)
        matrix_id = answer or moving.get(key)
        i = by_ref.get(ref) if ref else None
        if i is not None and speaker_key(old_entries[i].name) != key:
            result.changes.append(f"~ speaker {name} ({ref}): renamed from \"{old_entries[i].name}\"")
            entries[i]["name"] = name
            by_name[key] = i
        i = by_name.get(key) if i is None else i
        if i is not None:
            have = old_entries[i].matrix_id
            if matrix_id and not have:
                entries[i]["matrix_id"] = matrix_id
                result.changes.append(f"~ speaker {name}: Matrix ID {matrix_id}")
            elif answer and have and answer != have:
                result.notes.append(f"{name} answered the Matrix-ID question with {answer}; kept {have}, which "
                                    "speakers: gives")
            continue
        have = known_ids.get(key)
        if answer and have and answer != have:
            result.notes.append(f"{name} answered the Matrix-ID question with {answer}; kept {have}, which a talk "
                                "of theirs gives")
            continue
        if matrix_id and (answer or key not in on_talks):
            entry = CommentedMap(name=name)
            if ref:
                entry["ref"] = ref
            entry["matrix_id"] = matrix_id
            entries.append(entry)
            old_entries.append(Speaker(name=name, ref=ref or None, matrix_id=matrix_id))
            by_name[key] = len(old_entries) - 1
            result.changes.append(f"+ speaker {name}{f' ({ref})' if ref else ''}: {matrix_id}")
    speaking = _speaking(doc)
    for i in range(len(entries) - 1, -1, -1):
        entry = entries[i]
        name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
        if name and speaker_key(name) not in speaking:
            ref = f" ({entry['ref']})" if entry.get("ref") else ""
            gave = f" (it gave {entry['matrix_id']})" if entry.get("matrix_id") else ""
            result.changes.append(f"- speaker {name}{ref}: speaks at no talk any more; removed from speakers:{gave}")
            del entries[i]
    if entries and "speakers" not in doc:
        keys = list(doc)
        doc.insert(keys.index("tracks") if "tracks" in keys else len(keys), "speakers", entries)
    elif not entries and "speakers" in doc and isinstance(section, CommentedSeq):
        del doc["speakers"]


def _speaking(doc: CommentedMap, *, with_ids: bool = False) -> set[str]:
    """The :func:`speaker_key` of everyone the file's talks and posters name (``with_ids``: and
    give a Matrix ID there)."""
    names = set()
    for _, person in written_people(doc):
        name = person.get("name") if isinstance(person, dict) else person
        if name is not None and (not with_ids or isinstance(person, dict) and person.get("matrix_id")):
            names.add(speaker_key(str(name)))
    return names


def _room_tracks(programme: Programme, tracks: CommentedSeq, result: MergeResult) -> dict[str, str]:
    """Room name → track id: the track of that name (or of that id) if the file has one, else a new one."""
    used = [room for room in programme.rooms if any(t.room == room for t in programme.talks)]
    used += [t.room for t in programme.talks if t.room not in used]
    by_name = {str(t.get("name", "")).casefold(): str(t.get("id")) for t in tracks if isinstance(t, dict)}
    taken = {str(t.get("id", "")).lower() for t in tracks if isinstance(t, dict)}
    out: dict[str, str] = {}
    for room in dict.fromkeys(used):
        slug = _cut(_ascii_words(room), 40)
        if room.casefold() in by_name:
            out[room] = by_name[room.casefold()]
        elif slug and slug in taken:
            out[room] = next(str(t.get("id")) for t in tracks if isinstance(t, dict) and str(t.get("id")).lower() == slug)
        else:
            track_id = unique_id(room, taken, f"room-{len(taken) + 1}")
            tracks.append(CommentedMap(id=track_id, name=room))
            out[room] = track_id
            result.changes.append(f"+ track {track_id}: \"{room}\"")
    return out


def _without_left_out(programme: Programme, by_ref: dict[str, int], excluded: set[str],
                      result: MergeResult) -> Programme:
    """``programme`` without the talks the organisers excluded and the cancelled talks that were
    never announced (a cancelled talk already in the file stays, to be marked cancelled)."""
    kept = []
    for talk in programme.talks:
        if talk.ref in excluded:
            result.tell("excluded", f"{talk.ref}: \"{talk.title}\"")
        elif talk.cancelled and talk.ref not in by_ref:
            result.tell("cancelled", f"{talk.ref}: \"{talk.title}\" (cancelled in the source)")
        else:
            kept.append(talk)
    return replace(programme, talks=tuple(kept))


def _matrix_ids_of(talks: list[Talk]) -> dict[str, str]:
    """Each speaker's Matrix ID as the file has it (under ``speakers:`` or on a talk), by
    :func:`speaker_key`: it is the person's."""
    known: dict[str, str] = {}
    for talk in talks:
        for person in talk.speakers:
            if person.matrix_id:
                known.setdefault(speaker_key(person.name), person.matrix_id)
    return known


def _mark_parallel(wanted: list[_Wanted], result: MergeResult) -> None:
    """Mark each talk that starts before an earlier one of its room ends: the source has them side
    by side (two DJ sets, posters inside a reception), and the schedule keeps them so."""
    latest_end: dict[str, datetime] = {}
    for i, want in enumerate(wanted):  # in order of start
        talk = want.talk
        if talk.cancelled:
            continue
        end = talk.start + talk.duration
        if want.track in latest_end and talk.start < latest_end[want.track]:
            wanted[i] = replace(want, parallel=True)
            result.tell("parallel",
                        f"{talk.ref}: \"{talk.title}\" in {talk.room}")
        latest_end[want.track] = max(end, latest_end.get(want.track, end))


def _wanted(programme: Programme, room_tracks: dict[str, str], notes: list[str]) -> list[_Wanted]:
    unknown: dict[str, int] = {}
    bad_ids: list[str] = []
    out = []
    for talk in sorted(programme.talks, key=lambda t: (t.start, t.room, t.ref)):
        kind = kind_of(talk.type) if talk.type else "talk"
        if kind is None:
            unknown[talk.type] = unknown.get(talk.type, 0) + 1
            kind = "talk"
        speakers = []
        for person in talk.speakers:
            matrix_id = None
            if person.matrix_id:
                candidate = person.matrix_id.strip()
                if MATRIX_ID_RE.fullmatch(candidate.lower()) and len(candidate.encode()) <= 255:
                    matrix_id = candidate.lower()
                else:
                    bad_ids.append(f"{person.name} ({candidate!r})")
            speakers.append((person.name, person.ref, matrix_id))
        out.append(_Wanted(talk, room_tracks[talk.room], kind, tuple(speakers)))
    for event_type, n in sorted(unknown.items()):
        notes.append(f"event type \"{event_type}\" ({counted(n, 'talk')}) is none of Podium's kinds; imported as "
                     "kind talk (talk | keynote | lightning | panel | workshop | tutorial)")
    if bad_ids:
        notes.append(f"{counted(len(bad_ids), 'answer')} to the Matrix-ID question {'is' if len(bad_ids) == 1 else 'are'} "
                     f"no Matrix ID (like @alice:example.org), left out: {', '.join(bad_ids)}")
    return out


def _new_talk(want: _Wanted, talk_id: str, tz: tzinfo) -> CommentedMap:
    talk = want.talk
    entry = CommentedMap()
    entry["id"] = talk_id
    entry["ref"] = talk.ref
    entry["track"] = want.track
    entry["title"] = talk.title
    if want.kind != "talk":
        entry["kind"] = want.kind
    entry["start"] = local_time(talk.start, tz)
    entry["duration"] = _minutes(talk.duration)
    if want.speakers:
        entry["speakers"] = _speakers_value(want.speakers)
    for key, value in _source_fields(want).items():
        if value:
            entry[key] = value
    return entry


def _source_fields(want: _Wanted) -> dict[str, Any]:
    """The fields the source owns beyond title, time and speakers, as schedule.yaml writes them;
    false and empty ones are left out of the file."""
    talk = want.talk
    links = CommentedSeq()
    for title, url in talk.links:
        links.append(CommentedMap(url=url, title=title) if title else CommentedMap(url=url))
    return {"category": talk.category, "subtitle": talk.subtitle, "language": talk.language,
            "abstract": _text_value(talk.abstract), "description": _text_value(talk.description),
            "links": links, "do_not_record": talk.do_not_record, "parallel": want.parallel,
            "cancelled": talk.cancelled}


def _update(entry: CommentedMap, old: Talk, want: _Wanted, tz: tzinfo, result: MergeResult,
            moving: dict[str, str]) -> list[str]:
    """Rewrite in ``entry`` what the programme changed; what changed, in words. The Matrix IDs
    written on speakers the rewrite drops go into ``moving``, by :func:`speaker_key`."""
    talk = want.talk
    lines = []
    if old.start != talk.start or old.track != want.track:
        where = f" in {want.track}" if old.track != want.track else ""
        was = f" in {old.track}" if old.track != want.track else ""
        lines.append(f"moved from {_when(old.start, tz)}{was} to {_when(talk.start, tz)}{where}")
        entry["start"] = local_time(talk.start, tz)
        entry["track"] = want.track
    if old.duration != talk.duration:
        lines.append(f"{_minutes(old.duration)} → {_minutes(talk.duration)} min")
        entry["duration"] = _minutes(talk.duration)
    if old.title != talk.title:
        lines.append(f"renamed from \"{old.title}\" to \"{talk.title}\"")
        entry["title"] = talk.title
    if old.kind != want.kind:
        # The kind is the organisers' once the talk is in the file: the source's event type only
        # suggested it, and a keynote set by hand must stay one.
        result.tell("kind kept", f"{old.id} ({talk.ref}): {old.kind} (the source's type "
                                                    f"reads as {want.kind})")
    # The same people in another order is no change: pretalx's API and its exports list
    # co-speakers in different orders. Their Matrix IDs are the speakers', not the talk's.
    speakers = want.speakers
    if sorted(p.name for p in old.speakers) != sorted(name for name, _, _ in speakers):
        names = [name for name, _, _ in speakers]
        lines.append(f"speakers: {', '.join(names) or 'none'}")
        for person in entry.get("speakers") or []:
            if isinstance(person, dict) and person.get("matrix_id") and person.get("name") is not None:
                moving.setdefault(speaker_key(str(person["name"])), str(person["matrix_id"]))
        if speakers:
            entry["speakers"] = _speakers_value(speakers)
        elif "speakers" in entry:
            del entry["speakers"]
    if old.cancelled != talk.cancelled:
        lines.append("cancelled" if talk.cancelled else "no longer cancelled")
        if talk.cancelled:
            result.tell("now cancelled",
                        f"{old.id} ({talk.ref}): \"{talk.title}\"")
    fields = _source_fields(want)
    current = {"category": old.category, "subtitle": old.subtitle, "language": old.language,
               "abstract": old.abstract, "description": old.description,
               "links": [(link.title, link.url) for link in old.links], "do_not_record": old.do_not_record,
               "parallel": old.parallel, "cancelled": old.cancelled}
    wanted = dict(fields, links=list(talk.links), abstract=talk.abstract, description=talk.description)
    changed = [key for key in fields if current[key] != wanted[key]]
    for key in changed:
        if fields[key]:
            entry[key] = fields[key]
        elif key in entry:
            del entry[key]
    shown = [key for key in changed if key != "cancelled"]
    if shown:
        lines.append(f"{', '.join(key.replace('_', ' ') for key in shown)} updated")
    return lines


def _widen_days(doc: CommentedMap, talks: list[ImportedTalk], tz: tzinfo, result: MergeResult) -> None:
    """Stretch the conference's start and end to the programme's days (never shrink them)."""
    if not talks:
        return
    conference = doc.get("conference")
    if not isinstance(conference, dict):
        return
    first = min(t.start.astimezone(tz).date() for t in talks)
    last = max((t.start + t.duration - timedelta(microseconds=1)).astimezone(tz).date() for t in talks)
    for key, day, earlier in (("start", first, True), ("end", last, False)):
        try:
            current = date.fromisoformat(str(conference.get(key)))
        except ValueError:
            continue
        if (day < current) if earlier else (day > current):
            conference[key] = day.isoformat()
            result.changes.append(f"~ conference {key}: {current} → {day} (the programme's "
                                  f"{'first' if earlier else 'last'} day)")


def _validated(text: str, filename: str, programme: Programme, wanted: list[_Wanted],
               talks: CommentedSeq) -> Schedule:
    """The merged schedule, checked as `podium validate` would; each problem with an imported
    talk names where that talk came from, since that is where to fix it."""
    try:
        # Without line numbers: the lines of a file not written yet would only mislead.
        data, _ = load_yaml(text, filename)
        return validate_schedule_data(data, filename)
    except ScheduleInvalid as exc:
        origin = {w.talk.ref: w.talk for w in wanted}
        errors = []
        for error in exc.errors:
            match = re.match(r"talks\[(\d+)\]", error.path)
            entry = talks[int(match[1])] if match and int(match[1]) < len(talks) else None
            talk = origin.get(str(entry.get("ref"))) if isinstance(entry, dict) else None
            message = error.message
            if talk is not None:
                message += f" [from {programme.source}: {talk.where}, talk {talk.ref}: fix it there]"
            errors.append(ScheduleError(f"{filename} (as imported)", None, error.path, message))
        raise ScheduleInvalid(errors) from None
