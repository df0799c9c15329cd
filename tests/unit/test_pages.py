"""The widget server's URL scheme has one home, bot/conference/pages.py: every page URL made there
is one the web app routes, the room templates' widgets and links are such URLs, and nothing else
spells a page's path itself. The app is built but not served: routing needs no homeserver."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import make_mocked_request

from bot import SAMPLE_SCHEDULE
from bot.conference import pages
from bot.conference.schedule import load_schedule
from bot.provisioning.desired import Settings, desired_rooms
from bot.roomstate.state import WIDGET
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates
from bot.web import create_app

#: The checkout: found upwards, so the test reads the same files wherever it is filed.
REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
BASE = "https://podium.example.org"
SETTINGS = Settings("example.org", "@podium:example.org", BASE)
SCHEDULE = load_schedule(SAMPLE_SCHEDULE)
TRACK, POSTER, SPONSOR = SCHEDULE.tracks[0].id, SCHEDULE.posters[0].id, SCHEDULE.sponsors[0].id


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(SCHEDULE, SETTINGS, data_dir=tmp_path_factory.mktemp("data"))


async def _route(app, url: str):
    """The handler the app routes ``url`` to and the ids it reads from the path; None when no
    route takes it."""
    assert url.startswith(BASE + "/") or url.startswith("/"), url
    parts = urlsplit(url)
    match = await app.router.resolve(make_mocked_request("GET", parts.path + (f"?{parts.query}" if parts.query else "")))
    if match.http_exception is not None:
        return None
    return match.handler.__name__, dict(match)


@pytest.mark.parametrize("url, handler, ids", [
    (pages.schedule_page(BASE), "schedule_page", {}),
    (pages.posters_page(BASE), "posters_page", {}),
    (pages.poster_pdf(BASE, POSTER), "poster_pdf", {"poster": POSTER}),
    (pages.stream_page(BASE, TRACK), "stream_widget", {"track": TRACK}),
    (pages.now_next_page(BASE), "now_next_widget", {}),
    (pages.now_next_page(BASE, TRACK), "now_next_widget", {}),
    (pages.qa_board(BASE, TRACK), "qa_widget", {"track": TRACK}),
    (pages.qa_board(BASE, TRACK, moderator=True), "qa_widget", {"track": TRACK}),
    (pages.qa_events("", TRACK, moderator=True), "qa_events", {"track": TRACK}),
    (pages.polls_page(BASE, TRACK), "polls_widget", {"track": TRACK}),
    (pages.polls_events("", TRACK), "polls_events", {"track": TRACK}),
    (pages.poster_page(BASE, POSTER), "poster_widget", {"poster": POSTER}),
    (pages.sponsor_page(BASE, SPONSOR), "sponsor_widget", {"sponsor": SPONSOR}),
    (pages.calendar_file(BASE), "calendar_file", {}),
    (pages.track_calendar(BASE, TRACK), "calendar_file", {"track": TRACK}),
    (pages.widget_url(pages.stream_page(BASE, TRACK)), "stream_widget", {"track": TRACK}),
    (pages.widget_url(pages.now_next_page("", TRACK)), "now_next_widget", {}),
])
async def test_every_page_url_is_routed(app, url, handler, ids):
    assert await _route(app, url) == (handler, ids)


def test_page_urls():
    assert pages.stream_page(BASE + "/", "forum") == f"{BASE}/widgets/stream/forum"
    assert pages.now_next_page(BASE, "forum") == f"{BASE}/widgets/now-next?track=forum"
    assert pages.qa_board("", "forum", moderator=True) == "/widgets/qa/forum?view=moderator"
    assert pages.widget_url(pages.polls_page(BASE, "forum")) == (
        f"{BASE}/widgets/polls/forum?theme=$org.matrix.msc2873.client_theme")
    assert pages.widget_url(pages.now_next_page(BASE, "forum")) == (
        f"{BASE}/widgets/now-next?track=forum&theme=$org.matrix.msc2873.client_theme")


def test_a_track_room_pins_its_stream_or_now_and_next():
    streamed = next(t for t in SCHEDULE.tracks if t.stream is not None)
    unstreamed = next(t for t in SCHEDULE.tracks if t.stream is None)
    assert pages.track_page(SCHEDULE, streamed.id, BASE) == ("Stream", pages.stream_page(BASE, streamed.id))
    assert pages.track_page(SCHEDULE, unstreamed.id, BASE) == (
        "Now and next", pages.now_next_page(BASE, unstreamed.id))


async def test_the_templates_widgets_and_links_are_routed(app):
    rooms = desired_rooms(SCHEDULE, RoomTemplates.load(BUNDLED_TEMPLATES), SETTINGS)
    urls = [content["url"] for room in rooms for (event_type, _), content in room.state.items()
            if event_type == WIDGET and content["url"].startswith(BASE)]
    urls += [word for room in rooms for word in room.state[("m.room.topic", "")]["topic"].split()
             if word.startswith(BASE)]
    assert len(urls) > len(SCHEDULE.tracks) * 2, "every track room and backstage links to the web server"
    unrouted = [url for url in urls if await _route(app, url) is None]
    assert unrouted == []


def test_no_module_or_template_spells_a_page_path_itself():
    # The web package's docstring lists the pages for its readers.
    exempt = {REPO / "bot" / "conference" / "pages.py", REPO / "bot" / "web" / "__init__.py"}
    checked = [p for folder in ("bot", "bridges", "room-templates", "widgets")
               for p in sorted((REPO / folder).rglob("*"))
               if p.suffix in (".py", ".yaml", ".html") and p not in exempt and "vendor" not in p.parts]
    spelled = [str(p.relative_to(REPO)) for p in checked if "/widgets/" in p.read_text()]
    assert spelled == [], "widget page URLs are made by bot/conference/pages.py only"
