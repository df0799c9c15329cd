"""Who presents where, by the schedule in force, and the presenter level in a room's power levels."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.conference.clock import apply_delays
from bot.conference.roles import (
    MODERATOR_POWER,
    PRESENTER_POWER,
    Role,
    presenting,
    role_of,
    with_presenters,
)
from bot.conference.schedule import validate_schedule_data

SCHEDULE = validate_schedule_data({
    "conference": {"id": "fx", "name": "Presenters", "timezone": "UTC", "start": "2026-07-13", "end": "2026-07-13"},
    "tracks": [{"id": "forum", "name": "Forum"}, {"id": "main", "name": "Main"}],
    "talks": [
        {"id": "a", "track": "forum", "title": "A", "start": "2026-07-13 10:00", "duration": 30,
         "speakers": [{"name": "Sam", "matrix_id": "@sam:x"}, {"name": "Lee"}]},
        {"id": "b", "track": "forum", "title": "B", "start": "2026-07-13 10:30", "duration": 30,
         "speakers": [{"name": "Al", "matrix_id": "@al:x"}]},
        {"id": "k", "track": "main", "title": "K", "start": "2026-07-13 10:00", "duration": 60,
         "speakers": [{"name": "Kim", "matrix_id": "@kim:x"}]},
    ],
}, "<test>")


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 7, 13, hour, minute, tzinfo=timezone.utc)


def test_the_speakers_of_the_talk_running_now_present_in_its_track_from_start_to_end():
    assert presenting(SCHEDULE, at(9, 59)) == {}
    assert presenting(SCHEDULE, at(10, 0)) == {"forum": {"@sam:x"}, "main": {"@kim:x"}}
    assert presenting(SCHEDULE, at(10, 30)) == {"forum": {"@al:x"}, "main": {"@kim:x"}}
    assert presenting(SCHEDULE, at(11, 0)) == {}
    # A delay moves who is on; a talk the schedule no longer has presents nowhere.
    assert presenting(apply_delays(SCHEDULE, {"forum": 10}), at(10, 35)) == {"forum": {"@sam:x"}, "main": {"@kim:x"}}
    without_a = SCHEDULE.model_copy(update={"talks": [t for t in SCHEDULE.talks if t.id != "a"]})
    assert presenting(without_a, at(10, 10)) == {"main": {"@kim:x"}}



def test_a_cancelled_talk_kept_in_the_schedule_has_no_presenters():
    cancelled = SCHEDULE.model_copy(update={"talks": [t.model_copy(update={"cancelled": t.id == "a"})
                                                      for t in SCHEDULE.talks]})
    assert presenting(cancelled, at(10, 10)) == {"main": {"@kim:x"}}

def test_the_presenter_level_is_given_to_presenters_and_taken_from_everyone_else_who_holds_it():
    levels = {"users_default": 0, "users": {"@mod:x": 50, "@org:x": 100, "@sam:x": PRESENTER_POWER,
                                             "@old:x": PRESENTER_POWER, "@muted:x": -1}}
    assert with_presenters(levels, {"@sam:x", "@al:x", "@mod:x"}) == {
        "@mod:x": 50, "@org:x": 100, "@sam:x": PRESENTER_POWER, "@al:x": PRESENTER_POWER, "@muted:x": -1}
    assert with_presenters(levels, set()) == {"@mod:x": 50, "@org:x": 100, "@muted:x": -1}
    # Where everyone has the presenter level by default, nobody needs it written.
    assert with_presenters({"users_default": PRESENTER_POWER, "users": {}}, {"@sam:x"}) == {}


def test_a_presenter_is_no_moderator():
    assert PRESENTER_POWER < MODERATOR_POWER
    levels = {"users": {"@sam:x": PRESENTER_POWER}}
    assert role_of("@sam:x", power_levels=levels, speakers=["@sam:x"]) == Role.SPEAKER
    assert role_of("@sam:x", power_levels=levels) == Role.ATTENDEE
