"""Open-space booking against the real Synapse: the bot and its conference clock run, attendees
are real matrix-nio clients, and the widget pages read the same data directory.

One conference (the live one with two open-space rooms and two slots) and one bot are shared by
the module; the tests run in order on the same bookings: booked and refused, kept across a
restart and shown on the pages, then run by the clock (a clock the test sets) from the reminder
to the room given back.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import sqlite_utils
from aiohttp.test_utils import TestClient, TestServer

from bot.conference.openspace import in_slot, numbered_slots
from bot.day.runner import DayOptions
from bot.provisioning.programme import Programme
from bot.store.bookings import BookingStore
from bot.web.app import create_app
from tests.support.live import LiveSetup, SetClock, body

NOON = datetime(2026, 7, 13, 12, 0, tzinfo=UTC)  # the talks are over; the slots to come
SLOT_ONE = datetime(2026, 7, 13, 13, 0, tzinfo=UTC)
OPEN_SPACE = {"rooms": [{"id": "os1", "name": "Open space 1", "video": True}, {"id": "os2", "name": "Open space 2"}],
              "slots": [{"start": "2026-07-13 13:00", "duration": 30}, {"start": "2026-07-13 13:30", "duration": 30}]}
PEOPLE = (("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol"))


CLOCK = SetClock(NOON)
LIVE = LiveSetup(people=PEOPLE, extra={"open_space": OPEN_SPACE}, rooms={"os1": "open-os1", "os2": "open-os2"},
                 joins={name: ("os1", "os2") for name, _ in PEOPLE}, clock=CLOCK, day=DayOptions(pass_at_most=0.2))


@contextlib.asynccontextmanager
async def live_extras(live):
    db = sqlite_utils.Database(live.runner.store.path)  # a second connection, as the web server reads it
    live.clock, live.bookings = CLOCK, BookingStore(db)
    yield


async def test_one_booking_each_and_one_winner_for_the_last_room(live):
    booked = body(await live.alice.reply_to(live.os1, await live.alice.say(live.os1, "!openspace book 1 Rust and Matrix"),
                                            live.bot))
    assert booked.startswith("Booked: slot 1 (Mon 13:00–13:30), “Rust and Matrix” — Alice in Open space 1")
    again = await live.alice.ask(live.os1, "!openspace book 2 Something else", live.bot)
    assert again["body"] == ("You have a booking already (one at a time).\nYours: slot 1 (Mon 13:00–13:30), "
                             "“Rust and Matrix” — Alice in Open space 1 "
                             f"(https://matrix.to/#/#{live.conf.conf_id}-open-os1:localhost?via=localhost). "
                             "Cancel it with !openspace cancel.")

    # Bob and Carol race for the slot's last free room.
    sent = await asyncio.gather(live.bob.say(live.os1, "!openspace book 13:00 Bob's session"),
                                live.carol.say(live.os1, "!openspace book Mon 13:00 Carol's session"))
    replies = [body(await person.reply_to(live.os1, event_id, live.bot))
               for person, event_id in zip((live.bob, live.carol), sent)]
    slot = numbered_slots(live.conf.conference.schedule)[0]
    taken = in_slot(live.bookings.active(live.conf.conf_id), slot)
    assert sorted(b.room for b in taken) == ["os1", "os2"]
    winner = next(b for b in taken if b.room == "os2")
    live.winner = winner.title
    won = [r for r in replies if r.startswith("Booked: slot 1") and "in Open space 2" in r]
    lost = [r for r in replies if r.startswith("Slot 1 (Mon 13:00–13:30) is taken: “Rust and Matrix” — Alice")
            and f"“{winner.title}” — {winner.booker_name} in Open space 2" in r]
    assert len(won) == len(lost) == 1, replies

    loser = live.carol if winner.booker == live.bob.user_id else live.bob
    refused = await loser.ask(live.os2, "!openspace cancel 1", live.bot)
    assert refused["body"].startswith("Sorry, cancelling someone else's session (!openspace cancel <slot>) is for "
                                      "moderators; here you are an attendee.")


async def test_bookings_survive_a_restart_and_are_on_the_pages(live):
    await live.runner.stop()
    await live.runner.start()
    listing = (await live.bob.ask(live.os2, "!openspace", live.bot))["body"]
    assert "1 · Mon 13:00–13:30 · “Rust and Matrix” — Alice in Open space 1" in listing and "· full" in listing
    assert "2 · Mon 13:30–14:00 · free: Open space 1" in listing

    app = create_app(live.conf.conference.schedule, live.conf.conference.settings, programme=Programme(
        live.conf.conference), data_dir=live.directory / "data", now=live.clock)
    async with TestClient(TestServer(app)) as client:
        page = await (await client.get("/schedule")).text()
        calendar = await (await client.get("/schedule.ics")).text()
        now_next = await (await client.get("/api/now-next")).json()
    assert "Rust and Matrix" in page and "!openspace book 2 &lt;title&gt;" in page
    booking = live.bookings.active(live.conf.conf_id)[0]
    assert f"UID:{live.conf.conf_id}/open-space/{booking.id}@podium" in calendar
    assert [s["title"] for s in now_next["open_space"]["next"]] == ["Rust and Matrix", live.winner]


def named(name: str, since: dict | None = None):
    """A rename to ``name`` (after the event ``since``: the room's own name is in its history)."""
    return lambda e: (e.get("type") == "m.room.name" and e["content"].get("name") == name
                      and (since is None or (e["origin_server_ts"] >= since["origin_server_ts"]
                                             and e["event_id"] != since["event_id"])))


async def test_the_clock_runs_the_session_in_its_room_and_gives_the_room_back(live):
    alice = live.alice
    live.clock.at = SLOT_ONE - timedelta(minutes=4)
    reminder = await alice.wait_for(live.os1, lambda e: e.get("sender") == live.bot
                                    and "your open-space session" in body(e), why="the booker's reminder")
    assert body(reminder) == ("Alice (https://matrix.to/#/@" + alice.user_id[1:] + "): your open-space session Rust "
                              "and Matrix starts here at 13:00 (until 13:30). Cancel it with !openspace cancel if "
                              "you cannot make it.")
    assert reminder["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
    assert reminder["content"]["msgtype"] == "m.text", "a text: notices do not notify"

    live.clock.at = SLOT_ONE
    renamed = await alice.wait_for(live.os1, named("Rust and Matrix · Open space 1"), why="the session's name")
    topic = await alice.wait_for(live.os1, lambda e: e.get("type") == "m.room.topic"
                                 and body_topic(e).startswith("Open space: Rust and Matrix"))
    assert body_topic(topic) == ("Open space: Rust and Matrix — by Alice, until 13:30 · Video call: "
                                 f"https://meet.jit.si/{live.conf.conf_id}-open-os1")
    await alice.wait_for(live.os1, lambda e: e.get("sender") == live.bot
                         and body(e) == "Now here: Rust and Matrix — by Alice, until 13:30.")

    live.clock.at = SLOT_ONE + timedelta(minutes=31)
    await alice.wait_for(live.os1, named("Open space 1", renamed), why="the template's name back")
    await alice.wait_for(live.os1, lambda e: e.get("type") == "m.room.topic" and e["origin_server_ts"] >= renamed[
        "origin_server_ts"] and body_topic(e).startswith("Open space: book a slot and run your own session · Video "
                                                         "call:"), why="the template's topic back")
    other = await alice.wait_for(live.os2, named(f"{live.winner} · Open space 2"), why="the other session's name")
    await alice.wait_for(live.os2, named("Open space 2", other), why="the other session's room back too")
    state = await alice.client.room_get_state_event(live.os1, "m.room.name")
    assert state.content["name"] == "Open space 1"
    await alice.sync()
    renames = [e["content"]["name"] for e in alice.timeline[live.os1] if e.get("type") == "m.room.name"]
    assert renames[renames.index("Rust and Matrix · Open space 1"):] == ["Rust and Matrix · Open space 1",
                                                                         "Open space 1"], "once each"


def body_topic(event: dict) -> str:
    return event["content"].get("topic", "")
