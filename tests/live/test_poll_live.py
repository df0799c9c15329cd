"""Native polls end to end: the running bot, a real Synapse and real matrix-nio attendees.

One conference with one track whose first talk is live; a moderator (staff in the schedule, power
50 in every room) starts and closes polls, attendees vote from their own clients. The tally is
checked twice: against the rules worked out by hand for the votes sent, and against an
independent recount of every response the homeserver holds (``/relations``).
"""

from __future__ import annotations

from typing import Callable

import sqlite_utils

from bot.conference import polls
from bot.store.polls import PollStore
from bot.store.received import ReceivedStore
from tests.support.live import LiveSetup, Person

ATTENDEES = ("alice", "bob", "carol", "dave", "erin")
LIVE = LiveSetup(people=tuple((name, name.title()) for name in ATTENDEES))


def attendees(live) -> list[Person]:
    return [getattr(live, name) for name in ATTENDEES]


def reply_to(bot_id: str, text: str) -> Callable[[dict], bool]:
    return lambda e: (e["sender"] == bot_id and e["type"] == "m.room.message"
                      and text in e["content"].get("body", ""))


async def vote(live, person: Person, poll_id: str, answers: list) -> str:
    return await person.send(live.track, polls.RESPONSE, polls.response_content(poll_id, answers))


def poll_store(live) -> PollStore:
    """The bot's poll store, read from its database as the web server would."""
    return PollStore(sqlite_utils.Database(live.runner.store.path))


async def start_poll(live, args: str) -> dict:
    """The moderator sends ``!poll args``; the bot's poll start event."""
    before = {e["event_id"] for e in live.mod.timeline.get(live.track, [])}
    await live.mod.say(live.track, f"!poll {args}")
    return await live.mod.wait_for(
        live.track, lambda e: e["sender"] == live.bot and e["type"] == polls.START and e["event_id"] not in before,
        why="the poll")


# ----------------------------------------------------------------------------- tests


async def recount(live, poll_id: str, poll: polls.Poll, ended_at: int) -> polls.Tally:
    """Every response the homeserver holds for ``poll_id`` (``/relations``), tallied by the rules."""
    client = live.mod.client
    path = f"/_matrix/client/v1/rooms/{live.track}/relations/{poll_id}/m.reference/{polls.RESPONSE}?limit=100"
    response = await client.send("GET", path, headers={"Authorization": f"Bearer {client.access_token}"})
    chunk = (await response.json())["chunk"]
    responses = [polls.Response(e["sender"], e["origin_server_ts"], polls.read_response(e["content"])[1], order=i)
                 for i, e in enumerate(sorted(chunk, key=lambda e: e["origin_server_ts"]))]
    return polls.tally(poll, responses, ended_at)


