"""The consent module's configuration and what it reads of a consent: the class path the embedded
homeserver writes names it, a missing or malformed ``bot`` stops Synapse at start with a sentence
saying what to write, and only widgets marked ``true`` count as allowed."""

from __future__ import annotations

import importlib

import pytest

from bot.homeserver import WIDGET_CONSENT_MODULE, EmbeddedSynapse

pytest.importorskip("synapse")
from synapse.module_api.errors import ConfigError  # noqa: E402

from bot.synapse_consent import ALLOWED_WIDGETS, REPEAT_PAUSES, RepeatWidgetConsent, granted_widget_events  # noqa: E402


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


class _Homeserver:
    """Just what the module asks of Synapse, in memory: the room's widgets, one person's consent,
    the writes (each passed to the module's callback, as Synapse does) and pauses that end at once."""

    def __init__(self, bot: str, widgets: dict[str, str]):
        self.widgets = widgets  # event id -> sender
        self.consent: dict | None = None
        self.copies: list[dict] = []
        self.during_copy = None  # called while copy number ``during_copy_at`` is written, as a person's write lands
        self.during_copy_at = len(REPEAT_PAUSES)
        self.module: RepeatWidgetConsent | None = None
        self.tasks: list = []
        self._store = self
        self._account_data_handler = self

    # ModuleApi
    def register_account_data_callbacks(self, on_account_data_updated):
        pass

    def is_mine(self, user_id: str) -> bool:
        return user_id.endswith(":localhost")

    async def get_room_state(self, room_id, event_filter):
        from types import SimpleNamespace
        return {("im.vector.modular.widgets", event_id): SimpleNamespace(event_id=event_id, sender=sender)
                for event_id, sender in self.widgets.items()}

    def run_as_background_process(self, desc, func, *args):
        import asyncio
        self.tasks.append(asyncio.ensure_future(func(*args)))

    async def sleep(self, seconds):
        pass

    # the store and the handler
    async def get_account_data_for_room_and_type(self, user_id, room_id, data_type):
        return self.consent

    async def add_account_data_to_room(self, user_id, room_id, data_type, content):
        self.copies.append(dict(content))
        await self.module.on_account_data_updated(user_id, room_id, data_type, content)
        if self.during_copy is not None and len(self.copies) == self.during_copy_at:
            during, self.during_copy = self.during_copy, None
            await during()

    async def person_writes(self, content: dict) -> None:
        self.consent = content
        await self.module.on_account_data_updated("@ann:localhost", "!room:localhost", ALLOWED_WIDGETS, content)


async def _settle(homeserver: _Homeserver) -> None:
    import asyncio
    while not all(task.done() for task in homeserver.tasks):
        await asyncio.sleep(0)


async def test_a_consent_given_while_the_last_is_repeated_is_repeated_too():
    homeserver = _Homeserver("@podium:localhost", {"$stream": "@podium:localhost", "$now": "@podium:localhost"})
    homeserver.module = RepeatWidgetConsent({"bot": "@podium:localhost"}, homeserver)
    await homeserver.person_writes({"$stream": True})
    # The second consent lands while the first one's last copy is written, after that copy read it.
    homeserver.during_copy = lambda: homeserver.person_writes({"$stream": True, "$now": True})
    await _settle(homeserver)
    assert homeserver.copies[:len(REPEAT_PAUSES)] == [{"$stream": True}] * len(REPEAT_PAUSES)
    assert homeserver.copies[len(REPEAT_PAUSES):] == [{"$stream": True, "$now": True}] * len(REPEAT_PAUSES)


async def test_consents_to_others_widgets_and_withdrawals_are_not_repeated():
    homeserver = _Homeserver("@podium:localhost", {"$theirs": "@mallory:localhost", "$stream": "@podium:localhost"})
    homeserver.module = RepeatWidgetConsent({"bot": "@podium:localhost"}, homeserver)
    await homeserver.person_writes({"$theirs": True})
    await homeserver.person_writes({"$stream": False})
    await _settle(homeserver)
    assert homeserver.copies == []
