"""Whenever the bot starts, every track room says what is on, against a real Synapse.

The clock does not run a transition missed by more than its grace window; but what a start or an
end put in the room (the topic's now and next) must be there all the same. ``podium demo`` starts
five minutes into the live talks, exactly the grace window, on a clock that has never run; and a
``podium run`` restarted after more than five minutes down across a change of talks finds the
room still showing the talk before. Both must end with the programme in force in every room.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.conference.transitions import GRACE
from bot.day.runner import DayOptions
from tests.support.clock import ClockBot
from tests.support.live import LiveSetup, SetClock, by_bot

DAY = datetime(2026, 7, 13, tzinfo=timezone.utc)


def at(hours: int, minutes: int, seconds: int = 0) -> datetime:
    return DAY + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def programme(ids: dict[str, str]) -> dict:
    """Three talks in the forum: two back to back, a break, one more."""
    return {"talks": [
        {"id": "t1", "track": "forum", "title": "Opening talk", "start": "2026-07-13 10:00", "duration": 30,
         "speakers": [{"name": "Sam", "matrix_id": ids["sam"]}]},
        {"id": "t2", "track": "forum", "title": "Second talk", "start": "2026-07-13 10:30", "duration": 30},
        {"id": "t3", "track": "forum", "title": "After the break", "start": "2026-07-13 11:30", "duration": 30},
    ]}


LIVE = LiveSetup(people=(("ann", "Ann"),), extra=programme, rooms={"track": "track-forum"}, bot_running=False)
OPTIONS = DayOptions(pass_at_most=0.2)  # the grace window of ``podium run`` and ``podium demo``


def topic_starting(text: str):
    return lambda e: e.get("type") == "m.room.topic" and e["content"].get("topic", "").startswith(text)


async def _run_at(live, data: str, moment: datetime) -> ClockBot:
    runner = ClockBot(live.homeserver, live.connection, live.conf.conference, live.directory / data,
                      clock=SetClock(moment), day=OPTIONS)
    await runner.start()
    return runner


async def test_a_first_run_that_starts_a_grace_window_into_a_talk_says_what_is_on(live):
    # As ``podium demo`` starts: five minutes into the talk, on a clock that never ran, so that
    # by the clock's first look the talk's start is more than the grace window past.
    runner = await _run_at(live, "first-run", at(10, 0) + GRACE + timedelta(seconds=1))
    try:
        topic = await live.ann.wait_for(live.track, topic_starting("Now: Opening talk"), why="the topic's now")
        assert topic["content"]["topic"].startswith("Now: Opening talk — Sam · Next at 10:30: Second talk · ")
        notice = await live.ann.wait_for(live.track, by_bot(live.bot, "Now: Opening talk"), why="the now notice")
        assert notice["content"]["msgtype"] == "m.notice"
    finally:
        await runner.stop()


async def test_a_restart_after_a_change_of_talks_puts_every_topic_right(live):
    # Running at the first talk's start: its topic is set as it starts.
    runner = await _run_at(live, "restarted", at(10, 0, 30))
    try:
        await live.ann.wait_for(live.track, topic_starting("Now: Opening talk"), why="the first talk's topic")
    finally:
        await runner.stop()

    # Down from 10:00:30 to 10:37: the change of talks at 10:30 is more than the grace window past.
    runner = await _run_at(live, "restarted", at(10, 37))
    try:
        topic = await live.ann.wait_for(live.track, topic_starting("Now: Second talk"), why="the second talk's topic")
        assert topic["content"]["topic"].startswith("Now: Second talk · Next at 11:30: After the break · ")
        await live.ann.wait_for(live.track, by_bot(live.bot, "Now: Second talk"), why="the second talk's notice")
    finally:
        await runner.stop()

    # Down again until 11:10, in the break: the second talk has ended, nothing is on.
    runner = await _run_at(live, "restarted", at(11, 10))
    try:
        await live.ann.wait_for(live.track, topic_starting("Now: nothing on · Next at 11:30: After the break"),
                                why="the break's topic")
    finally:
        await runner.stop()
    # What is past is not said late: the second talk's end was missed, and stays unsaid.
    assert not [e for e in live.ann.timeline[live.track] if by_bot(live.bot, "“Second talk” has ended")(e)]
