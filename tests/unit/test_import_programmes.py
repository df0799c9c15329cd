"""podium import on real published programmes (tests/fixtures/programmes/, sources in its README):
c3voc's schedule v2 JSON, pretalx's and frab's schedule JSON, FOSDEM's pentabarf XML of three
eras and frab XML. Each is read here a second time with the standard library alone, and the
schedule Podium writes is checked against that: how many talks, and each talk's title, start,
length, room and speakers. The result must validate and build as `podium validate` does."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.cli import main
from bot.conference.schedule import ScheduleInvalid, load_schedule, parse_schedule
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import build
from bridges.frab_xml import parse_frab_xml
from bridges.importer import ImportOptions, read_programme
from bridges.merge import merge

PROGRAMMES = Path(__file__).parents[1] / "fixtures" / "programmes"
DEMOCON = Path(__file__).parents[1] / "fixtures" / "pretalx-democon.json"
SETTINGS = Settings("example.org", "@podium:example.org", "https://podium.example.org")
CANCELLED = re.compile(r"^\s*cancell?ed\b[\s:\-–]*", re.I)


@dataclass(frozen=True)
class SourceTalk:
    ref: str
    title: str
    start: datetime
    minutes: int
    room: str
    category: str
    speakers: tuple[str, ...]
    cancelled: bool


def _minutes(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return parts[0] * 1440 + parts[1] * 60 + parts[2]


def _text(value) -> str:
    return " ".join(html.unescape(value or "").split())


def xml_talks(path: Path, zone: str) -> list[SourceTalk]:
    """The events of a frab/pentabarf XML file, read without Podium."""
    root = ET.parse(path).getroot()
    out = []
    for day in root.findall("day"):
        for room in day.findall("room"):
            for event in room.findall("event"):
                if event.findtext("date"):
                    start = datetime.fromisoformat(event.findtext("date"))
                else:
                    clock = datetime.strptime(event.findtext("start"), "%H:%M").time()
                    start = datetime.combine(date.fromisoformat(day.get("date")), clock, ZoneInfo(zone))
                title = _text(event.findtext("title"))
                out.append(SourceTalk(
                    event.get("guid") or event.get("id"), CANCELLED.sub("", title), start,
                    _minutes(event.findtext("duration")), room.get("name"), _text(event.findtext("track")),
                    tuple(_text(p.text) for p in event.iter("person")), bool(CANCELLED.match(title))))
    return out


def frab_json_talks(path: Path) -> list[SourceTalk]:
    conference = json.loads(path.read_text())["schedule"]["conference"]
    out = []
    for day in conference["days"]:
        for room, events in day["rooms"].items():
            for event in events:
                ref = event.get("code") or re.search(r"/talk/(\w+)/", event.get("url") or "/talk//") and \
                    re.search(r"/talk/(\w+)/", event["url"])[1] or event.get("guid")
                out.append(SourceTalk(
                    ref, _text(event["title"]), datetime.fromisoformat(event["date"]),
                    _minutes(event["duration"]), room, _text(event.get("track")),
                    tuple(_text(p.get("public_name") or p.get("name")) for p in event["persons"]), False))
    return out


def v2_talks(path: Path) -> list[SourceTalk]:
    schedule = json.loads(path.read_text())["schedule"]
    tracks = {t["slug"]: t["name"] for t in schedule["conference"]["tracks"]}
    out = []
    for event in schedule["events"]:
        start, end = datetime.fromisoformat(event["start"]), datetime.fromisoformat(event["end"])
        out.append(SourceTalk(
            event["code"], _text(event["title"]), start, int((end - start).total_seconds() // 60),
            event["room"]["name"], tracks[event["track"]["slug"]],
            tuple(p["name"] for p in event["participants"] if p.get("role") in (None, "SPEAKER")),
            event.get("state", "CONFIRMED") == "CANCELED"))
    return out


#: (fixture, extra arguments, how to read it without Podium, what the source holds)
CASES = {
    "38c3-hub-v2.json": ((), v2_talks, 2),
    "rc3-channels-2020.json": ((), frab_json_talks, 48),
    "camp2019.json": ((), frab_json_talks, 79),
    "pretalx-democon.json": ((), frab_json_talks, 36),
    "31c3.xml": ((), lambda p: xml_talks(p, "Europe/Berlin"), 35),
    "fosdem-2020.xml": (("--timezone", "Europe/Brussels"), lambda p: xml_talks(p, "Europe/Brussels"), 134),
    "fosdem-2024.xml": (("--timezone", "Europe/Brussels"), lambda p: xml_talks(p, "Europe/Brussels"), 85),
    "fosdem-2026.xml": ((), lambda p: xml_talks(p, "Europe/Brussels"), 106),
}


def fixture(name: str) -> Path:
    return DEMOCON if name == DEMOCON.name else PROGRAMMES / name


def run_import(tmp_path: Path, source: Path, *extra: str, into: Path | None = None) -> tuple[int, Path]:
    into = into or tmp_path / "schedule.yaml"
    return main(["import", str(source), "--into", str(into), *extra]), into


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_real_programme_imports_whole_and_matches_its_source(name, tmp_path, capsys):
    extra, read_source, count = CASES[name]
    source = read_source(fixture(name))
    assert len(source) == count
    code, into = run_import(tmp_path, fixture(name), *extra)
    out = capsys.readouterr()
    assert code == 0, out.err + out.out
    schedule = build(into, SETTINGS).schedule  # validates and renders every room, as `podium validate`
    wanted = [t for t in source if not t.cancelled]
    assert len(schedule.talks) == len(wanted)
    by_ref = {talk.ref: talk for talk in schedule.talks}
    assert set(by_ref) == {t.ref for t in wanted}
    rooms = {track.id: track.name for track in schedule.tracks}
    for expected in wanted:
        talk = by_ref[expected.ref]
        assert expected.title.startswith(talk.title.rstrip("…")), expected.ref
        assert talk.start == expected.start, expected.ref
        assert talk.duration == timedelta(minutes=expected.minutes), expected.ref
        assert rooms[talk.track] == expected.room, expected.ref
        assert [p.name for p in talk.speakers] == list(expected.speakers), expected.ref
        assert talk.category == expected.category, expected.ref


# ----------------------------------------------------------------- c3voc's schedule v2 JSON


def test_the_congress_hubs_schedule_v2_is_read_with_its_tracks_links_and_language(tmp_path, capsys):
    code, into = run_import(tmp_path, PROGRAMMES / "38c3-hub-v2.json")
    assert code == 0, capsys.readouterr().err
    schedule = load_schedule(into)
    opening = next(t for t in schedule.talks if t.ref == "HQCCYH")
    assert opening.title == "38C3: Opening Ceremony"
    assert opening.category == "CCC"
    assert opening.language == "en"
    assert opening.abstract.startswith("Glad you could make it!")
    assert opening.description.startswith("This ceremony will prepare you")
    assert "https://fahrplan.events.ccc.de/congress/2024/fahrplan/talk/HQCCYH/" in [link.url for link in opening.links]
    assert [p.name for p in opening.speakers] == ["Gabriela Bogk", "Aline Blankertz"]  # not the contributor
    ai = next(t for t in schedule.talks if t.ref == "TPGRNN")
    assert ai.subtitle == "Most Wanted Using Deep Reinforcement Learning"
    assert schedule.conference.timezone == "Europe/Berlin"


def test_an_import_that_finds_no_talk_is_an_error_and_writes_nothing(tmp_path, capsys):
    data = json.loads((PROGRAMMES / "38c3-hub-v2.json").read_text())
    data["schedule"]["events"] = []
    source = tmp_path / "empty.json"
    source.write_text(json.dumps(data))
    code, into = run_import(tmp_path, source)
    err = capsys.readouterr().err
    assert code == 1
    assert "no talk" in err
    assert not into.exists()


# ------------------------------------------------------------------------------ overlaps


def test_talks_that_overlap_in_one_room_of_the_source_are_kept_and_marked(tmp_path, capsys):
    """FOSDEM 2024's UB4.136 has a talk that starts before the one before it ends."""
    code, into = run_import(tmp_path, PROGRAMMES / "fosdem-2024.xml", "--timezone", "Europe/Brussels")
    out = capsys.readouterr()
    assert code == 0, out.err
    schedule = build(into, SETTINGS).schedule
    overlapping = set()
    source = sorted(xml_talks(PROGRAMMES / "fosdem-2024.xml", "Europe/Brussels"), key=lambda t: t.start)
    for i, talk in enumerate(source):
        if any(o.room == talk.room and o.start + timedelta(minutes=o.minutes) > talk.start for o in source[:i]):
            overlapping.add(talk.ref)
    assert len(overlapping) == 2
    assert {t.ref for t in schedule.talks if t.parallel} == overlapping
    assert "2 talks overlap another in their room: kept, marked parallel: true" in out.out


