"""What the clock does about what it missed, when it starts late: a start whose talk or session
is still on runs however late (a demo starts a grace window into the live talks; a restart comes
after a change of talks); reminders and alerts stay skipped; and the transition whose topic and
name each room should show is the last start or end due, whether it ran or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.conference.schedule import validate_schedule_data
from bot.conference.transitions import (
    CHECK_IN,
    END,
    GRACE,
    POSTER_START,
    REMIND,
    SESSION_START,
    START,
    Transition,
    due,
    in_force,
    still_on,
    transitions,
)


def schedule(talks):
    """Tracks a, b and c on 4 May 2026 (UTC); ``talks`` as (track, "HH:MM", minutes), ids t0, t1…"""
    return validate_schedule_data({
        "conference": {"id": "conv", "name": "Convergence", "timezone": "UTC", "start": "2026-05-04",
                       "end": "2026-05-04"},
        "tracks": [{"id": track, "name": track.upper()} for track in "abc"],
        "talks": [{"id": f"t{number}", "track": track, "title": f"Talk {number}", "start": f"2026-05-04 {start}",
                   "duration": minutes} for number, (track, start, minutes) in enumerate(talks)],
    }, "<test>")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rows(made):
    """(month-day hour:minute, kind, talk) of each transition, in order."""
    return [(t.at.strftime("%m-%d %H:%M"), t.kind, t.talk_id) for t in made]


def test_a_first_run_a_grace_window_into_talks_runs_their_starts_and_skips_their_reminders():
    planned = transitions(schedule([("a", "10:00", 30), ("b", "10:00", 60), ("c", "09:00", 30)]))
    # ``podium demo``: five minutes into the talks, and a moment more by the clock's first look.
    at = utc("2026-05-04 10:00") + GRACE + timedelta(seconds=1)
    result = due(planned, at)
    assert rows(result.run) == [("05-04 10:00", START, "t0"), ("05-04 10:00", START, "t1")]
    assert (("05-04 09:50", REMIND, "t0") in rows(result.skipped)
            and ("05-04 10:00", CHECK_IN, "t1") in rows(result.skipped))
    # Track c's talk is over: neither its start nor its end is run late.
    assert {t.talk_id for t in result.run} == {"t0", "t1"}
    assert ("05-04 09:30", END, "t2") in rows(result.skipped)


def test_a_restart_after_a_change_of_talks_runs_the_start_of_the_talk_on_now_only():
    planned = transitions(schedule([("a", "10:00", 30), ("a", "10:30", 30)]))
    done = {t.key for t in planned if t.at <= utc("2026-05-04 10:01")}
    result = due(planned, utc("2026-05-04 10:37"), done)
    assert rows(result.run) == [("05-04 10:30", START, "t1")]
    assert rows(result.skipped) == [("05-04 10:20", REMIND, "t1"), ("05-04 10:30", END, "t0"),
                                    ("05-04 10:30", CHECK_IN, "t1")]
    # In the break after it, nothing is on: nothing runs late.
    assert due(planned, utc("2026-05-04 11:10"), done).run == []


def test_a_start_is_on_until_its_own_end_for_sessions_repeated_in_one_room_too():
    at = utc("2026-05-04 12:00")
    poster = "poster/p1"
    sessions = [Transition(utc("2026-05-04 09:00"), POSTER_START, poster, poster),
                Transition(utc("2026-05-04 10:00"), "poster-end", poster, poster),
                Transition(utc("2026-05-04 11:30"), POSTER_START, poster, poster),
                Transition(utc("2026-05-04 12:30"), "poster-end", poster, poster)]
    assert still_on(sessions, at) == {sessions[2]}
    booking = [Transition(utc("2026-05-04 11:00"), SESSION_START, "booking/1", "open-space/r", booking=1),
               Transition(utc("2026-05-04 11:45"), "session-end", "booking/1", "open-space/r", booking=1)]
    assert still_on(booking, at) == set()
    assert still_on(booking, utc("2026-05-04 11:44")) == {booking[0]}


def test_what_each_room_should_show_is_its_last_start_or_end_due():
    planned = transitions(schedule([("a", "10:00", 30), ("a", "10:30", 30), ("a", "11:30", 30), ("b", "12:00", 30)]))
    shown = lambda at: sorted((t.track_id, t.kind, t.talk_id) for t in in_force(planned, utc(f"2026-05-04 {at}")))
    assert shown("09:55") == []  # before the day: the template's topic stands
    assert shown("10:37") == [("a", START, "t1")]
    assert shown("10:30") == [("a", START, "t1")]  # at a change of talks, the start comes after the end
    assert shown("11:10") == [("a", END, "t1")]
    assert shown("12:10") == [("a", END, "t2"), ("b", START, "t3")]
