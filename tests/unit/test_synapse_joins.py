"""The Synapse module's configuration: the class path the embedded homeserver writes names it,
and a missing or malformed ``inviter`` stops Synapse at start with a sentence saying what to write."""

from __future__ import annotations

import importlib

import pytest

from bot.homeserver import JOIN_INVITATIONS_MODULE

pytest.importorskip("synapse")
from synapse.module_api.errors import ConfigError  # noqa: E402

from bot.synapse_joins import JoinPodiumInvitations  # noqa: E402


def test_the_path_the_homeserver_config_names_is_the_module():
    module, _, name = JOIN_INVITATIONS_MODULE.rpartition(".")
    assert getattr(importlib.import_module(module), name) is JoinPodiumInvitations


@pytest.mark.parametrize("config", [{}, {"inviter": "podium"}, {"inviter": 7}, {"inviter": "@podium"},
                                    {"inviter": "@podium:example.org", "worker": ["w1"]}])
def test_a_bad_config_says_what_to_write(config):
    with pytest.raises(ConfigError, match="bot.synapse_joins: '(inviter|worker)' must be"):
        JoinPodiumInvitations.parse_config(config)


def test_a_good_config_is_kept():
    assert JoinPodiumInvitations.parse_config({"inviter": "@podium:example.org"}) == {
        "inviter": "@podium:example.org", "worker": None}
    assert JoinPodiumInvitations.parse_config({"inviter": "@podium:example.org", "worker": "w1"})["worker"] == "w1"
