"""Limits and poll closing go by when the bot received an event, not by the date its sender's
server wrote on it.

A hostile homeserver dates its users' events as it likes (``origin_server_ts``); here an
application service's ``ts`` parameter plays that server (tests/support/forger.py). Each test
runs the bot itself, on a data directory of its own, with a receive clock the test holds still:
what the bot decides then depends on the order it saw the events in, and on nothing else.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlite_utils

from bot.commands import budget
from bot.conference import polls, qa
from bot.store.modcalls import ModCallStore
from bot.store.polls import PollStore
from bot.store.questions import QuestionStore
from tests.support.forger import RECEIVED, Forger, StillClock, forged
from tests.support.live import BotRunner, LiveSetup, body, hang_at

LIVE = LiveSetup(people=(("alice", "Alice"),), bot_running=False)
@pytest.fixture
async def runner(live, tmp_path):
    runner = BotRunner(live.homeserver, live.connection, live.conf.conference, tmp_path / "data",
                       receive_clock=StillClock(RECEIVED))
    await runner.start()
    yield runner
    await runner.stop()


@pytest.fixture
async def forger(live, forger_token):
    forger = await Forger.register(live.homeserver, forger_token[1], "attendee")
    await forger.join(live.track)
    yield forger
    await forger.close()


async def test_forged_dates_buy_no_extra_answers(live, runner, forger):
    sent = await forged(forger, live.track, ["!now"] * 25, apart_hours=1 / 12)  # five minutes apart
    await runner.until_handled(sent)
    replies = await forger.replies(live.track, live.bot)
    answered = [e for e in sent if any("faster than I can answer" not in body(r) for r in replies.get(e, []))]
    warned = [e for e in sent if any("faster than I can answer" in body(r) for r in replies.get(e, []))]
    assert (len(answered), len(warned)) == (budget.CAPACITY, 1)


async def test_forged_dates_buy_no_extra_questions(live, runner, forger):
    questions = ["!ask How do coroutines yield?", "!ask Which event loop runs on Windows?",
                 "!ask Is trio compatible with asyncio?", "!ask What about structured concurrency in 3.11?",
                 "!ask Can a task group be cancelled from outside?", "!ask Why are generators not enough?"]
    sent = await forged(forger, live.track, questions, apart_hours=1 / 30)  # two minutes apart
    await runner.until_handled(sent)
    store = QuestionStore(sqlite_utils.Database(runner.store.path))
    asked = [e for e in sent if store.by_source(e) is not None]
    assert asked == sent[:qa.RATE_COUNT]


async def test_forged_dates_buy_no_extra_moderator_calls(live, runner, forger):
    sent = await forged(forger, live.track, ["!mod the stream is down"] * 5, apart_hours=0.2)  # twelve minutes apart
    await runner.until_handled(sent)
    calls = ModCallStore(sqlite_utils.Database(runner.store.path))
    # One call brings a moderator: the room's window (by the bot's clock) refuses the rest.
    assert [e for e in sent if calls.made(e)] == sent[:1]


async def test_a_vote_dated_before_the_close_but_sent_after_it_does_not_count(live, runner, forger):
    await live.mod.say(live.track, '!poll "Lunch?" "Pizza" "Soup"')
    start = await live.mod.wait_for(live.track, lambda e: e["sender"] == live.bot and e["type"] == polls.START,
                                    why="the poll")
    poll = polls.read_start(start["content"])
    assert poll is not None
    pizza, soup = (answer_id for answer_id, _ in poll.answers)
    await live.alice.send(live.track, polls.RESPONSE, polls.response_content(start["event_id"], [pizza]))
    await live.mod.say(live.track, "!poll close")
    end = await live.mod.wait_for(live.track, lambda e: e["sender"] == live.bot and e["type"] == polls.END,
                                  why="the poll's end")
    assert "Pizza: 1 vote ✓\nSoup: 0 votes" in end["content"][polls.TEXT]
    late = await forger.send(live.track, polls.RESPONSE, polls.response_content(start["event_id"], [soup]),
                             dated=start["origin_server_ts"] / 1000)
    await runner.until_handled([late])
    stored = PollStore(sqlite_utils.Database(runner.store.path))
    assert stored.tally(start["event_id"]).counts == {pizza: 1, soup: 0}
    [exported] = [p for p in stored.export() if p["poll_id"] == start["event_id"]]
    assert exported["results"]["counts"] == {pizza: 1, soup: 0}


async def test_a_command_handled_again_after_a_restart_is_decided_as_it_was_first(live, tmp_path, forger):
    """The fourth question in a minute (by the bot's clock) is refused; the bot dies after refusing
    it, before noting it handled, and comes back an hour later: the same question, handled again,
    is refused again, because its receive time was recorded when the bot first saw it."""
    clock = StillClock(RECEIVED)
    refused, last = asyncio.Event(), "!ask Are cancellation scopes nested?"
    runner = BotRunner(live.homeserver, live.connection, live.conf.conference, tmp_path / "data", receive_clock=clock)
    await runner.start(hook=hang_at("answered", last, refused))
    try:
        questions = ["!ask What does await really do?", "!ask Is asyncio.run reentrant?",
                     "!ask How do I test a coroutine?", last]
        sent = await forged(forger, live.track, questions, apart_hours=1)
        await asyncio.wait_for(refused.wait(), 45)
        await runner.stop()  # answered, not yet noted as handled
        clock.at += 3600
        await runner.start(hook=None)
        await runner.until_handled(sent)
        store = QuestionStore(sqlite_utils.Database(runner.store.path))
        assert [e for e in sent if store.by_source(e) is not None] == sent[:qa.RATE_COUNT]
        replies = await forger.replies(live.track, live.bot)
        assert [body(r) for r in replies[sent[-1]]] == [
            f"You have asked {qa.RATE_COUNT} questions in the last minute; please wait 60 s and ask again."]
    finally:
        await runner.stop()
