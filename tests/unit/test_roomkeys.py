"""The room-key grammar has one home, bot/conference/roomkeys.py: every key made there parses
back, every room the bundled templates make has a key it parses, and no other module of the bot
spells a key itself (a copy of the grammar elsewhere fails here, not in production)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot import SAMPLE_SCHEDULE
from bot.conference import roomkeys
from bot.conference.schedule import load_schedule
from bot.provisioning.desired import Settings, desired_rooms
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates

#: The checkout: found upwards, so the test reads the same files wherever it is filed.
REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SETTINGS = Settings("example.org", "@podium:example.org", "https://podium.example.org")
MAKERS = {
    roomkeys.LOBBY: roomkeys.lobby_key,
    roomkeys.TRACK: roomkeys.track_key,
    roomkeys.BACKSTAGE: roomkeys.backstage_key,
    roomkeys.TALK: roomkeys.talk_key,
    roomkeys.POSTER: roomkeys.poster_key,
    roomkeys.POSTER_BREAKOUT: roomkeys.poster_breakout_key,
    roomkeys.SPONSOR: roomkeys.sponsor_key,
    roomkeys.HELPDESK: roomkeys.helpdesk_key,
    roomkeys.HELPDESK_STAFF: roomkeys.helpdesk_staff_key,
    roomkeys.OPEN_SPACE: roomkeys.open_space_key,
    roomkeys.BOOKING: roomkeys.booking_key,
}


def test_every_kind_has_a_maker():
    # A poster's second room is made no more, yet its key names the rooms earlier versions made.
    assert set(MAKERS) == {*roomkeys.ROOM_KINDS, roomkeys.BOOKING, roomkeys.POSTER_BREAKOUT}


@pytest.mark.parametrize("kind", sorted(MAKERS))
@pytest.mark.parametrize("object_id", ["forum", "typing-in-practice", "a.b_c", "7"])
def test_keys_round_trip(kind, object_id):
    key = MAKERS[kind](object_id)
    assert (roomkeys.kind_of(key), roomkeys.object_id(key)) == (kind, object_id)
    assert roomkeys.key_of(kind, object_id) == key


def test_the_grammar_is_the_stored_one():
    """Keys are stored in every room's locator and in the bot's database: they never change."""
    assert roomkeys.track_key("forum") == "track/forum"
    assert roomkeys.helpdesk_staff_key("desk") == "helpdesk-staff/desk"
    assert roomkeys.poster_breakout_key("p1") == "poster-breakout/p1"
    assert roomkeys.booking_key(3) == "booking/3"
    assert (roomkeys.kind_of(roomkeys.SPACE), roomkeys.object_id(roomkeys.SPACE)) == ("space", "")


def test_the_templates_rooms_have_keys_the_grammar_parses():
    schedule = load_schedule(SAMPLE_SCHEDULE)
    rooms = desired_rooms(schedule, RoomTemplates.load(BUNDLED_TEMPLATES), SETTINGS)
    kinds = set()
    for room in rooms:
        if room.key == roomkeys.SPACE:
            continue
        kind, object_id = roomkeys.kind_of(room.key), roomkeys.object_id(room.key)
        assert kind in roomkeys.ROOM_KINDS, room.key
        assert object_id and roomkeys.SEPARATOR not in object_id, room.key
        assert roomkeys.key_of(kind, object_id) == room.key
        kinds.add(kind)
    assert kinds == set(roomkeys.ROOM_KINDS), "the sample conference has a room of every kind"
    assert roomkeys.track_key(schedule.tracks[0].id) in {room.key for room in rooms}


def _spelled_keys(source: str, where: str) -> list[str]:
    """The lines where ``source`` writes a room key itself: an f-string that starts with
    ``<kind>/`` and a value, or a whole key as a literal."""
    kinds = (*roomkeys.ROOM_KINDS, roomkeys.BOOKING)
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if (isinstance(head, ast.Constant) and isinstance(head.value, str)
                    and head.value.endswith(roomkeys.SEPARATOR) and head.value[:-1] in kinds):
                found.append(f"{where}:{node.lineno}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            kind, separator, rest = node.value.partition(roomkeys.SEPARATOR)
            if kind in kinds and separator and rest and " " not in rest and roomkeys.SEPARATOR not in rest:
                found.append(f"{where}:{node.lineno}")
    return found


def test_no_module_spells_a_room_key_itself():
    home = REPO / "bot" / "conference" / "roomkeys.py"
    sources = [p for folder in ("bot", "bridges") for p in sorted((REPO / folder).rglob("*.py")) if p != home]
    spelled = [line for path in sources for line in _spelled_keys(path.read_text(), str(path.relative_to(REPO)))]
    assert spelled == [], "room keys are made by bot/conference/roomkeys.py only"


def test_the_check_finds_a_spelled_key():
    source = 'def keys(track):\n    return f"backstage/{track.id}", "lobby/jobs", "see track/forum", "qa/x"\n'
    assert _spelled_keys(source, "copy.py") == ["copy.py:2", "copy.py:2"]
