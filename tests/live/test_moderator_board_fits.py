"""The moderators' Q&A board, in a real browser at the size the backstage gives it (770 x 260):
the question to read out now is in large print, and the ones after it still fit below, whole, so
a moderator sees what comes next without scrolling."""

from __future__ import annotations

import contextlib
import time

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference import pages
from bot.conference.schedule import load_schedule
from bot.store.database import DATABASE
from bot.store.questions import QuestionStore
from bot.store.schema import open_database
from bot.web import create_app
from bot.web.background import ThreadedServer
from tests.support.browser import chromium
from tests.support.pages import NOW
from tests.support.posters import SETTINGS

pytest.importorskip("playwright.sync_api")

BACKSTAGE_QA = (770, 260)  # Element's backstage tile: 60 % wide, 40 % high
WHOLE = """() => {
    const box = document.querySelector("main").getBoundingClientRect();
    const shown = [...document.querySelectorAll("#open .question")].filter(q => {
        const r = q.getBoundingClientRect();
        return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    });
    const size = q => parseFloat(getComputedStyle(q.querySelector(".text")).fontSize);
    const all = [...document.querySelectorAll("#open .question")];
    return {whole: shown.length, first: size(all[0]), second: size(all[1])};
}"""


def test_the_board_shows_the_next_questions_whole_below_the_one_read_out(tmp_path):
    schedule = load_schedule(SAMPLE_SCHEDULE)
    data_dir = tmp_path / "data"
    app = create_app(schedule, SETTINGS, data_dir=data_dir, now=lambda: NOW)
    with ThreadedServer(app) as running, contextlib.closing(open_database(data_dir / DATABASE)) as db:
        questions = QuestionStore(db)
        for n in range(6):
            questions.add(conference=schedule.conference.id, room_id="!forum:localhost", track_id="forum",
                          talk_id="typing-in-practice", asker=f"@a{n}:localhost", asker_name=f"Asker {n}",
                          text=f"Question number {n} about gradual typing in a large codebase?",
                          asked_at=time.time() + n, source_event_id=f"$q{n}")
        with chromium() as browser:
            width, height = BACKSTAGE_QA
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(pages.qa_board(running.url, "forum", moderator=True))
            page.locator("#open .question").first.wait_for()
            seen = page.evaluate(WHOLE)
    print(f"moderator board at {width}x{height}: {seen}")
    assert seen["first"] > seen["second"], "the question to read out stands out"
    assert seen["whole"] >= 3, f"only {seen['whole']} questions fit whole"
