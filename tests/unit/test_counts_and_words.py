"""Counts and words attendees read: how long until a talk, list headings that match the list,
what ``!help`` offers whom, breakout topics without stray separators, reminders addressed only to
who can read them, a Q&A board that invites questions only while they are taken, and pages told
when the next talk starts."""

from __future__ import annotations

from datetime import datetime, timezone

import yaml

from bot.commands import Room, load_all
from bot.commands.ask import _heading
from bot.commands.now import Asked, next_reply
from bot.conference.clock import apply_delays
from bot.conference.display import RoomLinks
from bot.conference.roles import Role
from bot.conference.schedule import parse_schedule
from bot.conference.transitions import REMIND, transitions
from bot.day.effects import effects
from bot.provisioning.desired import Settings, desired_rooms
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates
from bot.web import views

URL = "https://podium.example.org"
SCHEDULE = parse_schedule(yaml.safe_dump({
    "conference": {"id": "cw", "name": "CW", "timezone": "UTC", "start": "2026-07-13", "end": "2026-07-13"},
    "tracks": [{"id": "forum", "name": "Forum"}],
    "talks": [
        {"id": "early", "track": "forum", "title": "Early", "start": "2026-07-13 09:00", "duration": 30,
         "speakers": [{"name": "Ann", "matrix_id": "@ann:x"}]},
        {"id": "quiet", "track": "forum", "title": "Nobody named", "start": "2026-07-13 10:00", "duration": 30},
        {"id": "late", "track": "forum", "title": "Late", "start": "2026-07-13 17:05", "duration": 30,
         "speakers": [{"name": "Kim"}, {"name": "Lou"}]},
    ],
}))
ROOMS = RoomLinks({"track/forum": "cw-track-forum"}, "example.org")


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 7, 13, hh, mm, ss, tzinfo=timezone.utc)


def test_a_talk_hours_away_is_said_in_hours_and_minutes():
    reply = next_reply(Asked(apply_delays(SCHEDULE, {}), "forum", at(10, 1), ROOMS, {}))
    assert "at 17:05, in 7 h 4 min" in reply.body and "424 min" not in reply.body


def test_a_list_of_fewer_questions_than_asked_for_is_not_headed_top_n():
    assert _heading(2, 5) == "Open questions for "
    assert _heading(5, 5) == "Open questions for "
    assert _heading(6, 5) == "Top 5 questions for "


def test_attendees_are_not_offered_the_speakers_check_in():
    registry = load_all()
    backstage = Room("!b:x", "cw", "backstage/forum", "backstage", "forum")
    track = Room("!t:x", "cw", "track/forum", "track", "forum")
    assert "here" not in [c.name for c in registry.available(Role.ATTENDEE, track)]
    assert "here" in [c.name for c in registry.available(Role.SPEAKER, backstage)]


def test_a_breakout_without_speakers_has_no_empty_part_in_its_topic():
    rooms = {r.key: r for r in desired_rooms(SCHEDULE, RoomTemplates.load(BUNDLED_TEMPLATES),
                                              Settings("example.org", "@podium:example.org", URL))}
    topic = rooms["talk/quiet"].state[("m.room.topic", "")]["topic"]
    assert topic == "Forum, Mon 10:00", topic
    assert rooms["talk/early"].state[("m.room.topic", "")]["topic"] == "With Ann · Forum, Mon 09:00"


def reminder(talk_id: str):
    [say] = effects(next(t for t in transitions(SCHEDULE) if t.talk_id == talk_id and t.kind == REMIND),
                    SCHEDULE, public_url=URL)
    return say


def test_a_reminder_asks_only_speakers_who_can_read_it_to_check_in():
    assert "Speakers, please check in" in reminder("early").message.body
    unreachable = reminder("late")
    assert "Speakers, please check in" not in unreachable.message.body and unreachable.mentions == ()
    assert "Kim, Lou have no Matrix ID in the schedule: chairs, check with them another way." \
        in unreachable.message.body
    assert "check in" not in reminder("quiet").message.body


def test_the_board_invites_questions_only_while_qa_takes_them():
    during = views.qa_view(SCHEDULE, "forum", at(9, 10), [], moderator=True)
    closed = views.qa_view(SCHEDULE, "forum", at(9, 10), [], moderator=True, session=("closed", "early"))
    between = views.qa_view(SCHEDULE, "forum", at(9, 40), [], moderator=True)
    reopened = views.qa_view(SCHEDULE, "forum", at(9, 40), [], moderator=True, session=("open", None))
    assert (during["asking"], closed["asking"], between["asking"], reopened["asking"]) == (True, False, False, True)


def test_pages_are_told_when_the_next_talk_starts_or_ends():
    assert views.seconds_to_next_change(SCHEDULE, at(8, 59, 55)) == 5
    assert views.seconds_to_next_change(SCHEDULE, at(9, 10)) == 20 * 60
    assert views.seconds_to_next_change(SCHEDULE, at(17, 35)) is None
    payload = views.now_next_view(SCHEDULE, at(9, 29, 30), ROOMS, {})
    assert payload["refresh_in"] == 30
