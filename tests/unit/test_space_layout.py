"""Where the conference's rooms are listed: all of them in the conference space itself.

Element lists a room under a space only through spaces the user has joined. An attendee accepts
one invitation, to the conference space; rooms listed in sub-spaces she never joined landed under
Home. These tests pin the layout that Element shows under the conference (the Element journeys in
tests/live/test_element_*.py show it in the client itself).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conference.roomkeys import SPACE, track_key
from bot.conference.schedule import parse_schedule
from bot.provisioning.desired import CATEGORIES, desired_rooms
from bot.provisioning.planner import Invite, SetState, plan
from bot.roomstate.state import (
    SPACE_CHILD,
    SPACE_PARENT,
    Observed,
    ObservedRoom,
    RoomRef,
)
from bot.provisioning.templates import RoomTemplates, TemplateProblem
from tests.support.planner import BOT, SAMPLE, SETTINGS, TEMPLATES, fresh_plan, play, sample_rooms


def test_every_room_is_a_child_of_the_conference_space_listed_by_category():
    rooms = sample_rooms()
    space, inside = rooms[0], rooms[1:]
    assert space.key == SPACE and [r for r in rooms if r.is_space] == [space]
    assert all(room.parent == SPACE for room in inside)
    assert {sk.key for (t, sk) in space.state if t == SPACE_CHILD} == {room.key for room in inside}
    assert all(room.state[(SPACE_PARENT, RoomRef(SPACE))]["canonical"] for room in inside)

    # Element sorts a space's children by their order strings: lobby, tracks, posters, ...
    orders = {sk.key: c["order"] for (t, sk), c in space.state.items() if t == SPACE_CHILD}
    listed = sorted(inside, key=lambda room: orders[room.key])
    category_of = {"lobby": "lobby", "track": "tracks", "backstage": "tracks", "poster": "posters",
                   "sponsor": "sponsors", "helpdesk": "help", "helpdesk-staff": "help", "open-space": "open-space"}
    names = [c for c, _ in CATEGORIES]
    places = [names.index(category_of.get(room.kind) or ("breakouts" if room.key.startswith("talk/") else "posters"))
              for room in listed]
    assert places == sorted(places)
    assert all(len(order) <= 50 for order in orders.values())


def test_everyone_invited_inside_is_invited_to_the_space_in_every_access_mode():
    for access in ("public", "space-members", "invite"):
        rooms = sample_rooms(SAMPLE.replace("access: space-members", f"access: {access}", 1))
        space, inside = rooms[0], rooms[1:]
        invited_inside = {user for room in inside for user in room.invites}
        schedule = parse_schedule(SAMPLE)
        staff = {*schedule.staff.organisers, *schedule.staff.moderators}
        assert invited_inside and invited_inside | staff <= set(space.invites), access


def test_track_chairs_are_invited_to_their_track_room():
    schedule = parse_schedule(SAMPLE)
    rooms = {room.key: room for room in sample_rooms()}
    chaired = [t for t in schedule.tracks if t.chairs]
    assert chaired
    for track in chaired:
        assert set(track.chairs) <= set(rooms[track_key(track.id)].invites)


def test_a_template_that_still_names_a_parent_says_what_to_rename(tmp_path: Path):
    directory = tmp_path / "templates"
    directory.mkdir()
    for source in TEMPLATES.directory.glob("*.yaml"):
        (directory / source.name).write_text(source.read_text().replace("category: tracks", "parent: tracks"))
    with pytest.raises(TemplateProblem, match="'parent' is now 'category'"):
        desired_rooms(parse_schedule(SAMPLE), RoomTemplates.load(directory), SETTINGS)


def test_a_conference_set_up_with_sub_spaces_moves_its_rooms_into_the_space():
    """Rooms first listed in a sub-space are linked into the conference space by the next apply;
    the sub-space is reported as no longer wanted (``--prune`` archives it)."""
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    space_id = observed.rooms[SPACE].room_id
    tracks = ObservedRoom("!tracks:example.org", {("m.room.create", ""): {"type": "m.space"}}, "12", BOT)
    tracks.state[("org.podium.locator", "")] = {"conference": "ep2026", "key": "space/tracks", "kind": "space"}
    moved = [room for room in rooms if room.kind == "track"]
    for room in moved:
        current = observed.rooms[room.key]
        del observed.rooms[SPACE].state[(SPACE_CHILD, current.room_id)]
        del current.state[(SPACE_PARENT, space_id)]
        current.state[(SPACE_PARENT, tracks.room_id)] = {"via": ["example.org"], "canonical": True}
        tracks.state[(SPACE_CHILD, current.room_id)] = {"via": ["example.org"]}
    observed.rooms["space/tracks"] = tracks

    the_plan = plan(rooms, observed, bot_user_id=BOT, room_version="12")
    links = {(a.key, a.event_type) for a in the_plan.actions if isinstance(a, SetState)}
    assert links == {(SPACE, SPACE_CHILD)} | {(room.key, SPACE_PARENT) for room in moved}
    assert not [a for a in the_plan.actions if isinstance(a, Invite)]
    assert [o.key for o in the_plan.orphans] == ["space/tracks"]
    assert plan(rooms, play(the_plan, observed), bot_user_id=BOT, room_version="12").actions == []


def test_a_track_topic_the_clock_keeps_is_not_drift_but_a_missing_one_is_set():
    """The conference clock writes a track room's topic (now, next, the stream link) as talks
    start and end; apply must not put the template's topic back, yet sets one that is missing."""
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    forum = observed.rooms["track/forum"]
    forum.state[("m.room.topic", "")] = {"topic": "Now: Gradual typing · Next at 10:45: asyncio patterns"}
    assert plan(rooms, observed, bot_user_id=BOT, room_version="12").actions == []
    del forum.state[("m.room.topic", "")]
    [action] = plan(rooms, observed, bot_user_id=BOT, room_version="12").actions
    assert (action.key, action.event_type) == ("track/forum", "m.room.topic")
    # Rooms whose template hands nothing to the clock are repaired as ever.
    observed.rooms["lobby/hallway"].state[("m.room.topic", "")] = {"topic": "changed by hand"}
    assert {(a.key, a.event_type) for a in plan(rooms, observed, bot_user_id=BOT, room_version="12").actions} == {
        ("track/forum", "m.room.topic"), ("lobby/hallway", "m.room.topic")}
