"""The consent module's configuration and what it reads of a consent: the class path the embedded
homeserver writes names it, a missing or malformed ``bot`` stops Synapse at start with a sentence
saying what to write, and only widgets marked ``true`` count as allowed."""

from __future__ import annotations

import importlib

import pytest

from bot.homeserver import WIDGET_CONSENT_MODULE, EmbeddedSynapse

pytest.importorskip("synapse")
from synapse.module_api.errors import ConfigError  # noqa: E402

from bot.synapse_consent import RepeatWidgetConsent, granted_widget_events  # noqa: E402


def test_the_path_the_homeserver_config_names_is_the_module():
    module, _, name = WIDGET_CONSENT_MODULE.rpartition(".")
    assert getattr(importlib.import_module(module), name) is RepeatWidgetConsent


@pytest.mark.parametrize("config", [{}, {"bot": "podium"}, {"bot": 7}, {"bot": "@podium"}])
def test_a_bad_config_says_what_to_write(config):
    with pytest.raises(ConfigError, match="bot.synapse_consent: 'bot' must be the bot's Matrix ID"):
        RepeatWidgetConsent.parse_config(config)


def test_a_good_config_is_kept():
    assert RepeatWidgetConsent.parse_config({"bot": "@podium:example.org"}) == {"bot": "@podium:example.org"}


def test_only_widgets_marked_true_are_allowed():
    assert granted_widget_events({"$a": True, "$b": False, "$c": "yes", "$d": 1}) == {"$a"}
    assert granted_widget_events({}) == set()


def test_the_embedded_homeserver_loads_both_modules_for_the_bot(tmp_path):
    config = EmbeddedSynapse(tmp_path, join_invitations_from="@podium:localhost",
                             widget_consent_from="@podium:localhost")._config_text()
    assert config.count("modules:") == 1
    assert f"module: {WIDGET_CONSENT_MODULE}" in config and 'bot: "@podium:localhost"' in config
