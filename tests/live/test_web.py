"""The web pages in a real browser (headless Chromium via Playwright), for a conference applied to
the session's real Synapse.

The web server runs in a thread on a free port with an injected clock (Monday 10:10 in Prague),
a delay on one track, and its own data directory; questions and polls are written through the
Q&A and poll stores, the way the bot writes them, while the pages are open. Every request the
browser makes to anywhere but the web server is intercepted: the pages must work offline, with
stand-ins for the stream and PDF hosts.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.cli import main
from bot.conference.polls import PollSpec, start_content
from bot.conference.roomkeys import talk_key, track_key
from bot.store.database import DATABASE
from bot.store.polls import PollStore
from bot.store.questions import QuestionStore
from bot.web import create_app
from bot.web.background import ThreadedServer
from tests.support.browser import chromium
from tests.support.live import SetClock
from tests.support.pages import NOW, STUB_PAGE
from tests.support.posters import with_sample_posters
from tests.support.provisioning import conference_for, observe_now, write_schedule  # noqa: F401
from tests.support.waiting import wait_until

playwright_sync = pytest.importorskip("playwright.sync_api")

DELAYS = {"south": 15}
LIVE_FORUM_TALK = "typing-in-practice"


def monday_only(data: dict) -> None:
    """Fewer rooms to create: the first day's talks, no open space."""
    data["talks"] = [t for t in data["talks"] if str(t["start"]).startswith("2026-07-13")]
    data.pop("open_space", None)


@pytest.fixture(scope="module")
def conference(tmp_path_factory, synapse, bot, sample_people):  # noqa: F811
    """The sample conference's first day, applied to Synapse; (Conference, Observed)."""
    path, _conf_id = write_schedule(with_sample_posters(tmp_path_factory.mktemp("web")), monday_only)
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("PODIUM_HOMESERVER", synapse.base_url)
        mp.setenv("PODIUM_USER_ID", bot.user_id)
        mp.setenv("PODIUM_ACCESS_TOKEN", bot.access_token)
        assert main(["apply", "--schedule", str(path), "--quiet"]) == 0
    finally:
        mp.undo()
    conference = conference_for(path, bot)
    return conference, observe_now(bot, conference)


@pytest.fixture(scope="module")
def clock():
    return SetClock(NOW)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("web-data")


@pytest.fixture(scope="module")
def server(conference, data_dir, clock):
    conf, _observed = conference
    delays = dict(DELAYS)
    app = create_app(conf.schedule, conf.settings, data_dir=data_dir, delays=delays, now=clock)
    with ThreadedServer(app) as running:
        running.delays = delays  # the mapping the app reads on every request
        yield running


@pytest.fixture(scope="module")
def browser(server):
    # Playwright's synchronous API runs an event loop in this thread while the browser is open,
    # so everything that needs asyncio.run (applying the conference) happens before it starts.
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Screenshots of every page, kept in the test run's temporary directory."""
    return tmp_path_factory.mktemp("screenshots")


STUB_PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:4.0,\nseg1.ts\n"


class Tab:
    """A browser page that records outside requests, CSP violations, dialogs and page errors."""

    def __init__(self, browser, base_url: str):
        self.context = browser.new_context(viewport={"width": 900, "height": 700})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.outside: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base_url):
            route.continue_()
            return
        self.outside.append(url)
        if url.startswith("https://www.youtube.com/embed/"):
            route.fulfill(status=200, content_type="text/html", body=STUB_PAGE)
        elif url.endswith(".m3u8"):
            route.fulfill(status=200, content_type="application/vnd.apple.mpegurl", body=STUB_PLAYLIST)
        else:
            route.fulfill(status=404, body="")

    def open(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == 200, path
        return response

    def shot(self, directory: Path, name: str) -> Path:
        target = directory / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 1000
        return target

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser, server):
    opened = Tab(browser, server.url)
    yield opened
    assert not opened.errors, opened.errors
    assert not opened.csp_violations(), opened.csp_violations()
    opened.close()


