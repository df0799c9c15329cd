"""Beside the stream, attendees see the talk's top questions, live: the stream page (in a real
browser, headless Chromium) shows the three questions most upvoted in the track room and follows
a new vote without a reload; with Q&A closed it says so rather than invite questions."""

from __future__ import annotations

import contextlib
import time

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference.clock import live_talk, talks_in_track
from bot.conference.pages import stream_page
from bot.conference.schedule import load_schedule
from bot.store.database import DATABASE
from bot.store.questions import QuestionStore
from bot.store.schema import open_database
from bot.web import create_app
from bot.web.background import ThreadedServer
from tests.support.browser import chromium
from tests.support.pages import NOW
from tests.support.posters import SETTINGS
from tests.support.waiting import PATIENCE

pytest.importorskip("playwright.sync_api")

SCHEDULE = load_schedule(SAMPLE_SCHEDULE)
TRACK = next(t for t in SCHEDULE.tracks if t.stream is not None and live_talk(talks_in_track(SCHEDULE, t.id), NOW))
TALK = live_talk(talks_in_track(SCHEDULE, TRACK.id), NOW)


def test_the_stream_page_shows_the_top_questions_and_follows_the_votes(tmp_path):
    data_dir = tmp_path / "data"
    app = create_app(SCHEDULE, SETTINGS, data_dir=data_dir, now=lambda: NOW)
    with ThreadedServer(app) as running, contextlib.closing(open_database(data_dir / DATABASE)) as db:
        store = QuestionStore(db)
        asked = [store.add(conference=SCHEDULE.conference.id, room_id="!t:localhost", track_id=TRACK.id,
                           talk_id=TALK.id, asker=f"@a{n}:localhost", asker_name=f"Asker {n}",
                           text=f"Question <{n}>?", asked_at=time.time() + n, source_event_id=f"$q{n}")
                 for n in range(5)]
        store.vote("$v1", SCHEDULE.conference.id, asked[4].number, "@fan:localhost", time.time())
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 330})
            page.goto(stream_page(running.url, TRACK.id))
            texts = page.locator("#top-questions .text")
            texts.first.wait_for()
            page.evaluate("() => { window.__sameDocument = true; }")
            assert texts.all_inner_texts() == ["Question <4>?", "Question <0>?", "Question <1>?"]
            assert page.locator("#questions-hint").inner_text() == (
                "2 more · Ask in this room with !ask <question>; upvote with a thumbs-up.")

            for voter in ("@x:localhost", "@y:localhost"):
                store.vote(f"$v-{voter}", SCHEDULE.conference.id, asked[3].number, voter, time.time())
            page.wait_for_function(
                "() => document.querySelector('#top-questions .text').textContent === 'Question <3>?'",
                timeout=PATIENCE * 1000)
            store.set_session(SCHEDULE.conference.id, TRACK.id, "closed", TALK.id)
            page.wait_for_function("() => document.querySelector('#questions-hint').textContent.includes("
                                   "'not taking new questions')", timeout=PATIENCE * 1000)
            assert page.evaluate("() => window.__sameDocument") is True, "no reload"
