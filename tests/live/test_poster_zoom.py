"""A poster read in its tile, in a real browser (headless Chromium): at the half tile a poster
room gives it (620 x 330) the whole page fits and its small print is too small to read, so a
click enlarges it around the point clicked, the tile scrolls over it, and "Fit" shows it whole
again."""

from __future__ import annotations

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference.pages import poster_page
from bot.conference.schedule import load_schedule
from bot.web import create_app
from bot.web.background import ThreadedServer
from tests.support.browser import chromium
from tests.support.pages import NOW
from tests.support.posters import SETTINGS, with_sample_posters

pytest.importorskip("playwright.sync_api")

HALF = (620, 330)
SIZES = """() => {
    const v = document.getElementById("viewer"), c = document.getElementById("poster-page");
    return {canvas: c.getBoundingClientRect().width, viewer: v.clientWidth, scrolls: v.scrollWidth > v.clientWidth,
            zoom: document.body.dataset.zoom || "1"};
}"""


def test_a_click_enlarges_the_poster_in_its_tile_and_fit_shows_it_whole(tmp_path):
    folder = with_sample_posters(tmp_path)  # the sample's PDFs, beside a copy of its schedule
    (folder / "schedule.yaml").write_text(SAMPLE_SCHEDULE.read_text())
    app = create_app(load_schedule(folder / "schedule.yaml"), SETTINGS, data_dir=folder / "data", now=lambda: NOW)
    with ThreadedServer(app) as running, chromium() as browser:
        width, height = HALF
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(poster_page(running.url, "poster-energy"))
        page.wait_for_function("() => document.body.dataset.poster === 'shown'")
        whole = page.evaluate(SIZES)
        assert not whole["scrolls"] and whole["canvas"] <= whole["viewer"]

        page.locator("#poster-page").click()
        page.wait_for_function("() => document.body.dataset.zoom === '2'")
        page.locator("#zoom-in").click()
        page.wait_for_function("() => document.body.dataset.zoom === '4'")
        zoomed = page.evaluate(SIZES)
        print(f"poster at {width}x{height}: {whole['canvas']:.0f} px wide whole, {zoomed['canvas']:.0f} px at 4x")
        assert zoomed["canvas"] >= 3.9 * whole["canvas"] and zoomed["scrolls"], zoomed

        page.locator("#zoom-fit").click()
        page.wait_for_function("() => document.body.dataset.zoom === '1'")
        page.wait_for_function(f"() => document.getElementById('poster-page').getBoundingClientRect().width <= "
                               f"{whole['canvas'] + 1}")