def resolve_alias(synapse, bot, alias: str) -> str:
    request = urllib.request.Request(
        f"{synapse.base_url}/_matrix/client/v3/directory/room/{urllib.parse.quote(alias)}",
        headers={"Authorization": f"Bearer {bot.access_token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["room_id"]


def alias_of(matrix_to: str) -> str:
    assert matrix_to.startswith("https://matrix.to/#/#"), matrix_to
    return matrix_to.removeprefix("https://matrix.to/#/")


def room_id_of(observed, key: str) -> str:
    return observed.rooms[key].room_id


# ----------------------------------------------------------------------------- schedule pages


def test_schedule_page_shows_the_programme_with_delays(tab, server, conference, shots, synapse, bot):
    conf, observed = conference
    tab.open("/schedule")
    page = tab.page
    assert page.locator("h2").first.inner_text() == "Monday 13 July"
    forum_talk = page.locator('[data-talk="typing-in-practice"]')
    assert "Gradual typing in a million-line codebase" in forum_talk.inner_text()
    assert "10:00–10:30" in forum_talk.inner_text()
    assert "live" in forum_talk.get_attribute("class")
    south = page.locator('[data-track="south"]')
    assert "+15 min" in south.locator("h3").inner_text()
    assert "10:15–10:45" in page.locator('[data-talk="pytest-fixtures"]').inner_text(), "delay applied"
    # Every talk of the day is listed; talk links open their breakout rooms.
    assert page.locator("[data-talk]").count() == len(conf.schedule.talks)
    href = forum_talk.locator("a").get_attribute("href")
    assert resolve_alias(synapse, bot, alias_of(href)) == room_id_of(observed, talk_key(LIVE_FORUM_TALK))
    tab.shot(shots, "schedule")


def test_index_links_to_every_page(tab, server, shots):
    tab.open("/")
    hrefs = tab.page.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))")
    assert {"/schedule", "/posters", "/widgets/now-next", "/widgets/stream/forum", "/widgets/qa/forum",
            "/widgets/polls/forum", "/widgets/poster/poster-energy", "/widgets/sponsor/snakeworks"} <= set(hrefs)
    for href in hrefs:
        with urllib.request.urlopen(server.url + href, timeout=10) as response:
            assert response.status == 200, href
    tab.shot(shots, "index")


def test_navigator_links_open_the_right_rooms_in_several_tabs(browser, server, conference, shots, synapse, bot):
    _conf, observed = conference
    tabs = [Tab(browser, server.url), Tab(browser, server.url)]
    try:
        tabs[0].open("/widgets/now-next?track=forum")
        tabs[1].open("/widgets/now-next?track=south")
        for t, highlighted in zip(tabs, ("forum", "south")):
            current = t.page.locator(".nav-track.current")
            assert current.count() == 1 and current.get_attribute("data-track") == highlighted
        page = tabs[0].page
        cards = page.locator(".nav-track")
        assert cards.count() == 5
        for i in range(cards.count()):
            card = cards.nth(i)
            track = card.get_attribute("data-track")
            href = card.locator("a.track-name").get_attribute("href")
            assert resolve_alias(synapse, bot, alias_of(href)) == room_id_of(observed, track_key(track))
        forum = page.locator('.nav-track[data-track="forum"]')
        assert "Gradual typing in a million-line codebase" in forum.inner_text()
        assert "asyncio patterns that survive production" in forum.inner_text()
        south = page.locator('.nav-track[data-track="south"]')
        assert "Nothing on" in south.inner_text() and "10:15" in south.inner_text()
        assert "+15 min" in south.inner_text()
        talk_href = forum.locator(".slot a.title").first.get_attribute("href")
        assert resolve_alias(synapse, bot, alias_of(talk_href)) == room_id_of(observed, talk_key(LIVE_FORUM_TALK))
        assert page.locator("#clock").inner_text() == "10:10"
        tabs[0].shot(shots, "now-next")
        for t in tabs:
            assert not t.errors and not t.csp_violations() and not t.outside
    finally:
        for t in tabs:
            t.close()


def test_stream_widget_embeds_the_track_stream_with_now_and_next(tab, server, shots):
    response = tab.open("/widgets/stream/forum")
    csp = response.headers["content-security-policy"]
    assert "frame-src https://www.youtube.com" in csp and "frame-ancestors *" in csp
    page = tab.page
    player = page.locator("iframe#player")
    player.wait_for(state="visible")
    assert player.get_attribute("src") == "https://www.youtube.com/embed/ep2026-forum"
    assert page.locator("#offline").is_hidden()
    # Beside the player: the navigator's card for this track, first, and the other tracks after it.
    forum = page.locator(".stream-side .nav-track").first
    assert forum.get_attribute("data-track") == "forum" and "current" in forum.get_attribute("class")
    now, upcoming = forum.locator(".slot").nth(0), forum.locator(".slot").nth(1)
    assert now.locator(".title").inner_text() == "Gradual typing in a million-line codebase"
    assert "10:00–10:30 · Bruno Castell" in now.inner_text()
    assert upcoming.locator(".title").inner_text() == "asyncio patterns that survive production"
    assert "10:45" in upcoming.inner_text()
    assert page.locator(".stream-side .nav-track").count() == 5
    assert page.locator("#clock").inner_text() == "10:10"
    assert tab.outside == ["https://www.youtube.com/embed/ep2026-forum"], "nothing else leaves the server"
    tab.shot(shots, "stream-iframe")


