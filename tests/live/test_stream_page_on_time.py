"""The stream page in a real browser (headless Chromium) shows the player as the talk starts, not
up to half a minute later: the page asks the server again when it said the next talk starts.

The web server runs the sample conference on an injected clock; the browser's own timers are
Playwright's controlled clock, so "six seconds later" is a fast-forward, not a wait.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference.clock import talks_in_track
from bot.conference.pages import stream_page
from bot.conference.schedule import load_schedule
from bot.web import create_app
from bot.web.background import ThreadedServer
from tests.support.browser import chromium
from tests.support.live import SetClock
from tests.support.posters import SETTINGS

pytest.importorskip("playwright.sync_api")

SCHEDULE = load_schedule(SAMPLE_SCHEDULE)
TRACK = next(t for t in SCHEDULE.tracks if t.stream is not None)
FIRST = talks_in_track(SCHEDULE, TRACK.id)[0]


def test_the_player_replaces_the_offline_notice_as_the_talk_starts(tmp_path):
    clock = SetClock(FIRST.start - timedelta(seconds=5))
    app = create_app(SCHEDULE, SETTINGS, data_dir=tmp_path, now=clock)
    with ThreadedServer(app) as running, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 330})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(running.url)
                      else route.fulfill(status=204))
        page = context.new_page()
        page.clock.install()
        page.goto(stream_page(running.url, TRACK.id))
        page.locator("#offline").wait_for(state="visible")
        assert FIRST.title in page.locator("#offline-detail").inner_text()
        clock.at = FIRST.start  # the talk is on
        page.clock.run_for(6_000)  # the five seconds the server said, and one
        page.locator("#player").wait_for(state="visible", timeout=5_000)
        assert page.locator("#offline").is_hidden()
        context.close()
