"""The programme as iCalendar: ``bridges.ical`` on parsed schedules, ``podium export ical``, and
the same calendar served by the running web server at /schedule.ics and /tracks/<id>.ics.

Every calendar is read back with the icalendar library, as a calendar app would read it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from bot import SAMPLE_SCHEDULE
from bot.cli import main
from bot.conference.display import RoomLinks
from bot.conference.schedule import load_schedule, parse_schedule
from bot.provisioning.desired import Settings, desired_rooms
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates
from bot.store.database import Store
from bot.store.delays import DelayStore
from bot.web import create_app
from bot.web.background import ThreadedServer
from bridges.ical import calendar_bytes, poster_session_uid, talk_uid

SAMPLE = load_schedule(SAMPLE_SCHEDULE)
BOT = "@podium:example.org"
PUBLIC_URL = "https://podium.example.org"
SETTINGS = Settings("example.org", BOT, PUBLIC_URL)
ROOMS = RoomLinks.of(desired_rooms(SAMPLE, RoomTemplates.load(BUNDLED_TEMPLATES), SETTINGS), "example.org")
STAMP = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
ODD_TITLE = 'Commas, semicolons; "quotes" and backslashes \\ — Zürich, 東京 🐍'

#: Prague's clocks go forward on 29 March 2026 (02:00 -> 03:00) and back on 25 October 2026
#: (03:00 -> 02:00): "dst-back" starts at 01:30 summer time and lasts two real hours.
EDGES = """\
conference: {id: edge, name: "Edge cases", timezone: Europe/Prague, start: 2026-03-28, end: 2026-10-26}
tracks:
  - {id: main, name: "Main hall"}
  - {id: side, name: "Side room"}
talks:
  - {id: offset, track: main, title: "Given in New York time", start: "2026-03-28T09:00-04:00", duration: 30}
  - {id: dst-forward, track: main, title: "Across spring forward", start: 2026-03-29 01:30, duration: 60}
  - {id: dst-back, track: side, title: "Across fall back", start: 2026-10-25 01:30, duration: 2h}
  - id: odd
    track: side
    title: 'Commas, semicolons; "quotes" and backslashes \\ — Zürich, 東京 🐍'
    start: 2026-10-26 10:00
    duration: 45
    speakers: ["Zoë O'Brien", "José, the second"]
    abstract: |
      First line; with a semicolon, and a comma.
      Second line: ünïcödé.
"""


def events(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    found = [c for c in calendar.walk("VEVENT")]
    by_uid = {str(e["UID"]): e for e in found}
    assert len(by_uid) == len(found), "every event has its own UID"
    return by_uid


def utc(event: icalendar.Event, field: str) -> datetime:
    value = event.decoded(field)
    assert value.utcoffset() == timedelta(0) and event[field].to_ical().endswith(b"Z"), f"{field} is in UTC"
    return value


def without_stamps(data: bytes) -> list[str]:
    """The calendar's lines but DTSTAMP (when the file was made), unfolded."""
    return [line for line in data.decode().replace("\r\n ", "").split("\r\n") if not line.startswith("DTSTAMP:")]


def test_one_event_per_talk_at_the_schedules_times_in_utc():
    found = events(calendar_bytes(SAMPLE, ROOMS, PUBLIC_URL, stamp=STAMP))
    poster_sessions = {poster_session_uid("ep2026", p.id, n): (p, slot) for p in SAMPLE.posters
                       for n, slot in enumerate(p.sessions, start=1)}
    assert len(poster_sessions) == 2  # the sample's energy poster has two
    assert set(found) == {talk_uid("ep2026", t.id) for t in SAMPLE.talks} | set(poster_sessions)
    for uid, (poster, slot) in poster_sessions.items():
        assert (utc(found[uid], "DTSTART"), utc(found[uid], "DTEND")) == (slot.start, slot.end)
        assert str(found[uid]["SUMMARY"]) == f"Poster session: {poster.title}"
        assert f"{PUBLIC_URL}/widgets/poster/{poster.id}" in str(found[uid]["DESCRIPTION"])
    for talk in SAMPLE.talks:
        event = found[talk_uid("ep2026", talk.id)]
        assert utc(event, "DTSTART") == talk.start
        assert utc(event, "DTEND") - utc(event, "DTSTART") == talk.duration
        assert str(event["SUMMARY"]) == talk.title
        assert str(event["LOCATION"]) == SAMPLE.track(talk.track).name


