"""End to end: attendees in a Matrix room, the bot, the web server and a browser showing the Q&A
board and the poll bars, all live.

The bot (``bot.runtime``) runs against the session's Synapse; attendees are real matrix-nio
clients that ``!ask``, upvote with 👍, withdraw a vote and answer a native poll; the web server
reads the same data directory and headless Chromium shows the pages, which must follow every
step without a reload.
"""

from __future__ import annotations

import pytest
import sqlite_utils

from bot.conference.polls import response_content
from bot.store.polls import PollStore
from bot.store.questions import QuestionStore
from bot.web import create_app, start_web
from bot.web.background import free_port
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.live import DURING_FIRST_TALK, FIRST_TALK_TITLE, LiveSetup
from tests.support.waiting import PATIENCE, eventually

playwright_async = pytest.importorskip("playwright.async_api")
#: Bounds a wait for the page to follow the room; how soon it does is bench/web.py's to measure.
UPDATE_MS = int(PATIENCE * 1000)


LIVE = LiveSetup(people=(("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")))


async def test_board_and_poll_bars_follow_the_room(live, tmp_path):
    conf, track = live.conf, live.track
    alice, bob, carol, mod = live.alice, live.bob, live.carol, live.mod
    data_dir = live.runner.store.path.parent
    app = create_app(conf.conference.schedule, conf.conference.settings, data_dir=data_dir,
                     now=lambda: DURING_FIRST_TALK)
    port = free_port()
    web = await start_web(app, "127.0.0.1", port)
    try:
        db = sqlite_utils.Database(live.runner.store.path)

        async with playwright_async.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{port}/widgets/qa/forum?view=moderator")
            await page.locator("#status.live").wait_for()
            await page.evaluate("() => { window.__sameDocument = true; }")
            assert await page.locator("#talk-title").inner_text() == FIRST_TALK_TITLE
            questions = page.locator("#open .question")
            assert await questions.count() == 0

            ask = await alice.say(track, "!ask Does the event loop ever starve <b>timers</b>?")
            await questions.first.wait_for(timeout=UPDATE_MS)
            assert await questions.first.locator(".text").inner_text() == "Does the event loop ever starve <b>timers</b>?"
            assert await questions.first.locator(".asker").inner_text() == "Alice"
            assert await questions.first.locator(".votes").inner_text() == "0", "asking is no vote"

            store = QuestionStore(db)
            post = (await eventually(lambda: (hit := store.by_source(ask)) and hit[1].event_id and hit))[1].event_id
            bob_vote = await bob.react(track, post)
            await carol.react(track, post)
            await page.wait_for_function(
                "() => document.querySelector('#open .question .votes').textContent === '2'", timeout=UPDATE_MS)
            await bob.redact(track, bob_vote)
            await page.wait_for_function(
                "() => document.querySelector('#open .question .votes').textContent === '1'", timeout=UPDATE_MS)
            content = await page.content()
            assert alice.user_id not in content and ":localhost" not in content, "display names only"
            assert await page.evaluate("() => window.__sameDocument") is True

            await page.goto(f"http://127.0.0.1:{port}/widgets/polls/forum")
            await page.locator("#status.live").wait_for()
            await mod.say(track, '!poll "Tabs or spaces?" "Tabs" "Spaces"')
            polls = PollStore(db)
            poll_id = (await eventually(lambda: polls.for_track(conf.conf_id, "forum")))[0].poll_id
            await page.locator(".poll .bar").first.wait_for(state="attached", timeout=UPDATE_MS)
            for person, answer in ((alice, "a2"), (bob, "a2"), (carol, "a1")):
                await person.send(track, "org.matrix.msc3381.poll.response", response_content(poll_id, [answer]))
            await page.wait_for_function(
                "() => [...document.querySelectorAll('.poll .bar')].map(b => b.dataset.share).join() === '33,67'",
                timeout=UPDATE_MS * 2)
            assert "Tabs or spaces?" in await page.locator(".poll").inner_text()
            await page.screenshot(path=str(tmp_path / "polls-live.png"))
            await browser.close()
    finally:
        await web.cleanup()
