"""The widget pages at the sizes attendees see them, in a real browser (headless Chromium).

Element pins a widget in the room's top container: about as wide as the room view (1280 or 800
pixels) and a percentage of its height (330 or 280); a poster or sponsor page shares the top
with a video call (half as wide), the Q&A board and polls sit in the backstage. On phones
(Element X shows no widgets) the same pages open from the room topic as plain links, 375x667.
At each size every page must fit: nothing important cut off, no scrolling of the whole page
(a list may scroll inside its own box), no sideways scrolling on a phone, text readable and
links reachable. The poster page must draw the poster itself (pdf.js into a canvas).

The web server runs the sample conference with an injected clock and no homeserver: the pages
need none to render. Every request to anywhere but the web server is answered by a stand-in.
Screenshots go to $PODIUM_SCREENSHOTS when set (else the test run's temporary directory).
"""

from __future__ import annotations

import contextlib
import os
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot import SAMPLE_SCHEDULE
from bot.conference.polls import PollSpec, start_content
from bot.conference.schedule import load_schedule
from bot.store.database import DATABASE
from bot.store.polls import PollStore
from bot.store.questions import QuestionStore
from bot.store.schema import open_database
from bot.web import create_app
from bot.web.background import ThreadedServer
from tests.support.browser import chromium
from tests.support.live import SetClock
from tests.support.pages import NOW, STUB_PAGE
from tests.support.posters import SETTINGS, PosterHost, with_sample_posters

playwright_sync = pytest.importorskip("playwright.sync_api")

WIDE, MEDIUM, PHONE = (1280, 330), (800, 280), (375, 667)
HALF = (620, 330)      # width 50, height 50: beside a video call
BACKSTAGE_QA = (770, 260)  # width 60, height 40
BACKSTAGE_POLLS = (510, 260)  # width 40, height 40


@pytest.fixture(scope="module")
def host():
    with PosterHost() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def clock():
    return SetClock(NOW)


@pytest.fixture(scope="module")
def server(tmp_path_factory, host, clock):
    folder = with_sample_posters(tmp_path_factory.mktemp("pages"))
    data = yaml.safe_load(SAMPLE_SCHEDULE.read_text())
    posters = {p["id"]: p for p in data["posters"]}
    posters["poster-typing-survey"]["pdf"] = host.url("energy.pdf")  # fetched by the server
    posters["poster-astronomy"]["pdf"] = host.url("missing.pdf")  # its host has lost it
    font = next(iter(sorted(Path("/usr/share/fonts").rglob("*.ttf"))), None)
    if font is not None:  # a poster as they come: its text in a font embedded in the PDF
        (folder / "posters" / "embedded-font.pdf").write_bytes(pdf_with_embedded_font(font.read_bytes()))
        posters["poster-education"]["pdf"] = "posters/embedded-font.pdf"
    sponsor = next(s for s in data["sponsors"] if s["id"] == "snakeworks")
    sponsor["jobs"] = [{"title": f"Job opening number {n}", "url": f"https://snakeworks.example.com/jobs/{n}"}
                       for n in range(1, 13)]  # more than a half tile holds
    path = folder / "schedule.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    schedule = load_schedule(path)
    data_dir = folder / "data"
    app = create_app(schedule, SETTINGS, data_dir=data_dir, now=clock)
    with ThreadedServer(app) as running, contextlib.closing(open_database(data_dir / DATABASE)) as db:
        running.schedule = schedule
        questions = QuestionStore(db)
        for n in range(8):  # a busy board: more questions than the tile holds
            questions.add(conference=schedule.conference.id, room_id="!forum:localhost", track_id="forum",
                          talk_id="typing-in-practice", asker=f"@a{n}:localhost", asker_name=f"Asker {n}",
                          text=f"Question number {n} about gradual typing in a large codebase?",
                          asked_at=time.time(), source_event_id=f"$q{n}")
        polls = PollStore(db)
        start = int(NOW.timestamp() * 1000)
        for n in range(3):  # more polls than the tile holds
            polls.add_poll(f"$poll{n}", "!forum:localhost", "@moderator:localhost",
                           start_content(PollSpec(f"Poll number {n}: which type checker do you run?",
                                                  ("mypy", "pyright", "pyre", "none yet"))),
                           start + n, conference=schedule.conference.id, track_id="forum")
            polls.add_response(f"$r{n}", f"$poll{n}", "@a:localhost", start + 10 + n, ["a2"])
        yield running


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    wanted = os.environ.get("PODIUM_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        return Path(wanted)
    return tmp_path_factory.mktemp("page-shots")


def pdf_with_embedded_font(ttf: bytes, text: str = "Embedded font") -> bytes:
    """A one-page PDF whose text is set in the TrueType font ``ttf``, embedded."""
    content = f"BT /F1 36 Tf 40 300 Td ({text}) Tj ET".encode()
    font_file = zlib.compress(ttf)
    widths = " ".join(["600"] * 95)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 400] /Resources << /Font << /F1 5 0 R >> >> "
         b"/Contents 4 0 R >>"),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        (f"<< /Type /Font /Subtype /TrueType /BaseFont /Embedded /FirstChar 32 /LastChar 126 /Widths [{widths}] "
         "/FontDescriptor 6 0 R /Encoding /WinAnsiEncoding >>").encode(),
        (b"<< /Type /FontDescriptor /FontName /Embedded /Flags 32 /FontBBox [-1000 -300 2000 1000] /ItalicAngle 0 "
         b"/Ascent 900 /Descent -250 /CapHeight 700 /StemV 80 /FontFile2 7 0 R >>"),
        b"<< /Length %d /Length1 %d /Filter /FlateDecode >>\nstream\n" % (len(font_file), len(ttf))
        + font_file + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as launched:
        yield launched


