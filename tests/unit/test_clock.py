"""What is on now and next, and the demo's clock: pure functions over a small schedule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.conference.clock import (
    apply_delays,
    busiest_moment,
    live_talk,
    longest_running,
    next_talk,
    now_next,
    shifted_clock,
    talks_in_track,
)
from bot.conference.schedule import validate_schedule_data

UTC = timezone.utc


def schedule(talks):
    return validate_schedule_data({
        "conference": {"id": "clk", "name": "Clock", "timezone": "UTC", "start": "2026-05-04", "end": "2026-05-04"},
        "tracks": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}, {"id": "c", "name": "C"}],
        "talks": [{"id": f"t{i}", "track": track, "title": f"Talk {i}", "start": f"2026-05-04 {start}",
                   "duration": minutes} for i, (track, start, minutes) in enumerate(talks)],
    }, "<test>")


SCHEDULE = schedule([("a", "09:00", 30), ("a", "10:00", 30), ("b", "10:10", 30), ("c", "10:20", 30),
                     ("b", "12:00", 30)])


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 5, 4, hours, minutes, tzinfo=UTC)


def test_live_is_start_inclusive_end_exclusive_and_next_is_the_first_after():
    talks = talks_in_track(SCHEDULE, "a")
    assert live_talk(talks, at("09:00")).id == "t0"
    assert live_talk(talks, at("09:30")) is None
    assert next_talk(talks, at("09:30")).id == "t1"
    assert next_talk(talks, at("10:00")) is None
    assert (now_next(SCHEDULE, "b", at("10:15")).now.id, now_next(SCHEDULE, "b", at("10:15")).next.id) == ("t2", "t4")


def test_busiest_moment_is_the_earliest_with_the_most_tracks_live():
    # 10:25 has all three tracks live (t1 10:00-10:30, t2 10:10-10:40, t3 10:20-10:50), and is
    # the first talk start plus five minutes where that holds.
    assert busiest_moment(SCHEDULE) == at("10:25")
    assert busiest_moment(schedule([])) is None


def test_longest_running_is_the_live_talk_that_ends_last():
    # At 10:25, t1 ends 10:30, t2 10:40 and t3 10:50: track c takes questions for the longest.
    entry = longest_running(SCHEDULE, at("10:25"))
    assert (entry.track_id, entry.now.id) == ("c", "t3")
    assert longest_running(SCHEDULE, at("10:45")).track_id == "c"  # the only one still on
    assert longest_running(SCHEDULE, at("11:00")) is None  # nothing on: no room to send anyone to


def test_busiest_moment_follows_delays():
    delayed = apply_delays(SCHEDULE, {"b": 120, "c": 120})  # b and c overlap at 12:20-12:40 now
    assert busiest_moment(delayed) == at("12:25")  # two tracks live: the most there ever are
    assert live_talk(talks_in_track(delayed, "b"), at("10:25")) is None


def test_shifted_clock_starts_at_the_given_moment_and_runs_in_real_time():
    real = [datetime(2030, 1, 1, 12, 0, tzinfo=UTC)]
    clock = shifted_clock(at("10:25"), real=lambda: real[0])
    assert clock() == at("10:25")
    real[0] += timedelta(minutes=7)
    assert clock() == at("10:32")
