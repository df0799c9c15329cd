"""The schedule model: the sample file, every kind of mistake, and the parsers' properties."""

from __future__ import annotations

import copy
import json
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot import SAMPLE_SCHEDULE
from bot.conference.schedule import (
    DEFAULT_LOBBY,
    DurationError,
    Person,
    Schedule,
    ScheduleError,
    ScheduleInvalid,
    Talk,
    check_schedule,
    load_schedule,
    parse_duration,
    parse_schedule,
    validate_schedule_data,
)
from bot.conference.yamlsource import LineMap, YamlSourceError, format_path, load_yaml

INVALID = Path(__file__).resolve().parents[1] / "fixtures" / "invalid"
PRAGUE = ZoneInfo("Europe/Prague")

HEAD = """\
conference:
  id: ep2026
  name: EuroPython 2026
  timezone: Europe/Prague
  start: 2026-07-13
  end: 2026-07-15
tracks:
  - {id: forum, name: Forum Hall}
"""


def problems(text: str) -> list[ScheduleError]:
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(textwrap.dedent(text))
    return info.value.errors


def only_problem(text: str) -> ScheduleError:
    errors = problems(text)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


# --------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample() -> Schedule:
    return load_schedule(SAMPLE_SCHEDULE)


def test_sample_schedule_is_valid(sample: Schedule) -> None:
    c = sample.conference
    assert (c.id, c.timezone, c.access) == ("ep2026", "Europe/Prague", "space-members")
    assert (c.start, c.end) == (date(2026, 7, 13), date(2026, 7, 15))
    assert c.days == [date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 15)]
    assert c.video.jitsi_domain == "meet.jit.si"
    assert [t.id for t in sample.tracks] == ["plenary", "forum", "terrace", "south", "training"]
    assert [t.kind for t in sample.tracks].count("talk") == 3
    assert len(sample.talks) == 30
    assert len(sample.posters) == 4 and all(p.pdf for p in sample.posters)
    assert len(sample.sponsors) == 2 and all(s.jobs for s in sample.sponsors)
    assert [h.video for h in sample.helpdesks] == [True]
    assert len(sample.open_space.rooms) == 2 and len(sample.open_space.slots) == 4
    assert [r.id for r in sample.lobby] == ["announcements", "info-desk", "hallway", "jobs"]
    assert sample.organisers == ["@organiser:localhost"]
    assert sample.moderators == ["@moderator:localhost"]
    assert check_schedule(sample) == []


def test_sample_streams_and_helpers(sample: Schedule) -> None:
    kinds = {t.id: t.stream_kind for t in sample.tracks}
    assert kinds == {"plenary": "iframe", "forum": "iframe", "terrace": "hls", "south": "iframe",
                     "training": None}
    forum = sample.talks_in("forum")
    assert [t.start for t in forum] == sorted(t.start for t in forum)
    assert all(t.track == "forum" for t in forum)
    assert sample.track("terrace").name == "Terrace 2A"
    with pytest.raises(KeyError):
        sample.track("nope")
    ids = sample.all_matrix_ids()
    assert "@speaker-ada:localhost" in ids and "@snakeworks-staff:localhost" in ids
    assert ids == sorted(set(ids))
    assert any(p.matrix_id for t in sample.talks for p in t.speakers)


def test_sample_times_are_in_the_conference_timezone(sample: Schedule) -> None:
    for talk in sample.talks:
        assert talk.start.tzinfo is not None
        assert talk.start.utcoffset() == timedelta(hours=2)  # CEST in July
        assert talk.end == talk.start + talk.duration
    keynote = sample.talk("keynote-mon")
    assert keynote.start == datetime(2026, 7, 13, 9, 0, tzinfo=PRAGUE)
    # Written as 2026-07-14T07:00Z: the same instant, 09:00 in Prague.
    tue = sample.talk("keynote-tue")
    assert tue.start == datetime(2026, 7, 14, 7, 0, tzinfo=timezone.utc)
    assert tue.start.astimezone(PRAGUE).hour == 9
    assert sample.talk("tutorial-fastapi").duration == timedelta(hours=3)


# --------------------------------------------------------------------------- valid variants


