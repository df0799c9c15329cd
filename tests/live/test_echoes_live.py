"""One visible trace per bot action, against the real Synapse: the command that asked for a post
is removed once the post is up, what is said to one person goes to that person's direct chat,
and room mentions are named links that say which server to join through.

One conference (the live one, with an organiser and a helpdesk) and one running bot are shared
by the module; each test makes its own announcement, call or question.
"""

from __future__ import annotations

import uuid

from tests.support.live import LiveSetup, Person, body, bot_messages, reply_target
from tests.support.waiting import eventually

PEOPLE = (("alice", "Alice"), ("bob", "Bob"), ("org", "Olga"), ("hana", "Hana"))
JOINS = {"alice": ("announcements", "hallway", "track", "helpdesk"), "bob": ("track", "hallway"),
         "org": ("announcements",), "hana": ("staff",), "mod": ("backstage",)}

LIVE = LiveSetup(
    people=PEOPLE,
    extra=lambda users: {"staff": {"organisers": [users["org"]]},
                         "helpdesks": [{"id": "desk", "name": "Helpdesk", "staff": [users["hana"]]}]},
    rooms={"announcements": "announcements", "hallway": "hallway", "track": "track-forum",
           "backstage": "backstage-forum", "helpdesk": "help-desk", "staff": "help-desk-staff"},
    joins=JOINS)


def _redacts(event: dict) -> str | None:
    if event.get("type") != "m.room.redaction":
        return None
    return event.get("redacts") or (event.get("content") or {}).get("redacts")


async def removed(person: Person, room_id: str, event_id: str, why: str) -> dict:
    """The redaction of ``event_id`` once ``person`` sees it."""
    return await person.wait_for(room_id, lambda e: _redacts(e) == event_id, why=f"{why} removed")


def visible(person: Person, room_id: str, text: str) -> list[dict]:
    """The messages holding ``text`` that ``person`` reads in ``room_id``: every one of them not
    redacted, and every quote of one (a reply whose fallback body repeats it)."""
    events = person.timeline.get(room_id, [])
    gone = {_redacts(e) for e in events} - {None}
    return [e for e in events if e.get("type") == "m.room.message" and e["event_id"] not in gone and text in body(e)]


async def test_an_announcement_shows_once_and_only_the_organiser_reads_the_receipt(live):
    text = f"Lunch is served in the hall ({uuid.uuid4().hex[:6]})"
    command = await live.org.say(live.announcements, f"!announce {text}")
    await live.alice.wait_for(live.announcements, lambda e: e.get("sender") == live.bot and text in body(e),
                              why="the announcement")
    await removed(live.alice, live.announcements, command, "the !announce command")
    [(receipt_room, receipt)] = await eventually(lambda: bot_messages(live.org, live.bot, "Announced in"),
                                                 what="the organiser's receipt")
    assert receipt_room != live.announcements
    assert reply_target(receipt) is None, receipt  # no quote of a command that is gone
    await live.alice.sync(300)
    assert [body(e) for e in visible(live.alice, live.announcements, text)] == [f"📣 Announcement\n{text}"]
    assert not await bot_messages(live.alice, live.bot, "Announced in"), "attendees never read the receipt"


async def test_a_moderator_call_is_removed_and_acknowledged_in_private(live):
    complaint = f"someone keeps posting ads ({uuid.uuid4().hex[:6]})"
    command = await live.alice.say(live.track, f"!mod {complaint}")
    await live.mod.wait_for(live.backstage, lambda e: e.get("sender") == live.bot and complaint in body(e),
                            why="the call in the backstage")
    await removed(live.bob, live.track, command, "the !mod call")
    [(ack_room, ack)] = await eventually(lambda: bot_messages(live.alice, live.bot, "A moderator has been called"),
                                         what="the caller's acknowledgement")
    assert ack_room not in (live.track, live.hallway, live.helpdesk), "acknowledged in a direct chat"
    assert reply_target(ack) is None, ack
    await live.bob.sync(300)
    assert visible(live.bob, live.track, complaint) == [], "the person reported reads nothing of it"
    assert not [e for e in live.bob.timeline.get(live.track, []) if e.get("sender") == live.bot
                and "moderator" in body(e).lower()]


async def test_a_question_is_posted_once_in_place_of_the_command(live):
    question = f"Will the slides be shared ({uuid.uuid4().hex[:6]})?"
    command = await live.alice.say(live.track, f"!ask {question}")
    post = await live.bob.wait_for(live.track, lambda e: e.get("sender") == live.bot and question in body(e),
                                   why="the question's post")
    await removed(live.bob, live.track, command, "the !ask command")
    assert reply_target(post) is None, post
    await live.bob.sync(300)
    assert [e["event_id"] for e in visible(live.bob, live.track, question)] == [post["event_id"]]


async def test_a_helpdesk_request_shows_once_and_the_answers_quote_nothing_gone(live):
    request = f"My microphone is not picked up ({uuid.uuid4().hex[:6]})"
    command = await live.alice.say(live.helpdesk, f"!helpdesk {request}")
    seen = await live.hana.wait_for(live.staff, lambda e: e.get("sender") == live.bot and request in body(e),
                                    why="the ticket in the staff room")
    number = body(seen).split("#", 1)[1].split(" ", 1)[0]
    await removed(live.alice, live.helpdesk, command, "the !helpdesk command")
    claim = await live.hana.say(live.staff, f"!claim {number}")
    await live.hana.reply_to(live.staff, claim, live.bot)
    told = await live.alice.wait_for(live.helpdesk, lambda e: e.get("sender") == live.bot and "is on your ticket"
                                     in body(e), why="the asker told who has it")
    assert reply_target(told) is None, told
    await live.alice.sync(300)
    shown = visible(live.alice, live.helpdesk, request)
    assert len(shown) == 1 and shown[0]["sender"] == live.bot, [body(e) for e in shown]


async def test_room_mentions_are_named_links_with_a_server_to_join_through(live):
    reply = await live.alice.ask(live.hallway, "!now forum", live.bot)
    track = f"https://matrix.to/#/#{live.conf.conf_id}-track-forum:localhost?via=localhost"
    assert f'<a href="{track}">Forum Hall</a>' in reply["formatted_body"], reply["formatted_body"]