def test_hls_stream_plays_through_the_vendored_hls_js(tab, server, shots):
    response = tab.open("/widgets/stream/terrace")
    assert "media-src 'self' https://streams.example.org blob:" in response.headers["content-security-policy"]
    page = tab.page
    page.locator("video#player").wait_for(state="visible")
    wait_until(lambda: any(u.endswith("index.m3u8") for u in tab.outside), "hls.js fetched the playlist")
    assert page.evaluate("() => typeof window.Hls") == "function", "hls.js served by Podium"
    assert page.evaluate("() => document.getElementById('player').src").startswith("blob:"), "attached via MSE"
    assert all(u.startswith("https://streams.example.org/") for u in tab.outside)
    tab.shot(shots, "stream-hls")


def test_stream_offline_says_when_it_starts(tab, server, shots):
    tab.open("/widgets/stream/plenary")
    page = tab.page
    assert page.locator("#offline").is_visible()
    assert page.locator(".offline-title").inner_text() == "Stream offline"
    assert page.locator("#offline-detail").inner_text() == "Starts at 17:15: Lightning talks (Monday)"
    assert page.locator("#player").get_attribute("src") is None, "no player loads while offline"
    assert tab.outside == []
    tab.shot(shots, "stream-offline")
    tab.open("/widgets/stream/training")
    assert "no stream" in page.locator("#offline-detail").inner_text()


def test_posters_gallery_and_poster_widget(tab, server, conference, shots, synapse, bot):
    conf, observed = conference
    tab.open("/posters")
    page = tab.page
    assert page.locator("article.poster").count() == len(conf.schedule.posters)
    survey = page.locator("#poster-poster-typing-survey")
    text = survey.inner_text()
    assert "How Python developers use type hints - a survey" in text
    assert "Amara Eze" in text and "2,000 answers" in text
    assert survey.locator("a.pdf").get_attribute("href") == "/posters/poster-typing-survey.pdf", "served by Podium"
    room = survey.locator("a.room").get_attribute("href")
    assert resolve_alias(synapse, bot, alias_of(room)) == room_id_of(observed, "poster/poster-typing-survey")
    tab.shot(shots, "posters")

    response = tab.open("/widgets/poster/poster-energy")
    csp = response.headers["content-security-policy"]
    assert "worker-src 'self'" in csp and "object-src 'none'" in csp, "pdf.js's worker, from here only"
    page.locator("body[data-poster=shown]").wait_for()
    assert page.locator("canvas#poster-page").is_visible()
    assert page.locator("a.pdf-link").first.get_attribute("href") == "/posters/poster-energy.pdf"
    assert "Bo Jensen" in page.locator("header").inner_text()
    assert tab.outside == []
    tab.shot(shots, "poster")


def test_sponsor_booth_page(tab, server, conference, shots, synapse, bot):
    _conf, observed = conference
    tab.open("/widgets/sponsor/snakeworks")
    page = tab.page
    assert page.locator("h1").inner_text() == "Snakeworks"
    assert "Python tooling for teams of every size." in page.locator(".description").inner_text()
    jobs = page.locator(".jobs li a")
    assert [jobs.nth(i).inner_text() for i in range(jobs.count())] == ["Senior Python engineer", "Developer advocate"]
    assert page.locator("a.booth-link").get_attribute("href") == "https://snakeworks.example.com/ep2026"
    room = page.locator("a.room").get_attribute("href")
    assert resolve_alias(synapse, bot, alias_of(room)) == room_id_of(observed, "sponsor/snakeworks")
    tab.shot(shots, "sponsor")


# ----------------------------------------------------------------------------- live pages


@pytest.fixture(scope="module")
def db(data_dir, server):
    """The bot's side of podium.db: a connection of its own, as the runtime has."""
    database = sqlite_utils.Database(data_dir / DATABASE)
    yield database
    database.close()


