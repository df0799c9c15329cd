"""The ``speakers:`` section: the one place a speaker's Matrix ID lives. Every talk (and poster)
of that speaker gets it; a per-talk ID still counts; disagreements and entries that name nobody
are located errors that say what to do. ``podium import`` writes the answers to its Matrix-ID
question there, and keeps what the organisers typed there, with their comments."""

from __future__ import annotations

import pytest

from bot.conference.schedule import ScheduleInvalid, parse_schedule
from bridges.frab_json import parse_frab_json
from bridges.merge import merge
from bridges.pretalx_api import parse_pretalx_api

HEAD = """\
conference:
  id: tiny
  name: Tiny Con
  timezone: UTC
  start: 2026-07-13
  end: 2026-07-13
tracks:
  - id: forum
    name: Forum
  - id: south
    name: South
"""

TWO_TALKS = """\
talks:
  - id: first
    track: forum
    title: First
    start: 2026-07-13 10:00
    duration: 30
    speakers: [Ada Quill, Bo Jensen]
  - id: second
    track: south
    title: Second
    start: 2026-07-13 11:00
    duration: 30
    speakers:
      - Ada Quill
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScheduleInvalid) as caught:
        parse_schedule(text)
    return [str(error) for error in caught.value.errors]


def test_an_id_in_the_speakers_section_reaches_every_talk_of_that_speaker():
    schedule = parse_schedule(HEAD + """\
speakers:
  - name: Ada Quill   # by mail
    matrix_id: "@ada:example.org"
""" + TWO_TALKS)
    assert [[(p.name, p.matrix_id) for p in t.speakers] for t in schedule.talks] == [
        [("Ada Quill", "@ada:example.org"), ("Bo Jensen", None)], [("Ada Quill", "@ada:example.org")]]
    assert schedule.all_matrix_ids() == ["@ada:example.org"]


def test_a_per_talk_id_still_counts_and_reaches_the_speakers_other_talks():
    schedule = parse_schedule(HEAD + TWO_TALKS.replace(
        "      - Ada Quill\n", '      - {name: Ada Quill, matrix_id: "@ada:example.org"}\n'))
    assert [p.matrix_id for t in schedule.talks for p in t.speakers if p.name == "Ada Quill"] == [
        "@ada:example.org", "@ada:example.org"]


def test_a_talk_id_that_disagrees_with_the_section_is_an_error_on_its_line():
    text = HEAD + 'speakers:\n  - {name: Ada Quill, matrix_id: "@ada:example.org"}\n' + TWO_TALKS.replace(
        "      - Ada Quill\n", '      - {name: Ada Quill, matrix_id: "@other:example.org"}\n')
    assert problems(text) == [
        "schedule.yaml:27: talks[1].speakers[0].matrix_id: '@other:example.org' disagrees with the Matrix ID of "
        "Ada Quill under speakers: ('@ada:example.org', speakers[0] on line 13); a speaker has one Matrix ID, "
        "kept under speakers:: remove it here, or correct the one there"]


def test_two_talks_giving_one_speaker_different_ids_is_an_error():
    text = HEAD + TWO_TALKS.replace("speakers: [Ada Quill, Bo Jensen]",
                                    'speakers: [{name: Ada Quill, matrix_id: "@ada:example.org"}]').replace(
        "      - Ada Quill\n", '      - {name: Ada Quill, matrix_id: "@quill:example.org"}\n')
    [error] = problems(text)
    assert error.startswith("schedule.yaml:25: talks[1].speakers[0].matrix_id: '@quill:example.org' differs from "
                            "'@ada:example.org' given to Ada Quill at talks[0].speakers[0] on line 18")
    assert "list the speaker once under speakers:" in error


def test_two_entries_for_one_speaker_and_an_entry_naming_nobody_are_errors():
    text = HEAD + """\
speakers:
  - {name: Ada Quill, matrix_id: "@ada:example.org"}
  - {name: ada quill, matrix_id: "@quill:example.org"}
  - {name: Bo Jenson, matrix_id: "@bo:example.org"}