def test_each_event_links_its_stream_page_and_its_rooms_by_alias():
    event = events(calendar_bytes(SAMPLE, ROOMS, PUBLIC_URL, stamp=STAMP))[talk_uid("ep2026", "typing-in-practice")]
    description = str(event["DESCRIPTION"])
    assert str(event["URL"]) == f"{PUBLIC_URL}/widgets/stream/forum"
    assert description.startswith("With Bruno Castell\n\n")
    assert "Track room (Forum Hall): https://matrix.to/#/#ep2026-track-forum:example.org" in description
    assert "Meet the speakers: https://matrix.to/#/#ep2026-talk-typing-in-practice:example.org" in description
    # A track without a stream links its now/next page instead.
    plenary = events(calendar_bytes(SAMPLE, ROOMS, PUBLIC_URL, stamp=STAMP))[talk_uid("ep2026", "opening")]
    stream = SAMPLE.track("plenary").stream
    assert str(plenary["URL"]).endswith("/widgets/stream/plenary" if stream else "/widgets/now-next?track=plenary")


def test_uids_stay_when_a_talk_moves_or_is_renamed():
    before = events(calendar_bytes(SAMPLE, ROOMS, PUBLIC_URL, stamp=STAMP))
    moved = SAMPLE.model_copy(update={"talks": [
        t.model_copy(update={"start": t.start + timedelta(hours=1), "title": t.title + " (moved)"}) for t in SAMPLE.talks]})
    after = events(calendar_bytes(moved, ROOMS, PUBLIC_URL, stamp=STAMP + timedelta(days=1)))
    assert set(after) == set(before)
    uid = talk_uid("ep2026", "typing-in-practice")
    assert utc(after[uid], "DTSTART") - utc(before[uid], "DTSTART") == timedelta(hours=1)


def test_explicit_offsets_and_both_dst_changes_give_the_right_utc_times():
    schedule = parse_schedule(EDGES)
    found = events(calendar_bytes(schedule, RoomLinks({}, "example.org"), PUBLIC_URL, stamp=STAMP))
    times = {uid.split("/")[1].split("@")[0]: (utc(e, "DTSTART"), utc(e, "DTEND")) for uid, e in found.items()}
    at = lambda *args: datetime(*args, tzinfo=UTC)
    assert times["offset"] == (at(2026, 3, 28, 13, 0), at(2026, 3, 28, 13, 30))  # 09:00 at -04:00
    assert times["dst-forward"] == (at(2026, 3, 29, 0, 30), at(2026, 3, 29, 1, 30))  # 01:30 CET to 03:30 CEST
    # 01:30 CEST is 23:30 UTC; two hours on, the clocks read 02:30 CET, an hour earlier than
    # 01:30 + 2h on the wall clock.
    assert times["dst-back"] == (at(2026, 10, 24, 23, 30), at(2026, 10, 25, 1, 30))
    for talk in schedule.talks:
        assert times[talk.id][0] == talk.start  # the same instant the schedule model holds


def test_odd_titles_and_texts_survive_the_round_trip():
    schedule = parse_schedule(EDGES)
    data = calendar_bytes(schedule, RoomLinks({}, "example.org"), PUBLIC_URL, stamp=STAMP)
    assert all(len(line.encode()) <= 75 for line in data.decode().split("\r\n")), "lines are folded (RFC 5545)"
    event = events(data)[talk_uid("edge", "odd")]
    assert schedule.talk("odd").title == ODD_TITLE
    assert str(event["SUMMARY"]) == ODD_TITLE
    description = str(event["DESCRIPTION"])
    assert description.startswith("With Zoë O'Brien, José, the second\n\nFirst line; with a semicolon, and a comma.\n"
                                  "Second line: ünïcödé.\n\n")
    assert b"SUMMARY:Commas\\, semicolons\\; " in data  # escaped as RFC 5545 asks, not dropped


