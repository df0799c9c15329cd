"""The planner and the desired rooms as pure functions: no homeserver, just data.

A small in-memory executor plays a plan onto observed state the way a homeserver stores it, so
convergence (plan -> apply -> plan is empty) can be checked for many drifts quickly.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conference.schedule import parse_schedule
from bot.provisioning.desired import desired_rooms
from bot.provisioning.planner import CreateRoom, SetState, creator_has_power, plan, resolve
from bot.roomstate.state import (
    GUEST_ACCESS,
    LOCATOR,
    POWER_LEVELS,
    SPACE_CHILD,
    WIDGET,
    Observed,
)
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates, TemplateProblem
from tests.support.planner import BOT, SAMPLE, SETTINGS, fresh_plan, play, sample_rooms

def test_fresh_conference_two_writes_per_room_and_dependencies_first():
    rooms = sample_rooms()
    the_plan = fresh_plan(rooms)
    creates = [a for a in the_plan.actions if isinstance(a, CreateRoom)]
    links = [a for a in the_plan.actions if isinstance(a, SetState)]
    assert len(creates) == len(rooms)
    assert all(a.event_type == SPACE_CHILD for a in links)
    assert len(links) == len(rooms) - 1  # every room but the conference space is linked once
    done: set[str] = set()
    for action in the_plan.actions:
        if isinstance(action, CreateRoom):
            for _t, state_key, content in action.initial_state:
                refs = [state_key] if not isinstance(state_key, str) else []
                for ref in refs:
                    assert ref.key in done, f"{action.key} refers to {ref.key} before it exists"
                resolve(content, {k: k for k in done})  # raises KeyError on a forward reference
            done.add(action.key)
        elif isinstance(action, SetState):
            assert action.key in done and action.state_key.key in done


def test_applied_plan_converges_and_second_plan_is_empty():
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    again = plan(rooms, observed, bot_user_id=BOT, room_version="12")
    assert again.actions == [] and again.orphans == []


def test_old_room_versions_list_the_creator_only_at_creation():
    rooms = sample_rooms()
    creates = [a for a in fresh_plan(rooms, version="10").actions if isinstance(a, CreateRoom)]
    assert all(a.power_levels["users"][BOT] == 100 for a in creates)
    creates = [a for a in fresh_plan(rooms, version="12").actions if isinstance(a, CreateRoom)]
    assert all(BOT not in a.power_levels["users"] for a in creates)
    assert all(BOT not in room.state[(POWER_LEVELS, "")]["users"] for room in rooms)


def test_state_at_the_spec_default_is_not_sent_and_a_room_without_it_matches():
    rooms = sample_rooms()
    assert all(room.state[(GUEST_ACCESS, "")] == {"guest_access": "forbidden"} for room in rooms)
    creates = [a for a in fresh_plan(rooms).actions if isinstance(a, CreateRoom)]
    assert not [a.key for a in creates if any(t == GUEST_ACCESS for t, _, _ in a.initial_state)]

    observed = play(fresh_plan(rooms), Observed())
    assert plan(rooms, observed, bot_user_id=BOT, room_version="12").actions == []
    hallway = observed.rooms["lobby/hallway"]
    hallway.state[(GUEST_ACCESS, "")] = {"guest_access": "can_join"}  # opened by hand
    [repair] = plan(rooms, observed, bot_user_id=BOT, room_version="12").actions
    assert (repair.key, repair.event_type, repair.content) == ("lobby/hallway", GUEST_ACCESS, {"guest_access": "forbidden"})

    # A template that lets guests in needs the event, at creation and as a repair.
    can_join = {"guest_access": "can_join"}
    opened = [dataclasses.replace(room, state={**room.state, (GUEST_ACCESS, ""): can_join}) for room in rooms]
    creates = [a for a in fresh_plan(opened).actions if isinstance(a, CreateRoom)]
    assert all((GUEST_ACCESS, "", can_join) in a.initial_state for a in creates)
    missing = plan(opened, observed, bot_user_id=BOT, room_version="12").actions
    assert {a.key for a in missing if a.event_type == GUEST_ACCESS and a.content == can_join} == (
        set(observed.rooms) - {"lobby/hallway"}), "every room but the one opened by hand"


def test_encrypted_rooms_are_reported_not_repaired():
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    observed.rooms["lobby/jobs"].state[("m.room.encryption", "")] = {"algorithm": "m.megolm.v1.aes-sha2"}
    again = plan(rooms, observed, bot_user_id=BOT, room_version="12")
    assert again.actions == [] and again.encrypted == ["lobby/jobs"]


@pytest.mark.parametrize("version,has", [("1", False), ("10", False), ("11", False), ("12", True), ("13", True),
                                         ("org.matrix.hydra.11", True), ("org.example.custom", False)])
def test_creator_power_by_room_version(version, has):
    assert creator_has_power(version) is has


def test_power_levels_compare_as_subset_and_repair_keeps_others():
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    hallway = observed.rooms["lobby/hallway"]
    levels = hallway.state[(POWER_LEVELS, "")]
    levels["users"]["@guest-speaker:example.org"] = 50  # granted by someone else: not drift
    assert plan(rooms, observed, bot_user_id=BOT, room_version="12").actions == []
    levels["users"]["@moderator:localhost"] = 0
    levels["events"]["m.reaction"] = 50
    actions = plan(rooms, observed, bot_user_id=BOT, room_version="12").actions
    assert [(a.key, a.event_type) for a in actions] == [("lobby/hallway", POWER_LEVELS)]
    repaired = actions[0].content
    assert repaired["users"]["@moderator:localhost"] == 50
    assert repaired["users"]["@guest-speaker:example.org"] == 50
    assert repaired["events"]["m.reaction"] == 0
    assert "m.reaction 50 → 0" in actions[0].reason


def test_widgets_the_template_dropped_are_removed_but_foreign_ones_kept():
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    track = observed.rooms["track/forum"]
    track.state[(WIDGET, "old-podium-widget")] = {"id": "old", "url": "https://x", "creatorUserId": BOT}
    track.state[(WIDGET, "organisers-own")] = {"id": "own", "url": "https://y", "creatorUserId": "@organiser:localhost"}
    actions = plan(rooms, observed, bot_user_id=BOT, room_version="12").actions
    assert [(a.key, a.state_key, a.content) for a in actions] == [("track/forum", "old-podium-widget", {})]


def test_unchanged_widget_is_never_rewritten_even_if_keys_reordered():
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    widget = observed.rooms["track/forum"].state[(WIDGET, "podium-stream")]
    observed.rooms["track/forum"].state[(WIDGET, "podium-stream")] = dict(reversed(list(widget.items())))
    assert plan(rooms, observed, bot_user_id=BOT, room_version="12").actions == []


def test_new_talk_in_existing_conference_creates_one_room_and_one_link():
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    text = SAMPLE.replace("talks:\n", "talks:\n  - {id: late-addition, track: south, title: Late, "
                          "start: \"2026-07-15 21:00\", duration: 20}\n", 1)
    actions = plan(sample_rooms(text), observed, bot_user_id=BOT, room_version="12").actions
    assert [type(a).__name__ for a in actions] == ["CreateRoom", "SetState"]
    assert actions[0].key == "talk/late-addition" and actions[1].key == "space"


def test_dropped_talk_is_an_orphan_and_prune_archives_it():
    rooms = sample_rooms()
    observed = play(fresh_plan(rooms), Observed())
    dropped = rooms[-1]
    remaining = [r for r in rooms if r.key != dropped.key]
    for room in remaining:  # the parent space no longer wants the link; that alone is not drift
        room.state.pop((SPACE_CHILD, next((sk for t, sk in room.state if t == SPACE_CHILD and getattr(sk, "key", None) == dropped.key), None)), None)
    kept = plan(remaining, observed, bot_user_id=BOT, room_version="12")
    assert kept.actions == [] and [o.key for o in kept.orphans] == [dropped.key]
    pruned = plan(remaining, observed, bot_user_id=BOT, room_version="12", prune=True)
    archived = play(pruned, observed)
    assert archived.rooms[dropped.key].locator["archived"] is True
    assert plan(remaining, archived, bot_user_id=BOT, room_version="12", prune=True).actions == []


_SAMPLE_ROOMS = sample_rooms()
_CONVERGED = (_SAMPLE_ROOMS, play(fresh_plan(_SAMPLE_ROOMS), Observed()))
MANAGED_EVENTS = st.sampled_from(["m.room.name", "m.room.topic", "m.room.join_rules", POWER_LEVELS, WIDGET,
                                  "io.element.widgets.layout", LOCATOR, "m.space.parent", SPACE_CHILD])


@settings(max_examples=60, deadline=None)
@given(damage=st.lists(st.tuples(st.integers(0, 10_000), MANAGED_EVENTS, st.booleans()), max_size=12))
def test_any_damage_is_repaired_in_one_pass(damage):
    rooms = _CONVERGED[0]
    observed = copy.deepcopy(_CONVERGED[1])
    keys = sorted(observed.rooms)
    for index, event_type, remove in damage:
        room = observed.rooms[keys[index % len(keys)]]
        candidates = sorted((k for k in room.state if k[0] == event_type), key=str)
        if not candidates:
            continue
        state_id = candidates[index % len(candidates)]
        room.state[state_id] = {} if remove else {**room.state[state_id], "vandal": index}
    repaired = play(plan(rooms, observed, bot_user_id=BOT, room_version="12"), observed)
    # Extra keys in power levels are someone else's business; everything else must match again.
    assert [a for a in plan(rooms, repaired, bot_user_id=BOT, room_version="12").actions] == []


def test_user_text_is_data_not_template_or_yaml():
    data = yaml.safe_load(SAMPLE)
    data["talks"][0]["title"] = "{{ 7 * 7 }} ]: {evil: yes} <script>"
    rooms = sample_rooms(yaml.safe_dump(data))
    names = [r.name for r in rooms if r.kind == "breakout"]
    assert "{{ 7 * 7 }} ]: {evil: yes} <script>" in names


def test_broken_templates_are_reported(tmp_path):
    for path in (BUNDLED_TEMPLATES).glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "track.yaml").write_text((tmp_path / "track.yaml").read_text().replace("{{ track.name }}", "{{ track.nmae }}", 1))
    with pytest.raises(TemplateProblem, match="track.yaml.*nmae"):
        desired_rooms(parse_schedule(SAMPLE), RoomTemplates.load(tmp_path), SETTINGS)
    (tmp_path / "sponsor.yaml").unlink()
    with pytest.raises(TemplateProblem, match="sponsor.yaml: missing room template"):
        RoomTemplates.load(tmp_path)
