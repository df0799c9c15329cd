"""Sponsors' jobs as attendees see them, live: a booth page open in a browser shows a job the
sponsor's staff post with ``!job`` without a reload, and the jobs room pins a page with every
sponsor's openings, the schedule's and the posted ones.

The bot runs against the session's Synapse, the staff is a real matrix-nio client, the pages are
served from the bot's data directory and shown by headless Chromium.
"""

from __future__ import annotations

import contextlib

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference import pages
from bot.conference.roomkeys import lobby_key
from bot.conference.schedule import load_schedule
from bot.conference.sponsors import JOBS_ROOM
from bot.provisioning.desired import WIDGET, Settings, desired_rooms
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates
from bot.web import create_app, start_web
from bot.web.background import free_port
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.live import LiveSetup
from tests.support.waiting import PATIENCE

playwright_async = pytest.importorskip("playwright.async_api")
WAIT_MS = int(PATIENCE * 1000)

LIVE = LiveSetup(
    people=(("sia", "Sia"), ("fan", "Fan")),
    extra=lambda users: {"sponsors": [
        {"id": "acme", "name": "ACME", "level": "Gold", "staff": [users["sia"]],
         "jobs": [{"title": "Tester", "url": "https://acme.example/jobs/tester"}]},
        {"id": "quiet", "name": "Quiet Corp"}]},
    rooms={"booth": "sponsor-acme", "jobs": "jobs"},
    joins={"sia": ("booth",), "fan": ("jobs", "booth")})


@contextlib.asynccontextmanager
async def browsing(live):
    """The pages served from the bot's data directory, and a browser: (new page, base URL)."""
    conference = live.conf.conference
    app = create_app(conference.schedule, conference.settings, data_dir=live.runner.store.path.parent)
    port = free_port()
    web = await start_web(app, "127.0.0.1", port)
    try:
        async with playwright_async.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser, f"http://127.0.0.1:{port}"
            finally:
                await browser.close()
    finally:
        await web.cleanup()


async def test_an_open_booth_page_and_the_jobs_page_show_a_posted_job_without_a_reload(live):
    async with browsing(live) as (browser, base):
        booth, board = await browser.new_page(), await browser.new_page()
        await booth.goto(pages.sponsor_page(base, "acme"))
        await board.goto(pages.jobs_page(base))
        for page in (booth, board):
            await page.evaluate("() => { window.__sameDocument = true; }")
        assert await booth.locator("#job-list li").all_inner_texts() == ["Tester"]
        assert await board.locator("#job-board h2").all_text_contents() == ["ACME Gold"], "only sponsors hiring"

        reply = await live.sia.ask(live.booth, "!job Rust <b>developer</b> https://acme.example/jobs/rust", live.bot)
        assert reply["body"].startswith("Posted job #1")
        for page, items in ((booth, "#job-list li"), (board, "#job-board li")):
            await page.wait_for_function(f"() => document.querySelectorAll({items!r}).length === 2", timeout=WAIT_MS)
            assert await page.locator(items).all_inner_texts() == ["Tester", "Rust <b>developer</b>"]
            link = page.locator(f"{items} a", has_text="Rust")
            assert await link.get_attribute("href") == "https://acme.example/jobs/rust"
            assert await page.evaluate("() => window.__sameDocument") is True, "no reload"

        await live.sia.ask(live.booth, "!job remove 1", live.bot)
        for page, items in ((booth, "#job-list li"), (board, "#job-board li")):
            await page.wait_for_function(f"() => document.querySelectorAll({items!r}).length === 1", timeout=WAIT_MS)


def test_the_jobs_room_pins_the_jobs_page_and_other_lobby_rooms_do_not():
    schedule = load_schedule(SAMPLE_SCHEDULE)
    assert schedule.sponsors, "the sample has sponsors"
    settings = Settings("example.org", "@podium:example.org", "https://podium.example.org")
    rooms = {r.key: r for r in desired_rooms(schedule, RoomTemplates.load(BUNDLED_TEMPLATES), settings)}
    [widget] = [content for (kind, _), content in rooms[JOBS_ROOM].state.items() if kind == WIDGET]
    assert widget["url"] == pages.jobs_page(settings.public_url)
    assert [kind for kind, _ in rooms[lobby_key("hallway")].state if kind == WIDGET] == []
