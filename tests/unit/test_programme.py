"""One programme for the running bot, its clock and the widget pages: the rooms' links follow the
templates the conference was applied with, and a reloaded schedule reaches the pages at once."""

from __future__ import annotations

import json
import shutil
import urllib.request
from datetime import datetime, timezone

import yaml

from bot import SAMPLE_SCHEDULE
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_TEMPLATES, build
from bot.provisioning.programme import Programme
from bot.web import create_app
from bot.web.background import ThreadedServer

SETTINGS = Settings("example.org", "@podium:example.org", "https://podium.example.org")
#: Monday 13 July 2026, 10:10 in Prague: "Gradual typing in a million-line codebase" is on in Forum Hall.
MONDAY = datetime(2026, 7, 13, 8, 10, tzinfo=timezone.utc)


def test_the_links_are_to_the_rooms_the_conferences_own_templates_make(tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, templates)
    track = templates / "track.yaml"
    track.write_text(track.read_text().replace('alias: "{{ conference.id }}-track-', 'alias: "{{ conference.id }}-stage-'))
    own = Programme(build(SAMPLE_SCHEDULE, SETTINGS, templates))
    assert own.links.link("track/forum") == "https://matrix.to/#/#ep2026-stage-forum:example.org"
    bundled = Programme.bundled(own.schedule, SETTINGS)
    assert bundled.links.link("track/forum") == "https://matrix.to/#/#ep2026-track-forum:example.org"
    assert own.switches["track/forum"]["now_notice"] is True


def test_the_pages_show_the_schedule_put_in_force_while_they_run(tmp_path):
    conference = build(SAMPLE_SCHEDULE, SETTINGS)
    programme = Programme(conference)
    app = create_app(conference.schedule, conference.settings, data_dir=tmp_path / "data", now=lambda: MONDAY,
                     programme=programme)

    def forum_now(server: ThreadedServer) -> str:
        with urllib.request.urlopen(f"{server.url}/api/now-next", timeout=10) as response:
            tracks = json.load(response)["tracks"]
        forum = next(t for t in tracks if t["id"] == "forum")
        return forum["now"]["title"]

    data = yaml.safe_load(SAMPLE_SCHEDULE.read_text())
    talk = next(t for t in data["talks"] if t["id"] == "typing-in-practice")
    talk["title"] = "Gradual typing, renamed while the pages ran"
    edited = tmp_path / "schedule.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    shutil.copytree(SAMPLE_SCHEDULE.parent / "posters", tmp_path / "posters")
    with ThreadedServer(app) as server:
        assert forum_now(server) == "Gradual typing in a million-line codebase"
        programme.put(build(edited, SETTINGS))
        assert forum_now(server) == "Gradual typing, renamed while the pages ran"
        with urllib.request.urlopen(f"{server.url}/schedule", timeout=10) as response:
            assert "Gradual typing, renamed while the pages ran" in response.read().decode()
