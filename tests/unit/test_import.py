"""podium import without a server: the readers' leniency and located errors on small hand-made
inputs, the merge's promises (ids kept, additions and comments kept, withdrawn talks reported),
and a real pretalx export (tests/fixtures/pretalx-democon.json, from the public voc/schedule
repository's validator examples) imported whole."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.conference.schedule import (
    DurationError,
    ScheduleInvalid,
    load_schedule,
    parse_schedule,
)
from bridges.frab_json import parse_frab_json
from bridges.frab_xml import parse_frab_xml
from bridges.merge import conference_id_for, merge, unique_id
from bridges.pretalx_api import find_question, parse_pretalx_api
from bridges.programme import abstract_text, kind_of, lenient_duration, title_text

DEMOCON = Path(__file__).parents[1] / "fixtures" / "pretalx-democon.json"


def export(*talks: dict, conference: dict | None = None) -> dict:
    """A small schedule.json: one day, talks in the rooms they name."""
    rooms: dict[str, list] = {}
    for talk in talks:
        rooms.setdefault(talk.get("room", "Main Hall"), []).append(talk)
    conf = {"acronym": "TinyCon", "title": "Tiny Con", "start": "2026-07-13", "end": "2026-07-13",
            "time_zone_name": "Europe/Prague", "rooms": [{"name": name} for name in rooms],
            "days": [{"index": 1, "date": "2026-07-13", "rooms": rooms}]}
    conf.update(conference or {})
    return {"schedule": {"version": "1.0", "conference": conf}}


def talk(code: str, title: str, start: str = "2026-07-13T10:00:00+02:00", **fields) -> dict:
    return {"code": code, "title": title, "date": start, "duration": "00:30", "room": "Main Hall",
            "type": "Talk", "persons": [{"code": "P" + code, "public_name": "Ada Quill"}], **fields}


def imported(data: dict, existing: str | None = None, **options) -> tuple[str, object]:
    result = merge(parse_frab_json(data, "tiny.json"), existing, "schedule.yaml", **options)
    return result.text, result


# --------------------------------------------------------------------------- lenient values


@pytest.mark.parametrize("value, minutes", [("00:30", 30), ("01:30", 90), ("0:01:30", 90), ("0:00:45", 45),
                                            (45, 45), ("45m", 45), ("1h", 60)])
def test_durations_as_exports_write_them(value, minutes):
    assert lenient_duration(value) == timedelta(minutes=minutes)


@pytest.mark.parametrize("value", ["1:00:01", "ab:cd", "00:00", ""])
def test_durations_podium_cannot_use(value):
    with pytest.raises(DurationError):
        lenient_duration(value)


def test_html_in_abstracts_becomes_text_with_its_paragraphs():
    text = abstract_text("<p>Fast <b>and</b> safe &amp; sound</p><script>alert(1)</script><ul><li>one</li>"
                         "<li>two</li></ul>")
    assert text == "Fast and safe & sound\n\none\n\ntwo"
    assert abstract_text("", None, "plain\x07 text") == "plain text"
    assert len(abstract_text("x" * 20_000)) == 10_000
    assert title_text("A <i>talk</i>\nin two lines") == "A talk in two lines"


@pytest.mark.parametrize("event_type, kind", [("Talk", "talk"), ("Keynote", "keynote"), ("Lightning Talk", "lightning"),
                                              ("Panel discussion", "panel"), ("Workshop (2h)", "workshop"),
                                              ("Tutorial", "tutorial"), ("Vortrag", "talk"), ("Meetup", None)])
def test_event_types_become_talk_kinds(event_type, kind):
    assert kind_of(event_type) == kind


def test_ids_are_made_valid_from_acronyms_and_titles():
    assert conference_id_for("DemoCon 2026!") == "democon-2026"
    assert conference_id_for("Ünïcödé Conference on Very Long Names Indeed") == "unicode-conference-on"
    assert conference_id_for("会議") == "conference"
    taken: set[str] = set()
    assert unique_id("Room 1 / Ground floor (Hall A)", taken, "room") == "room-1-ground-floor-hall-a"
    assert unique_id("Room 1 / ground floor: Hall A", taken, "room") == "room-1-ground-floor-hall-a-2"
    assert unique_id("🎤", taken, "room-3") == "room-3"
    parse_schedule("conference: {id: democon-2026, name: x, timezone: UTC, start: 2026-01-01, end: 2026-01-01}\n"
                   "tracks: [{id: room-1-ground-floor-hall-a-2, name: x}]")


# --------------------------------------------------------------------------- readers


def test_times_in_another_zone_are_the_same_instant_in_the_conference_zone():
    second = talk("BBB222", "Second")
    del second["date"]
    second["start"] = "11:00"  # no date: the day's date and HH:MM, in Prague
    data = export(talk("AAA111", "Opening", "2026-07-13T08:00:00Z"), second)
    text, _ = imported(data)
    assert "start: 2026-07-13 10:00" in text and "start: 2026-07-13 11:00" in text


def test_an_older_export_without_codes_takes_the_code_from_the_talk_url():
    entry = talk("", "No code", url="https://pretalx.example.org/tiny/talk/G9JGWY/")
    assert parse_frab_json(export(entry), "x.json").talks[0].ref == "G9JGWY"


def test_what_podium_needs_is_reported_with_the_json_path_all_at_once():
    broken = export(talk("AAA111", "", duration="ab"), {"title": "No identity", "date": "nonsense", "duration": "00:30"},
                    conference={"time_zone_name": "Europe/Prague"})
    with pytest.raises(ScheduleInvalid) as caught:
        parse_frab_json(broken, "https://pretalx.example.org/tiny/schedule/export/schedule.json")
    text = str(caught.value)
    where = "https://pretalx.example.org/tiny/schedule/export/schedule.json: schedule.conference.days[0].rooms['Main Hall']"
    assert f"{where}[0].title: the talk has no title" in text
    assert f"{where}[0].duration: 'ab' is not a duration" in text
    assert f"{where}[1].code: the talk has neither a code" in text
    assert f"{where}[1].date: cannot read when the talk starts" in text
    assert "4 problems found" in text


def test_a_bad_time_zone_is_located():
    with pytest.raises(ScheduleInvalid, match=r"schedule.conference.time_zone_name: 'Mars/Olympus' is not an IANA"):
        parse_frab_json(export(talk("AAA111", "x"), conference={"time_zone_name": "Mars/Olympus"}), "x.json")


XML = """<?xml version='1.0' encoding='utf-8' ?>
<schedule>
  <version>v2</version>
  <conference><title>Tiny Con</title><acronym>TinyCon</acronym><start>2026-07-13</start><end>2026-07-13</end>
    <time_zone_name>Europe/Prague</time_zone_name></conference>
  <day index='1' date='2026-07-13'>
    <room name='Main Hall'>
      <event guid='0b8c2a52-0000-4000-8000-000000000001' id='1'>
        <room>Main Hall</room><title>Opening &amp; welcome</title><type>Keynote</type>
        <date>2026-07-13T10:00:00+02:00</date><start>10:00</start><duration>0:01:00</duration>
        <abstract>&lt;p&gt;Hello&lt;/p&gt;</abstract>
        <persons><person id='7'>Ada Quill</person></persons>
      </event>
      <event guid='0b8c2a52-0000-4000-8000-000000000002' id='2'>
        <title>Broken</title><date>2026-07-13T11:00:00+02:00</date>
        <duration>soon</duration>
      </event>
    </room>
  </day>