def test_track_filter_keeps_only_its_talks():
    found = events(calendar_bytes(SAMPLE, ROOMS, PUBLIC_URL, stamp=STAMP, tracks=["forum", "south"]))
    assert set(found) == {talk_uid("ep2026", t.id) for t in SAMPLE.talks if t.track in ("forum", "south")}
    calendar = icalendar.Calendar.from_ical(calendar_bytes(SAMPLE, ROOMS, PUBLIC_URL, stamp=STAMP, tracks=["forum"]))
    assert str(calendar["X-WR-CALNAME"]) == "EuroPython 2026 · Forum Hall"


# ----------------------------------------------------------------------------- the command


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A bot's data directory in which moderators said South runs 15 minutes late."""
    store = Store(tmp_path / "data")
    DelayStore(store.db).set("ep2026", "south", 15, by="@chair:example.org", at=0.0)
    store.close()
    return tmp_path / "data"


def export(tmp_path: Path, *args: str, user_id: str | None = BOT) -> tuple[int, Path]:
    out = tmp_path / "programme.ics"
    argv = ["export", "ical", "--schedule", str(SAMPLE_SCHEDULE), "--public-url", PUBLIC_URL, "-o", str(out), *args]
    return main(argv + (["--user-id", user_id] if user_id else [])), out


def test_export_ical_writes_the_calendar_with_the_delays_applied(tmp_path, data_dir, capsys):
    code, out = export(tmp_path, "--data-dir", str(data_dir))
    assert code == 0
    assert f"Wrote {out}: {len(SAMPLE.talks)} talks, 2 poster sessions." in capsys.readouterr().err
    found = events(out.read_bytes())
    for talk in SAMPLE.talks:
        late = timedelta(minutes=15 if talk.track == "south" else 0)
        assert utc(found[talk_uid("ep2026", talk.id)], "DTSTART") == talk.start + late


def test_export_ical_track_and_its_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PODIUM_USER_ID", raising=False)
    code, out = export(tmp_path, "--track", "terrace", "--data-dir", str(tmp_path / "none"))
    assert code == 0
    assert {str(e["LOCATION"]) for e in events(out.read_bytes()).values()} == {SAMPLE.track("terrace").name}
    capsys.readouterr()
    assert export(tmp_path, "--track", "nope")[0] == 1
    err = capsys.readouterr().err
    assert "--track nope: no such track" in err and "the tracks are plenary, forum" in err and "Traceback" not in err
    assert main(["export", "ical", "--schedule", str(SAMPLE_SCHEDULE), "--user-id", BOT,
                 "-o", str(tmp_path / "missing" / "x.ics")]) == 1
    assert f"cannot write {tmp_path / 'missing' / 'x.ics'}: No such file or directory" in capsys.readouterr().err
    out.unlink()
    assert export(tmp_path, user_id=None)[0] == 1
    assert "pass --user-id @podium:example.org or set PODIUM_USER_ID" in capsys.readouterr().err
    assert not out.exists()


# ----------------------------------------------------------------------------- the web server


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_the_web_server_serves_the_same_calendar(tmp_path, data_dir):
    _code, exported = export(tmp_path, "--data-dir", str(data_dir))
    app = create_app(SAMPLE, SETTINGS, data_dir=data_dir, now=lambda: STAMP)  # delays: the store's
    with ThreadedServer(app) as server:
        status, kind, served = fetch(f"{server.url}/schedule.ics")
        assert (status, kind) == (200, "text/calendar; charset=utf-8")
        assert without_stamps(served) == without_stamps(exported.read_bytes())
        status, kind, forum = fetch(f"{server.url}/tracks/forum.ics")
        assert (status, kind) == (200, "text/calendar; charset=utf-8")
        _code, exported_forum = export(tmp_path, "--data-dir", str(data_dir), "--track", "forum")
        assert without_stamps(forum) == without_stamps(exported_forum.read_bytes())
        assert fetch(f"{server.url}/tracks/nope.ics")[0] == 404
        _status, _kind, page = fetch(f"{server.url}/schedule")
        assert b'href="/schedule.ics"' in page and b'href="/tracks/forum.ics"' in page
