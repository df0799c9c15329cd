"""`podium demo` end to end, as someone trying Podium would run it: installed with `pip install .`
and started in an empty directory, the sample conference comes up on its own Synapse, the bot
answers in it, the widget pages are served, and Ctrl-C stops it all cleanly; a second demo
started beside it is stopped before it starts anything, and a demo whose set-up failed says so
instead of welcoming anyone. The attendee is a real matrix-nio client."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

import yaml

from bot import SAMPLE_SCHEDULE
from bot.cli.demo import DEMO_PASSWORD
from bot.ports import free_port
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import build
from bot.roomstate.state import WIDGET
from tests.support.demo_process import READY, DemoProcess
from tests.support.live import Person

#: What Element puts into widget URLs.
WIDGET_VARIABLES = {"$matrix_user_id": "%40alice%3Alocalhost", "$matrix_room_id": "%21room%3Alocalhost",
                    "$matrix_display_name": "Alice", "$org.matrix.msc2873.client_theme": "dark"}


def test_demo_runs_the_conference_until_ctrl_c(installed, tmp_path):
    (tmp_path / "empty").mkdir()  # where the new user starts: nothing of Podium's in it
    port, web_port = free_port(), free_port()
    demo = DemoProcess(tmp_path / "empty" / "demo", port, web_port, installed=installed)
    try:
        demo.wait_for(READY, timeout=240)
        assert "EuroPython 2026 is up." in demo.output
        assert f"http://127.0.0.1:{port}" in demo.output
        assert re.search(r"Applied \d+ actions in [\d.]+ s: \d+ rooms created", demo.output), demo.output
        assert f"http://localhost:{web_port}/" in demo.output

        # A second demo beside this one names both taken ports, with free ones to pass instead,
        # and starts nothing: no homeserver, no set-up.
        second = DemoProcess(tmp_path / "second", port, web_port, installed=installed)
        assert second.finish(timeout=60) == 1, second.output
        assert f"port {port} for the demo's homeserver is already in use" in second.output, second.output
        assert f"127.0.0.1:{web_port} for the widget pages is already in use" in second.output
        suggested = re.search(r"pass --port (\d+)", second.output)
        assert suggested and int(suggested[1]) not in (port, web_port)
        assert re.search(r"pass --listen 127\.0\.0\.1:(?!%d\b)\d+" % web_port, second.output)
        assert "Starting Synapse" not in second.output and "Traceback" not in second.output
        assert not (tmp_path / "second").exists()

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

        # The banner names the room to try !ask in: a track whose talk is on, so the first
        # question a newcomer asks is taken, not refused.
        tried = re.search(r"Try:\s+in #(ep2026-track-([a-z0-9-]+)):localhost, “[^”]+” is on until \d\d:\d\d",
                          demo.output)
        assert tried, demo.output
        question = asyncio.run(_visit_as_alice(f"http://127.0.0.1:{port}", f"#{tried[1]}:localhost"))
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/widgets/qa/{tried[2]}", timeout=10) as response:
            assert question in response.read().decode()
    finally:
        code = demo.stop()
    assert code == 0, demo.output
    assert "Stopping Synapse" in demo.output

    # The next demo resumes this one; --no-wait sets it up and stops, without the bot.
    again = DemoProcess(tmp_path / "empty" / "demo", port, web_port, "--no-wait", installed=installed)
    assert again.finish(timeout=120) == 0, again.output
    assert "EuroPython 2026 is up." in again.output and "Applied 0 actions" in again.output, again.output
    assert READY not in again.output and "Stopping Synapse" in again.output


def test_a_demo_whose_set_up_failed_says_so_instead_of_welcoming(installed, tmp_path):
    """A speaker on a server the demo's homeserver cannot reach cannot be invited: the demo names
    the rooms it could not finish, says what to do, and exits 1 without the welcome."""
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(yaml.safe_dump({
        "conference": {"id": "unreachable", "name": "Far Away Conf", "timezone": "UTC", "start": "2026-05-04",
                       "end": "2026-05-04", "access": "public"},
        "lobby": [{"id": "hallway", "name": "Hallway"}],
        "tracks": [{"id": "main", "name": "Main Hall"}],
        "talks": [{"id": "far", "track": "main", "title": "From afar", "start": "2026-05-04 10:00", "duration": 30,
                   "speakers": [{"name": "Faye", "matrix_id": "@faye:podium.invalid"}]}],
    }))
    demo = DemoProcess(tmp_path / "demo", free_port(), free_port(), "--schedule", str(schedule), installed=installed)
    assert demo.finish(timeout=180) == 1, demo.output
    assert "FAILED" in demo.output and "@faye:podium.invalid" in demo.output
    assert re.search(r"the demo is not up: \d+ rooms? could not be set up fully \([^)]*talk/far[^)]*\)",
                     demo.output), demo.output
    assert "run `podium demo` again" in demo.output and "run `podium apply` again" not in demo.output
    assert "is up." not in demo.output and READY not in demo.output and "Traceback" not in demo.output
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


async def _visit_as_alice(base_url: str, track_room: str) -> str:
    """Alice accepts the space invitation, walks in, and asks in ``track_room``; returns her question."""
    alice = await Person.login(base_url, "@alice:localhost", DEMO_PASSWORD)
    try:
        await alice.join("#ep2026:localhost")  # accepts the invitation
        track = await alice.join(track_room)  # restricted: space members may join
        await alice.join("#ep2026-hallway:localhost")
        backstage = await alice.client.join("#ep2026-backstage-forum:localhost")  # invite-only
        assert getattr(backstage, "status_code", None) == "M_FORBIDDEN", backstage
        question = "Does the demo answer questions?"
        await alice.say(track, f"!ask {question}")
        post = await alice.wait_for(track, lambda e: e.get("sender") == "@podium:localhost"
                                    and question in (e.get("content") or {}).get("body", ""),
                                    timeout=30, why="the bot posting the question")
        assert post["content"]["body"].startswith("Q1 · Alice: "), post
        return question
    finally:
        await alice.close()
