"""Q&A against a real Synapse: the bot runs, attendees are real matrix-nio clients.

One small conference and one running bot are shared by the module; each test asks its own
questions, so they read their own numbers back from the store (through a second SQLite
connection, the way the web server reads it). The bot answers each person a bounded number of
commands at once (bot.commands.budget): the tests share the commands among several people so
that none of them comes near it.
"""

from __future__ import annotations

import contextlib

import sqlite_utils

from bot.commands import REGISTRY, load_all
from bot.conference.roles import Role
from bot.store.questions import QuestionStore
from tests.support.live import BETWEEN_TALKS, DURING_FIRST_TALK, LiveSetup, Person
from tests.support.waiting import eventually


#: The conference's time, which tests move (``live.now[0] = ...``).
NOW = [DURING_FIRST_TALK]
LIVE = LiveSetup(people=(("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol"), ("eve", "<i>Eve</i>"),
                         ("dave", "Dave"), ("fay", "Fay")),
                 rooms={"track": "track-forum", "breakout": "talk-t1", "lobby": "hallway"}, clock=lambda: NOW[0])


@contextlib.asynccontextmanager
async def live_extras(live):
    """The question store read the way the web server reads it, and the movable time."""
    live.store, live.now = QuestionStore(sqlite_utils.Database(live.runner.store.path)), NOW
    yield


async def ask(live, person: Person, text: str, room: str | None = None):
    """``!ask text``; the stored question once the bot has posted it."""
    event_id = await person.say(room or live.track, f"!ask {text}")
    found = await eventually(lambda: (hit := live.store.by_source(event_id)) and hit[1].event_id and hit)
    return found[1]


async def votes(live, number: int, expected: int) -> None:
    await eventually(lambda: live.store.get(live.conf.conf_id, number).votes == expected)


async def test_ask_upvote_withdraw_and_rank(live):
    q1 = await ask(live, live.alice, "How does the scheduler pick the next task?")
    post = await live.bob.wait_for(live.track, lambda e: e["event_id"] == q1.event_id)
    assert post["sender"] == live.bot
    assert post["content"]["body"].startswith(f"Q{q1.number} · Alice: How does the scheduler pick the next task?")
    assert (q1.track_id, q1.talk_id, q1.votes, q1.asker) == ("forum", "t1", 0, live.alice.user_id), "asking is no vote"

    bob_vote = await live.bob.react(live.track, q1.event_id)
    await live.carol.react(live.track, q1.event_id)
    await live.alice.react(live.track, q1.event_id)  # the asker's 👍 counts like anyone's
    await live.bob.react(live.track, q1.event_id, "🎉")  # not an upvote
    # A 👍 on anything but the bot's post is just a reaction.
    await live.carol.react(live.track, await live.bob.say(live.track, "Great talk so far"))
    await votes(live, q1.number, 3)
    await live.bob.redact(live.track, bob_vote)
    await votes(live, q1.number, 2)

    q2 = await ask(live, live.bob, "Which Python versions do you support?")
    for person in (live.carol, live.alice, live.eve):
        await person.react(live.track, q2.event_id)
    await votes(live, q2.number, 3)
    reply = await live.mod.ask(live.track, "!qa top 10", live.bot)
    lines = reply["body"].splitlines()
    assert lines[0].endswith(f"questions for “{'Async <b>all</b> the things'}”")
    order = [int(line.split(" · ")[0].lstrip("📌 Q")) for line in lines[1:]]
    assert order.index(q2.number) < order.index(q1.number), "more votes first"
    assert f"Q{q2.number} · 3 👍 · Bob: Which Python versions do you support?" in lines
    assert "&lt;b&gt;all&lt;/b&gt;" in reply["formatted_body"], "the talk title is escaped too"
    ranked = [q.number for q in live.store.for_track(live.conf.conf_id, "forum")]
    assert ranked.index(q2.number) < ranked.index(q1.number)


async def test_every_thumbs_up_is_one_vote_kept_while_any_stays(live):
    question = await ask(live, live.dave, "Will the recordings have captions?")
    thumb = await live.bob.react(live.track, question.event_id, "👍")
    medium = await live.bob.react(live.track, question.event_id, "👍🏽")
    await live.carol.react(live.track, question.event_id, ":+1:")
    await votes(live, question.number, 2)
    await live.bob.redact(live.track, thumb)
    await eventually(lambda: not live.store.db.execute("SELECT 1 FROM qa_votes WHERE key = ?", [thumb]).fetchone())
    assert live.store.get(live.conf.conf_id, question.number).votes == 2, "bob's 👍🏽 still counts"
    await live.bob.redact(live.track, medium)
    await votes(live, question.number, 1)


