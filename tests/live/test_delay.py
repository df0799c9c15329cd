"""``!delay``: a moderator says a track runs late; !ask and the web pages follow. Against a real
Synapse with real matrix-nio clients, and the web server reading the same data directory."""

from __future__ import annotations

import contextlib

import aiohttp
import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import UsageError
from bot.commands.schedule import MAX_MINUTES, parse_minutes
from bot.store.questions import QuestionStore
from bot.web import create_app, start_web
from bot.web.background import free_port
from tests.support.live import BETWEEN_TALKS, LiveSetup
from tests.support.waiting import eventually


@pytest.mark.parametrize("text,minutes", [("10", 10), ("+5", 5), ("-3", -3), ("15min", 15), ("0", 0),
                                          (" 20 minutes ", 20)])
def test_minutes_are_read_as_moderators_write_them(text, minutes):
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["soon", "10h", "", "1.5", f"{MAX_MINUTES + 1}", "++5"])
def test_anything_else_is_refused_with_a_reason(text):
    with pytest.raises(UsageError):
        parse_minutes(text)


@given(st.integers(-MAX_MINUTES, MAX_MINUTES))
def test_every_delay_in_range_reads_back(minutes):
    assert parse_minutes(f"{minutes:+d}") == minutes


# Ten minutes after the first talk was due to end: on time, nothing is on.
LIVE = LiveSetup(people=(("alice", "Alice"),), clock=lambda: BETWEEN_TALKS)


@contextlib.asynccontextmanager
async def live_extras(live):
    """The web server on the bot's data, and its question store read the way the server reads it."""
    conference = live.conf.conference
    app = create_app(conference.schedule, conference.settings, data_dir=live.directory / "data",
                     now=lambda: BETWEEN_TALKS)
    port = free_port()
    web_runner = await start_web(app, "127.0.0.1", port)
    live.web, live.store = f"http://127.0.0.1:{port}", QuestionStore(sqlite_utils.Database(live.runner.store.path))
    try:
        yield
    finally:
        await web_runner.cleanup()


async def forum_now(live) -> str | None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{live.web}/api/now-next") as response:
            data = await response.json()
    forum = next(t for t in data["tracks"] if t["id"] == "forum")
    return forum["now"]["title"] if forum["now"] else None


async def until_forum_shows(live, title: str | None) -> None:
    """The web server reads delays after the store changes (twice a second): wait for it."""
    await eventually(lambda: _forum_shows(live, title), what=f"the navigator showing {title!r} on now")


async def _forum_shows(live, title: str | None) -> bool:
    return await forum_now(live) == title


async def asked_against(live, text: str) -> str | None:
    event_id = await live.alice.say(live.track, f"!ask {text}")
    found = await eventually(lambda: live.store.by_source(event_id))
    return found[1].talk_id


async def test_a_delay_moves_ask_and_the_pages_and_is_refused_to_attendees(live):
    assert await forum_now(live) is None
    closed = await live.alice.ask(live.track, "!ask Is anything on right now?", live.bot)
    assert "closed" in closed["body"], closed  # between talks Q&A waits for a moderator

    refusal = await live.alice.ask(live.track, "!delay 15", live.bot)
    assert "moderator" in refusal["body"].lower(), refusal

    reply = await live.mod.ask(live.track, "!delay 15", live.bot)
    assert reply["body"].startswith("Forum Hall runs 15 minutes late"), reply
    assert "On now: Async <b>all</b> the things." in reply["body"]
    assert "Async &lt;b&gt;all&lt;/b&gt; the things" in reply["formatted_body"]

    # Fifteen minutes late, the first talk still runs: questions go to it, pages show it.
    assert await asked_against(live, "Did the talk start late?") == "t1"
    await until_forum_shows(live, "Async <b>all</b> the things")

    status = await live.alice.ask(live.track, "!delay", live.bot)  # refused too: moderators only
    assert "moderator" in status["body"].lower()
    back = await live.mod.ask(live.track, "!delay 0", live.bot)
    assert back["body"].startswith("Forum Hall runs on time"), back
    await until_forum_shows(live, None)
    closed = await live.alice.ask(live.track, "!ask And now, between talks?", live.bot)
    assert "closed" in closed["body"], closed