class Sized:
    """A browser page of one size; records page errors, policy violations and outside requests."""

    def __init__(self, browser, base_url: str, size: tuple[int, int], *, mobile: bool = False):
        width, height = size
        self.size = size
        options = {"viewport": {"width": width, "height": height}}
        if mobile:
            options |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
        self.context = browser.new_context(**options)
        self.base_url = base_url
        self.outside: list[str] = []
        self.problems: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.problems.append(f"error: {e}"))
        self.page.on("console", lambda m: self.problems.append(m.text) if "Content Security Policy" in m.text else None)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base_url):
            route.continue_()
        else:
            self.outside.append(url)
            route.fulfill(status=200, content_type="text/html", body=STUB_PAGE)

    def open(self, path: str, ready: str | None = None):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == 200, path
        if ready:
            self.page.locator(ready).first.wait_for()
        return response

    def measure(self, selectors: list[str]) -> dict:
        return self.page.evaluate(MEASURE, selectors)

    def shot(self, directory: Path, name: str) -> None:
        width, height = self.size
        self.page.screenshot(path=str(directory / f"{name}-{width}x{height}.png"))

    def close(self) -> None:
        self.context.close()


#: The page's extent, where each key element is, the smallest text shown, and every link or
#: button in view that a tap at its middle would not reach.
MEASURE = """(selectors) => {
    const root = document.documentElement;
    const visible = (e) => e.checkVisibility({visibilityProperty: true}) && e.getClientRects().length > 0;
    const keys = {};
    for (const s of selectors) {
        const e = document.querySelector(s);
        if (!e) { keys[s] = null; continue; }
        const r = e.getBoundingClientRect();
        keys[s] = {visible: visible(e), left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    }
    let smallest = 100;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const e = walker.currentNode.parentElement;
        if (walker.currentNode.textContent.trim() && e && visible(e)) {
            smallest = Math.min(smallest, parseFloat(getComputedStyle(e).fontSize));
        }
    }
    const unreachable = [];
    for (const e of document.querySelectorAll('a[href], button')) {
        if (!visible(e)) continue;
        const r = e.getBoundingClientRect();
        if (r.right > innerWidth + 0.5 || r.left < -0.5) { unreachable.push('off to the side: ' + e.textContent); continue; }
        // The part of it in view: of the page, and of the list it scrolls in, if any (a link
        // scrolled out of a list's box is reached by scrolling the list).
        const f = e.getClientRects()[0];  // a link wrapped onto two lines: tap its first line
        let top = Math.max(f.top, 0), bottom = Math.min(f.bottom, innerHeight);
        for (let box = e.parentElement; box; box = box.parentElement) {
            if (/(auto|scroll)/.test(getComputedStyle(box).overflowY)) {
                const b = box.getBoundingClientRect();
                top = Math.max(top, b.top);
                bottom = Math.min(bottom, b.bottom);
            }
        }
        if (bottom - top < 8) continue;  // scrolled away: below the fold, or out of its list's view
        const x = f.left + f.width / 2, y = (top + bottom) / 2;
        const hit = document.elementFromPoint(x, y);
        if (!hit || !(e === hit || e.contains(hit))) unreachable.push('covered: ' + e.textContent);
    }
    return {scrollWidth: root.scrollWidth, scrollHeight: root.scrollHeight, keys, smallest, unreachable};
}"""