async def test_a_near_duplicate_is_pointed_at_the_earlier_question_to_upvote_there(live):
    first = await ask(live, live.alice, "What is the roadmap for free-threading?")
    await live.carol.react(live.track, first.event_id)
    await votes(live, first.number, 1)
    event_id = await live.bob.say(live.track, "!ask what's the roadmap for free threading")
    reply = (await live.bob.reply_to(live.track, event_id, live.bot))["content"]
    assert reply["body"] == (f"That looks like Q{first.number}: “What is the roadmap for free-threading?” (1 👍). "
                             "Instead of a new question, put a 👍 on it.")
    assert live.store.by_source(event_id) is None, "no new question"
    # The count is the 👍 under the post, as Element shows it: asking again adds none.
    assert live.store.get(live.conf.conf_id, first.number).votes == 1
    await live.bob.react(live.track, first.event_id)
    await votes(live, first.number, 2)


async def test_answered_hidden_and_pinned(live):
    answered = await ask(live, live.carol, "Does it work on Windows?")
    hidden = await ask(live, live.carol, "Buy cheap watches at example.com")
    pinned = await ask(live, live.eve, "How do I migrate from asyncio.gather to task groups?")
    for command, expected in ((f"!qa answered {answered.number}", f"Q{answered.number} marked answered."),
                              (f"!qa hide Q{hidden.number}", f"Q{hidden.number} hidden from the lists."),
                              (f"!qa pin {pinned.number}", f"Q{pinned.number} pinned to the top.")):
        assert (await live.mod.ask(live.track, command, live.bot))["body"] == expected
    conf = live.conf.conf_id
    assert live.store.get(conf, answered.number).state == "answered"
    assert live.store.get(conf, hidden.number).state == "hidden"
    assert live.store.get(conf, pinned.number).pinned
    public = [q.number for q in live.store.for_track(live.conf.conf_id, "forum")]
    assert hidden.number not in public and public[0] == pinned.number
    assert hidden.number in [q.number for q in live.store.for_track(live.conf.conf_id, "forum", include_hidden=True)]

    listing = (await live.alice.ask(live.track, "!questions", live.bot))["body"].splitlines()
    assert listing[1].startswith(f"📌 Q{pinned.number} · ")
    assert not [line for line in listing if line.startswith((f"Q{hidden.number} ", f"Q{answered.number} "))]
    missing = await live.mod.ask(live.track, "!qa answered 9999", live.bot)
    assert missing["body"] == "There is no Q9999 in this track."


async def test_user_text_comes_back_escaped(live):
    text = "<script>alert(1)</script> **bold** <b>x</b> & [link](javascript:alert(2))"
    question = await ask(live, live.eve, text)
    post = (await live.alice.wait_for(live.track, lambda e: e["event_id"] == question.event_id))["content"]
    assert post["body"].startswith(f"Q{question.number} · <i>Eve</i>: {text}")
    formatted = post["formatted_body"]
    assert "<script" not in formatted and "<b>x" not in formatted and "<i>Eve" not in formatted
    assert ("&lt;script&gt;alert(1)&lt;/script&gt; **bold** &lt;b&gt;x&lt;/b&gt; &amp; "
            "[link](javascript:alert(2))") in formatted
    assert "&lt;i&gt;Eve&lt;/i&gt;" in formatted
    assert post["format"] == "org.matrix.custom.html"
    duplicate = await live.alice.ask(live.track, f"!ask {text}", live.bot)
    assert "&lt;script&gt;" in duplicate["formatted_body"] and "<script" not in duplicate["formatted_body"]