def test_an_overlap_written_by_hand_is_still_refused():
    text = """
conference: {id: tiny, name: Tiny, timezone: Europe/Prague, start: 2026-07-13, end: 2026-07-13}
tracks: [{id: main, name: Main}]
talks:
  - {id: a, track: main, title: A, start: 2026-07-13 10:00, duration: 30}
  - {id: b, track: main, title: B, start: 2026-07-13 10:15, duration: 30}
"""
    with pytest.raises(ScheduleInvalid, match="overlaps"):
        parse_schedule(text, "schedule.yaml")
    parse_schedule(text.replace("duration: 30}\n", "duration: 30, parallel: true}\n", 2)[::1], "schedule.yaml")


# ---------------------------------------------------------------------------- time zones


def test_the_zone_comes_from_the_talks_offsets_when_the_export_names_none(tmp_path, capsys):
    code, into = run_import(tmp_path, PROGRAMMES / "rc3-channels-2020.json")
    out = capsys.readouterr()
    assert code == 0, out.err
    assert load_schedule(into).conference.timezone == "Etc/GMT-1"
    assert "UTC+01:00" in out.out and "--timezone" in out.out


def test_the_timezone_flag_names_the_zone(tmp_path, capsys):
    code, into = run_import(tmp_path, PROGRAMMES / "31c3.xml", "--timezone", "Europe/Berlin")
    assert code == 0, capsys.readouterr().err
    assert load_schedule(into).conference.timezone == "Europe/Berlin"