def assert_fits(sized: Sized, keys: list[str], *, page_scrolls: bool = False) -> dict:
    width, height = sized.size
    found = sized.measure(keys)
    assert found["scrollWidth"] <= width, f"scrolls sideways: {found['scrollWidth']} > {width}"
    if not page_scrolls:
        assert found["scrollHeight"] <= height, f"the whole page scrolls: {found['scrollHeight']} > {height}"
    for selector, box in found["keys"].items():
        assert box is not None and box["visible"], f"{selector} is not shown"
        assert box["left"] >= -0.5 and box["right"] <= width + 0.5, f"{selector} is cut off at the side: {box}"
        if not page_scrolls:
            assert box["top"] >= -0.5 and box["bottom"] <= height + 0.5, f"{selector} is cut off: {box}"
    assert found["smallest"] >= 11, f"text of {found['smallest']}px is too small to read"
    assert not found["unreachable"], found["unreachable"]
    assert not sized.problems, sized.problems
    return found


# What each page must show in full, and what to wait for before measuring.
STREAM_KEYS = ["#player", ".stream-side .nav-track.current .slot:nth-child(2) .title",
               ".stream-side .nav-track.current .slot:nth-child(3) .detail", "#clock"]
NOW_NEXT_KEYS = [".nav-track.current", ".nav-track.current .slot:nth-child(3) .detail", "#clock"]
POSTER_KEYS = ["header h1", "canvas#poster-page", "#page-forward", "footer a.pdf-link"]
SPONSOR_KEYS = ["header h1", ".badge.level", ".description", ".jobs h2", ".jobs li a", "a.booth-link", "a.room",
                "footer a[href*='jobs']"]
QA_KEYS = ["#talk-title", "#status", "#open .question .text"]
POLLS_KEYS = ["header h1", "#status", ".poll h2", ".poll .bar-track"]

TILES = [
    ("stream-forum", "/widgets/stream/forum", "#player:not([hidden])", STREAM_KEYS, [WIDE, MEDIUM, PHONE]),
    ("stream-offline", "/widgets/stream/plenary", "#offline:not([hidden])",
     ["#offline-detail", "#watch-anyway", ".stream-side .nav-track.current .slot:nth-child(3) .title"], [WIDE, MEDIUM, PHONE]),
    ("now-next", "/widgets/now-next?track=training", ".nav-track.current", NOW_NEXT_KEYS, [WIDE, MEDIUM, PHONE]),
    ("poster", "/widgets/poster/poster-energy", "body[data-poster=shown]", POSTER_KEYS, [HALF, PHONE]),
    ("sponsor", "/widgets/sponsor/snakeworks", None, SPONSOR_KEYS, [HALF, PHONE]),
    ("qa-moderator", "/widgets/qa/forum?view=moderator", "#status.live", QA_KEYS, [BACKSTAGE_QA, PHONE]),
    ("qa", "/widgets/qa/forum", "#status.live", QA_KEYS, [PHONE]),
    ("polls", "/widgets/polls/forum", "#status.live", POLLS_KEYS, [BACKSTAGE_POLLS, PHONE]),
]


@pytest.mark.parametrize(("name", "path", "ready", "keys", "size"), [
    pytest.param(name, path, ready, keys, size, id=f"{name}-{size[0]}x{size[1]}")
    for name, path, ready, keys, sizes in TILES for size in sizes
])
def test_a_widget_fits_its_tile(browser, server, shots, name, path, ready, keys, size):
    sized = Sized(browser, server.url, size, mobile=size == PHONE)
    try:
        sized.open(path, ready)
        sized.shot(shots, name)
        assert_fits(sized, keys)
    finally:
        sized.close()