def test_naive_times_offsets_and_durations() -> None:
    s = parse_schedule(HEAD + textwrap.dedent("""\
        talks:
          - {id: a, track: forum, title: A, start: 2026-07-13 09:00, duration: 45m}
          - {id: b, track: forum, title: B, start: "2026-07-13T10:00+02:00", duration: 1h30m}
          - {id: c, track: forum, title: C, start: 2026-07-13T10:00:00Z, duration: 90}
          - {id: d, track: forum, title: D, start: 2026-07-13 14:00, duration: "1:30"}
          - {id: e, track: forum, title: E, start: 2026-07-14 9:05, duration: 1h}
        """))
    a, b, c, d, e = s.talks
    assert a.start == datetime(2026, 7, 13, 9, 0, tzinfo=PRAGUE)
    assert a.start.utcoffset() == timedelta(hours=2)
    assert a.duration == timedelta(minutes=45)
    assert b.start == datetime(2026, 7, 13, 8, 0, tzinfo=timezone.utc)
    assert c.start == datetime(2026, 7, 13, 12, 0, tzinfo=PRAGUE)  # 10:00 UTC
    assert b.duration == c.duration == d.duration == timedelta(minutes=90)
    assert e.start == datetime(2026, 7, 14, 9, 5, tzinfo=PRAGUE)
    assert e.end == datetime(2026, 7, 14, 10, 5, tzinfo=PRAGUE)


def test_winter_time_offset() -> None:
    s = parse_schedule(HEAD.replace("2026-07-13", "2026-01-13").replace("2026-07-15",
                                                                         "2026-01-15")
                       + "talks:\n  - {id: a, track: forum, title: A, start: 2026-01-13 09:00,"
                         " duration: 30}\n")
    assert s.talks[0].start.utcoffset() == timedelta(hours=1)


def test_defaults_and_friendly_shorthands() -> None:
    s = parse_schedule(HEAD + textwrap.dedent("""\
        staff:
          organisers: "@alice:example.org"
          moderators:
        talks:
          - id: a
            track: forum
            title: A
            kind: Keynote
            start: 2026-07-13 09:00
            duration: 30
            speakers: Ada Lovelace
            abstract:
        posters:
        open_space:
        """))
    assert s.staff.organisers == ["@alice:example.org"] and s.staff.moderators == []
    assert s.lobby == list(DEFAULT_LOBBY) and s.lobby[0].read_only
    assert s.talks[0].kind == "keynote"
    assert s.talks[0].speakers == [Person(name="Ada Lovelace")]
    assert s.talks[0].abstract == ""
    assert s.posters == [] and s.open_space.rooms == [] and s.open_space.slots == []
    assert s.conference.access == "space-members"
    assert s.conference.video.jitsi_wrapper_url == "https://app.element.io/jitsi.html"

    s = parse_schedule(HEAD + "lobby: []\n")
    assert s.lobby == []


def test_yaml_booleans_are_only_true_and_false() -> None:
    s = parse_schedule(HEAD + "helpdesks:\n  - {id: no, name: on, video: yes}\n")
    assert s.helpdesks[0].id == "no" and s.helpdesks[0].name == "on"
    assert s.helpdesks[0].video is True


def test_talk_may_end_at_midnight_of_the_last_day() -> None:
    parse_schedule(HEAD + "talks:\n  - {id: a, track: forum, title: A, "
                          "start: 2026-07-15 23:00, duration: 1h}\n")
    err = only_problem(HEAD + "talks:\n  - {id: a, track: forum, title: A, "
                              "start: 2026-07-15 23:00, duration: 61}\n")
    assert (err.line, err.path) == (10, "talks[0].start")
    assert "outside the conference days" in err.message


def test_models_are_frozen_and_reject_unknown_fields() -> None:
    s = parse_schedule(HEAD)
    with pytest.raises(ValidationError):
        s.conference.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Person(name="Ada", email="ada@example.org")  # type: ignore[call-arg]


# --------------------------------------------------------------------------- invalid files