def test_without_a_zone_anywhere_one_error_asks_for_the_flag(tmp_path, capsys):
    code, into = run_import(tmp_path, PROGRAMMES / "fosdem-2020.xml")
    err = capsys.readouterr().err
    assert code == 1
    assert "--timezone" in err
    assert len([line for line in err.splitlines() if line.startswith(str(PROGRAMMES / "fosdem-2020.xml:"))]) == 1


# ------------------------------------------------------------------- frab without guids


def test_the_numeric_event_id_is_the_reference_when_there_is_no_guid():
    programme = parse_frab_xml((PROGRAMMES / "fosdem-2024.xml").read_bytes(), "fosdem-2024.xml",
                               timezone="Europe/Brussels")
    first = re.search(r'<event id="(\d+)">', (PROGRAMMES / "fosdem-2024.xml").read_text())[1]
    assert first in {t.ref for t in programme.talks}


def test_one_message_per_kind_of_problem_with_a_count():
    text = re.sub(r'<event id="\d+">', "<event>", (PROGRAMMES / "fosdem-2024.xml").read_text())
    with pytest.raises(ScheduleInvalid) as caught:
        parse_frab_xml(text, "fosdem-2024.xml", timezone="Europe/Brussels")
    assert len(caught.value.errors) == 1
    assert "85 events" in caught.value.errors[0].message


# ------------------------------------------------------------------------- cancellations


def test_cancelled_talks_are_not_built(tmp_path, capsys):
    code, into = run_import(tmp_path, PROGRAMMES / "fosdem-2020.xml", "--timezone", "Europe/Brussels")
    out = capsys.readouterr().out
    assert code == 0
    titles = [t.title for t in load_schedule(into).talks]
    assert not [t for t in titles if "CANCELLED" in t.upper()]
    assert "3 cancelled talks left out" in out


def test_a_talk_cancelled_after_it_was_announced_is_shown_as_cancelled(tmp_path, capsys):
    source = (PROGRAMMES / "fosdem-2020.xml").read_text()
    announced = source.replace("CANCELLED Testing apps", "Testing apps")
    first = tmp_path / "announced.xml"
    first.write_text(announced)
    assert run_import(tmp_path, first, "--timezone", "Europe/Brussels")[0] == 0
    code, into = run_import(tmp_path, PROGRAMMES / "fosdem-2020.xml", "--timezone", "Europe/Brussels")
    assert code == 0
    talk = next(t for t in build(into, SETTINGS).schedule.talks if t.ref == "10639")
    assert talk.cancelled and talk.title == "Testing apps with third-party API integrations"
    assert "cancelled" in capsys.readouterr().out


def test_an_organiser_excludes_a_talk_for_good(tmp_path, capsys):
    code, into = run_import(tmp_path, PROGRAMMES / "camp2019.json")
    assert code == 0
    data = yaml.safe_load(into.read_text())
    gone = data["talks"].pop(0)
    text = into.read_text()
    text = re.sub(rf"  - id: {gone['id']}\n(    .*\n)+", "", text, count=1)
    text += f"import:\n  exclude:\n    - {gone['ref']}  # we cancelled it ourselves\n"
    into.write_text(text)
    capsys.readouterr()
    code, _ = run_import(tmp_path, PROGRAMMES / "camp2019.json", into=into)
    out = capsys.readouterr().out
    assert code == 0
    assert gone["ref"] not in {t.ref for t in load_schedule(into).talks}
    assert "1 talk excluded by import.exclude" in out
    assert "# we cancelled it ourselves" in into.read_text()