""" + TWO_TALKS
    assert problems(text) == [
        "schedule.yaml:14: speakers[1].name: 'ada quill' is listed already (speakers[0] on line 13); a speaker has "
        "one entry and one Matrix ID: remove this one, or keep the right ID in the other",
        "schedule.yaml:15: speakers[2].name: 'Bo Jenson' is no speaker of any talk or poster (did you mean "
        "'Bo Jensen'?); write the name as the talks' speakers: write it, or remove the entry"]


def test_a_speakers_ref_is_checked():
    assert problems(HEAD + 'speakers:\n  - {name: Ada Quill, ref: "no spaces"}\n' + TWO_TALKS)[0].startswith(
        "schedule.yaml:13: speakers[0].ref: 'no spaces' is not a reference Podium writes")


# ------------------------------------------------------------------------------ podium import


def pretalx_programme(answers: dict[str, str], *, ada: str = "Ada Quill", second_room: str = "Main Hall"):
    event = {"slug": "tiny", "name": "Tiny", "date_from": "2026-07-13", "date_to": "2026-07-13", "timezone": "UTC"}
    slots = [
        {"room": {"name": "Main Hall"}, "start": "2026-07-13T10:00:00Z", "end": "2026-07-13T10:30:00Z",
         "submission": {"code": "AAA111", "title": "Opening", "state": "confirmed",
                        "speakers": [{"code": "S1", "name": ada}, {"code": "S2", "name": "Bo"}]}},
        {"room": {"name": second_room}, "start": "2026-07-13T11:00:00Z", "end": "2026-07-13T11:30:00Z",
         "submission": {"code": "BBB222", "title": "Closing", "state": "confirmed",
                        "speakers": [{"code": "S1", "name": ada}]}},
    ]
    return parse_pretalx_api(event, {}, slots, "api", answers)


def test_matrix_question_answers_land_in_the_speakers_section():
    result = merge(pretalx_programme({"S1": "@Ada:Example.org"}), None, "schedule.yaml")
    assert "speakers:\n  - name: Ada Quill\n    ref: S1\n    matrix_id: '@ada:example.org'\n" in result.text
    assert "matrix_id" not in result.text.split("\ntalks:\n", 1)[1], "the talks name their speakers only"
    assert [(p.name, p.matrix_id) for t in result.schedule.talks for p in t.speakers] == [
        ("Ada Quill", "@ada:example.org"), ("Bo", None), ("Ada Quill", "@ada:example.org")]


def test_an_id_typed_in_the_section_survives_a_reimport_with_its_comment():
    first = merge(pretalx_programme({}), None, "schedule.yaml").text
    typed = first.replace("\ntalks:\n", '\nspeakers:\n  - name: Bo   # asked at the desk\n'
                                        '    matrix_id: "@bo:example.org"\ntalks:\n', 1)
    again = merge(pretalx_programme({}), typed, "schedule.yaml")
    assert again.text == typed and again.changes == []
    moved = merge(pretalx_programme({}, second_room="Side Room"), typed, "schedule.yaml")
    assert '  - name: Bo   # asked at the desk\n    matrix_id: "@bo:example.org"\n' in moved.text
    assert [p.matrix_id for t in moved.schedule.talks for p in t.speakers if p.name == "Bo"] == ["@bo:example.org"]


def test_a_renamed_speaker_keeps_the_id_by_their_code():
    first = merge(pretalx_programme({"S1": "@ada:example.org"}), None, "schedule.yaml").text
    renamed = merge(pretalx_programme({}, ada="Ada Q. Quill"), first, "schedule.yaml")
    assert "  - name: Ada Q. Quill\n    ref: S1\n    matrix_id: '@ada:example.org'\n" in renamed.text
    assert [p.matrix_id for t in renamed.schedule.talks for p in t.speakers if p.name == "Ada Q. Quill"] == [
        "@ada:example.org", "@ada:example.org"]


def test_a_per_talk_id_moves_to_the_section_when_the_import_rewrites_the_talks_speakers():
    first = merge(pretalx_programme({}), None, "schedule.yaml").text
    typed = first.replace("    speakers: [Ada Quill, Bo]\n" if "[Ada Quill, Bo]" in first else "      - Bo\n",
                          "      - {name: Bo, matrix_id: '@bo:example.org'}\n", 1)
    assert "@bo:example.org" in typed
    data = {"schedule": {"version": "1", "conference": {
        "acronym": "tiny", "title": "Tiny", "start": "2026-07-13", "end": "2026-07-13", "time_zone_name": "UTC",
        "rooms": [{"name": "Main Hall"}], "days": [{"index": 1, "date": "2026-07-13", "rooms": {"Main Hall": [
            {"code": "AAA111", "title": "Opening", "date": "2026-07-13T10:00:00+00:00", "duration": "00:30",
             "room": "Main Hall", "type": "Talk", "persons": [{"code": "S2", "public_name": "Bo"}]},
            {"code": "BBB222", "title": "Closing", "date": "2026-07-13T11:00:00+00:00", "duration": "00:30",
             "room": "Main Hall", "type": "Talk", "persons": [{"code": "S1", "public_name": "Ada Quill"}]},
        ]}}]}}}
    result = merge(parse_frab_json(data, "tiny.json"), typed, "schedule.yaml")
    assert "~ talk opening (AAA111): speakers: Bo" in result.changes
    section, talks = result.text.split("\ntalks:\n", 1)
    assert "@bo:example.org" in section and "@bo:example.org" not in talks
    assert [p.matrix_id for t in result.schedule.talks for p in t.speakers if p.name == "Bo"] == ["@bo:example.org"]


def test_a_speaker_who_speaks_no_more_leaves_the_section_when_pruning():
    first = merge(pretalx_programme({"S2": "@bo:example.org"}), None, "schedule.yaml").text
    event = {"slug": "tiny", "name": "Tiny", "date_from": "2026-07-13", "date_to": "2026-07-13", "timezone": "UTC"}
    only_closing = parse_pretalx_api(event, {}, [
        {"room": {"name": "Main Hall"}, "start": "2026-07-13T11:00:00Z", "end": "2026-07-13T11:30:00Z",
         "submission": {"code": "BBB222", "title": "Closing", "state": "confirmed",
                        "speakers": [{"code": "S1", "name": "Ada Quill"}]}}], "api", {})
    result = merge(only_closing, first, "schedule.yaml", prune=True)
    assert "- speaker Bo (S2): speaks at no talk any more; removed from speakers: (it gave @bo:example.org)" in result.changes
    assert "@bo:example.org" not in result.text