def test_qa_board_updates_live_and_never_shows_hidden_questions_or_matrix_ids(tab, server, conference, db, shots):
    conf, observed = conference
    conf_id = conf.schedule.conference.id
    room = room_id_of(observed, "track/forum")
    questions = QuestionStore(db)
    counter = iter(range(1000))

    def ask(asker: str, name: str, text: str, talk: str | None = LIVE_FORUM_TALK, track: str = "forum"):
        return questions.add(conference=conf_id, room_id=room, track_id=track, talk_id=talk, asker=asker,
                             asker_name=name, text=text, asked_at=time.time(), source_event_id=f"$ask{next(counter)}")

    first = ask("@ada:localhost", "Ada", "How long did the migration take?")
    tab.open("/widgets/qa/forum?view=moderator")
    page = tab.page
    page.evaluate("() => { window.__sameDocument = true; }")
    assert page.locator("#talk-title").inner_text() == "Gradual typing in a million-line codebase"
    assert page.locator("body.moderator").count() == 1
    assert page.locator("#open .question .text").all_inner_texts() == ["How long did the migration take?"]
    page.locator("#status.live").wait_for()

    second = ask("@bob:localhost", "", "Which type checker do you run in CI?")
    ask("@carol:localhost", "Carol", "A question for the next talk", talk="asyncio-patterns")
    ask("@dan:localhost", "Dan", "A question in another track", track="terrace", talk="free-threading")
    # Another conference in the same data directory, with a track and a talk of the same ids.
    questions.add(conference=f"{conf_id}-other", room_id="!elsewhere:localhost", track_id="forum",
                  talk_id=LIVE_FORUM_TALK, asker="@eve:localhost", asker_name="Eve",
                  text="A question at another conference", asked_at=time.time(), source_event_id="$elsewhere")
    wait_until(lambda: page.locator("#open .question").count() == 2, "the new question appears")
    # Two more votes put the second question on top.
    for voter in ("@erin:localhost", "@frank:localhost"):
        questions.vote(f"$vote-{voter}", conf_id, second.number, voter, time.time())
    wait_until(lambda: page.locator("#open .question .votes").first.inner_text() == "2", "votes re-rank")
    assert page.locator("#open .question .text").all_inner_texts() == [
        "Which type checker do you run in CI?", "How long did the migration take?"]
    assert page.locator("#open .question .asker").first.inner_text() == "Attendee", "no display name: no ID either"

    questions.set_state(conf_id, first.number, "answered")
    wait_until(lambda: page.locator("#answered .question").count() == 1, "answered moves down")
    assert "answered" in page.locator("#answered .question").inner_text()
    questions.set_pinned(conf_id, second.number, True)
    wait_until(lambda: page.locator("#open .question.pinned").count() == 1, "pinned shows")
    hidden = ask("@mallory:localhost", "Mallory", "Something rude")
    questions.set_state(conf_id, hidden.number, "hidden")
    # A vote made after the hiding shows only once the page has had every change before it: by
    # then the hidden question would have been pushed, if it ever were.
    questions.vote("$vote-@gina:localhost", conf_id, second.number, "@gina:localhost", time.time())
    wait_until(lambda: page.locator("#open .question .votes").first.inner_text() == "3", "a later vote shows")
    body = page.locator("body").inner_text()
    assert "Something rude" not in body and "next talk" not in body and "another track" not in body
    assert "another conference" not in body
    assert ":localhost" not in page.content(), "no Matrix IDs on the page"
    assert page.evaluate("() => window.__sameDocument") is True, "updated without a reload"
    assert int(page.locator("body").get_attribute("data-updates")) >= 4
    tab.shot(shots, "qa-moderator")

    tab.open("/widgets/qa/forum")
    assert tab.page.locator("body.moderator").count() == 0
    assert tab.page.locator("#open .question").count() == 1
    tab.shot(shots, "qa")