# ---------------------------------------------------------------------- organisers' fixes


def test_a_hand_set_kind_and_its_comment_survive_a_reimport(tmp_path, capsys):
    code, into = run_import(tmp_path, PROGRAMMES / "camp2019.json")
    assert code == 0
    text = into.read_text()
    text = text.replace("    title: Opening Ceremony\n",
                        "    title: Opening Ceremony\n    kind: keynote  # the hosts open the camp\n", 1)
    into.write_text(text)
    code, _ = run_import(tmp_path, PROGRAMMES / "camp2019.json", into=into)
    assert code == 0
    assert "kind: keynote  # the hosts open the camp" in into.read_text()
    assert next(t for t in load_schedule(into).talks if t.title == "Opening Ceremony").kind == "keynote"


def test_a_speakers_matrix_id_reaches_all_their_talks(tmp_path, capsys):
    source = PROGRAMMES / "camp2019.json"
    code, into = run_import(tmp_path, source)
    schedule = load_schedule(into)
    counts: dict[str, int] = {}
    for talk in schedule.talks:
        for person in talk.speakers:
            counts[person.name] = counts.get(person.name, 0) + 1
    name = next(n for n, c in sorted(counts.items()) if c > 1)
    text = into.read_text().replace(f"      - {name}\n", f"      - {{name: {name}, matrix_id: '@someone:example.org'}}\n", 1)
    into.write_text(text)
    assert run_import(tmp_path, source, into=into)[0] == 0
    talks = [t for t in load_schedule(into).talks if name in [p.name for p in t.speakers]]
    assert len(talks) == counts[name]
    assert all(p.matrix_id == "@someone:example.org" for t in talks for p in t.speakers if p.name == name)


# ------------------------------------------------------------------------ what is kept


def test_devrooms_are_kept_beside_the_rooms(tmp_path):
    code, into = run_import(tmp_path, PROGRAMMES / "fosdem-2020.xml", "--timezone", "Europe/Brussels")
    assert code == 0
    schedule = load_schedule(into)
    source = xml_talks(PROGRAMMES / "fosdem-2020.xml", "Europe/Brussels")
    assert len(schedule.tracks) == len({t.room for t in source}) == 6
    assert {t.category for t in schedule.talks} == {t.category for t in source if not t.cancelled}
    assert len({t.category for t in schedule.talks}) > len(schedule.tracks)


def test_do_not_record_and_recording_links_are_kept(tmp_path):
    code, into = run_import(tmp_path, PROGRAMMES / "31c3.xml")
    assert code == 0
    source = ET.parse(PROGRAMMES / "31c3.xml").getroot()
    optouts = {e.get("guid") for e in source.iter("event") if e.findtext("recording/optout") == "true"}
    schedule = load_schedule(into)
    assert {t.ref for t in schedule.talks if t.do_not_record} == optouts


def test_dry_run_reports_per_kind_not_per_talk(tmp_path, capsys):
    code, _ = run_import(tmp_path, PROGRAMMES / "fosdem-2020.xml", "--timezone", "Europe/Brussels", "--dry-run")
    out = capsys.readouterr().out
    assert code == 2
    assert "3 cancelled talks left out" in out
    assert out.count("\n") < 40


def test_reading_does_not_depend_on_the_cli():
    programme, notes = read_programme(str(PROGRAMMES / "31c3.xml"), ImportOptions(timezone="Europe/Berlin"))
    result = merge(programme, None, "schedule.yaml")
    assert result.added == 35


def test_nothing_runs_for_a_cancelled_talk(tmp_path):
    from bot.conference.clock import talks_in_track
    from bot.conference.transitions import transitions

    source = (PROGRAMMES / "fosdem-2020.xml").read_text()
    first = tmp_path / "announced.xml"
    first.write_text(source.replace("CANCELLED Testing apps", "Testing apps"))
    assert run_import(tmp_path, first, "--timezone", "Europe/Brussels")[0] == 0
    assert run_import(tmp_path, PROGRAMMES / "fosdem-2020.xml", "--timezone", "Europe/Brussels")[0] == 0
    schedule = load_schedule(tmp_path / "schedule.yaml")
    talk = next(t for t in schedule.talks if t.ref == "10639")
    assert talk not in talks_in_track(schedule, talk.track)
    assert talk.id not in {t.talk_id for t in transitions(schedule)}
