"""The helpdesk, ``!mod`` and ``!announce`` against the real Synapse: the bot runs, attendees,
helpdesk staff and an organiser are real matrix-nio clients.

One conference (the live one, with a helpdesk staffed by Hana and Ivo, and an organiser) and
one running bot are shared by the module; each test opens its own tickets and makes its own
calls and announcements, in rooms the others leave alone where it matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import sqlite_utils

from bot.store.announcements import SENT, AnnouncementStore
from bot.store.tickets import TicketStore
from tests.support.live import LiveSetup, Person, body, bot_messages
from tests.support.waiting import eventually

PEOPLE = (("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol"), ("dave", "Dave"), ("hana", "Hana"), ("ivo", "Ivo"),
          ("org", "Olga"))
#: Who joins which room (by the key the fixture gives each room's id under).
JOINS = {"alice": ("info_desk", "hallway", "announcements", "jobs", "track"), "bob": ("helpdesk",),
         "carol": ("hallway",), "dave": ("hallway", "track"), "hana": ("staff", "helpdesk"),
         "ivo": ("staff", "helpdesk"), "org": ("announcements",), "mod": ("backstage",)}


LIVE = LiveSetup(
    people=PEOPLE,
    extra=lambda users: {"staff": {"organisers": [users["org"]]},
                         "helpdesks": [{"id": "desk", "name": "Helpdesk", "staff": [users["hana"], users["ivo"]]}]},
    rooms={"info_desk": "info-desk", "hallway": "hallway", "announcements": "announcements", "jobs": "jobs",
           "helpdesk": "help-desk", "staff": "help-desk-staff", "backstage": "backstage-forum", "track": "track-forum"},
    joins=JOINS)


@contextlib.asynccontextmanager
async def live_extras(live):
    db = sqlite_utils.Database(live.runner.store.path)  # a second connection, as the web server reads it
    live.tickets, live.announcement_store = TicketStore(db), AnnouncementStore(db)
    yield


def from_bot(live, text: str):
    return lambda e: e.get("sender") == live.bot and text in body(e)


async def open_ticket(live, person: Person, room: str, text: str):
    """``!helpdesk text`` in ``room``: (the command's event id, the stored ticket, the ticket's post
    in that room, which takes the command's place)."""
    event_id = await person.say(room, f"!helpdesk {text}")
    post = await person.wait_for(room, lambda e: from_bot(live, text)(e) and "is open" in body(e), why="the ticket")
    return event_id, live.tickets.by_source(event_id), body(post)


async def said_privately(live, person: Person, text: str) -> list[str]:
    """The bodies of what the bot told ``person`` holding ``text``, in their direct chat with it."""
    return [body(e) for _, e in await bot_messages(person, live.bot, text)]


async def test_a_ticket_from_asking_to_done(live):
    _, ticket, reply = await open_ticket(live, live.alice, live.info_desk, "My microphone is not picked up")
    assert reply == (f"🎫 Alice: My microphone is not picked up\n"
                     f"Ticket #{ticket.number} is open: the Helpdesk staff have it and will answer you here.")
    seen = await live.hana.wait_for(live.staff, from_bot(live, f"#{ticket.number} · Alice"))
    info_desk = f"https://matrix.to/#/#{live.conf.conf_id}-info-desk:localhost?via=localhost"
    assert body(seen).startswith(f"🎫 #{ticket.number} · Alice in Info desk ({info_desk}): "
                                 "My microphone is not picked up")
    assert f"!claim {ticket.number}" in body(seen)

    listing = body(await live.ivo.reply_to(live.staff, await live.ivo.say(live.staff, "!tickets"), live.bot))
    assert f"#{ticket.number} · waiting, asked just now · Alice in Info desk" in listing

    claimed = await live.hana.ask(live.staff, f"!claim {ticket.number}", live.bot)
    assert claimed["body"].startswith(f"You have #{ticket.number} · Alice in Info desk")
    told = await live.alice.wait_for(live.info_desk, lambda e: from_bot(live, "is on your ticket")(e)
                                     and f"#{ticket.number}" in body(e))
    assert told["content"]["m.mentions"] == {"user_ids": [live.alice.user_id]}
    assert f"Hana from the Helpdesk is on your ticket #{ticket.number}" in body(told)
    assert "m.relates_to" not in told["content"], "no quote of the !helpdesk line, which is gone"

    listing = body(await live.ivo.reply_to(live.staff, await live.ivo.say(live.staff, "!tickets"), live.bot))
    assert f"#{ticket.number} · Hana has it, asked just now · Alice in Info desk" in listing

    closed = await live.hana.ask(live.staff, f"!done {ticket.number}", live.bot)
    assert closed["body"] == f"#{ticket.number} is done."
    done = await live.alice.wait_for(live.info_desk, from_bot(live, f"your ticket #{ticket.number} is done"))
    assert "(Hana, Helpdesk)" in body(done) and done["content"]["m.mentions"] == {"user_ids": [live.alice.user_id]}
    assert live.tickets.get(live.conf.conf_id, ticket.number).state == "done"
    listing = body(await live.ivo.reply_to(live.staff, await live.ivo.say(live.staff, "!tickets"), live.bot))
    assert f"#{ticket.number} ·" not in listing


async def test_two_staff_claiming_at_once_one_wins(live):
    _, ticket, _ = await open_ticket(live, live.bob, live.helpdesk, "The stream in Forum Hall stutters")
    claims = await asyncio.gather(live.hana.say(live.staff, f"!claim {ticket.number}"),
                                  live.ivo.say(live.staff, f"!claim #{ticket.number}"))
    replies = [body(await person.reply_to(live.staff, event_id, live.bot))
               for person, event_id in zip((live.hana, live.ivo), claims)]
    winner = live.tickets.get(live.conf.conf_id, ticket.number).claimer_name
    assert winner in ("Hana", "Ivo")
    won = [r for r in replies if r.startswith(f"You have #{ticket.number}")]
    lost = [r for r in replies if r.startswith(f"#{ticket.number} is taken: {winner} has it (claimed ")]
    assert len(won) == len(lost) == 1, replies
    await live.bob.wait_for(live.helpdesk, from_bot(live, f"is on your ticket #{ticket.number}"))
    await live.bob.sync()
    told = [e for e in live.bob.timeline[live.helpdesk] if from_bot(live, f"on your ticket #{ticket.number}")(e)]
    assert len(told) == 1 and body(told[0]).startswith(f"Bob (https://matrix.to/#/{live.bob.user_id}): {winner} ")


async def test_mod_calls_a_moderator_once_per_room(live):
    hallway = f"Hallway (https://matrix.to/#/#{live.conf.conf_id}-hallway:localhost?via=localhost)"
    await live.carol.say(live.hallway, "!mod someone keeps posting ads")
    assert await eventually(lambda: said_privately(live, live.carol, "moderator")) == [
        f"A moderator has been called to {hallway}."]
    notice = await live.hana.wait_for(live.staff, from_bot(live, "called by Carol"))
    assert body(notice) == f"🚨 Moderator wanted in {hallway}, called by Carol.\n“someone keeps posting ads”"
    await live.dave.say(live.hallway, "!mod")
    assert await eventually(lambda: said_privately(live, live.dave, "moderator")) == [
        f"A moderator was already called to {hallway} just now and is on the way; no need to call again."]
    await live.dave.say(live.track, "!mod")
    async def both_answers() -> list[str] | None:
        said = await said_privately(live, live.dave, "moderator")
        return said if len(said) > 1 else None

    called = await eventually(both_answers)
    assert called[1].startswith("A moderator has been called to Forum Hall ("), "the limit is per room"
    await live.mod.wait_for(live.backstage, from_bot(live, "Moderator wanted in Forum Hall"))
    await live.hana.sync()
    assert not [e for e in live.hana.timeline[live.staff] if from_bot(live, "called by Dave")(e)], \
        "the track's call goes to its backstage, not the helpdesk"


async def test_commands_for_staff_and_organisers_refuse_everyone_else(live):
    refused = await live.bob.ask(live.helpdesk, "!claim 1", live.bot)
    assert refused["body"] == "Sorry, !claim is for moderators; here you are an attendee."
    refused = await live.alice.ask(live.hallway, "!announce Free pizza", live.bot)
    assert refused["body"] == "Sorry, !announce is for organisers; here you are an attendee."


async def test_an_announcement_reaches_the_chosen_rooms(live):
    text = f"The Forum Hall stream is back ({uuid.uuid4().hex[:6]})"
    await live.org.say(live.announcements, f"!announce --tracks {text}")
    assert await eventually(lambda: said_privately(live, live.org, "in 1 room")) == [
        "📣 Announced in 1 room: Forum Hall."]
    post = await live.alice.wait_for(live.track, from_bot(live, text))
    assert body(post) == f"📣 Announcement\n{text}"
    await live.alice.sync()
    assert not [e for e in live.alice.timeline.get(live.hallway, []) if from_bot(live, text)(e)]


async def test_an_announcement_reaches_every_room_once_across_a_restart(live):
    """The bot stops half-way through an announcement: two rooms have it, a third request has
    reached the homeserver without the bot hearing back, two more never left. After the
    restart every room has it exactly once, and the organiser gets one summary."""
    runtime = live.runner.runtime
    real_send, calls, third_out = runtime.send, [], asyncio.Event()

    async def stopping_send(room_id, event_type, content, txn_id):
        if not txn_id.startswith("podium.announce."):
            return await real_send(room_id, event_type, content, txn_id)
        calls.append(room_id)
        if len(calls) <= 2:
            return await real_send(room_id, event_type, content, txn_id)
        if len(calls) == 3:
            await real_send(room_id, event_type, content, txn_id)
            third_out.set()
        await asyncio.Event().wait()  # the bot stops here, before it records the room as sent

    runtime.send = stopping_send
    text = f"Lunch is served in the hallway ({uuid.uuid4().hex[:6]})"
    event_id = await live.org.say(live.announcements, f"!announce {text}")
    await asyncio.wait_for(third_out.wait(), 15)
    deliveries = await eventually(lambda: (ds := live.announcement_store.deliveries(event_id))
                                  and sum(d.state == SENT for d in ds) == 2 and ds)
    assert len(deliveries) == 5 and len(calls) == 5
    await live.runner.stop()
    await live.runner.start()

    summary = await eventually(lambda: said_privately(live, live.org, "in 5 rooms"), what="the announcement's summary")
    assert summary == ["📣 Announced in 5 rooms: Announcements, Hallway, Info desk, Jobs, Forum Hall."]
    assert all(d.state == SENT for d in live.announcement_store.deliveries(event_id))
    for room in (live.announcements, live.hallway, live.info_desk, live.jobs, live.track):
        await live.alice.wait_for(room, from_bot(live, text))
    await live.alice.sync()
    await live.org.sync()
    for room in (live.announcements, live.hallway, live.info_desk, live.jobs, live.track):
        posts = [e for e in live.alice.timeline[room] if from_bot(live, text)(e) and e["content"].get("msgtype") == "m.text"]
        assert len(posts) == 1, (room, posts)
    assert await said_privately(live, live.org, "in 5 rooms") == summary, "one summary"
