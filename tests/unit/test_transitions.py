"""The conference clock's plan as pure data: which transitions a schedule has, when, in what
order, with delays, across tracks, midnight, time zones and a daylight-saving change; and what a
bot coming back from downtime runs, skips or waits for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.conference.clock import apply_delays
from bot.conference.schedule import validate_schedule_data
from bot.conference.transitions import (
    CHECK_IN,
    END,
    REMIND,
    START,
    due,
    rehearsal_moment,
    transitions,
)

UTC = timezone.utc


def schedule(talks, *, zone="UTC", day="2026-05-04", last_day=None, plenary=False):
    """Tracks a, b, c (a plenary when asked); ``talks`` as (track, "YYYY-MM-DD HH:MM" or "HH:MM", minutes)."""
    return validate_schedule_data({
        "conference": {"id": "clk", "name": "Clock", "timezone": zone, "start": day, "end": last_day or day},
        "tracks": [{"id": "a", "name": "A", **({"kind": "plenary"} if plenary else {})},
                   {"id": "b", "name": "B"}, {"id": "c", "name": "C"}],
        "talks": [{"id": f"t{i}", "track": track, "title": f"Talk {i}",
                   "start": start if " " in start else f"{day} {start}", "duration": minutes}
                  for i, (track, start, minutes) in enumerate(talks)],
    }, "<test>")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rows(planned):
    return [(t.at.strftime("%m-%d %H:%M"), t.kind, t.talk_id) for t in planned]


def test_a_talk_has_a_reminder_a_check_in_a_start_and_an_end():
    planned = transitions(schedule([("a", "10:00", 30)]))
    assert rows(planned) == [("05-04 09:50", REMIND, "t0"), ("05-04 10:00", CHECK_IN, "t0"),
                             ("05-04 10:00", START, "t0"), ("05-04 10:30", END, "t0")]
    assert all(t.at.tzinfo is not None and t.at.utcoffset() == timedelta(0) for t in planned)
    assert len({t.key for t in planned}) == 4


def test_back_to_back_talks_end_before_the_next_one_starts():
    planned = transitions(schedule([("a", "10:00", 30), ("a", "10:30", 30)]))
    assert rows(planned) == [
        ("05-04 09:50", REMIND, "t0"), ("05-04 10:00", CHECK_IN, "t0"), ("05-04 10:00", START, "t0"),
        ("05-04 10:20", REMIND, "t1"),
        ("05-04 10:30", END, "t0"), ("05-04 10:30", CHECK_IN, "t1"), ("05-04 10:30", START, "t1"),
        ("05-04 11:00", END, "t1"),
    ]


def test_overlapping_tracks_interleave_by_time_and_each_keeps_its_order():
    planned = transitions(schedule([("a", "10:00", 45), ("b", "10:15", 30), ("c", "10:20", 10)]),
                          remind_before=timedelta(0))
    assert rows(planned) == [
        ("05-04 10:00", CHECK_IN, "t0"), ("05-04 10:00", START, "t0"),
        ("05-04 10:15", CHECK_IN, "t1"), ("05-04 10:15", START, "t1"),
        ("05-04 10:20", CHECK_IN, "t2"), ("05-04 10:20", START, "t2"),
        ("05-04 10:30", END, "t2"), ("05-04 10:45", END, "t0"), ("05-04 10:45", END, "t1"),
    ]
    for track in "abc":
        mine = [t for t in planned if t.track_id == track]
        assert [t.kind for t in mine] == [CHECK_IN, START, END]


def test_a_delay_moves_the_tracks_transitions_and_gives_them_new_keys():
    plan = schedule([("a", "10:00", 30), ("b", "10:00", 30)])
    on_time = {t.talk_id + t.kind: t for t in transitions(plan)}
    late = {t.talk_id + t.kind: t for t in transitions(plan, {"a": 15})}
    for kind in (REMIND, CHECK_IN, START, END):
        assert late["t0" + kind].at - on_time["t0" + kind].at == timedelta(minutes=15)
        assert late["t0" + kind].key != on_time["t0" + kind].key  # runs again at its new time
        assert late["t1" + kind] == on_time["t1" + kind]  # the other track is untouched
    early = {t.talk_id + t.kind: t for t in transitions(plan, {"a": -5})}
    assert early["t0" + START].at == utc("2026-05-04 09:55")


def test_midnight_is_just_another_minute():
    planned = transitions(schedule([("a", "2026-05-04 23:50", 20), ("b", "2026-05-05 00:05", 15)],
                                   last_day="2026-05-05"))
    assert rows(planned) == [
        ("05-04 23:40", REMIND, "t0"), ("05-04 23:50", CHECK_IN, "t0"), ("05-04 23:50", START, "t0"),
        ("05-04 23:55", REMIND, "t1"),
        ("05-05 00:05", CHECK_IN, "t1"), ("05-05 00:05", START, "t1"),
        ("05-05 00:10", END, "t0"), ("05-05 00:20", END, "t1"),
    ]


def test_times_are_the_conference_zones_converted_to_utc():
    planned = transitions(schedule([("a", "09:00", 60)], zone="America/New_York", day="2026-07-14"))
    start = next(t for t in planned if t.kind == START)
    assert start.at == utc("2026-07-14 13:00")  # 09:00 EDT
    assert start.key == "t0|start|2026-07-14T13:00:00Z"
    assert start.at.astimezone(ZoneInfo("America/New_York")).hour == 9


def test_a_daylight_saving_change_costs_nobody_an_hour():
    # Prague springs forward on 2026-03-29: 02:00 CET is 03:00 CEST.
    planned = transitions(schedule([("a", "01:30", 60), ("b", "03:05", 20)], zone="Europe/Prague",
                                   day="2026-03-29"))
    by = {(t.talk_id, t.kind): t.at for t in planned}
    assert by[("t0", START)] == utc("2026-03-29 00:30")  # 01:30 CET
    assert by[("t0", END)] == utc("2026-03-29 01:30")  # an hour later: 03:30 CEST on the wall
    assert by[("t1", START)] == utc("2026-03-29 01:05")  # 03:05 CEST
    assert by[("t1", REMIND)] == utc("2026-03-29 00:55")  # ten minutes before, 01:55 CET on the wall
    assert [t.at for t in planned] == sorted(t.at for t in planned)


def test_a_talk_across_the_night_the_clocks_go_back_lasts_its_real_duration():
    # Prague falls back on 2026-10-25: 03:00 CEST is 02:00 CET. A two-hour talk from 01:30 CEST
    # (23:30 UTC) ends two real hours later, at 02:30 CET on the wall, not 03:30.
    planned = transitions(schedule([("a", "01:30", 120)], zone="Europe/Prague", day="2026-10-25"))
    by = {(t.talk_id, t.kind): t.at for t in planned}
    assert by[("t0", START)] == utc("2026-10-24 23:30")
    assert by[("t0", END)] == utc("2026-10-25 01:30")
    delayed = transitions(apply_delays(schedule([("a", "01:30", 120)], zone="Europe/Prague", day="2026-10-25"),
                                       {"a": 60}))
    assert {(t.talk_id, t.kind): t.at for t in delayed}[("t0", START)] == utc("2026-10-25 00:30")  # real minutes


def test_plenary_talks_are_marked_for_the_conference_wide_announcement():
    planned = transitions(schedule([("a", "09:00", 30), ("b", "09:00", 30)], plenary=True))
    assert {t.talk_id for t in planned if t.plenary} == {"t0"}


def test_after_downtime_recent_transitions_run_once_late_and_older_ones_are_skipped():
    planned = transitions(schedule([("a", "10:00", 30), ("a", "10:30", 30)]))
    at = utc("2026-05-04 10:33")
    result = due(planned, at)
    # 10:30's end, check-in and start are 3 minutes late: still run. 10:20's reminder and
    # everything at 10:00 or before are past the five-minute grace: skipped, for one summary.
    assert rows(result.run) == [("05-04 10:30", END, "t0"), ("05-04 10:30", CHECK_IN, "t1"),
                                ("05-04 10:30", START, "t1")]
    assert rows(result.skipped) == [("05-04 09:50", REMIND, "t0"), ("05-04 10:00", CHECK_IN, "t0"),
                                    ("05-04 10:00", START, "t0"), ("05-04 10:20", REMIND, "t1")]
    assert rows(result.waiting) == [("05-04 11:00", END, "t1")]

    # After a restart, what ran is not run again.
    again = due(planned, at, {t.key for t in result.run} | {t.key for t in result.skipped})
    assert again.run == [] and again.skipped == [] and rows(again.waiting) == [("05-04 11:00", END, "t1")]

    # A talk moved by a delay is due again at its new time, whatever ran at the old one.
    moved = transitions(schedule([("a", "10:00", 30), ("a", "10:30", 30)]), {"a": 10})
    later = due(moved, utc("2026-05-04 10:41"), {t.key for t in planned})
    assert ("05-04 10:40", START, "t1") in rows(later.run)


def test_a_rehearsal_clock_puts_the_first_talk_two_minutes_after_the_bot_starts():
    plan = schedule([("b", "11:00", 30), ("a", "09:30", 30)])
    now = utc("2026-12-01 18:00")
    moment = rehearsal_moment(plan, now)
    assert moment == utc("2026-05-04 09:28")  # the first talk (09:30) is two minutes away
    chosen = rehearsal_moment(plan, now, first_talk_at=utc("2026-12-01 18:30"))
    assert chosen == utc("2026-05-04 09:00")
    assert rehearsal_moment(schedule([]), now) is None


# ----------------------------------------------------------------------------- podium transitions


def test_podium_transitions_prints_each_tracks_timetable_with_its_delay(tmp_path, capsys):
    from bot import SAMPLE_SCHEDULE
    from bot.cli import main
    from bot.store.database import DATABASE
    from bot.store.bookings import BookingStore
    from bot.store.delays import DelayStore
    from bot.store.schema import open_database

    data = tmp_path / "data"
    assert main(["transitions", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(data), "--track", "forum"]) == 0
    out = capsys.readouterr().out
    assert not data.exists(), "a read-only command creates no data directory"
    assert "Forum Hall (forum): 28 transitions" in out and "Plenary" not in out
    assert "  Mon 13 Jul 10:00  start     Gradual typing in a million-line codebase" in out

    data.mkdir()
    DelayStore(open_database(data / DATABASE)).set("ep2026", "forum", 15, by="@mod:x", at=0.0)
    assert main(["transitions", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "Forum Hall (forum), 15 min late: 28 transitions" in out
    assert "  Mon 13 Jul 10:15  start           Gradual typing in a million-line codebase" in out
    assert "Plenary (plenary): " in out  # every track without --track

    # A booked open-space session: its room's name and topic at the slot, and back after.
    slot = datetime(2026, 7, 14, 11, 0, tzinfo=UTC)  # 13:00 in Prague
    BookingStore(open_database(data / DATABASE)).book(
        "ep2026", slot_start=slot.timestamp(), slot_end=(slot + timedelta(minutes=30)).timestamp(),
        rooms=["open-space-1"], booker="@ann:x", booker_name="Ann", title="Packaging <clinic>",
        now=slot.timestamp() - 86400, source_event_id="$book")
    assert main(["transitions", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "Open space 1 (open space, open-space-1): 3 transitions of booked sessions" in out
    assert "  Tue 14 Jul 13:00  session-start   Packaging <clinic> (by Ann)" in out
    assert "  Tue 14 Jul 13:30  session-end     Packaging <clinic> (by Ann)" in out
    assert "Open space 2 (open space, open-space-2): 0 transitions of booked sessions" in out
    assert "Poster Measuring the energy use of Python programs (poster-energy): 6 transitions" in out
    assert "  Mon 13 Jul 15:30  poster-start    Measuring the energy use of Python programs" in out
    assert "  poster-remind   remind a poster's presenters in its room" in out
    assert main(["transitions", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(data), "--track", "forum"]) == 0
    assert "Open space" not in capsys.readouterr().out  # a track's timetable only

    assert main(["transitions", "--schedule", str(SAMPLE_SCHEDULE), "--track", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("podium: error: --track nope: no such track") and "forum" in err
