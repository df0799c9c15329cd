"""Open-space booking as plain logic: naming a slot, the booking rules in the store (SQLite in
memory), the clock's transitions and effects for a booking, and ``!openspace`` dispatched with a
transport that records what would be sent. tests/live/test_openspace_live.py runs it against Synapse.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils

from bot.commands import REGISTRY, Context, Room, load_all
from bot.conference import openspace
from bot.conference.roles import Role
from bot.conference.roomkeys import open_space_key
from bot.conference.schedule import load_schedule
from bot.conference.transitions import (
    SESSION_END,
    SESSION_REMIND,
    SESSION_START,
    due,
    session_transitions,
    transitions,
)
from bot.conference.userinput import UsageError
from bot.day.effects import Say, SetName, SetTopic, session_effects
from bot.roomstate.state import Observed
from bot.store.bookings import BookingStore
from bot.store.schema import open_database
from tests.support.commands import Recorder
from tests.support.live import write_live_schedule

#: The conference runs in Prague (UTC+2 in July): slot times are shown there, stored in UTC.
OPEN_SPACE = {"conference": {"timezone": "Europe/Prague"}, "open_space": {
    "rooms": [{"id": "os1", "name": "Open space 1", "video": True}, {"id": "os2", "name": "Open <space> 2"}],
    "slots": [{"start": "2026-07-13 13:30", "duration": 30}, {"start": "2026-07-13 13:00", "duration": 30},
              {"start": "2026-07-13 14:00", "duration": 30}]}}
ONE = datetime(2026, 7, 13, 11, 0, tzinfo=UTC)  # 13:00 in Prague: the first slot's start
BEFORE = ONE - timedelta(hours=1)


@pytest.fixture
def schedule(tmp_path):
    path, _ = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x", extra=OPEN_SPACE)
    return load_schedule(path)


def slots(schedule):
    return openspace.numbered_slots(schedule)


# ----------------------------------------------------------------------------- naming a slot


def test_slots_are_numbered_in_start_order_and_shown_in_the_conference_zone(schedule):
    listed = slots(schedule)
    assert [s.number for s in listed] == [1, 2, 3]
    assert [openspace.slot_label(s, schedule.conference.tz) for s in listed] == [
        "Mon 13:00–13:30", "Mon 13:30–14:00", "Mon 14:00–14:30"]


@pytest.mark.parametrize("words, number, used", [
    (["2"], 2, 1), (["#3", "x"], 3, 1), (["13:30"], 2, 1), (["Mon", "14:00", "Talk"], 3, 2),
    (["MONDAY", "13:00"], 1, 2), (["9:00:00"], None, 0),
])
def test_a_slot_by_number_by_time_or_by_day_and_time(schedule, words, number, used):
    if number is None:
        with pytest.raises(UsageError):
            openspace.read_slot(words, slots(schedule), schedule.conference.tz, BEFORE)
        return
    slot, taken = openspace.read_slot(words, slots(schedule), schedule.conference.tz, BEFORE)
    assert (slot.number, taken) == (number, used)


@pytest.mark.parametrize("words, why", [
    ([], "say which slot: name the slot by its number as !openspace lists it (2) or its start (14:00, Tue 14:00)"),
    (["4"], "there is no slot 4; the slots are 1 to 3"),
    (["0"], "“0” is out of range"),
    (["soon"], "“soon” is not a whole number"),
    (["13:15"], "no open-space slot starts at 13:15; !openspace lists the slots"),
    (["Tue", "13:00"], "no open-space slot starts on Tue at 13:00"),
    (["Mon"], "after “Mon” give the slot's start time, e.g. Mon 14:00"),
    (["24:00"], "“24:00” is not a time of day"),
])
def test_a_slot_named_wrongly_says_what_to_type(schedule, words, why):
    with pytest.raises(UsageError) as raised:
        openspace.read_slot(words, slots(schedule), schedule.conference.tz, BEFORE)
    assert why in str(raised.value)


def test_a_time_names_the_first_slot_at_it_not_yet_over(tmp_path):
    two_days = {**OPEN_SPACE, "conference": {"timezone": "UTC", "end": "2026-07-14"},
                "open_space": {"rooms": OPEN_SPACE["open_space"]["rooms"],
                               "slots": [{"start": "2026-07-13 13:00", "duration": 30},
                                         {"start": "2026-07-14 13:00", "duration": 30}]}}
    path, _ = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x", extra=two_days)
    schedule = load_schedule(path)
    read = lambda now: openspace.read_slot(["13:00"], slots(schedule), schedule.conference.tz, now)[0].number
    assert read(datetime(2026, 7, 13, 12, tzinfo=UTC)) == 1
    assert read(datetime(2026, 7, 13, 13, 40, tzinfo=UTC)) == 2
    assert read(datetime(2026, 7, 15, tzinfo=UTC)) == 2, "all over: the last, which booking then refuses"


def test_session_titles():
    assert openspace.title_problem("\u200b ab") == ("give your session a title after the slot, "
                                                    "e.g. !openspace book 2 Rust and Matrix")
    assert openspace.title_problem("Rust and Matrix") is None
    assert openspace.title_problem("x" * 81) == "a session's title can be at most 80 characters; this one has 81"


# ----------------------------------------------------------------------------- the store's rules


def book(store, who, slot_start=100.0, *, rooms=("os1", "os2"), now=50.0, event=None, end=200.0):
    return store.book("c", slot_start=slot_start, slot_end=end, rooms=list(rooms), booker=who, booker_name=who[1:],
                      title="T", now=now, source_event_id=event or f"${who}{slot_start}")


def test_one_booking_per_slot_and_room_and_per_person_until_it_ends():
    store = BookingStore(open_database(":memory:"))
    first = book(store, "@ann", rooms=("os2", "os1"))
    assert first.room == "os2", "the room the command was sent in, when free"
    assert book(store, "@ann", 300.0) is None, "Ann holds one that has not ended"
    assert book(store, "@bob").room == "os1"
    assert book(store, "@cat") is None, "the slot is full"
    assert book(store, "@ann", 300.0, now=200.0, end=400.0).slot_start == 300.0, "hers ended at 200"
    again = book(store, "@bob", event="$@bob100.0")
    assert again.id == 2, "the same event finds its own booking"
    cancelled = store.cancel(2, canceller_name="Bob", at=60.0, event_id="$c")
    assert cancelled.cancel_event_id == "$c" and not cancelled.active
    assert store.cancel(2, canceller_name="Mo", at=61.0, event_id="$d").cancel_event_id == "$c", "once"
    assert book(store, "@cat").room == "os1", "a cancelled booking frees its room"
    assert [b.booker for b in store.active("c")] == ["@ann", "@cat", "@ann"]


def test_the_index_keeps_one_active_booking_per_slot_and_room_for_any_writer():
    db = open_database(":memory:")
    store = BookingStore(db)
    book(store, "@ann", rooms=("os1",))
    with pytest.raises(sqlite_utils.db.sqlite3.IntegrityError):
        db.execute("INSERT INTO open_space_bookings (conference, slot_start, slot_end, room, booker, booker_name, "
                   "title, booked_at, source_event_id) VALUES ('c', 100.0, 200.0, 'os1', '@x', 'x', 't', 1, '$x')")


# ----------------------------------------------------------------------------- the clock


def booking(schedule, number=1, *, booked=BEFORE, cancelled=None, room="os1", id=7):
    slot = slots(schedule)[number - 1]
    return openspace.Booking(id, slot.key, slot.end.timestamp(), room, "@ann:x", "Ann", "Rust <and> Matrix",
                             booked.timestamp(), "$b", cancelled and cancelled.timestamp())


def test_a_booking_reminds_starts_and_ends_keyed_like_the_talks(schedule):
    made = session_transitions(schedule, [booking(schedule)])
    assert [(t.kind, t.at) for t in made] == [(SESSION_REMIND, ONE - timedelta(minutes=5)), (SESSION_START, ONE),
                                             (SESSION_END, ONE + timedelta(minutes=30))]
    assert {t.track_id for t in made} == {"open-space/os1"} and {t.booking for t in made} == {7}
    assert made[1].key == "booking/7|session-start|2026-07-13T11:00:00Z"
    everything = [t.key for t in transitions(schedule)] + [t.key for t in made]
    assert len(set(everything)) == len(everything)


def test_late_cancelled_and_dormant_bookings(schedule):
    late = session_transitions(schedule, [booking(schedule, booked=ONE + timedelta(minutes=10))])
    assert [(t.kind, t.at - ONE) for t in late] == [(SESSION_REMIND, timedelta(minutes=10)),
                                                   (SESSION_START, timedelta(minutes=10)),
                                                   (SESSION_END, timedelta(minutes=30))]
    assert session_transitions(schedule, [booking(schedule, cancelled=ONE - timedelta(minutes=1))]) == []
    cut = session_transitions(schedule, [booking(schedule, cancelled=ONE + timedelta(minutes=12))])
    assert [(t.kind, t.at - ONE) for t in cut] == [(SESSION_START, timedelta(0)), (SESSION_END, timedelta(minutes=12))]
    assert session_transitions(schedule, [booking(schedule, room="gone")]) == []
    moved = booking(schedule)
    assert session_transitions(schedule, [openspace.Booking(**{**moved.__dict__, "slot_start": 1.0})]) == []


def test_a_session_end_runs_however_late_the_clock_is(schedule):
    made = session_transitions(schedule, [booking(schedule)])
    result = due(made, ONE + timedelta(hours=3))
    assert [t.kind for t in result.run] == [SESSION_END]
    assert [t.kind for t in result.skipped] == [SESSION_REMIND, SESSION_START]


def test_what_a_session_does_to_its_room(schedule):
    made = {t.kind: t for t in session_transitions(schedule, [booking(schedule)])}
    effects = lambda kind: session_effects(made[kind], booking(schedule), schedule, restore=("Open space 1", "Book"))
    reminder, = effects(SESSION_REMIND)
    assert isinstance(reminder, Say) and reminder.mentions == ("@ann:x",) and not reminder.notice
    assert reminder.message.body == ("Ann (https://matrix.to/#/@ann:x): your open-space session Rust <and> Matrix "
                                     "starts here at 13:00 (until 13:30). Cancel it with !openspace cancel if you "
                                     "cannot make it.")
    assert "<b>Rust &lt;and&gt; Matrix</b>" in reminder.message.html
    name, topic, notice = effects(SESSION_START)
    assert name == SetName("open-space/os1", "session_room", "Rust <and> Matrix · Open space 1")
    assert topic == SetTopic("open-space/os1", "session_room", "Open space: Rust <and> Matrix — by Ann, until 13:30 "
                             f"· Video call: https://meet.jit.si/{schedule.conference.id}-open-os1")
    assert notice.message.body == "Now here: Rust <and> Matrix — by Ann, until 13:30." and notice.switch == "session_notice"
    assert effects(SESSION_END) == [SetName("open-space/os1", "session_room", "Open space 1"),
                                    SetTopic("open-space/os1", "session_room", "Book")]


# ----------------------------------------------------------------------------- !openspace


def rooms_of(schedule):
    return [Room(f"!{room.id}:x", schedule.conference.id, open_space_key(room.id), "open-space")
            for room in schedule.open_space.rooms]


def dispatch(schedule, db, body, *, sender="@ann:x", role=Role.ATTENDEE, room="os1", now=BEFORE,
             event_id=None) -> list[dict]:
    here = next(r for r in rooms_of(schedule) if r.key == open_space_key(room))
    woken = []
    ctx = Context(event={"event_id": event_id or f"${sender}{body}", "type": "m.room.message", "sender": sender,
                         "content": {"msgtype": "m.text", "body": body}}, received_ms=1_800_000_000_000,
                  room=here, sender=sender, sender_name=sender[1:].split(":")[0].capitalize(), role=role, db=db,
                  schedule=schedule, now=now, bot_user_id="@bot:x", transport=Recorder(),
                  role_of=lambda user: Role.ATTENDEE, rooms=lambda: rooms_of(schedule),
                  wake_clock=lambda: woken.append(True))
    load_all()
    asyncio.run(REGISTRY.dispatch(ctx))
    return [content for _, _, content, _ in ctx.transport.sent]


def said(schedule, db, body, **kwargs) -> str:
    sent = dispatch(schedule, db, body, **kwargs)
    assert len(sent) == 1, sent
    return sent[0]["body"]


def test_book_list_and_cancel(schedule):
    db = open_database(":memory:")
    assert said(schedule, db, "!openspace") == (
        "Open-space slots (times in Europe/Prague); book a free one with !openspace book <slot> <title>:\n"
        "1 · Mon 13:00–13:30 · free: Open space 1, Open <space> 2\n"
        "2 · Mon 13:30–14:00 · free: Open space 1, Open <space> 2\n"
        "3 · Mon 14:00–14:30 · free: Open space 1, Open <space> 2")
    assert said(schedule, db, "!openspace book 13:00 Rust\nand  Matrix", room="os2") == (
        "Booked: slot 1 (Mon 13:00–13:30), “Rust and Matrix” — Ann in Open <space> 2. The room takes your "
        "session's name at the start; you are reminded here beforehand.")
    assert said(schedule, db, "!openspace book 3 Another one") == (
        "You have a booking already (one at a time).\nYours: slot 1 (Mon 13:00–13:30), “Rust and Matrix” — Ann in "
        "Open <space> 2. Cancel it with !openspace cancel.")
    said(schedule, db, "!openspace book 1 Bob's thing", sender="@bob:x")
    assert said(schedule, db, "!openspace book mon 13:00 Cat's", sender="@cat:x") == (
        "Slot 1 (Mon 13:00–13:30) is taken: “Bob's thing” — Bob in Open space 1; “Rust and Matrix” — Ann in "
        "Open <space> 2.\n!openspace lists the free slots.")
    listing = said(schedule, db, "!openspace", sender="@bob:x", now=ONE + timedelta(minutes=5))
    assert listing.splitlines()[1] == ("1 · Mon 13:00–13:30 (now) · “Bob's thing” — Bob in Open space 1 · "
                                       "“Rust and Matrix” — Ann in Open <space> 2 · full")
    assert listing.splitlines()[-1].startswith("Yours: slot 1 (Mon 13:00–13:30), “Bob's thing” — Bob")
    assert said(schedule, db, "!openspace cancel", sender="@cat:x") == (
        "You have no booking to cancel; !openspace lists the slots.")
    assert said(schedule, db, "!openspace cancel 1", sender="@cat:x") == (
        "Sorry, cancelling someone else's session (!openspace cancel <slot>) is for moderators; here you are an "
        "attendee. Your own: !openspace cancel.")
    assert said(schedule, db, "!openspace cancel") == (
        "Cancelled: slot 1 (Mon 13:00–13:30), “Rust and Matrix” — Ann in Open <space> 2.")
    by_mod, = dispatch(schedule, db, "!openspace cancel 1", sender="@mo:x", role=Role.MODERATOR)
    assert by_mod["body"] == ("Bob (https://matrix.to/#/@bob:x): Mo cancelled your open-space session.\n"
                              "Cancelled: slot 1 (Mon 13:00–13:30), “Bob's thing” — Bob in Open space 1.")
    assert by_mod["m.mentions"] == {"user_ids": ["@bob:x"]} and by_mod["msgtype"] == "m.text"
    assert dispatch(schedule, db, "!openspace cancel 1", sender="@mo:x", role=Role.MODERATOR)[0]["body"] == \
        by_mod["body"], "the same event handled again answers the same"
    assert said(schedule, db, "!openspace book 1 Late", sender="@cat:x", now=ONE + timedelta(hours=1)) == (
        "Slot 1 (Mon 13:00–13:30) is over; !openspace lists the slots still to come.")
    assert said(schedule, db, "!openspace", now=ONE + timedelta(days=1)) == "The open-space slots are all over."


HINT = "name the slot by its number as !openspace lists it (2) or its start (14:00, Tue 14:00)"


@pytest.mark.parametrize("body, why", [
    ("!openspace book", f"say which slot: {HINT}"),
    ("!openspace book 2", "give your session a title after the slot, e.g. !openspace book 2 Rust and Matrix"),
    ("!openspace book 7 Rust", f"there is no slot 7; the slots are 1 to 3 ({HINT})"),
    ("!openspace book 12:00 Rust", "no open-space slot starts at 12:00; !openspace lists the slots"),
    ("!openspace book 1 " + "x" * 81, "a session's title can be at most 80 characters; this one has 81"),
    ("!openspace cancel 1 2", "unexpected “2”; name one slot"),
    ("!openspace reserve 1", "“reserve” is not something !openspace does: book or cancel, or nothing to list the slots"),
])
def test_bad_arguments(schedule, body, why):
    reply = said(schedule, open_database(":memory:"), body, role=Role.MODERATOR)
    assert reply == f"{why}. Usage: !openspace [book <slot> <title> | cancel [slot]]"


def test_only_in_open_space_rooms_and_in_help(schedule):
    load_all()
    command = REGISTRY.get("openspace")
    assert command.applies_in(rooms_of(schedule)[0])
    assert not command.applies_in(Room("!t:x", "c", "track/forum", "track", "forum"))
    assert "!openspace" in said(schedule, open_database(":memory:"), "!help")


def test_apply_leaves_a_running_sessions_name_and_topic_alone():
    from bot.provisioning.planner import plan
    from tests.support.planner import BOT, fresh_plan, play, sample_rooms

    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    room = observed.rooms["open-space/open-space-1"]
    room.state[("m.room.name", "")] = {"name": "Rust and Matrix · Open space 1"}
    room.state[("m.room.topic", "")] = {"topic": "Open space: Rust and Matrix — by Ann, until 13:30"}
    assert plan(rooms, observed, bot_user_id=BOT, room_version="12").actions == []


# ----------------------------------------------------------------------------- pages and calendar


def test_sessions_on_the_schedule_the_navigator_and_in_the_calendar(schedule):
    from icalendar import Calendar

    from bot.conference.display import RoomLinks
    from bot.web import views
    from bridges.ical import calendar_bytes, session_uid

    links = RoomLinks({"open-space/os1": "c-open-os1"}, "example.org")
    booked = [booking(schedule), booking(schedule, 2, room="os2", id=8),
              booking(schedule, 3, cancelled=BEFORE, id=9), booking(schedule, room="gone", id=10)]
    found = openspace.sessions(schedule, booked)
    assert [s.booking.id for s in found] == [7, 8]
    day, = views.programme_view(schedule, ONE + timedelta(minutes=5), links, {}, found)
    first, second, third = day["open_space"]
    assert first["live"] and first["free"] == ["Open <space> 2"]
    assert first["sessions"] == [{"id": "open-space-7", "title": "Rust <and> Matrix", "kind": "open-space",
                                  "speakers": ["Ann"], "room": "Open space 1", "start": "13:00", "end": "13:30",
                                  "when": "13:00", "live": True, "link": "https://matrix.to/#/#c-open-os1:example.org"}]
    assert second["free"] == ["Open space 1"] and third["sessions"] == [] and len(third["free"]) == 2
    now_next = views.now_next_view(schedule, ONE + timedelta(minutes=5), links, {}, found)["open_space"]
    assert [s["id"] for s in now_next["now"]] == ["open-space-7"]
    assert [s["id"] for s in now_next["next"]] == ["open-space-8"]
    assert views.now_next_view(schedule.model_copy(update={"open_space": type(schedule.open_space)()}), ONE,
                               links, {})["open_space"] is None

    stamp = datetime(2026, 7, 1, tzinfo=UTC)
    events = {str(e["uid"]): e for e in Calendar.from_ical(calendar_bytes(
        schedule, links, "https://p.example.org", stamp=stamp, sessions=found)).walk("VEVENT")}
    event = events[session_uid(schedule.conference.id, 7)]
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (ONE, ONE + timedelta(minutes=30))
    assert str(event["summary"]) == "Rust <and> Matrix" and str(event["location"]) == "Open space 1"
    assert "by Ann" in str(event["description"]) and "#c-open-os1:example.org" in str(event["description"])
    assert session_uid(schedule.conference.id, 8) in events and len(events) == len(schedule.talks) + 2
    per_track = Calendar.from_ical(calendar_bytes(schedule, links, "https://p.example.org", stamp=stamp,
                                                  tracks=["forum"], sessions=found)).walk("VEVENT")
    assert len(per_track) == len(schedule.talks), "a track's calendar has its talks only"
