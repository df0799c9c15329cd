"""Which rooms a restricted room admits the members of, read from its ``m.room.join_rules``
content: the spaces whose pending invitation ``bot.synapse_joins`` may accept for a person who
joins the room directly."""

from __future__ import annotations

import pytest

pytest.importorskip("synapse")
from bot.synapse_joins import rooms_allowing_join  # noqa: E402

SPACE = "!space:example.org"
OTHER = "!other:example.org"


def membership_of(room_id):
    return {"type": "m.room_membership", "room_id": room_id}


@pytest.mark.parametrize("rule", ["restricted", "knock_restricted"])
def test_a_restricted_rule_admits_the_rooms_its_allow_list_names_in_order(rule):
    content = {"join_rule": rule, "allow": [membership_of(SPACE), membership_of(OTHER)]}
    assert rooms_allowing_join(content) == (SPACE, OTHER)


@pytest.mark.parametrize("rule", ["public", "invite", "knock", "private", None])
def test_other_rules_admit_nobody_by_membership_even_with_an_allow_list(rule):
    assert rooms_allowing_join({"join_rule": rule, "allow": [membership_of(SPACE)]}) == ()


def test_a_room_named_twice_is_given_once():
    assert rooms_allowing_join({"join_rule": "restricted", "allow": [membership_of(SPACE)] * 2}) == (SPACE,)


@pytest.mark.parametrize("allow", [
    None, "!space:example.org", {"room_id": SPACE},
    [{"type": "m.other_rule", "room_id": SPACE}], [{"type": "m.room_membership"}],
    [{"type": "m.room_membership", "room_id": 7}], ["!space:example.org"], [None],
])
def test_malformed_allow_lists_and_entries_admit_nobody(allow):
    assert rooms_allowing_join({"join_rule": "restricted", "allow": allow}) == ()


def test_a_malformed_entry_leaves_the_well_formed_ones():
    content = {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}, membership_of(SPACE)]}
    assert rooms_allowing_join(content) == (SPACE,)


def test_no_content_admits_nobody():
    assert rooms_allowing_join({}) == ()
