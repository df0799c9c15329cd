"""What an imported programme says of a talk reaches people: its category (a FOSDEM devroom), its
description and links, do-not-record and cancelled, in the talk's breakout room topic, the
backstage reminder the chairs and speakers read, and the schedule and now/next pages."""

from __future__ import annotations

import urllib.request
from datetime import datetime, timezone

from bot.conference.schedule import validate_schedule_data
from bot.conference.transitions import REMIND, transitions
from bot.day.effects import effects
from bot.provisioning.desired import Settings, desired_rooms
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates
from bot.web import create_app
from bot.web.background import ThreadedServer
from bot.web.views import now_next_view

URL = "https://podium.example.org"
SETTINGS = Settings("example.org", "@podium:example.org", URL)
SCHEDULE = validate_schedule_data({
    "conference": {"id": "fx", "name": "Fields", "timezone": "Europe/Brussels", "start": "2026-02-01",
                   "end": "2026-02-01"},
    "tracks": [{"id": "k1", "name": "K.1.105"}],
    "talks": [
        {"id": "rust", "track": "k1", "title": "Rust in the <kernel>", "start": "2026-02-01 10:00", "duration": 30,
         "speakers": [{"name": "Sam", "matrix_id": "@sam:x"}], "category": "Rust <devroom>",
         "description": "What changed\nsince last year.", "do_not_record": True,
         "links": [{"url": "https://video.example.org/rust.webm", "title": "Video recording"}]},
        {"id": "gone", "track": "k1", "title": "A cancelled talk", "start": "2026-02-01 10:30", "duration": 30,
         "category": "Rust <devroom>", "cancelled": True},
        {"id": "later", "track": "k1", "title": "Later", "start": "2026-02-01 11:00", "duration": 30},
    ],
}, "<test>")
DURING_CANCELLED = datetime(2026, 2, 1, 9, 40, tzinfo=timezone.utc)  # 10:40 in Brussels


def topic_of(key: str) -> str:
    room = next(r for r in desired_rooms(SCHEDULE, RoomTemplates.load(BUNDLED_TEMPLATES), SETTINGS) if r.key == key)
    return room.state[("m.room.topic", "")]["topic"]


def test_a_talks_breakout_topic_names_its_category_links_description_and_that_it_is_not_recorded():
    topic = topic_of("talk/rust")
    assert topic.startswith("Rust <devroom> · With Sam · K.1.105, Sun 10:00"), topic
    assert "Not recorded or streamed" in topic
    assert "Video recording: https://video.example.org/rust.webm" in topic
    assert topic.endswith("What changed\nsince last year."), topic
    assert "Not recorded" not in topic_of("talk/later") and "Cancelled" not in topic_of("talk/later")


def test_a_cancelled_talks_breakout_topic_says_it_was_cancelled():
    assert topic_of("talk/gone").startswith("Cancelled: this talk does not take place. · Rust <devroom>")


def test_the_backstage_reminder_tells_speakers_and_chairs_the_talk_is_not_recorded():
    [say] = effects(next(t for t in transitions(SCHEDULE) if t.talk_id == "rust" and t.kind == REMIND),
                    SCHEDULE, public_url=URL)
    assert say.room == "backstage/k1"
    assert "Not recorded: the speakers asked that this talk be neither recorded nor streamed." in say.message.body
    [plain] = effects(next(t for t in transitions(SCHEDULE) if t.talk_id == "later" and t.kind == REMIND),
                      SCHEDULE, public_url=URL)
    assert "recorded" not in plain.message.body


def test_now_and_next_never_has_a_cancelled_talk_on():
    [track] = now_next_view(SCHEDULE, DURING_CANCELLED, _NoRooms(), {})["tracks"]
    assert track["now"] is None and track["next"]["id"] == "later"


def test_the_schedule_page_labels_the_category_and_shows_cancelled_not_recorded_description_and_links(tmp_path):
    app = create_app(SCHEDULE, SETTINGS, data_dir=tmp_path / "data", now=lambda: DURING_CANCELLED)
    with ThreadedServer(app) as server:
        with urllib.request.urlopen(f"{server.url}/schedule", timeout=10) as answer:
            page = answer.read().decode()
    rust = page[page.index('data-talk="rust"'):page.index('data-talk="gone"')]
    assert '<span class="category">Rust &lt;devroom&gt;</span>' in rust
    assert "not recorded</span>" in rust
    assert 'href="https://video.example.org/rust.webm"' in rust and ">Video recording</a>" in rust
    assert "What changed\nsince last year." in rust
    gone = page[page.index('data-talk="gone"'):page.index('data-talk="later"')]
    assert '<span class="badge cancelled">cancelled</span>' in gone and "badge live" not in gone
    assert 'class="talk cancelled"' in page
    assert "<kernel>" not in page and "<devroom>" not in page


class _NoRooms:
    def link(self, key: str) -> None:
        return None

    def alias(self, key: str) -> None:
        return None