async def test_every_moderator_command_is_refused_for_an_attendee(live):
    victim = await ask(live, live.bob, "Is the talk recorded?")
    load_all()
    # Those a track room has; the helpdesk's and !announce are refused in their own rooms
    # (tests/live/test_selfservice_live.py).
    guarded = [c for c in REGISTRY.commands() if c.role >= Role.MODERATOR and (c.kinds is None or "track" in c.kinds)]
    assert {"qa"} <= {c.name for c in guarded}
    attempts = [f"!qa {action}" for action in ("open", "close", "top", "top 3")]
    attempts += [f"!qa {action} {victim.number}" for action in ("answered", "hide", "pin", "unpin")]
    attempts += [f"!{c.name} " + ('"Q?" "A" "B"' if c.name == "poll" else "") for c in guarded if c.name != "qa"]
    sent = [(command, await live.dave.say(live.track, command)) for command in attempts]
    roles = {f"!{c.name}": c.role for c in guarded}
    for command, event_id in sent:
        name = command.split()[0]
        reply = (await live.dave.reply_to(live.track, event_id, live.bot, why=command))["content"]
        needed = roles[name].label + "s"  # moderators, organisers
        assert reply["body"] == f"Sorry, {name} is for {needed}; here you are an attendee.", command
    after = live.store.get(live.conf.conf_id, victim.number)
    assert (after.state, after.pinned) == ("open", False)
    assert live.store.session(live.conf.conf_id, "forum") is None, "Q&A was neither opened nor closed"


async def test_help_unknown_commands_and_bad_arguments(live):
    attendee = (await live.carol.ask(live.track, "!help", live.bot))["body"]
    assert "!ask <question>" in attendee and "!questions" in attendee and "!help" in attendee
    assert "!qa" not in attendee and "as attendee" in attendee
    moderator = (await live.mod.ask(live.track, "!help", live.bot))["body"]
    assert "!qa open" in moderator and "as moderator" in moderator
    lobby = (await live.carol.ask(live.lobby, "!help", live.bot))["body"]
    assert "!ask" not in lobby and "!help" in lobby
    assert (await live.carol.ask(live.lobby, "!ask Where is lunch?", live.bot))["body"] == (
        "There is no !ask in this room. Send !help to see what you can do here.")
    unknown = await live.carol.ask(live.track, "!frobnicate <b>now</b>", live.bot)
    assert unknown["body"] == "There is no !frobnicate. Send !help to see what you can do here."
    bad = (await live.mod.ask(live.track, "!qa answered x", live.bot))["body"]
    assert bad.startswith("“x” is not a whole number; say which question") and "Usage: !qa open | close" in bad
    empty = (await live.carol.ask(live.track, "!ask", live.bot))["body"]
    assert empty == "write the question after !ask. Usage: !ask <question>"
    too_long = (await live.carol.ask(live.track, "!ask " + "why " * 200, live.bot))["body"]
    assert too_long.startswith("questions can be at most 500 characters")
    assert "!ask" in (await live.carol.ask(live.track, "!help ask", live.bot))["body"]


async def test_breakout_questions_belong_to_its_talk(live):
    question = await ask(live, live.carol, "Can we get the slides?", room=live.breakout)
    assert (question.track_id, question.talk_id, question.room_id) == ("forum", "t1", live.breakout)
    assert question.number in [q.number for q in live.store.for_track(live.conf.conf_id, "forum")]


async def test_closing_and_opening_qa_and_the_rate_limit(live):
    closed = await live.mod.ask(live.track, "!qa close", live.bot)
    assert closed["body"] == "Q&A is closed for “Async <b>all</b> the things”."
    refused = await live.alice.ask(live.track, "!ask Is it too late to ask?", live.bot)
    assert refused["body"] == "Q&A for “Async <b>all</b> the things” is closed: a moderator opens it again with !qa open."
    await live.mod.ask(live.track, "!qa open", live.bot)
    await ask(live, live.alice, "Is it too late to ask?")

    live.now[0] = BETWEEN_TALKS
    try:
        refused = await live.bob.ask(live.track, "!ask Anything between talks?", live.bot)
        # Says when the room takes questions again: with the next talk, at its (local) time.
        assert refused["body"] == ("Q&A is closed here right now: no talk is on. It opens with “Second talk” "
                                   "at 11:00, or when a moderator sends !qa open.")
        assert "this track" in (await live.mod.ask(live.track, "!qa open", live.bot))["body"]
        between = await ask(live, live.bob, "Anything between talks?")
        assert between.talk_id is None and between.track_id == "forum"
    finally:
        live.now[0] = DURING_FIRST_TALK

    # A third question within a minute is fine, a fourth must wait.
    for text in ("First of my many questions about typing?", "Second: what about generics in protocols?",
                 "Third: how do overloads interact with them?"):
        await ask(live, live.fay, text)
    wait = await live.fay.ask(live.track, "!ask Fourth: and variance of type parameters?", live.bot)
    assert wait["body"].startswith("You have asked 3 questions in the last minute; please wait")