CASES = [
    # file, line, path, fragments of the message
    ("unknown_track", 13, "talks[0].track",
     ["unknown track 'forums'", "did you mean 'forum'", "known tracks: forum, training"]),
    ("overlap", 20, "talks[1].start",
     ["talk 'asyncio' (Mon 13 Jul 09:30-10:00) overlaps talk 'opening'", "09:00-09:45",
      "line 12", "track 'forum'"]),
    ("outside_days", 15, "talks[0].start",
     ["Thu 16 Jul 10:00-10:45", "outside the conference days", "2026-07-13 to 2026-07-15"]),
    ("bad_duration", 16, "talks[0].duration", ["'45x' is not a duration", '"1h30m"']),
    ("bad_timezone", 5, "conference.timezone",
     ["unknown timezone 'Europe/Prag'", "did you mean 'Europe/Prague'"]),
    ("end_before_start", 7, "conference.end", ["ends (2026-07-12) before it starts"]),
    ("bad_matrix_id", 13, "staff.moderators[0]",
     ["'bob:example.org' is not a valid Matrix ID", "start with '@'", "@alice:example.org"]),
    ("bad_url", 9, "tracks[0].stream",
     ["'ftp://streams.example.org/forum' is not a web address", "https://"]),
    ("bad_enum", 17, "talks[0].kind",
     ["'keynot' is not a valid kind", "did you mean 'keynote'",
      "talk, keynote, lightning, panel, workshop, tutorial"]),
    ("bad_access", 8, "conference.access",
     ["'members' is not a valid access", "public, space-members, invite"]),
    ("unknown_field", 14, "talks[0].tittle",
     ["unknown field 'tittle' (did you mean 'title'?)"]),
    ("missing_field", 12, "talks[0].title", ["required field 'title' is missing"]),
    ("bad_id", 12, "talks[0].id",
     ["'opening session' is not a valid id", "no spaces", "'opening-session'"]),
    ("duplicate_id", 11, "tracks[2].id",
     ["duplicate id 'Forum'", "tracks[0].id on line 9", "ignoring case"]),
    ("duplicate_key", 17, "talks[0].title", ["'title' appears twice", "first on line 14"]),
    ("syntax_error", 13, "", ["YAML syntax error", 'must be quoted, e.g. "@alice:example.org"']),
    ("tabs", 12, "", ["tabs", "indent with spaces"]),
    ("slot_overlap", 15, "open_space.slots[1].start",
     ["Tue 14 Jul 13:15-13:45", "overlaps the slot Tue 14 Jul 13:00-13:30", "line 14"]),
    ("bad_conference_id", 3, "conference.id",
     ["'EP 2026' is not a valid conference id", "lowercase", "'ep-2026'"]),
    ("missing_conference", 2, "conference", ["conference section is missing"]),
    ("bad_datetime", 15, "talks[0].start",
     ["'2026-07-13 9am' is not a date and time", "2026-07-13 09:00"]),
    ("not_a_list", 11, "posters", ["'posters' should be a list", "'- '"]),
    ("year_9999", 7, "conference.end", ["'9999-12-31' is in the year 9999", "from 1970 to 9998"]),
    ("control_character", 13, "", ["column 20 holds the control character U+001B", "delete it"]),
    ("too_long", 13, "talks[0].title", ["has 314 characters", "at most 255", "shorten it"]),
]


