"""What each transition does, as data: the effects bot.day.effects computes for the runner."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.conference.qa import Question
from bot.conference.schedule import validate_schedule_data
from bot.conference.transitions import (
    CHECK_IN,
    END,
    POSTER_END,
    POSTER_REMIND,
    POSTER_START,
    REMIND,
    START,
    poster_transitions,
    transitions,
)
from bot.day.effects import Say, SetTopic, effects, poster_effects

URL = "https://podium.example.org"
SCHEDULE = validate_schedule_data({
    "conference": {"id": "fx", "name": "Effects", "timezone": "Europe/Prague", "start": "2026-07-13",
                   "end": "2026-07-13"},
    "tracks": [{"id": "forum", "name": "Forum", "stream": "https://example.org/live.m3u8"},
               {"id": "main", "name": "Main", "kind": "plenary"}],
    "talks": [
        {"id": "a", "track": "forum", "title": "<Alpha>", "start": "2026-07-13 10:00", "duration": 30,
         "speakers": [{"name": "Sam", "matrix_id": "@sam:x"}, {"name": "Lee"}]},
        {"id": "b", "track": "forum", "title": "Beta", "start": "2026-07-13 10:45", "duration": 30},
        {"id": "k", "track": "main", "title": "Keynote", "start": "2026-07-13 09:00", "duration": 45},
    ],
}, "<test>")


def of(talk: str, kind: str):
    transition = next(t for t in transitions(SCHEDULE) if t.talk_id == talk and t.kind == kind)
    return transition


def question(number: int, text: str, votes: int, state: str = "open") -> Question:
    return Question(number=number, room_id="!r", track_id="forum", talk_id="a", asker="@u:x", asker_name="Ann",
                    text=text, asked_at=0.0, votes=votes, state=state, pinned=False, event_id=None)


def test_the_reminder_goes_to_the_backstage_and_notifies_the_speakers_with_matrix_ids():
    [say] = effects(of("a", REMIND), SCHEDULE, public_url=URL)
    assert (say.room, say.switch, say.mentions) == ("backstage/forum", "reminder", ("@sam:x",))
    assert say.message.body == ("Starting at 10:00: “<Alpha>” — Sam, Lee. Speakers, please check in here with !here. "
                                "Lee has no Matrix ID in the schedule: chairs, check with them another way.")
    assert "&lt;Alpha&gt;" in say.message.html and "<Alpha>" not in say.message.html


def test_the_check_in_alert_names_who_is_missing_and_nothing_when_all_are_there():
    [alert] = effects(of("a", CHECK_IN), SCHEDULE, public_url=URL, chairs=["@chair:x"])
    assert alert.mentions == ("@chair:x",) and "Sam (@sam:x)" in alert.message.body
    assert effects(of("a", CHECK_IN), SCHEDULE, public_url=URL, checked_in={"@sam:x"}) == []
    assert effects(of("b", CHECK_IN), SCHEDULE, public_url=URL) == []  # nobody to check in


def test_the_start_sets_the_topic_and_says_now():
    made = effects(of("a", START), SCHEDULE, public_url=URL)
    topic, notice = made
    assert topic == SetTopic("track/forum", "topic", "Now: <Alpha> — Sam, Lee · Next at 10:45: Beta · "
                                                      f"Stream: {URL}/widgets/stream/forum")
    assert isinstance(notice, Say) and notice.message.body.startswith("Now: <Alpha> — Sam, Lee.")


def test_a_plenary_start_is_announced_and_a_track_without_stream_links_its_now_next_page():
    made = effects(of("k", START), SCHEDULE, public_url=URL)
    assert made[0].topic.endswith(f"Now and next: {URL}/widgets/now-next?track=main")
    assert [e.room for e in made if isinstance(e, Say)] == ["track/main", "lobby/announcements"]


def test_the_end_hands_the_open_questions_over_and_says_what_is_next():
    asked = [question(1, "Slides?", 3), question(2, "Answered one", 9, state="answered"), question(3, "Tests?", 1)]
    handed, pointer, topic = effects(of("a", END), SCHEDULE, public_url=URL, questions=asked)
    assert handed.room == "talk/a" and handed.mentions == ("@sam:x",)
    assert "Slides?" in handed.message.body and "Tests?" in handed.message.body and "Answered" not in handed.message.body
    assert pointer.message.body == ("“<Alpha>” has ended. Meet the speakers in its breakout room: <Alpha>.\n"
                                    "Up next at 10:45: Beta.")
    assert topic.topic.startswith("Now: nothing on · Next at 10:45: Beta")
    # The last talk of a track: no questions, nothing next.
    _, last_topic = effects(of("b", END), SCHEDULE, public_url=URL)[-2:]
    assert last_topic.topic == f"Now: nothing on · Stream: {URL}/widgets/stream/forum"


def test_a_talk_no_longer_in_the_schedule_does_nothing():
    gone = of("a", START)
    emptied = SCHEDULE.model_copy(update={"talks": [t for t in SCHEDULE.talks if t.id != "a"]})
    assert effects(gone, emptied, public_url=URL) == []
    assert datetime(2026, 7, 13, 8, 0, tzinfo=timezone.utc) == gone.at  # 10:00 in Prague


def test_a_training_says_until_when_it_runs():
    schedule = validate_schedule_data({
        "conference": {"id": "fx", "name": "Effects", "timezone": "Europe/Prague", "start": "2026-07-13",
                       "end": "2026-07-13"},
        "tracks": [{"id": "lab", "name": "Lab", "kind": "training"}],
        "talks": [{"id": "t", "track": "lab", "title": "FastAPI <hands-on>", "start": "2026-07-13 09:30",
                   "duration": "3h", "speakers": [{"name": "Jo", "matrix_id": "@jo:x"}]}],
    }, "<test>")
    start = next(t for t in transitions(schedule) if t.kind == START)
    topic, notice = effects(start, schedule, public_url=URL)
    assert notice.message.body == ("Now: the training FastAPI <hands-on> — Jo, until 12:30. "
                                   "Questions for the trainer: !ask <question>.")
    assert "&lt;hands-on&gt;" in notice.message.html
    assert topic.topic.endswith(f"Now and next: {URL}/widgets/now-next?track=lab")


def test_a_posters_session_reminds_its_presenters_and_is_announced_in_its_room():
    schedule = validate_schedule_data({
        "conference": {"id": "fx", "name": "Effects", "timezone": "Europe/Prague", "start": "2026-07-13",
                       "end": "2026-07-14"},
        "posters": [{"id": "p", "title": "Energy <use>", "presenters": [{"name": "Bo", "matrix_id": "@bo:x"},
                                                                        {"name": "Cy"}],
                     "sessions": [{"start": "2026-07-13 15:30", "duration": 45},
                                  {"start": "2026-07-14 11:00", "duration": 30}]}],
    }, "<test>")
    planned = poster_transitions(schedule)
    assert [(t.kind, f"{t.at:%d %H:%M}") for t in planned] == [
        (POSTER_REMIND, "13 13:20"), (POSTER_START, "13 13:30"), (POSTER_END, "13 14:15"),
        (POSTER_REMIND, "14 08:50"), (POSTER_START, "14 09:00"), (POSTER_END, "14 09:30")]  # UTC
    said = [poster_effects(t, schedule) for t in planned]
    [remind], [start], [end] = said[3:]
    assert (remind.room, remind.switch, remind.mentions, remind.notice) == ("poster/p", "poster_reminder", ("@bo:x",),
                                                                            False)
    assert remind.message.body == ("Presenters: the poster session for Energy <use> starts here at 11:00 "
                                   "(until 11:30). Join the video call at the top of the room.")
    assert start.message.body.startswith("Now here: the poster session for Energy <use> — with Bo, Cy, until 11:30.")
    assert "&lt;use&gt;" in start.message.html and start.notice
    assert end.message.body.startswith("The poster session for Energy <use> has ended.")
    gone = schedule.model_copy(update={"posters": []})
    assert poster_effects(planned[0], gone) == []  # a poster taken off the schedule says nothing
