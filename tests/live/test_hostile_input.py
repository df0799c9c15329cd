"""Podium as an attacker tries it, against a real Synapse with real matrix-nio clients: numbers
typed any way, malformed events, invisible questions, forged lines, "@room" in a question, junk
commands by the score. The bot must answer (or ignore) without a traceback, show nobody's text
as a line of its own, ping no one, and bound the replies one person can draw from it.

One conference and its people are shared by the module; each test runs the bot on a data
directory of its own, so every test starts with every reply budget full.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
import sqlite_utils
from nio import SyncResponse

from bot.commands.budget import CAPACITY, REFILL_SECONDS
from bot.conference import polls
from bot.store.questions import QuestionStore
from tests.support.live import BotRunner, LiveSetup, Person, hang_at
from tests.support.waiting import eventually

NOTICE = "You are sending commands faster than I can answer"


LIVE = LiveSetup(people=tuple((name, name.title()) for name in ("eve", "alice", "carol", "mallory")),
                 bot_running=False)


@pytest.fixture
async def live(live, tmp_path):
    """The module's conference, with the bot on a fresh data directory for each test (every reply
    budget full), and its question store read the way the web server does."""
    runner = BotRunner(live.homeserver, live.connection, live.conf.conference, tmp_path / "data")
    await runner.start()
    try:
        yield SimpleNamespace(**{**vars(live), "runner": runner,
                                 "store": QuestionStore(sqlite_utils.Database(runner.store.path))})
    finally:
        await runner.stop()


def tracebacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("bot") and (r.exc_info or r.levelno >= logging.ERROR)]


async def all_handled(live, event_ids: list[str]) -> None:
    """Every event handled (so every reply to it sent), then seen by the observer."""
    await live.runner.until_handled(event_ids)
    await live.carol.sync(0)


async def test_numbers_typed_any_way_are_refused_with_the_usage(live, caplog):
    for command in ("!qa hide ²", "!qa top ¹", "!poll close ²", "!qa hide Q99999999999999999999999", "!qa pin ١٢",
                    "!qa answered " + "9" * 5000, "!delay ²", '!poll "Lunch?" "Pizza" "Soup" --multi ²'):
        reply = await live.mod.ask(live.track, command, live.bot)
        assert ("is not a whole number" in reply["body"] or "is too large" in reply["body"]) and "Usage: !" in reply[
            "body"], (command, reply["body"])
        assert len(reply["body"]) < 400, "a long word is not echoed back in full"
    assert tracebacks(caplog) == []


async def test_malformed_events_are_ignored_and_the_bot_answers_the_next_command(live, caplog):
    eve, track = live.eve, live.track
    commands = [await eve.send(track, "m.room.message", {"msgtype": "m.text", "body": "!help", "m.relates_to": odd})
                for odd in ("a string", ["a", "list"], 7)]
    # (Synapse refuses a message whose body or msgtype is not a string from its own users, so
    # those reach the bot only over federation; tests/unit/test_commands.py reads them.)
    ignored = [
        await eve.send(track, "m.room.message", {"msgtype": "m.image", "body": "!help", "url": 5}),
        await eve.send(track, "m.reaction", {"m.relates_to": "👍"}),
        await eve.send(track, "m.reaction", {"m.relates_to": {"rel_type": "m.annotation", "event_id": ["$x"],
                                                              "key": ["👍"]}}),
        await eve.send(track, polls.RESPONSE, {"m.relates_to": "a string", polls.RESPONSE: {"answers": "a1"}}),
        # Starting and ending polls takes a moderator's power in a track room.
        await live.mod.send(track, polls.END, {"m.relates_to": ["a list"], polls.END: {}}),
        await live.mod.send(track, polls.START, {polls.START: {"question": {polls.TEXT: "Q"}, "answers": 5}}),
        await live.mod.send(track, polls.START, {polls.START: ["not", "an", "object"]}),
    ]
    for event_id in commands:  # a command whose relation is not an object is still a command
        reply = await eve.reply_to(track, event_id, live.bot, why="an answer to !help")
        assert reply["content"]["body"].startswith("What you can do here")
    after = await live.alice.ask(track, "!questions", live.bot)
    assert after["body"].startswith("Open questions for")
    await all_handled(live, commands)
    assert not [e for e in ignored if live.carol.replies_to(track, e, live.bot)], "nothing to answer"
    assert not live.runner.task.done(), "the bot is still running"
    assert tracebacks(caplog) == []


async def test_a_question_of_invisible_characters_is_refused(live):
    for blank in ("\u200b\u200b\u200b\u200b\u200b", "\u202e\u2066\u200d\u200d\u2069", "a\u200b\u200b\u200b\u200b",
                  "\u3164\u3164\u3164\u3164"):
        event_id = await live.eve.say(live.track, f"!ask {blank}")
        reply = (await live.eve.reply_to(live.track, event_id, live.bot))["content"]
        assert reply["body"] == "write the question after !ask. Usage: !ask <question>"
        assert live.store.by_source(event_id) is None, "nothing on the board"


async def test_a_display_name_cannot_forge_a_line_of_the_bot(live):
    forged = "Eve\nQ1 · Podium: Q&A is closed, go home\u202e\u2067"
    await live.eve.client.set_displayname(forged)
    try:
        # The homeserver tells the room of the new name on its own time: ask once it has.
        await live.alice.wait_for(live.track, lambda e: e["type"] == "m.room.member" and e["sender"] == live.eve.user_id
                                  and e["content"].get("displayname") == forged)
        event_id = await live.eve.say(live.track, "!ask Is this\nQ2 · Podium: really the bot? <b>no</b>")
        question = (await eventually(lambda: (hit := live.store.by_source(event_id)) and hit[1].event_id and hit))[1]
        post = (await live.alice.wait_for(live.track, lambda e: e["event_id"] == question.event_id))["content"]
        assert post["body"].split("\n") == [
            f"Q{question.number} · Eve Q1 · Podium: Q&A is closed, go home: Is this Q2 · Podium: really the bot? <b>no</b>",
            "(👍 this message to upvote)"]
        assert post["formatted_body"] == (
            f"<b>Q{question.number}</b> · Eve Q1 · Podium: Q&amp;A is closed, go home: Is this Q2 · Podium: really "
            "the bot? &lt;b&gt;no&lt;/b&gt;<br><i>(👍 this message to upvote)</i>")
        assert question.asker_name == "Eve Q1 · Podium: Q&A is closed, go home", "stored as shown: the board too"
        listing = await live.alice.ask(live.track, "!questions", live.bot)
        assert not [line for line in listing["body"].split("\n")[1:] if not line.startswith(f"Q{question.number} · ")]
        assert not set(listing["body"] + listing["formatted_body"]) & {"\u202e", "\u2067"}
    finally:
        await live.eve.client.set_displayname("Eve")


async def highlights(person: Person, room_id: str) -> int:
    """How many events in ``room_id`` highlight ``person`` (a mention, an @room) so far."""
    response = await person.client.sync(timeout=0, full_state=True, sync_filter={"room": {"timeline": {"limit": 1}}})
    assert isinstance(response, SyncResponse), response
    return response.rooms.join[room_id].unread_notifications.highlight_count


async def test_an_at_room_or_a_name_in_a_question_pings_no_one(live):
    before = await highlights(live.carol, live.track)
    # Eve's own client says she mentions no one (as Element does), so only the bot's post could ping.
    event_id = await live.eve.send(live.track, "m.room.message", {
        "msgtype": "m.text", "body": "!ask @room Carol, is there free pizza in the hallway?", "m.mentions": {}})
    found = await eventually(lambda: (hit := live.store.by_source(event_id)) and hit[1].event_id and hit)
    await live.carol.wait_for(live.track, lambda e: e["event_id"] == found[1].event_id)
    marker = await live.alice.say(live.track, "a message after the bot's post")
    await live.carol.wait_for(live.track, lambda e: e["event_id"] == marker)
    assert await highlights(live.carol, live.track) == before


async def test_junk_commands_get_a_bounded_number_of_replies_then_one_notice(live):
    junk = [await live.mallory.say(live.track, f"!frobnicate{n} now") for n in range(CAPACITY + 8)]
    await all_handled(live, junk)
    replies = [live.carol.replies_to(live.track, e, live.bot) for e in junk]
    assert [len(r) for r in replies] == [1] * (CAPACITY + 1) + [0] * 7
    assert all(r[0]["content"]["body"].startswith(f"There is no !frobnicate{n}.") for n, r in enumerate(replies[:CAPACITY]))
    notice = replies[CAPACITY][0]["content"]["body"]
    assert notice.startswith(NOTICE) and notice.endswith(" s.")
    wait = int(notice.rsplit(" ", 2)[-2])
    assert 1 <= wait <= REFILL_SECONDS
    more = [await live.mallory.say(live.track, "!help") for _ in range(3)]
    await all_handled(live, more)
    assert not [e for e in more if live.carol.replies_to(live.track, e, live.bot)], "told once, then quiet"
    assert (await live.alice.ask(live.track, "!help", live.bot))["body"].startswith("What you can do"), \
        "others are answered all along"
    await asyncio.sleep(wait)  # the time the notice gave; waiting longer would only refill more
    again = await live.mallory.ask(live.track, "!help", live.bot)
    assert again["body"].startswith("What you can do here"), "answered again when the notice said"


async def test_a_moderator_clearing_the_board_is_answered_every_time(live):
    conf = live.conf.conf_id
    numbers = [live.store.add(conference=conf, room_id=live.track, track_id="forum", talk_id="t1",
                              asker=live.alice.user_id, asker_name="Alice", text=f"Question number {n}?",
                              asked_at=1_000.0 + n, source_event_id=f"$seed{n}:{live.track}").number
               for n in range(10)]
    commands = ["!qa top 10", *(f"!qa answered {n}" for n in numbers), "!qa close"]
    sent = [await live.mod.say(live.track, command) for command in commands]
    await all_handled(live, sent)
    bodies = [live.carol.replies_to(live.track, e, live.bot)[0]["content"]["body"] for e in sent]
    assert bodies[1:-1] == [f"Q{n} marked answered." for n in numbers]
    assert bodies[0].startswith(("Top 10 questions", "Open questions")) and bodies[-1].startswith("Q&A is closed")
    assert all(live.store.get(conf, n).state == "answered" for n in numbers)


async def test_after_a_restart_a_silenced_command_stays_silenced(live):
    """Killed after telling someone they are too fast, before marking that command handled: the
    restarted bot handles it again and must decide the same, not run it (its answer would carry
    the notice's transaction id, and the homeserver would hand back the notice's event id)."""
    over = "!ask Was this command ever run?"
    reached = asyncio.Event()
    runner = live.runner
    await runner.stop()  # started again, to be held where the hook says
    await runner.start(hook=hang_at("answered", over, reached))
    try:
        junk = [await live.mallory.say(live.track, "!nope") for _ in range(CAPACITY)]
        last = await live.mallory.say(live.track, over)
        await asyncio.wait_for(reached.wait(), 30)
        await eventually(lambda: all(runner.store.is_handled(e) for e in junk))
        assert not runner.store.is_handled(last)
    finally:
        await runner.stop()
    await runner.start(hook=None)
    try:
        await eventually(lambda: runner.store.is_handled(last))
        store = QuestionStore(sqlite_utils.Database(runner.store.path))
        assert store.by_source(last) is None, "the command was not run"
        await live.carol.sync(0)
        notices = [e for e in live.carol.replies_to(live.track, last, live.bot)]
        assert len(notices) == 1 and notices[0]["content"]["body"].startswith(NOTICE)
    finally:
        await runner.stop()


async def test_an_event_whose_content_is_not_an_object_reaches_no_handler(live):
    """Synapse makes every content an object; an event from elsewhere may not be one, and would
    fail the bot's batch (``"m.relates_to" in 5``) before any handler could refuse it."""
    runtime = live.runner.runtime
    event = {"type": "m.room.message", "sender": live.eve.user_id, "origin_server_ts": 1}
    for n, content in enumerate((5, "!help", ["!help"], None)):
        assert runtime.prepare(live.track, {**event, "event_id": f"$odd{n}", "content": content}) is None
    assert runtime.prepare(live.track, {**event, "event_id": "$fine", "content": {"msgtype": "m.text", "body": "!help"}})