@pytest.mark.parametrize(("name", "line", "path", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_invalid_fixture(name: str, line: int, path: str, fragments: list[str]) -> None:
    file = INVALID / f"{name}.yaml"
    with pytest.raises(ScheduleInvalid) as info:
        load_schedule(file)
    errors = info.value.errors
    assert len(errors) == 1, "\n".join(map(str, errors))
    err = errors[0]
    assert (err.file, err.line, err.path) == (str(file), line, path)
    for fragment in fragments:
        assert fragment in err.message
    assert "Input should" not in err.message and "pydantic" not in err.message
    prefix = f"{file}:{line}: {path}: " if path else f"{file}:{line}: "
    assert str(err) == prefix + err.message


def test_every_invalid_fixture_is_tested() -> None:
    tested = {c[0] for c in CASES} | {"many_mistakes"}
    assert {p.stem for p in INVALID.glob("*.yaml")} == tested


def test_all_mistakes_are_reported_at_once() -> None:
    file = INVALID / "many_mistakes.yaml"
    with pytest.raises(ScheduleInvalid) as info:
        load_schedule(file)
    found = {(e.line, e.path) for e in info.value.errors}
    assert found == {
        (8, "conference.acess"),
        (10, "staff.organisers[0]"),
        (14, "tracks[0].kind"),
        (20, "talks[0].track"),       # reported although the same talk has a bad duration
        (23, "talks[0].duration"),
        (32, "talks[2].start"),       # overlap, found although track 'forum' itself is broken
        (37, "talks[3].start"),       # runs past midnight after the last day
        (42, "posters[0].pdf"),
        (47, "sponsors[0].jobs[0].url"),
    }
    messages = {e.path: e.message for e in info.value.errors}
    assert "did you mean 'access'" in messages["conference.acess"]
    assert "did you mean '@alice:example.org'" in messages["staff.organisers[0]"]
    assert "unknown track 'forums'" in messages["talks[0].track"]
    assert "overlaps talk 'keynote'" in messages["talks[2].start"]
    text = str(info.value)
    assert text.splitlines()[-1].startswith(f"9 problems found in {file}")
    assert text.splitlines()[0].startswith(f"{file}:8: conference.acess: ")
    assert [e.line for e in info.value.errors] == sorted(e.line for e in info.value.errors)


def test_duplicate_keys_do_not_hide_other_mistakes() -> None:
    errors = problems(HEAD + textwrap.dedent("""\
        talks:
          - id: a
            track: nowhere
            title: A
            title: B
            start: 2026-07-13 09:00
            duration: 30
        """))
    assert [(e.line, e.path) for e in errors] == [(11, "talks[0].track"), (13, "talks[0].title")]


@pytest.mark.parametrize(("snippet", "line", "path", "fragment"), [
    ("talks:\n  - {id: a, track: forum, title: A, start: 2026-03-29 02:30, duration: 30}\n",
     10, "talks[0].start", "does not exist in Europe/Prague"),
    ("talks:\n  - {id: a, track: forum, title: A, start: 2026-07-13 09:00, duration: 25h}\n",
     10, "talks[0].duration", "longer than 24 hours"),
    ("talks:\n  - {id: a, track: forum, title: A, start: 2026-07-13 09:00, duration: 0}\n",
     10, "talks[0].duration", "longer than 0 minutes"),
    ("talks:\n  - {id: a, track: forum, title: A, start: 2026-07-13 09:00, duration: 1.5}\n",
     10, "talks[0].duration", "whole number of minutes"),
    ("talks:\n  - {id: a, track: forum, title: '', start: 2026-07-13 09:00, duration: 30}\n",
     10, "talks[0].title", "must not be empty"),
    ("talks:\n  - {id: a, track: forum, title: true, start: 2026-07-13 09:00, duration: 30}\n",
     10, "talks[0].title", "expected text here, not true"),
    ("talks:\n  - {id: a, track: forum, title: A, start: 2026-07-13, duration: 30}\n",
     10, "talks[0].start", "has no time of day"),
    ("open_space:\n  slots:\n    - {start: 2026-07-12 13:00, duration: 30}\n",
     11, "open_space.slots[0].start", "outside the conference days"),
    ("open_space:\n  rooms:\n    - {id: os1, name: A}\n    - {id: OS1, name: B}\n",
     12, "open_space.rooms[1].id", "duplicate id 'OS1'"),
    ("sponsors:\n  - {id: acme, name: ACME, booth_url: acme.example/booth}\n",
     10, "sponsors[0].booth_url", "did you mean 'https://acme.example/booth'"),
    ("helpdesks:\n  - id: help\n    name: Help\n    staff: ['@helper:example.org:notaport']\n",
     12, "helpdesks[0].staff[0]", "is not a valid Matrix ID"),
    ("posters:\n  - id: p1\n    title: P\n    presenters: [{name: X, matrix_id: x}]\n",
     12, "posters[0].presenters[0].matrix_id", "must start with '@'"),
    ("tracks_: []\n", 9, "tracks_", "unknown section 'tracks_' (did you mean 'tracks'?)"),
    ("talks: [{id: a, track: forum, title: A, start: 2026-07-13 09:00, duration: 30,"
     " speakers: [{nam: Ada}]}]\n", 9, "talks[0].speakers[0].nam",
     "unknown field 'nam' (did you mean 'name'?)"),
])
def test_more_mistakes(snippet: str, line: int, path: str, fragment: str) -> None:
    err = only_problem(HEAD + snippet)
    assert (err.line, err.path) == (line, path), str(err)
    assert fragment in err.message, str(err)


def test_chairs_and_video_settings_are_checked() -> None:
    errors = problems(HEAD.replace("  end: 2026-07-15\n", (
        "  end: 2026-07-15\n"
        "  video:\n"
        "    jitsi_domain: https://meet.example.org\n"
        "    jitsi_wrapper_url: file:///tmp/jitsi.html\n")).replace("{id: forum, name: Forum Hall}",
                      "{id: forum, name: Forum Hall, chairs: [carol]}"))
    assert [(e.line, e.path) for e in errors] == [
        (8, "conference.video.jitsi_domain"),
        (9, "conference.video.jitsi_wrapper_url"),
        (11, "tracks[0].chairs[0]"),
    ]
    assert "no https://" in errors[0].message


def test_empty_and_non_mapping_files() -> None:
    assert "empty" in only_problem("# nothing here\n").message
    err = only_problem("- just\n- a list\n")
    assert err.line == 1 and "sections like 'conference:'" in err.message
    err = only_problem("---\nconference: {}\n---\nother: 1\n")
    assert err.line == 3 and "more than one YAML document" in err.message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ScheduleInvalid) as info:
        load_schedule(tmp_path / "missing.yaml")
    assert "file not found" in str(info.value)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("conference:\n  name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScheduleInvalid) as info:
        load_schedule(bad)
    assert "UTF-8" in info.value.errors[0].message


def test_bom_is_ignored(tmp_path: Path) -> None:
    f = tmp_path / "schedule.yaml"
    f.write_text("\ufeff" + HEAD, encoding="utf-8")
    assert load_schedule(f).conference.id == "ep2026"


# --------------------------------------------------------------------------- importers / API


def importer_data() -> dict:
    return {
        "conference": {"id": "imported", "name": "Imported", "timezone": "Europe/Prague",
                       "start": date(2026, 7, 13), "end": date(2026, 7, 14)},
        "tracks": [{"id": "main", "name": "Main"}],
        "talks": [
            {"id": "t1", "track": "main", "title": "One",
             "start": datetime(2026, 7, 13, 9, 0), "duration": timedelta(minutes=30)},
            {"id": "t2", "track": "main", "title": "Two",
             "start": datetime(2026, 7, 13, 8, 0, tzinfo=timezone.utc), "duration": "45m",
             "speakers": [{"name": "Ada", "matrix_id": "@ada:192.168.1.2:8448"}]},
        ],
    }


def test_validate_schedule_data_for_importers() -> None:
    s = validate_schedule_data(importer_data())
    assert s.talks[0].start == datetime(2026, 7, 13, 9, 0, tzinfo=PRAGUE)
    assert s.talks[1].start == datetime(2026, 7, 13, 10, 0, tzinfo=PRAGUE)
    assert s.all_matrix_ids() == ["@ada:192.168.1.2:8448"]

    data = importer_data()
    data["talks"][1]["start"] = datetime(2026, 7, 13, 9, 15)
    data["talks"].append({"id": "t3", "track": "mian", "title": "Three",
                          "start": "2026-07-14 09:00", "duration": 20})
    with pytest.raises(ScheduleInvalid) as info:
        validate_schedule_data(data, "pretalx export")
    errs = info.value.errors
    assert [(e.file, e.line, e.path) for e in errs] == [
        ("pretalx export", None, "talks[1].start"), ("pretalx export", None, "talks[2].track")]
    assert "overlaps talk 't1'" in errs[0].message
    assert str(errs[1]).startswith("pretalx export: talks[2].track: unknown track 'mian' "
                                   "(did you mean 'main'?)")
    # The same data with a line map gets lines (falling back to the enclosing path).
    lines = LineMap({(): 1, ("talks",): 5, ("talks", 1): 9})
    with pytest.raises(ScheduleInvalid) as info:
        validate_schedule_data(data, "x.yaml", lines)
    assert [e.line for e in info.value.errors] == [5, 9]


def test_schedule_model_validate_uses_conference_timezone() -> None:
    s = Schedule.model_validate(importer_data())
    assert s.talks[0].start.tzinfo is not None
    assert s.talks[0].start.utcoffset() == timedelta(hours=2)
    # A lone Talk has no conference: a naive time is refused, an aware one accepted.
    raw = {"id": "x", "track": "main", "title": "X", "start": "2026-07-13 09:00",
           "duration": 30}
    with pytest.raises(ValidationError, match="has no timezone"):
        Talk.model_validate(raw)
    assert Talk.model_validate(raw, context={"tz": PRAGUE}).start.utcoffset() == timedelta(hours=2)
    raw["start"] = "2026-07-13T09:00+02:00"
    assert Talk.model_validate(raw).end == datetime(2026, 7, 13, 7, 30, tzinfo=timezone.utc)


def test_check_schedule_after_an_edit() -> None:
    s = validate_schedule_data(importer_data())
    t1, t2 = s.talks
    moved = t2.model_copy(update={"start": t1.start + timedelta(minutes=10)})
    edited = s.model_copy(update={"talks": [t1, moved]})
    errors = check_schedule(edited)
    assert [(e.line, e.path) for e in errors] == [(None, "talks[1].start")]
    assert "overlaps talk 't1'" in errors[0].message


def test_schedule_invalid_str() -> None:
    errs = [ScheduleError("s.yaml", 3, "talks[0].id", "bad"), ScheduleError("s.yaml", 1, "", "x")]
    exc = ScheduleInvalid(errs)
    assert str(exc).splitlines() == ["s.yaml:1: x", "s.yaml:3: talks[0].id: bad",
                                     "2 problems found in s.yaml; fix and try again."]
    assert str(ScheduleInvalid(errs[:1])).endswith("1 problem found in s.yaml; fix and try again.")


# --------------------------------------------------------------------------- YAML source


def test_load_yaml_keeps_text_and_lines() -> None:
    text = textwrap.dedent("""\
        conference:
          start: 2026-07-13
          at: 13:00
          octal: 010
          flags: [true, no, off, yes]
        talks:
          - id: a
            duration: 45

          - id: b
            duration: "1h"
        defaults: &d
          video: true
        helpdesks:
          - <<: *d
            id: h
        """)
    data, lines = load_yaml(text, "f.yaml")
    assert data["conference"] == {"start": "2026-07-13", "at": "13:00", "octal": "010",
                                  "flags": [True, "no", "off", "yes"]}
    assert data["helpdesks"] == [{"video": True, "id": "h"}]
    assert lines.line_for(("talks", 1, "duration")) == 11
    assert lines.line_for(("talks", 1)) == 10
    assert lines.line_for(("talks", 0, "duration")) == 8
    assert lines.line_for(("conference", "flags", 2)) == 5
    assert lines.line_for(("talks", 0, "nothing", 3)) == 7   # falls back to the enclosing item
    assert lines.line_for(("nowhere",)) == 1
    assert lines.line_for(("helpdesks", 0, "video")) == 13    # where the merged value is written
    assert lines.get(("talks", 0, "nothing")) is None
    assert format_path(("talks", 3, "duration")) == "talks[3].duration"


def test_load_yaml_duplicate_keys() -> None:
    with pytest.raises(YamlSourceError) as info:
        load_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "f.yaml")
    exc = info.value
    assert [(p.line, p.path) for p in exc.problems] == [(4, ("b", "c")), (5, ("a",))]
    assert exc.has_data and exc.data == {"a": 1, "b": {"c": 1}}
    assert "f.yaml:4: b.c: 'c' appears twice" in str(exc)


def test_load_yaml_rejects_recursion_and_unsafe_tags() -> None:
    with pytest.raises(YamlSourceError, match="recursive"):
        load_yaml("a: &x [1, *x]\n", "f.yaml")
    with pytest.raises(YamlSourceError) as info:
        load_yaml("a: 1\nb: !!python/object/apply:os.system [echo hi]\n", "f.yaml")
    assert info.value.problems[0].line == 2 and not info.value.has_data
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
    with pytest.raises(YamlSourceError, match="too many values"):
        load_yaml(bomb, "f.yaml")


# --------------------------------------------------------------------------- properties

hours = st.integers(min_value=0, max_value=24)
minutes = st.integers(min_value=0, max_value=59)


@given(hours, minutes, st.sampled_from(["{h}h{m}m", "{h}h {m}m", "{h}h{m:02d}m", "{t}",
                                        "{t}m", "{t} min", "{h}:{m:02d}", "PT{h}H{m}M", "T"]))
def test_duration_round_trip(h: int, m: int, form: str) -> None:
    total = h * 60 + m
    if not 0 < total <= 24 * 60:
        with pytest.raises(DurationError):
            parse_duration(total)
        return
    value: object = total if form == "T" else form.format(h=h, m=m, t=total)
    assert parse_duration(value) == timedelta(minutes=total)
    if m == 0:
        assert parse_duration(f"{h}h") == timedelta(hours=h)
    if h == 0:
        assert parse_duration(f"{m}m") == timedelta(minutes=m)


garbage = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789hm :.-+PTHMmin", max_size=12),
    st.integers(), st.floats(), st.booleans(), st.none(), st.timedeltas(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2),
)


