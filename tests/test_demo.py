"""`podium demo` end to end, as someone trying Podium would run it: the sample conference comes
up on its own Synapse, the bot answers in it, the widget pages are served, and Ctrl-C stops it
all cleanly. The attendee is a real matrix-nio client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bot import SAMPLE_SCHEDULE
from bot.demo import DEMO_PASSWORD
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import build
from bot.provisioning.state import WIDGET
from bot.web.background import free_port
from tests.live import Person

READY = "The bot is answering."
#: What Element puts into widget URLs.
WIDGET_VARIABLES = {"$matrix_user_id": "%40alice%3Alocalhost", "$matrix_room_id": "%21room%3Alocalhost",
                    "$matrix_display_name": "Alice", "$org.matrix.msc2873.client_theme": "dark"}


class DemoProcess:
    """`podium demo` in a subprocess; its output collected line by line."""

    def __init__(self, data_dir: Path, port: int, web_port: int):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "demo", "--data-dir", str(data_dir), "--port", str(port),
             "--listen", f"127.0.0.1:{web_port}"],
            cwd=data_dir.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the demo never printed {text!r}:\n{self.output}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the demo did not stop on Ctrl-C within {timeout} s:\n{self.output}") from None


def test_demo_runs_the_conference_until_ctrl_c(tmp_path):
    port, web_port = free_port(), free_port()
    demo = DemoProcess(tmp_path / "demo", port, web_port)
    try:
        demo.wait_for(READY, timeout=240)
        assert "EuroPython 2026 is up." in demo.output
        assert f"http://127.0.0.1:{port}" in demo.output
        assert "room(s) created" in demo.output
        assert f"http://localhost:{web_port}/" in demo.output

        # The demo replays a busy moment of the conference: the navigator has talks on now.
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/api/now-next", timeout=10) as response:
            now_next = json.load(response)
        assert sum(1 for track in now_next["tracks"] if track.get("now")) >= 3, now_next

        # Every page a room pins as a widget is served (Jitsi calls live elsewhere).
        for name, url in _pinned_pages(web_port):
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200, (name, url)
                assert response.headers["Content-Type"].startswith("text/html"), (name, url)
                assert "Content-Security-Policy" in response.headers, (name, url)

        question = asyncio.run(_visit_as_alice(f"http://127.0.0.1:{port}"))
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/widgets/qa/forum", timeout=10) as response:
            assert question in response.read().decode()
    finally:
        code = demo.stop()
    assert code == 0, demo.output
    assert "Stopping Synapse" in demo.output


def _pinned_pages(web_port: int) -> list[tuple[str, str]]:
    """(widget name, URL as Element would load it) for every widget the demo's rooms pin that
    Podium serves, read from the rooms the demo's schedule describes."""
    public_url = f"http://localhost:{web_port}"
    conference = build(SAMPLE_SCHEDULE, Settings("localhost", "@podium:localhost", public_url))
    pages = []
    for room in conference.rooms:
        for (event_type, _key), content in room.state.items():
            url = content.get("url", "") if event_type == WIDGET else ""
            if url.startswith(public_url):
                for variable, value in WIDGET_VARIABLES.items():
                    url = url.replace(variable, value)
                pages.append((content["name"], url))
    assert len(pages) >= 10, pages
    return pages


async def _visit_as_alice(base_url: str) -> str:
    """Alice accepts the space invitation, walks in, and asks in the Forum track; returns her question."""
    alice = await Person.login(base_url, "@alice:localhost", DEMO_PASSWORD)
    try:
        await alice.join("#ep2026:localhost")  # accepts the invitation
        forum = await alice.join("#ep2026-track-forum:localhost")  # restricted: space members may join
        await alice.join("#ep2026-hallway:localhost")
        backstage = await alice.client.join("#ep2026-backstage-forum:localhost")  # invite-only
        assert getattr(backstage, "status_code", None) == "M_FORBIDDEN", backstage
        question = "Does the demo answer questions?"
        await alice.say(forum, f"!ask {question}")
        post = await alice.wait_for(forum, lambda e: e.get("sender") == "@podium:localhost"
                                    and question in (e.get("content") or {}).get("body", ""),
                                    timeout=30, why="the bot posting the question")
        assert post["content"]["body"].startswith("Q1 · Alice: "), post
        return question
    finally:
        await alice.close()
