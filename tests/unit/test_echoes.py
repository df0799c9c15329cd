"""One trace per bot action, without a homeserver: room mentions are named links with a server
to join through, the end of a talk links its breakout room by name, and the answer to a ticket
code never quotes the code back."""

from __future__ import annotations

from bot.commands import Room
from bot.commands.message import message, room
from bot.conference.display import RoomLinks
from bot.conference.roles import Role
from bot.conference.schedule import load_schedule
from bot.conference.transitions import END, transitions
from bot.day.effects import effects
from bot.store.database import open_database
from tests.support.commands import dispatch
from tests.support.live import FIRST_TALK_TITLE, write_live_schedule

LINKS = RoomLinks({"talk/t1": "fx-talk-t1", "track/forum": "fx-track-forum"}, "example.org")


def test_a_room_mention_reads_the_name_and_says_which_server_to_join_through():
    said = message("Meet in ", room(LINKS, "track/forum", "Forum <Hall>"), ".")
    link = "https://matrix.to/#/#fx-track-forum:example.org?via=example.org"
    assert said.html == f'Meet in <a href="{link}">Forum &lt;Hall&gt;</a>.'
    assert said.body == f"Meet in Forum <Hall> ({link})."
    assert message(room(LINKS, "track/gone", "Gone")).html == "Gone", "no room: the name alone"
    assert message(room(None, "track/forum", "Forum")).html == "Forum"


def test_the_end_of_a_talk_links_its_breakout_room_by_name(tmp_path):
    schedule = load_schedule(write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x")[0])
    end = next(t for t in transitions(schedule) if t.talk_id == "t1" and t.kind == END)
    *_, pointer, _topic = effects(end, schedule, public_url="https://podium.example.org", links=LINKS)
    link = "https://matrix.to/#/#fx-talk-t1:example.org?via=example.org"
    title = FIRST_TALK_TITLE.replace("<", "&lt;").replace(">", "&gt;")
    assert f'Meet the speakers in its breakout room: <a href="{link}">{title}</a>.' in pointer.message.html


def test_the_answer_to_a_ticket_code_does_not_quote_it(tmp_path):
    path, conf = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x")
    direct = Room("!dm:x", conf, "direct/@a:x", "direct")
    [(room_id, answer)] = dispatch(load_schedule(path), open_database(":memory:"), "TIX4ME", role=Role.ATTENDEE,
                                   key=direct.key, rooms=[direct])
    assert room_id == "!dm:x" and answer["body"].startswith("No code is needed")
    assert "m.in_reply_to" not in answer["m.relates_to"], "a reply would show the code again above the answer"
    assert answer["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$cmd"}