@given(garbage)
def test_duration_parser_fails_only_with_duration_error(value: object) -> None:
    try:
        result = parse_duration(value)
    except DurationError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:
        assert timedelta(0) < result <= timedelta(hours=24)


GARBAGE_BASE = HEAD + """\
talks:
  - id: a
    track: forum
    title: A
    start: 2026-07-13 09:00
    duration: 45
"""
DURATION_LINE = 14


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(garbage)
def test_garbage_duration_gives_a_located_error(value: object) -> None:
    data, lines = load_yaml(GARBAGE_BASE, "schedule.yaml")
    assert lines.line_for(("talks", 0, "duration")) == DURATION_LINE
    data = copy.deepcopy(data)
    data["talks"][0]["duration"] = value
    try:
        validate_schedule_data(data, "schedule.yaml", lines)
    except ScheduleInvalid as exc:
        assert [(e.line, e.path) for e in exc.errors] == [(DURATION_LINE, "talks[0].duration")]
        assert "Input should" not in exc.errors[0].message
    else:
        assert timedelta(0) < parse_duration(value) <= timedelta(hours=24)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=30))
def test_garbage_duration_text_in_yaml(text: str) -> None:
    # JSON strings are valid YAML double-quoted scalars.
    source = GARBAGE_BASE.replace("duration: 45", f"duration: {json.dumps(text)}")
    try:
        parse_schedule(source)
    except ScheduleInvalid as exc:
        assert [(e.line, e.path) for e in exc.errors] == [(DURATION_LINE, "talks[0].duration")]
    else:
        parse_duration(text)


keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
scalars = st.one_of(st.integers(-10**6, 10**6), st.booleans(), st.none(),
                    st.from_regex(r"[A-Za-z][A-Za-z0-9 ._-]{0,15}[A-Za-z0-9]", fullmatch=True))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, min_size=1, max_size=4),
                               st.dictionaries(keys, children, min_size=1, max_size=4)),
    max_leaves=25,
)


def walk(value: object, path: tuple = ()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield path + (k,), v
            yield from walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield path + (i,), v
            yield from walk(v, path + (i,))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, trees, min_size=1, max_size=5), st.booleans())
def test_line_map_points_at_the_source(data: dict, flow: bool) -> None:
    text = yaml.safe_dump(data, sort_keys=False, width=10_000,
                          default_flow_style=None if flow else False)
    loaded, lines = load_yaml(text, "t.yaml")
    assert loaded == data
    source = text.splitlines()
    for path, value in walk(data):
        line = lines.get(path)
        assert line is not None, path
        assert lines.line_for(path + ("missing", 0)) == line
        row = source[line - 1]
        last = path[-1]
        if isinstance(last, str):
            assert last in row, (path, row)
        elif not flow and not isinstance(value, dict):
            # A block sequence item starts on the line of its "- " (a mapping item starts on
            # the line of its first key, which is also after a "- ").
            assert row.lstrip().startswith("-"), (path, row)
        # Lines never go backwards along a path.
        parent = lines.line_for(path[:-1])
        assert parent is not None and parent <= line


def test_a_poster_session_outside_the_conference_days_is_located():
    data = {"conference": {"id": "x", "name": "X", "timezone": "Europe/Prague", "start": "2026-07-13",
                           "end": "2026-07-14"},
            "posters": [{"id": "p", "title": "P", "sessions": [{"start": "2026-07-13 15:00", "duration": 60},
                                                               {"start": "2026-07-15 09:00", "duration": 30}]}]}
    with pytest.raises(ScheduleInvalid) as raised:
        validate_schedule_data(data, "s.yaml")
    [error] = raised.value.errors
    assert str(error).startswith("s.yaml: posters[0].sessions[1].start: this poster session (Wed 15 Jul 09:00-09:30) "
                                 "is outside the conference days (2026-07-13 to 2026-07-14, Europe/Prague)")