@pytest.mark.parametrize(("name", "path", "keys"), [
    ("index", "/", ["h1", "a[href='/schedule']", "a[href='/widgets/stream/forum']"]),
    ("schedule", "/schedule", ["h1", "h2", '[data-talk="typing-in-practice"] .title a']),
    ("posters", "/posters", ["h1", "#poster-poster-energy h2", "#poster-poster-energy a.pdf"]),
])
def test_the_public_pages_read_on_a_phone(browser, server, shots, name, path, keys):
    sized = Sized(browser, server.url, PHONE, mobile=True)
    try:
        sized.open(path)
        sized.shot(shots, name)
        found = assert_fits(sized, keys, page_scrolls=True)
        assert found["scrollHeight"] > PHONE[1], "long pages scroll as a whole, as they should"
    finally:
        sized.close()


# ----------------------------------------------------------------------------- the stream page


def test_the_stream_and_its_now_next_sit_side_by_side_in_a_wide_tile_and_stack_on_a_phone(browser, server):
    boxes = {}
    for size in (WIDE, MEDIUM, PHONE):
        sized = Sized(browser, server.url, size, mobile=size == PHONE)
        try:
            sized.open("/widgets/stream/forum", "#player:not([hidden])")
            boxes[size] = sized.page.evaluate("""() => Object.fromEntries(['.player-area', '.stream-side'].map(s => {
                const r = document.querySelector(s).getBoundingClientRect();
                return [s, {left: r.left, top: r.top, width: r.width, height: r.height}];
            }))""")
        finally:
            sized.close()
    for size in (WIDE, MEDIUM):
        player, side = boxes[size][".player-area"], boxes[size][".stream-side"]
        width, height = size
        assert side["left"] >= player["left"] + player["width"] - 1 and side["top"] == player["top"] == 0
        # The player is as wide as a 16:9 picture of the tile's height, at most two thirds of the tile.
        assert player["width"] == pytest.approx(min(width * 2 / 3, height * 16 / 9), abs=2)
        assert player["height"] == height and side["width"] >= width / 3 - 2
    player, side = boxes[PHONE][".player-area"], boxes[PHONE][".stream-side"]
    assert player["width"] == PHONE[0] and player["height"] == pytest.approx(PHONE[0] * 9 / 16, abs=1)
    assert side["top"] >= player["height"] - 1 and side["width"] == PHONE[0]


@pytest.mark.parametrize("query", ["", "?theme=$org.matrix.msc2873.client_theme", "?theme=dark"])
def test_the_stream_page_works_opened_directly_in_a_tab(browser, server, query):
    sized = Sized(browser, server.url, (1024, 640))
    try:
        response = sized.open("/widgets/stream/forum" + query, "#player:not([hidden])")
        assert response.headers["content-type"].startswith("text/html")
        theme = sized.page.evaluate("() => document.documentElement.className")
        assert theme == ("theme-dark" if query.endswith("dark") else "theme-light"), "an unreplaced template is no theme"
        assert sized.page.locator("#player").get_attribute("src") == "https://www.youtube.com/embed/ep2026-forum"
        current = sized.page.locator(".stream-side .nav-track.current")
        assert "Gradual typing in a million-line codebase" in current.inner_text()
        assert_fits(sized, STREAM_KEYS)
        assert sized.outside == ["https://www.youtube.com/embed/ep2026-forum"]
    finally:
        sized.close()


def test_the_stream_pages_now_next_keeps_itself_current(browser, server, clock):
    sized = Sized(browser, server.url, WIDE)
    try:
        sized.page.clock.install()
        sized.open("/widgets/stream/forum", "#player:not([hidden])")
        sized.page.evaluate("() => { window.__sameDocument = true; }")
        now = sized.page.locator(".stream-side .nav-track.current .slot").first
        assert "Gradual typing in a million-line codebase" in now.inner_text()
        clock.at = NOW + timedelta(minutes=40)  # 10:50: the Forum's second talk is on
        try:
            sized.page.clock.run_for(31_000)  # the navigator asks again every 30 seconds
            now.filter(has_text="asyncio patterns that survive production").wait_for()
            assert sized.page.locator("#clock").inner_text() == "10:50"
        finally:
            clock.at = NOW
        assert sized.page.evaluate("() => window.__sameDocument") is True, "updated without a reload"
    finally:
        sized.close()


# ----------------------------------------------------------------------------- the poster page