def test_poll_bars_move_as_votes_arrive_and_secret_results_wait_for_the_close(tab, server, conference, db, shots):
    conf, observed = conference
    room = room_id_of(observed, "track/forum")
    polls = PollStore(db)
    start = int(NOW.timestamp() * 1000)
    polls.add_poll("$poll-open", room, "@moderator:localhost",
                   start_content(PollSpec("Tabs or spaces?", ("Tabs", "Spaces"))), start,
                   conference=conf.schedule.conference.id, track_id="forum")
    tab.open("/widgets/polls/forum")
    page = tab.page
    page.locator("#status.live").wait_for()
    bars = page.locator('[data-poll="$poll-open"] .bar')
    assert bars.count() == 2
    assert [b.get_attribute("data-share") for b in bars.all()] == ["0", "0"]

    polls.add_response("$r1", "$poll-open", "@a:localhost", start + 1000, ["a2"])
    polls.add_response("$r2", "$poll-open", "@b:localhost", start + 2000, ["a2"])
    polls.add_response("$r3", "$poll-open", "@c:localhost", start + 3000, ["a1"])
    wait_until(lambda: [b.get_attribute("data-share") for b in bars.all()] == ["33", "67"], "bars move")
    assert "2 · 67%" in page.locator('[data-poll="$poll-open"] [data-answer="a2"]').inner_text()
    width = page.evaluate("() => document.querySelector('[data-answer=a2] .bar').getBoundingClientRect().width")
    track_width = page.evaluate("() => document.querySelector('[data-answer=a2] .bar-track').getBoundingClientRect().width")
    wait_until(lambda: abs(page.evaluate(
        "() => document.querySelector('[data-answer=a2] .bar').getBoundingClientRect().width") - 0.67 * track_width) < 3,
        "the bar is drawn at its share")
    assert track_width > 0 and width >= 0

    polls.add_poll("$poll-secret", room, "@moderator:localhost",
                   start_content(PollSpec("Best talk so far?", ("This one", "The last one"), disclosed=False)),
                   start + 5000, conference=conf.schedule.conference.id, track_id="forum")
    polls.add_response("$r4", "$poll-secret", "@a:localhost", start + 6000, ["a1"])
    secret = page.locator('[data-poll="$poll-secret"]')
    wait_until(lambda: secret.count() == 1 and "1 vote" in secret.inner_text(), "secret poll listed")
    assert "shown when the poll closes" in secret.inner_text()
    assert secret.locator(".bar").count() == 0 and secret.locator(".count").count() == 0
    assert page.locator(".poll").first.get_attribute("data-poll") == "$poll-secret", "newest first"
    polls.close("$poll-secret", start + 7000)
    wait_until(lambda: secret.locator(".bar").count() == 2, "final results after the close")
    assert "Final results" in secret.inner_text() and "1 · 100%" in secret.inner_text()
    tab.shot(shots, "polls")


# ----------------------------------------------------------------------------- headers


def test_every_response_has_a_strict_policy_and_no_cookies(server):
    paths = ["/", "/schedule", "/posters", "/widgets/now-next", "/widgets/stream/forum", "/widgets/qa/forum",
             "/widgets/polls/forum", "/widgets/poster/poster-energy", "/widgets/sponsor/snakeworks",
             "/api/now-next", "/static/podium.css", "/static/js/podium.js", "/widgets/qa/no-such-track"]
    for path in paths:
        try:
            response = urllib.request.urlopen(server.url + path, timeout=10)
        except urllib.error.HTTPError as error:  # the 404 page is a response too
            response = error
        csp = response.headers["Content-Security-Policy"]
        assert csp and "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "frame-ancestors * vector:" in csp and "'unsafe-inline'" not in csp, path
        assert response.headers.get("Set-Cookie") is None, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The event stream starts with the board's data as JSON.
    with urllib.request.urlopen(server.url + "/widgets/qa/forum/events", timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert "Content-Security-Policy" in stream.headers
        first = stream.readline().decode()
        assert first.startswith("data: ") and "talk" in json.loads(first[6:])


def test_the_clock_moves_the_pages_on(tab, server, clock):
    clock.at = NOW + timedelta(minutes=40)  # 10:50: the Forum's second talk is on
    try:
        tab.open("/widgets/now-next?track=forum")
        forum = tab.page.locator('.nav-track[data-track="forum"]')
        assert "asyncio patterns that survive production" in forum.locator(".slot").first.inner_text()
        tab.open("/widgets/qa/forum")
        assert tab.page.locator("#talk-title").inner_text() == "asyncio patterns that survive production"
        texts = tab.page.locator("#open .question .text").all_inner_texts()
        assert not any("migration" in t or "type checker" in t for t in texts), "the last talk's questions left"
    finally:
        clock.at = NOW


def test_a_new_delay_shows_at_once(tab, server):
    server.delays["forum"] = 20
    try:
        tab.open("/widgets/now-next?track=forum")
        forum = tab.page.locator('.nav-track[data-track="forum"]')
        assert "+20 min" in forum.inner_text()
        assert "Nothing on" in forum.locator(".slot").first.inner_text(), "the talk now starts at 10:20"
        assert "10:20" in forum.locator(".slot").nth(1).inner_text()
        tab.open("/widgets/qa/forum")
        assert tab.page.locator("#talk-title").inner_text() == "between talks"
    finally:
        del server.delays["forum"]
