"""Hostile text on every page, in a real browser: schedule titles and names, questions, askers and
polls carrying script tags, attribute break-outs, JSON break-outs and javascript: links must show
as the text they are and never run.

Every payload would call alert() and set ``window.__xss`` if it ran; the test listens for dialogs,
reads the flag, and inspects the DOM for injected elements, event-handler attributes and
``javascript:`` links. The pages' data comes from a schedule file and the Q&A and poll stores,
the same way as for a live conference (no homeserver is needed to render them).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bot import SAMPLE_SCHEDULE
from bot.conference.polls import PollSpec, start_content
from bot.conference.schedule import load_schedule
from bot.provisioning.desired import Settings
from bot.store.database import DATABASE
from bot.store.polls import PollStore
from bot.store.questions import QuestionStore
from bot.store.schema import open_database
from bot.web import create_app
from bot.web.background import ThreadedServer
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.pages import NOW
from tests.support.posters import with_sample_posters
from tests.support.waiting import wait_until

playwright_sync = pytest.importorskip("playwright.sync_api")

# Short enough that all of them fit in one talk title (a room name: at most 255 characters).
SCRIPT = '<script>window.__xss="script";alert(1)</script>'
IMG = '<img src=x onerror="window.__xss=\'img\';alert(2)">'
ATTR = '" onmouseover="window.__xss=\'attr\'" autofocus onfocus="alert(3)" x="'
JSON_BREAK = '</script><script>window.__xss="json"</script>'
JS_LINK = 'javascript:alert(4)'
PAYLOADS = [SCRIPT, IMG, ATTR, JSON_BREAK, JS_LINK]
HOSTILE = " ".join(PAYLOADS)

PAGES = ["/", "/schedule", "/posters", "/widgets/now-next?track=forum", "/widgets/stream/forum",
         "/widgets/stream/plenary", "/widgets/qa/forum", "/widgets/qa/forum?view=moderator",
         "/widgets/polls/forum", "/widgets/poster/poster-energy", "/widgets/sponsor/snakeworks"]


def hostile_schedule(directory: Path) -> Path:
    data = yaml.safe_load((SAMPLE_SCHEDULE).read_text())
    data["conference"]["name"] = f"Conf {SCRIPT}"
    data["conference"]["description"] = HOSTILE
    forum = next(t for t in data["tracks"] if t["id"] == "forum")
    forum["name"] = f"Forum {ATTR}"
    for talk in data["talks"]:
        if talk["id"] in ("typing-in-practice", "asyncio-patterns", "lightning-mon"):
            talk["title"] = f"{talk['id']} {HOSTILE}"
            talk["speakers"] = [f"Speaker {IMG}"]
    poster = next(p for p in data["posters"] if p["id"] == "poster-energy")
    poster["title"] = f"Poster {HOSTILE}"
    poster["presenters"] = [f"Presenter {ATTR}"]
    poster["abstract"] = HOSTILE
    sponsor = next(s for s in data["sponsors"] if s["id"] == "snakeworks")
    sponsor["name"] = f"Sponsor {SCRIPT}"
    sponsor["description"] = HOSTILE
    sponsor["jobs"] = [{"title": f"Job {JS_LINK} {IMG}", "url": "https://snakeworks.example.com/jobs/1"}]
    path = directory / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("xss")
    schedule = load_schedule(hostile_schedule(with_sample_posters(directory)))
    data_dir = directory / "data"
    data_dir.mkdir()
    db = open_database(data_dir / DATABASE)
    questions = QuestionStore(db)
    for n, payload in enumerate(PAYLOADS):
        questions.add(conference=schedule.conference.id, room_id="!forum:localhost", track_id="forum",
                      talk_id="typing-in-practice", asker=f"@asker{n}:localhost", asker_name=f"Name {payload}",
                      text=f"Question {payload}", asked_at=time.time(), source_event_id=f"$q{n}")
    polls = PollStore(db)
    start = int(NOW.timestamp() * 1000)
    polls.add_poll("$poll", "!forum:localhost", "@moderator:localhost",
                   start_content(PollSpec(f"Poll {HOSTILE}", (f"A {SCRIPT}", f"B {JS_LINK}", f"C {ATTR}"))),
                   start, conference=schedule.conference.id, track_id="forum")
    polls.add_response("$r", "$poll", "@a:localhost", start + 1, ["a2"])
    app = create_app(schedule, Settings("localhost", "@podium:localhost", "http://127.0.0.1"),
                     data_dir=data_dir, now=lambda: NOW)
    with ThreadedServer(app) as running:
        yield running, db
    db.close()


@pytest.fixture(scope="module")
def page(server):
    running, _db = server
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context()
        # Nothing leaves the web server: outside requests (the stream, an injected image) fail.
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(running.url)
                      else route.fulfill(status=404, body=""))
        opened = context.new_page()
        opened.dialogs = []
        opened.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
        yield opened
        browser.close()


INSPECT = """() => {
    const ours = [...document.scripts].every(s => s.src.startsWith(location.origin + '/static/')
                                                 || s.id === 'podium-data');
    const handlers = [...document.querySelectorAll('*')]
        .flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'));
    const badLinks = [...document.querySelectorAll('[href],[src],[data]')]
        .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('data') || '')
        .filter(u => /^\\s*(javascript|data|vbscript):/i.test(u));
    return {flag: window.__xss === undefined ? null : String(window.__xss), ours, handlers, badLinks,
            images: document.images.length, text: document.body.innerText};
}"""


@pytest.mark.parametrize("path", PAGES)
def test_hostile_text_is_shown_as_text_and_never_runs(page, server, path):
    running, _db = server
    response = page.goto(running.url + path)
    assert response.status == 200
    if "/qa/" in path or "/polls/" in path:
        page.locator("#status.live").wait_for()
    page.mouse.move(200, 200)
    page.keyboard.press("Tab")
    found = page.evaluate(INSPECT)
    assert found["flag"] is None, f"{path}: injected code ran ({found['flag']})"
    assert page.dialogs == [], path
    assert found["ours"], f"{path}: a script element that is not Podium's"
    assert found["handlers"] == [], f"{path}: injected event handler attributes {found['handlers']}"
    assert found["badLinks"] == [], path
    assert found["images"] == 0, f"{path}: an injected <img>"
    # The payloads are there, as text.
    text = found["text"]
    if path not in ("/widgets/stream/forum", "/widgets/poster/poster-energy", "/widgets/polls/forum"):
        assert "<script>" in text, f"{path}: payload not shown as text"
    if path.startswith("/widgets/qa/"):
        assert f"Question {JS_LINK}" in text and f"Question {SCRIPT}" in text and f"Name {IMG}" in text
    if path.startswith("/widgets/polls/"):
        assert f"B {JS_LINK}" in text and f"A {SCRIPT}" in text
    if path == "/widgets/stream/forum":
        assert f"typing-in-practice {HOSTILE}" in text


def test_live_updates_carry_hostile_text_as_text(page, server):
    running, db = server
    page.goto(running.url + "/widgets/qa/forum")
    page.locator("#status.live").wait_for()
    QuestionStore(db).add(conference="ep2026", room_id="!forum:localhost", track_id="forum",
                          talk_id="typing-in-practice", asker="@late:localhost", asker_name=f"Late {SCRIPT}",
                          text=f"Late {IMG} {JSON_BREAK}", asked_at=time.time(), source_event_id="$late")
    wait_until(lambda: page.locator(".question").count() == len(PAYLOADS) + 1, "the pushed question")
    found = page.evaluate(INSPECT)
    assert found["flag"] is None and page.dialogs == [] and found["images"] == 0 and found["handlers"] == []
    assert f"Late {IMG} {JSON_BREAK}" in found["text"]