def drawn(page) -> dict:
    """How much of the canvas pdf.js painted, and a fingerprint of what (to tell pages apart)."""
    return page.evaluate("""() => {
        const c = document.getElementById('poster-page');
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let inked = 0, sum = 0;
        for (let i = 0; i < pixels.length; i += 4) {
            if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 600) inked++;
            sum = (sum + pixels[i] * (i % 997)) % 1000003;
        }
        return {width: c.width, height: c.height, inked, sum, page: document.body.dataset.page,
                pages: document.body.dataset.pages};
    }""")


def test_the_poster_page_draws_the_poster_and_turns_its_pages(browser, server, shots):
    sized = Sized(browser, server.url, HALF)
    logs: list[str] = []
    sized.page.on("console", lambda m: logs.append(m.text))
    try:
        response = sized.open("/widgets/poster/poster-energy", "body[data-poster=shown]")
        csp = response.headers["content-security-policy"]
        assert "worker-src 'self';" in csp and "object-src 'none'" in csp and "script-src 'self';" in csp
        first = drawn(sized.page)
        assert first["pages"] == "2" and first["page"] == "1"
        assert first["inked"] > 0.05 * first["width"] * first["height"], "the poster is drawn, not a blank canvas"
        canvas = sized.page.locator("#poster-page").bounding_box()
        viewer = sized.page.locator("#viewer").bounding_box()
        # Fitted: the landscape page fills the viewer's height or width, and stays inside it.
        assert canvas["width"] <= viewer["width"] + 1 and canvas["height"] <= viewer["height"] + 1
        assert max(canvas["width"] / viewer["width"], canvas["height"] / viewer["height"]) > 0.97
        assert sized.page.locator("#page-number").inner_text() == "1 / 2"
        assert sized.page.locator("#page-back").is_disabled()

        sized.page.locator("#page-forward").click()
        sized.page.locator("body[data-page='2']").wait_for()
        second = drawn(sized.page)
        assert second["sum"] != first["sum"] and second["inked"] > 0
        assert sized.page.locator("#page-number").inner_text() == "2 / 2"
        assert sized.page.locator("#page-forward").is_disabled()
        sized.page.keyboard.press("ArrowLeft")
        sized.page.locator("body[data-page='1']").wait_for()
        assert sized.page.locator("#page-number").inner_text() == "1 / 2"

        # pdf.js ran its parser in its own worker, not in the page (which it does when it cannot).
        assert not any("fake worker" in line.lower() for line in logs), logs
        assert sized.page.locator("a.pdf-link").last.get_attribute("href") == "/posters/poster-energy.pdf"
        assert sized.outside == [] and not sized.problems
        sized.shot(shots, "poster-drawn")
    finally:
        sized.close()


def test_a_poster_at_a_web_address_is_drawn_from_podiums_own_copy(browser, server, host):
    sized = Sized(browser, server.url, HALF)
    try:
        sized.open("/widgets/poster/poster-typing-survey", "body[data-poster=shown]")
        assert drawn(sized.page)["inked"] > 0
        assert sized.outside == [], "the browser asked only Podium"
        assert host.url("energy.pdf").removeprefix(f"http://127.0.0.1:{host.port}") in host.hits
    finally:
        sized.close()


def test_a_poster_that_cannot_be_had_says_so_and_keeps_the_link(browser, server):
    sized = Sized(browser, server.url, HALF)
    try:
        sized.open("/widgets/poster/poster-astronomy", "body[data-poster=failed]")
        assert sized.page.locator("#fallback-reason").inner_text() == "The poster could not be loaded here."
        assert sized.page.locator("#fallback a.pdf-link").get_attribute("href") == "/posters/poster-astronomy.pdf"
        assert sized.page.locator("#poster-page").is_hidden()
    finally:
        sized.close()



def test_a_poster_with_its_own_font_is_drawn_within_the_pages_policy(browser, server):
    if server.schedule.posters[3].pdf != "posters/embedded-font.pdf":
        pytest.skip("no TrueType font on this machine to embed")
    sized = Sized(browser, server.url, HALF)
    try:
        sized.open("/widgets/poster/poster-education", "body[data-poster]")
        assert sized.page.evaluate("() => document.body.dataset.poster") == "shown"
        assert drawn(sized.page)["inked"] > 0
        # pdf.js loads the embedded font with the FontFace API: no font source to allow.
        assert sized.page.evaluate("() => [...document.fonts].some(f => f.status === 'loaded')")
        assert not sized.problems, sized.problems
    finally:
        sized.close()