async def test_poll_voted_changed_spoiled_and_late(live):
    alice, bob, carol, dave, erin = attendees(live)
    start = await start_poll(live, '"Where do we eat?" "Pizza" "Soup" "Salad"')
    poll_id = start["event_id"]
    poll = polls.read_start(start["content"])
    assert poll is not None and poll.max_selections == 1 and poll.disclosed
    pizza, soup, salad = (answer_id for answer_id, _ in poll.answers)

    await vote(live, alice, poll_id, [pizza])
    await vote(live, alice, poll_id, [soup])            # changed vote: soup counts
    await vote(live, bob, poll_id, [salad])
    await vote(live, bob, poll_id, ["no-such-answer"])  # spoiled: replaces salad, counts nothing
    await vote(live, carol, poll_id, [salad])
    await vote(live, carol, poll_id, [])                # unvoted
    await vote(live, dave, poll_id, [pizza, salad])     # one selection allowed: truncated to pizza
    await vote(live, erin, poll_id, [soup, "bogus"])    # truncated to soup, so not spoiled

    close = await live.mod.say(live.track, "!poll close")
    end = await live.mod.wait_for(live.track, lambda e: e["sender"] == live.bot and e["type"] == polls.END)
    assert end["content"]["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll_id}
    text = end["content"][polls.TEXT]
    assert text == ("The poll has ended: Where do we eat?\n"
                    "Pizza: 1 vote\nSoup: 2 votes ✓\nSalad: 0 votes\n3 people voted.")

    await vote(live, bob, poll_id, [pizza])  # after the close: ignored
    await live.mod.say(live.track, "!poll close")  # nothing open any more; answered after the late vote
    await live.mod.wait_for(live.track, reply_to(live.bot, "There is no open poll in this room."))

    store = poll_store(live)
    stored = store.tally(poll_id)
    assert stored.counts == {pizza: 1, soup: 2, salad: 0}
    assert stored.voters == 3 and stored.spoiled == 1
    view = store.for_track(live.conf.conf_id, "forum")[0]
    assert view.poll_id == poll_id and view.closed and view.visible_counts() == stored.counts
    [exported] = [p for p in store.export() if p["poll_id"] == poll_id]
    # Closed when the bot received "!poll close": what its sender's server dates events decides nothing.
    assert exported["ended_at"] == ReceivedStore(sqlite_utils.Database(live.runner.store.path)).of(close)
    # The homeserver's own record of every response, recounted independently, agrees.
    recounted = await recount(live, poll_id, poll, end["origin_server_ts"])
    assert recounted.counts == stored.counts and recounted.voters == stored.voters
    assert exported["results"]["text"] == text


async def test_secret_multi_poll_hidden_until_closed(live):
    alice, bob, *_ = attendees(live)
    start = await start_poll(live, '"Which topics next?" "Typing" "Packaging" "Async" --multi 2 --secret')
    poll_id = start["event_id"]
    poll = polls.read_start(start["content"])
    assert poll is not None and poll.max_selections == 2 and not poll.disclosed
    typing_, packaging, async_ = (answer_id for answer_id, _ in poll.answers)
    await vote(live, alice, poll_id, [typing_, async_])
    await vote(live, bob, poll_id, [async_, async_])  # a repeat counts once
    await live.mod.say(live.track, "!poll list")
    listing = await live.mod.wait_for(live.track, reply_to(live.bot, "Which topics next?"))
    assert "results hidden until it closes" in listing["content"]["body"]
    view = next(v for v in poll_store(live).for_track(live.conf.conf_id, "forum") if v.poll_id == poll_id)
    assert not view.closed and view.visible_counts() is None
    number = listing["content"]["body"].splitlines().index(
        next(line for line in listing["content"]["body"].splitlines() if "Which topics next?" in line))
    await live.mod.say(live.track, f"!poll close {number}")
    end = await live.mod.wait_for(live.track, 
        lambda e: e["sender"] == live.bot and e["type"] == polls.END
        and e["content"]["m.relates_to"]["event_id"] == poll_id)
    assert "Async: 2 votes ✓" in end["content"][polls.TEXT]
    assert poll_store(live).tally(poll_id).counts == {typing_: 1, packaging: 0, async_: 2}


async def test_poll_refused_for_an_attendee(live):
    alice = live.alice
    await alice.say(live.track, '!poll "Shall we skip the break?" "Yes" "No"')
    refusal = await alice.wait_for(live.track, reply_to(live.bot, "!poll is for moderators"))
    assert refusal["content"]["formatted_body"].startswith("Sorry, <code>!poll</code> is for moderators")
    await alice.say(live.track, "!poll close")
    await alice.wait_for(live.track, lambda e: e["sender"] == live.bot and e["type"] == "m.room.message"
                         and e["origin_server_ts"] > refusal["origin_server_ts"] and "moderators" in e["content"]["body"])
    assert not any(e["type"] == polls.START and "skip the break" in e["content"].get(polls.TEXT, "")
                   for e in alice.timeline[live.track])


async def test_poll_text_with_html_comes_back_escaped(live):
    start = await start_poll(live, '"<script>alert(1)</script> **bold**?" "<b>Yes</b>" "No"')
    poll = polls.read_start(start["content"])
    assert poll is not None
    # The poll carries the text exactly as typed: clients render it as text, never as HTML.
    assert poll.question == "<script>alert(1)</script> **bold**?"
    assert poll.answers[0][1] == "<b>Yes</b>"
    await live.mod.say(live.track, "!poll list")
    listing = await live.mod.wait_for(live.track, reply_to(live.bot, "<script>alert(1)</script>"))
    formatted = listing["content"]["formatted_body"]
    assert "<script>" not in formatted and "<b>Yes</b>" not in formatted
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**?" in formatted
    # An error that quotes the moderator's text escapes it too.
    await live.mod.say(live.track, '!poll "Q" "<i>x</i>" "<I>X</I>"')
    error = await live.mod.wait_for(live.track, reply_to(live.bot, "is given twice"))
    assert "&lt;I&gt;X&lt;/I&gt;" in error["content"]["formatted_body"]
    assert "<I>" not in error["content"]["formatted_body"]


async def test_withdrawn_vote_reverts_and_a_moderator_ends_the_poll_from_their_client(live):
    alice, bob, *_ = attendees(live)
    start = await start_poll(live, '"Coffee or tea?" "Coffee" "Tea"')
    poll_id = start["event_id"]
    poll = polls.read_start(start["content"])
    assert poll is not None
    coffee, tea = (answer_id for answer_id, _ in poll.answers)
    await vote(live, alice, poll_id, [coffee])
    second = await vote(live, alice, poll_id, [tea])
    redacted = await alice.client.room_redact(live.track, second)  # MSC3381: back to coffee
    assert not hasattr(redacted, "status_code"), redacted
    await vote(live, bob, poll_id, [tea])
    # Element's "End poll": the end event comes from the moderator, not the bot.
    end_id = await live.mod.send(live.track, polls.END, polls.end_content(poll_id, poll, polls.tally(poll, [])))
    await live.mod.say(live.track, "!poll list")  # answered once everything before it is handled
    listing = await live.mod.wait_for(live.track, 
        lambda e: reply_to(live.bot, "Coffee or tea?")(e) and "(closed)" in e["content"]["body"].split(
            "Coffee or tea?")[1].split("\n")[0])
    assert "Coffee: 1, Tea: 1" in listing["content"]["body"]
    [exported] = [p for p in poll_store(live).export() if p["poll_id"] == poll_id]
    assert exported["results"]["counts"] == {coffee: 1, tea: 1}
    assert exported["ended_at"] == ReceivedStore(sqlite_utils.Database(live.runner.store.path)).of(end_id)


async def test_the_poll_command_is_removed_once_the_poll_is_posted(live):
    """The poll shows the question and answers with vote buttons: the ``!poll`` line above it is
    redacted by the bot, after the poll is in the room."""
    seen = len(live.mod.timeline[live.track])
    command_id = await live.mod.say(live.track, '!poll "Tea or coffee?" "Tea" "Coffee"')
    start = await live.mod.wait_for(live.track, 
        lambda e: e["sender"] == live.bot and e["type"] == polls.START and live.mod.timeline[live.track].index(e) >= seen)
    redaction = await live.mod.wait_for(live.track, 
        lambda e: e["type"] == "m.room.redaction" and command_id in (e.get("redacts"), e["content"].get("redacts")))
    assert redaction["sender"] == live.bot
    assert redaction["origin_server_ts"] >= start["origin_server_ts"]
    assert redaction["content"].get("reason") == "the poll is posted"
