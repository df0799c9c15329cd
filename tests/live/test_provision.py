"""Provisioning against a real Synapse: apply the sample conference, re-apply, edit, repair.

The CLI runs in-process (``bot.cli.main``) with its connection settings in the environment,
talking to the session's Synapse through a counting proxy, so the tests see exactly which
requests reached the homeserver.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.conference.roomkeys import backstage_key, poster_breakout_key, poster_key, sponsor_key, talk_key, track_key
from bot.matrix import MatrixAdapter
from bot.provisioning.apply import create_room_body
from bot.provisioning.planner import CreateRoom
from bot.roomstate.state import (
    ENCRYPTION,
    GUEST_ACCESS,
    JOIN_RULES,
    LAYOUT,
    POWER_LEVELS,
    SPACE_CHILD,
    SPACE_PARENT,
    WIDGET,
)
from bot.provisioning.templates import KINDS
from tests.support.provisioning import conference_for, observe_now, podium, write_schedule



def a_few_of_each(data: dict) -> None:
    """The sample with every track but only a few talks, one poster, one sponsor, one open-space
    room: every room kind, in under half the rooms, for tests that change them."""
    data["talks"] = data["talks"][:3]
    data["posters"] = data["posters"][:1]
    data["sponsors"] = data["sponsors"][:1]
    data["open_space"]["rooms"] = data["open_space"]["rooms"][:1]


def rewrite(path: Path, edit) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def put_state(bot, room_id: str, event_type: str, state_key: str, content: dict) -> None:
    async def run() -> None:
        async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
            await adapter.put_state(room_id, event_type, state_key, content, what="damage by hand")

    asyncio.run(run())


@pytest.fixture(scope="module")
def applied_sample(tmp_path_factory, synapse, bot, sample_people):
    """The sample conference applied once; tests below only read it."""
    path, conf_id = write_schedule(tmp_path_factory.mktemp("sample"))
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("PODIUM_HOMESERVER", synapse.base_url)
        mp.setenv("PODIUM_USER_ID", bot.user_id)
        mp.setenv("PODIUM_ACCESS_TOKEN", bot.access_token)
        code = main(["apply", "--schedule", str(path), "--quiet"])
    finally:
        mp.undo()
    assert code == 0
    conference = conference_for(path, bot)
    return path, conference, observe_now(bot, conference)


def test_every_room_kind_exists_with_its_settings(applied_sample, bot):
    _path, conference, observed = applied_sample
    schedule = conference.schedule
    conf_id = schedule.conference.id
    assert {room.kind for room in conference.rooms} == set(KINDS)
    assert set(observed.rooms) == {room.key for room in conference.rooms}
    ids = {key: room.room_id for key, room in observed.rooms.items()}
    assert len(set(ids.values())) == len(ids), "one room per conference object"

    for room in conference.rooms:
        state = observed.rooms[room.key].state
        assert state[("m.room.canonical_alias", "")]["alias"] == f"#{room.alias}:localhost"
        assert room.alias.startswith(conf_id)
        assert state[("m.room.name", "")]["name"] == room.name
        assert (GUEST_ACCESS, "") not in state, "no guests is the spec's default: no event for it"
        if room.parent:
            parent_id = ids[room.parent]
            assert state[(SPACE_PARENT, parent_id)]["canonical"] is True
            assert observed.rooms[room.parent].state[(SPACE_CHILD, ids[room.key])]["via"] == ["localhost"]
        levels = state[(POWER_LEVELS, "")]
        assert bot.user_id not in levels.get("users", {}), "room version 12: the creator is not listed"
        for organiser in schedule.staff.organisers:
            assert levels["users"][organiser] == 100
        for moderator in schedule.staff.moderators:
            assert levels["users"][moderator] == 50
        assert levels["events"]["m.reaction"] == 0
        assert observed.rooms[room.key].room_version == "12"

    root = observed.rooms["space"].state
    assert root[("m.room.create", "")]["type"] == "m.space"
    assert root[("m.room.join_rules", "")] == {"join_rule": "invite"}  # space-members: invite to the space

    # Rooms inside the space admit its members.
    track = next(t for t in schedule.tracks if t.stream)
    track_state = observed.rooms[track_key(track.id)].state
    assert track_state[("m.room.join_rules", "")] == {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": ids["space"]}],
    }
    # Every room is listed in the conference space itself: Element shows a room under a space only
    # through spaces the user joined, and attendees join the conference space alone.
    inside = [room for room in conference.rooms if room.key != "space"]
    assert all(room.parent == "space" for room in inside) and not [k for k in ids if k.startswith("space/")]
    orders = [root[(SPACE_CHILD, ids[room.key])]["order"] for room in inside]
    assert [o.split("-")[0] for o in orders] == sorted(o.split("-")[0] for o in orders), "listed by category"
    stream = track_state[(WIDGET, "podium-stream")]
    assert stream["type"] == "m.custom" and f"/widgets/stream/{track.id}" in stream["url"]
    assert stream["creatorUserId"] == bot.user_id
    # One widget on top (the stream page carries now and next), its page linked from the topic
    # for clients that show no widgets.
    assert track_state[(LAYOUT, "")]["widgets"] == {"podium-stream": {"container": "top", "index": 0,
                                                                      "width": 100, "height": 50}}
    assert not track_state.get((WIDGET, "podium-now-next"))
    assert f"/widgets/stream/{track.id} " in track_state[("m.room.topic", "")]["topic"]
    for chair in track.chairs:
        assert track_state[(POWER_LEVELS, "")]["users"][chair] == 50

    backstage = observed.rooms[backstage_key(track.id)].state
    assert backstage[("m.room.join_rules", "")] == {"join_rule": "invite"}
    assert (WIDGET, "podium-qa-board") in backstage

    announcements = observed.rooms["lobby/announcements"].state[(POWER_LEVELS, "")]
    assert announcements["events_default"] == 50 and announcements["events"]["m.reaction"] == 0
    assert observed.rooms["lobby/hallway"].state[(POWER_LEVELS, "")]["events_default"] == 0

    poster = schedule.posters[0]
    poster_state = observed.rooms[poster_key(poster.id)].state
    assert poster_state[(WIDGET, "podium-video")]["type"] == "jitsi"
    assert poster_state[(WIDGET, "podium-video")]["data"]["domain"] == schedule.conference.video.jitsi_domain
    assert poster_breakout_key(poster.id) not in observed.rooms  # one room per poster

    sponsor = schedule.sponsors[0]
    sponsor_state = observed.rooms[sponsor_key(sponsor.id)].state
    assert {(WIDGET, "podium-video"), (WIDGET, "podium-booth")} <= set(sponsor_state)
    for staff in sponsor.staff:
        assert sponsor_state[(POWER_LEVELS, "")]["users"][staff] == 50

    for talk in schedule.talks:
        assert observed.rooms[talk_key(talk.id)].state[("m.room.name", "")]["name"] == talk.title


def test_a_room_made_before_its_join_rule_can_be_set_admits_only_invitees(bot):
    """A join rule that points at a room still to be made follows later; the room is created
    invite-only meanwhile, whatever the preset would choose."""
    action = CreateRoom(f"t{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}-early", "Early", "lobby", False,
                        (("m.room.name", "", {"name": "Early"}),), {"users": {}})

    async def run() -> dict:
        async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
            room_id = await adapter.create_room(create_room_body(action, {}), what="create early")
            return (await adapter.room_state(room_id)).state

    state = asyncio.run(run())
    assert state[(JOIN_RULES, "")] == {"join_rule": "invite"}
    assert (GUEST_ACCESS, "") not in state


def test_speakers_are_invited_to_backstage_and_breakout(applied_sample):
    _path, conference, observed = applied_sample
    talk = next(t for t in conference.schedule.talks if any(p.matrix_id for p in t.speakers))
    speaker = next(p.matrix_id for p in talk.speakers if p.matrix_id)
    assert observed.memberships[(talk_key(talk.id), speaker)] == "invite"
    assert observed.memberships[(backstage_key(talk.track), speaker)] == "invite"
    assert observed.memberships[("space", speaker)] == "invite"


def test_second_apply_writes_nothing_and_plan_exits_0(applied_sample, bot, proxy, monkeypatch, capsys):
    path, _conference, _observed = applied_sample
    code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, err
    assert proxy.writes() == [], "a converged conference needs no writes"
    assert "No changes" in out
    code, out, _ = podium(monkeypatch, capsys, bot, proxy.base_url, "plan", "--schedule", str(path))
    assert code == 0
    assert "No changes" in out
    assert proxy.writes() == []
    # The second look reads only what changed since the first: one incremental /sync, and no
    # membership look-ups for invitations already seen.
    proxy.reset()
    code, out, _ = podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0 and proxy.writes() == []
    syncs = [p for m, p in proxy.requests if "/sync" in p]
    assert len(syncs) == 1 and "since=" in syncs[0]
    assert not [p for m, p in proxy.requests if "/state/m.room.member/" in p]
    assert len(proxy.requests) == 3  # whoami, capabilities, /sync


def test_stale_sync_token_falls_back_to_a_full_read(applied_sample, bot, synapse, monkeypatch, capsys):
    import os

    from bot.store.database import Store

    path, _conference, _observed = applied_sample
    store = Store(Path(os.environ["PODIUM_DATA_DIR"]))
    account = Store.account(bot.user_id, synapse.base_url)
    snapshot = store.load_snapshot(account)
    snapshot.since = "s_not_a_real_token"
    snapshot.rooms.clear()
    store.save_snapshot(account, snapshot)
    store.close()
    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path))
    assert code == 0 and "No changes" in out


def test_editing_a_title_and_a_stream_changes_exactly_those_rooms(tmp_path, bot, synapse, proxy, sample_people,
                                                                  monkeypatch, capsys):
    path, _ = write_schedule(tmp_path, a_few_of_each)
    assert podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")[0] == 0
    data = yaml.safe_load(path.read_text())
    talk = data["talks"][0]
    track = next(t for t in data["tracks"] if t.get("stream"))

    def edit(d):
        d["talks"][0]["title"] = "A new title with <b>markup</b> & \"quotes\""
        next(t for t in d["tracks"] if t["id"] == track["id"])["stream"] = "https://video.example.org/embed/new"

    rewrite(path, edit)
    code, out, _ = podium(monkeypatch, capsys, bot, proxy.base_url, "plan", "--schedule", str(path))
    assert code == 2
    assert "A new title with <b>markup</b>" in out
    proxy.reset()
    assert podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")[0] == 0
    conference = conference_for(path, bot)
    observed = observe_now(bot, conference)
    ids = {key: room.room_id for key, room in observed.rooms.items()}
    written = {(p.split("/rooms/")[1].split("/")[0].replace("%21", "!").replace("%3A", ":"),
                p.split("/state/")[1].split("/")[0]) for m, p in proxy.writes()}
    assert written == {(ids[talk_key(talk["id"])], "m.room.name"), (ids[track_key(track["id"])], WIDGET)}
    assert observed.rooms[talk_key(talk["id"])].state[("m.room.name", "")]["name"].startswith("A new title")
    widget = observed.rooms[track_key(track["id"])].state[(WIDGET, "podium-stream")]
    assert widget["data"]["kind"] == "iframe"


def test_rooms_damaged_by_hand_are_repaired(tmp_path, bot, synapse, sample_people, monkeypatch, capsys):
    path, _ = write_schedule(tmp_path, a_few_of_each)
    assert podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")[0] == 0
    conference = conference_for(path, bot)
    before = observe_now(bot, conference)
    track = next(t for t in conference.schedule.tracks if t.stream)
    track_room = before.rooms[track_key(track.id)]
    hallway = before.rooms["lobby/hallway"]
    hallway_alias = next(room.alias for room in conference.rooms if room.key == "lobby/hallway")
    moderator = conference.schedule.staff.moderators[0]

    put_state(bot, hallway.room_id, "m.room.topic", "", {"topic": "vandalised"})
    put_state(bot, track_room.room_id, WIDGET, "podium-stream", {})
    levels = dict(hallway.state[(POWER_LEVELS, "")])
    levels["users"] = {**levels["users"], moderator: 0, "@someone-else:localhost": 20}
    levels["events_default"] = 100
    put_state(bot, hallway.room_id, POWER_LEVELS, "", levels)
    put_state(bot, hallway.room_id, GUEST_ACCESS, "", {"guest_access": "can_join"})
    # Not damage Podium can repair: encryption stays. It is reported, with what to do.
    put_state(bot, hallway.room_id, ENCRYPTION, "", {"algorithm": "m.megolm.v1.aes-sha2"})

    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path))
    assert code == 2
    assert "'vandalised' →" in out
    assert "power levels differ" in out and "events_default 100 → 0" in out
    assert "guest_access: 'can_join' → 'forbidden'" in out
    encrypted = [line for line in out.splitlines() if "end-to-end encrypted" in line]
    assert encrypted == [f"! #{hallway_alias}:localhost  [lobby/hallway]: end-to-end encrypted: the bot cannot read "
                         "commands or votes there"]
    assert "encryption_enabled_by_default_for_room_type" in out
    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0
    assert [line.strip() for line in out.splitlines() if "end-to-end encrypted" in line] == [e.strip() for e in encrypted]
    after = observe_now(bot, conference)
    assert after.rooms["lobby/hallway"].state[("m.room.topic", "")] == before.rooms["lobby/hallway"].state[("m.room.topic", "")]
    assert after.rooms[track_key(track.id)].state[(WIDGET, "podium-stream")] == track_room.state[(WIDGET, "podium-stream")]
    repaired = after.rooms["lobby/hallway"].state[(POWER_LEVELS, "")]
    assert repaired["users"][moderator] == 50 and repaired["events_default"] == 0
    assert repaired["users"]["@someone-else:localhost"] == 20, "levels Podium does not own are kept"
    assert after.rooms["lobby/hallway"].state[(GUEST_ACCESS, "")] == {"guest_access": "forbidden"}
    assert podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path))[0] == 0


def test_removed_talk_is_reported_and_pruned(tmp_path, bot, synapse, sample_people, monkeypatch, capsys):
    path, _ = write_schedule(tmp_path, a_few_of_each)
    assert podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")[0] == 0
    dropped = yaml.safe_load(path.read_text())["talks"][-1]
    rewrite(path, lambda d: d["talks"].pop())
    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path))
    # Without --prune a dropped talk keeps its rooms; its speaker, who speaks at no other talk of
    # the track, loses the backstage invitation Podium sent, and nothing else changes.
    speaker = dropped["speakers"][0]["matrix_id"]
    assert code == 2 and f"withdraw the invitation of {speaker}: no talk in this track any more" in out, out
    assert "0 rooms to create, 0 state events to set, 0 invites, 1 invitation to withdraw" in out, out
    assert f"[talk/{dropped['id']}]: no longer in the schedule (--prune archives it)" in out
    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--prune", "--quiet")
    assert code == 0
    conference = conference_for(path, bot)
    observed = observe_now(bot, conference)
    assert talk_key(dropped["id"]) in observed.rooms  # archived, not deleted
    archived = observed.rooms[talk_key(dropped["id"])]
    assert archived.locator["archived"] is True
    assert archived.state[("m.room.name", "")]["name"].startswith("[archived] ")
    space = observed.rooms["space"].state
    assert not space.get((SPACE_CHILD, archived.room_id)), "unlinked from its space"
    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(path), "--prune")
    assert code == 0 and "No changes" in out
