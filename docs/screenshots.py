"""Screenshots of the widgets for the README: ``python docs/screenshots.py [--out docs]``.

Serves the sample ``schedule.yaml`` at Monday 10:10 (conference time) with sample questions, and
photographs the pages in headless Chromium (``/usr/bin/chromium`` unless ``--chromium``):

* ``track-room.png``: a track room's widgets the way Element lays them out, the stream on top
  and the now/next navigator on the right (the video itself is a stand-in: no network here);
* ``navigator.png``: the now/next navigator;
* ``qa-board.png``: the backstage Q&A board (moderator view).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from bot import SAMPLE_SCHEDULE
from bot.conference.schedule import load_schedule
from bot.provisioning.desired import Settings
from bot.store.database import DATABASE
from bot.store.questions import QuestionStore

REPO = Path(__file__).resolve().parent.parent
from bot.web import create_app
from bot.web.background import ThreadedServer

MOMENT = datetime(2026, 7, 13, 8, 10, tzinfo=timezone.utc)  # 10:10 in Prague
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
STAND_IN = """<!doctype html><html><meta charset="utf-8"><body style="margin:0;height:100vh;display:flex;align-items:center;
justify-content:center;background:linear-gradient(135deg,#1d3b53,#0b7a5a);color:#fff;
font:600 28px system-ui,sans-serif;text-align:center">
<div>Gradual typing in a million-line codebase<br><span style="font-weight:400;font-size:18px">
Bruno Castell · live stream (stand-in for the YouTube player)</span></div></body></html>"""
#: Element's room view: widgets pinned on top above the timeline, the right panel beside it.
TRACK_ROOM = """<!doctype html><html><meta charset="utf-8"><body style="margin:0;display:flex;height:100vh;background:#f4f6f8;
font:14px system-ui,sans-serif">
<div style="flex:1;display:flex;flex-direction:column">
  <div style="padding:10px 16px;font-weight:700;border-bottom:1px solid #dde1e6;background:#fff">
    # Forum Hall</div>
  <iframe src="{base}/widgets/stream/forum?theme=light" style="border:0;height:58%;width:100%"></iframe>
  <div style="flex:1;padding:12px 16px;color:#5c6470">Room timeline</div>
</div>
<iframe src="{base}/widgets/now-next?track=forum&theme=light"
        style="border:0;border-left:1px solid #dde1e6;width:360px;background:#fff"></iframe>
</body></html>"""


def sample_questions(data_dir: Path, conference_id: str) -> None:
    db = sqlite_utils.Database(data_dir / DATABASE)
    store = QuestionStore(db)
    asked = [("Ada", "How long did the migration to typed code take, start to finish?", 6),
             ("Bruno", "Which type checker do you run in CI, and how fast is it?", 4),
             ("Chiara", "Did typing find real bugs, or mostly documentation value?", 2)]
    for n, (name, text, votes) in enumerate(asked):
        q = store.add(conference=conference_id, room_id="!forum:localhost", track_id="forum",
                      talk_id="typing-in-practice", asker=f"@{name.lower()}:localhost", asker_name=name,
                      text=text, asked_at=time.time() + n, source_event_id=f"$sample{n}")
        for v in range(votes - 1):
            store.vote(f"$v{n}-{v}", conference_id, q.number, f"@voter{v}:localhost", time.time())
    db.close()


def _serve_directory(directory: Path) -> http.server.ThreadingHTTPServer:
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    schedule = load_schedule(SAMPLE_SCHEDULE)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        sample_questions(data_dir, schedule.conference.id)
        settings = Settings(server_name="localhost", bot_user_id="@podium:localhost", public_url="http://127.0.0.1")
        app = create_app(schedule, settings, data_dir=data_dir, now=lambda: MOMENT)
        with ThreadedServer(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 720})
            page.route("https://www.youtube.com/**", lambda r: r.fulfill(content_type="text/html", body=STAND_IN))
            # The room stand-in is served from another origin, as Element would be.
            (data_dir / "room.html").write_text(TRACK_ROOM.format(base=server.url))
            room = _serve_directory(data_dir)
            page.goto(f"http://localhost:{room.server_address[1]}/room.html")
            page.wait_for_timeout(800)
            page.screenshot(path=str(args.out / "track-room.png"))
            page.set_viewport_size({"width": 380, "height": 720})
            page.goto(f"{server.url}/widgets/now-next?track=forum")
            page.screenshot(path=str(args.out / "navigator.png"), full_page=True)
            page.set_viewport_size({"width": 900, "height": 420})
            page.goto(f"{server.url}/widgets/qa/forum?view=moderator")
            page.locator("#status.live").wait_for()
            page.screenshot(path=str(args.out / "qa-board.png"))
            browser.close()
            room.shutdown()
    for name in ("track-room.png", "navigator.png", "qa-board.png"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