</schedule>
"""


def test_frab_xml_is_read_and_its_problems_carry_the_line():
    with pytest.raises(ScheduleInvalid) as caught:
        parse_frab_xml(XML, "schedule.xml")
    assert "schedule.xml:16: event (line 14).duration: 'soon' is not a duration" in str(caught.value)
    programme = parse_frab_xml(XML.replace("soon", "00:20"), "schedule.xml")
    first = programme.talks[0]
    assert (first.ref, first.title, first.duration, first.type, first.abstract) == (
        "0b8c2a52-0000-4000-8000-000000000001", "Opening & welcome", timedelta(hours=1), "Keynote", "Hello")
    assert [p.name for p in first.speakers] == ["Ada Quill"]
    assert programme.talks[1].room == "Main Hall"  # no <room> of its own: the enclosing room's


def test_xml_that_is_broken_or_declares_entities_is_refused_with_its_line():
    with pytest.raises(ScheduleInvalid, match=r"schedule.xml:3: not well-formed XML"):
        parse_frab_xml("<schedule>\n<conference>\n</schedule>", "schedule.xml")
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY a "aaaa">]>\n<schedule>&a;</schedule>'
    with pytest.raises(ScheduleInvalid, match=r"schedule.xml:2: the file declares a document type"):
        parse_frab_xml(bomb, "schedule.xml")


def test_the_api_takes_confirmed_scheduled_talks_and_matrix_ids_from_answers():
    event = {"slug": "tiny", "name": {"de": "Winzig", "en": "Tiny Con"}, "date_from": "2026-07-13",
             "date_to": "2026-07-13", "timezone": "Europe/Prague"}
    room = {"id": 1, "name": {"en": "Main Hall"}, "position": 0}

    def slot(code, state, start="2026-07-13T10:00:00+02:00", room=room):
        return {"id": 1, "room": room, "start": start, "end": "2026-07-13T10:45:00+02:00",
                "submission": {"code": code, "title": f"Talk {code}", "state": state, "abstract": "A",
                               "speakers": [{"code": "SPK1", "name": "Ada"}],
                               "submission_type": {"name": {"en": "Lightning talk"}}}}

    slots = [slot("AAA111", "confirmed"), slot("BBB222", "accepted"), slot("CCC333", "withdrawn"),
             slot("DDD444", "confirmed", start=None), {"id": 9, "room": room, "start": "2026-07-13T12:00:00+02:00",
                                                       "end": "2026-07-13T12:30:00+02:00", "submission": None}]
    programme = parse_pretalx_api(event, {"version": "v1"}, slots, "https://p.example.org/api/events/tiny/",
                                  {"SPK1": "@ada:example.org"})
    assert [t.ref for t in programme.talks] == ["AAA111"]
    only = programme.talks[0]
    assert (only.duration, only.type, only.speakers[0].matrix_id) == (timedelta(minutes=45), "Lightning talk",
                                                                     "@ada:example.org")
    assert programme.conference.title == "Tiny Con"
    questions = [{"id": 3, "identifier": "MXID", "question": {"en": "Your Matrix ID", "de": "Deine Matrix-ID"}}]
    assert find_question(questions, "your matrix id") is find_question(questions, "3") is questions[0]
    assert find_question(questions, "Deine Matrix-ID") is questions[0] and find_question(questions, "email") is None


# --------------------------------------------------------------------------- merging


ORGANISED = """\
# Our conference. This comment stays.
conference:
  id: tiny
  name: Tiny Con 2026   # our own name, not pretalx's
  timezone: Europe/Prague
  start: 2026-07-13
  end: 2026-07-13
staff:
  moderators: ["@mo:example.org"]
tracks:
  - id: main-hall
    name: Main Hall
    stream: https://video.example.org/main   # the organisers' stream
    chairs: ["@chair:example.org"]
talks:
  - id: opening
    ref: AAA111
    track: main-hall
    title: Opening
    start: 2026-07-13 10:00
    duration: 30
    speakers:
      - {name: Ada Quill, matrix_id: "@ada:example.org"}   # from the speaker, by mail
  - id: social
    track: main-hall
    title: Social evening   # ours, not in pretalx
    start: 2026-07-13 20:00
    duration: 60
posters:
  - id: energy
    title: Energy in Python
"""


def test_a_reimport_updates_the_programme_and_keeps_the_organisers_additions():
    data = export(talk("AAA111", "Opening and welcome", "2026-07-13T11:00:00+02:00"),
                  talk("NEW999", "A new talk", "2026-07-13T12:00:00+02:00", type="Meetup"))
    text, result = imported(data, ORGANISED)
    schedule = parse_schedule(text)
    opening = schedule.talk("opening")  # renamed and moved, its id (so its rooms) the same
    assert (opening.title, f"{opening.start:%H:%M}", opening.ref) == ("Opening and welcome", "11:00", "AAA111")
    assert opening.speakers[0].matrix_id == "@ada:example.org"
    assert schedule.talk("social").title == "Social evening"
    assert schedule.talk("a-new-talk").ref == "NEW999"
    assert schedule.track("main-hall").stream == "https://video.example.org/main"
    assert schedule.track("main-hall").chairs == ["@chair:example.org"]
    assert [p.id for p in schedule.posters] == ["energy"] and schedule.moderators == ["@mo:example.org"]
    assert schedule.conference.name == "Tiny Con 2026"
    for comment in ("# Our conference. This comment stays.", "# our own name, not pretalx's",
                    "# the organisers' stream", "# from the speaker, by mail", "# ours, not in pretalx"):
        assert comment in text
    assert result.changes == [
        '~ talk opening (AAA111): moved from Mon 13 Jul 10:00 to Mon 13 Jul 11:00',
        '~ talk opening (AAA111): renamed from "Opening" to "Opening and welcome"',
        '+ talk a-new-talk (NEW999): "A new talk", Mon 13 Jul 12:00, 30 min, in main-hall',
    ]
    assert result.notes == [('event type "Meetup" (1 talk) is none of Podium\'s kinds; imported as kind talk '
                             "(talk | keynote | lightning | panel | workshop | tutorial)")]


def test_a_talk_moved_to_a_new_room_gets_a_new_track_and_keeps_its_id():
    text, result = imported(export(talk("AAA111", "Opening", room="Side Room / Upstairs")), ORGANISED)
    assert parse_schedule(text).talk("opening").track == "side-room-upstairs"
    assert result.changes[:2] == ['+ track side-room-upstairs: "Side Room / Upstairs"',
                                  ("~ talk opening (AAA111): moved from Mon 13 Jul 10:00 in main-hall to Mon 13 Jul "
                                  "10:00 in side-room-upstairs")]


def test_answers_that_are_no_matrix_id_are_left_out_and_named():
    event = {"slug": "tiny", "name": "Tiny", "date_from": "2026-07-13", "date_to": "2026-07-13",
             "timezone": "UTC"}
    slot = {"room": {"name": "Main Hall"}, "start": "2026-07-13T10:00:00Z", "end": "2026-07-13T10:30:00Z",
            "submission": {"code": "AAA111", "title": "Opening", "state": "confirmed",
                           "speakers": [{"code": "S1", "name": "Ada"}, {"code": "S2", "name": "Bo"}]}}
    programme = parse_pretalx_api(event, {}, [slot], "api", {"S1": "ada on matrix", "S2": "@Bo:Example.org"})
    result = merge(programme, None, "schedule.yaml")
    assert [(p.name, p.matrix_id) for p in result.schedule.talks[0].speakers] == [("Ada", None),
                                                                                 ("Bo", "@bo:example.org")]
    assert result.notes == [("1 answer to the Matrix-ID question is no Matrix ID (like @alice:example.org), left "
                            "out: Ada ('ada on matrix')")]


def test_the_same_programme_again_changes_nothing_and_leaves_the_text_as_it_was():
    data = export(talk("AAA111", "Opening"))
    text, result = imported(data, ORGANISED)
    assert result.changes == [] and text == ORGANISED


def test_a_withdrawn_talk_is_reported_and_removed_only_when_pruning():
    data = export(talk("ZZZ000", "Something else", "2026-07-13T14:00:00+02:00"))
    text, result = imported(data, ORGANISED)
    assert "! talk opening (AAA111): \"Opening\" is no longer in the programme; kept (pass --prune to remove it)" \
        in result.changes
    assert parse_schedule(text).talk("opening")
    text, result = imported(data, ORGANISED, prune=True)
    assert result.removed == 1 and [t.id for t in parse_schedule(text).talks] == ["social", "something-else"]


def test_a_first_import_writes_a_complete_valid_schedule():
    text, result = imported(export(talk("AAA111", "Opening"), conference={"acronym": "Tiny Con!"}))
    schedule = parse_schedule(text)
    assert (schedule.conference.id, schedule.conference.name, schedule.conference.timezone) == (
        "tiny-con", "Tiny Con", "Europe/Prague")
    assert [t.id for t in schedule.tracks] == ["main-hall"] and result.added == 1
    assert text.startswith("# schedule.yaml - imported by `podium import` from tiny.json")


def test_the_days_widen_to_hold_the_programme():
    late = talk("LATE01", "After midnight", "2026-07-14T00:30:00+02:00")
    text, result = imported(export(late), ORGANISED)
    assert parse_schedule(text).conference.end.isoformat() == "2026-07-14"
    assert "~ conference end: 2026-07-13 → 2026-07-14 (the programme's last day)" in result.changes


def test_a_programme_podium_cannot_hold_names_the_source_talk():
    # Talks that overlap in the source's room are kept side by side; one that overlaps a talk the
    # organisers wrote into the track themselves is refused.
    overlapping = export(talk("AAA111", "Opening"), talk("BBB222", "Clash", "2026-07-13T20:15:00+02:00"))
    with pytest.raises(ScheduleInvalid) as caught:
        imported(overlapping, ORGANISED)
    text = str(caught.value)
    assert "schedule.yaml (as imported): talks[2].start: talk 'clash'" in text
    assert "[from tiny.json: schedule.conference.days[0].rooms['Main Hall'][1], talk BBB222: fix it there]" in text


def test_refs_are_unique():
    doubled = ORGANISED.replace("  - id: social\n", "  - id: social\n    ref: AAA111\n")
    with pytest.raises(ScheduleInvalid, match=r"talks\[1\].ref: duplicate ref 'AAA111'"):
        parse_schedule(doubled)


def test_the_real_democon_export_imports_cleanly():
    data = json.loads(DEMOCON.read_text(encoding="utf-8"))
    programme = parse_frab_json(data, str(DEMOCON))
    result = merge(programme, None, "schedule.yaml")
    schedule = parse_schedule(result.text)
    assert len(schedule.talks) == 36 and [t.name for t in schedule.tracks] == ["Gray Room", "Tan Room"]
    assert all(t.ref and t.speakers for t in schedule.talks)
    assert {t.kind for t in schedule.talks} == {"talk", "workshop"} and result.notes == []
    # The export says UTC but writes its times at +01:00: the same instants, in UTC.
    first = min(schedule.talks, key=lambda t: t.start)
    assert f"{first.start:%Y-%m-%d %H:%M %Z}" == "2020-12-14 08:00 UTC"
    again = merge(programme, result.text, "schedule.yaml")
    assert again.changes == [] and again.text == result.text


def test_the_democon_export_with_what_breaks_its_schema_still_imports():
    data = copy.deepcopy(json.loads(DEMOCON.read_text(encoding="utf-8")))
    conf = data["schedule"]["conference"]
    conf["acronym"] = "DemoCon 2020 (online!)"
    first = conf["days"][0]["rooms"]["Gray Room"][0]
    first.update(duration="0:00:25", abstract="<p>An <em>HTML</em> abstract</p>", persons=[])
    del first["type"]
    conf["days"][0]["rooms"]["Gray Room / Stage ✨"] = conf["days"][0]["rooms"].pop("Tan Room")
    for entry in conf["days"][0]["rooms"]["Gray Room / Stage ✨"]:
        entry["room"] = "Gray Room / Stage ✨"
    schedule = parse_schedule(merge(parse_frab_json(data, "democon.json"), None, "schedule.yaml").text)
    assert schedule.conference.id == "democon-2020-online"
    assert "gray-room-stage" in [t.id for t in schedule.tracks]
    opening = next(t for t in schedule.talks if t.ref == "G9JGWY")
    assert (opening.duration, opening.abstract, opening.speakers, opening.kind) == (
        timedelta(minutes=25), "An HTML abstract", [], "talk")


# --------------------------------------------------------------------------- the command


def test_dry_run_writes_nothing_and_a_failed_import_leaves_the_file(tmp_path, capsys):
    into = tmp_path / "schedule.yaml"
    into.write_text(ORGANISED, encoding="utf-8")
    source = tmp_path / "schedule.json"
    source.write_text(json.dumps(export(talk("AAA111", "Renamed"))), encoding="utf-8")
    assert main(["import", str(source), "--into", str(into), "--dry-run"]) == 2
    out = capsys.readouterr().out
    assert '~ talk opening (AAA111): renamed from "Opening" to "Renamed"' in out and "Nothing was written." in out
    assert into.read_text(encoding="utf-8") == ORGANISED
    source.write_text(json.dumps(export(talk("AAA111", "Renamed"), talk("BBB222", "Clash", "2026-07-13T20:15:00+02:00"))),
                      encoding="utf-8")
    assert main(["import", str(source), "--into", str(into)]) == 1
    captured = capsys.readouterr()
    assert "overlaps" in captured.err and "Traceback" not in captured.err
    assert into.read_text(encoding="utf-8") == ORGANISED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedule.json", "schedule.yaml"]  # no temporary file
    source.write_text(json.dumps(export(talk("AAA111", "Renamed"))), encoding="utf-8")
    assert main(["import", str(source), "--into", str(into)]) == 0
    assert load_schedule(into).talk("opening").title == "Renamed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedule.json", "schedule.yaml"]


@pytest.mark.parametrize("content, message", [
    ('{"schedule": ', "not valid JSON"),
    ('{"hello": "world"}', "not a format Podium reads"),
    ("conference: {}", "not a format Podium reads"),
])
def test_sources_that_are_no_programme_are_refused_clearly(tmp_path, capsys, content, message):
    source = tmp_path / "source.json"
    source.write_text(content, encoding="utf-8")
    assert main(["import", str(source), "--into", str(tmp_path / "schedule.yaml")]) == 1
    err = capsys.readouterr().err
    assert message in err and str(source) in err and "Traceback" not in err
    assert not (tmp_path / "schedule.yaml").exists()


def test_an_unreachable_api_and_a_missing_token_file_say_what_to_do(tmp_path, capsys, monkeypatch):
    from bot.ports import free_port

    monkeypatch.setenv("PODIUM_PRETALX_TOKEN", "secret-token-value")
    url = f"http://127.0.0.1:{free_port()}/api/events/tiny/"
    assert main(["import", url, "--into", str(tmp_path / "s.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"{url}: cannot connect" in err and "secret-token-value" not in err
    assert main(["import", url, "--token-file", str(tmp_path / "nope")]) == 1
    assert "--token-file" in capsys.readouterr().err


def test_the_token_follows_redirects_on_its_host_only():
    import http.server
    import threading

    from bridges.fetch import get

    seen: dict[str, str | None] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen[f"{self.server.server_port}{self.path}"] = self.headers.get("Authorization")
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", self.server.next_url)
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    home, elsewhere = (s.server_port for s in servers)
    try:
        servers[0].next_url = f"http://127.0.0.1:{home}/same"
        get(f"http://127.0.0.1:{home}/moved", "tok")
        assert seen[f"{home}/same"] == "Token tok"
        servers[0].next_url = f"http://127.0.0.1:{elsewhere}/other"
        get(f"http://127.0.0.1:{home}/moved", "tok")
        assert seen[f"{elsewhere}/other"] is None
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
