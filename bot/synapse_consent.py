"""A Synapse module that makes sure Element sees a person's consent to load one of Podium's widgets,
so the widget's tile shows its page after the person presses "Continue" instead of staying on
"Loading…" for good.

Why a homeserver module: Element Web (1.11.88 at least) saves the consent as room account data
(``im.vector.setting.allowed_widgets``) and only *after* that write has returned starts listening
for the write's echo in /sync. When the echo comes first (a busy homeserver, a slow network, a
loaded laptop) it is never seen: the tile never asks for its page, until the room is left and
opened again. Element takes any later write of that account data in the room as the echo; so when
a local user consents to a widget the bot pinned, this module writes the consent again, unchanged,
a moment later and once more after that. The second copy arrives after Element listens.

It runs inside the homeserver, not the bot, and imports nothing of Podium's: copy this one file
onto Synapse's Python path (or install Podium beside Synapse) and add to ``homeserver.yaml``::

    modules:
      - module: bot.synapse_consent.RepeatWidgetConsent
        config:
          bot: "@podium:example.org"   # the bot's account: only consents to its widgets are repeated

What it writes, and why no more:

- only consents **to widgets the bot's account pinned** (the widget state event's sender, which the
  homeserver checked): a consent to anyone else's widget is left as the person's client wrote it;
- only **the person's own latest consent**, read again just before each copy: a consent withdrawn
  in between stays withdrawn;
- only **local users'** account data: it is the homeserver's own;
- on whichever process writes account data (the module is loaded everywhere; Synapse calls it only
  where the write happens).
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import ModuleApi
from synapse.module_api.errors import ConfigError

log = logging.getLogger(__name__)

#: The room account data where Element keeps which widgets a person allowed to load.
ALLOWED_WIDGETS = "im.vector.setting.allowed_widgets"
#: The state event types of room widgets: Element's and the spec's.
WIDGET_TYPES = ("im.vector.modular.widgets", "m.widget")
#: Pauses before each copy of a consent (seconds): the first covers a client that handled the
#: write's answer within a second of its echo, the second a slow network's.
REPEAT_PAUSES = (1.0, 4.0)


def granted_widget_events(content: dict[str, Any]) -> set[str]:
    """The widget state events a consent allows (Element writes ``{event_id: true|false}``)."""
    return {event_id for event_id, allowed in content.items() if allowed is True and isinstance(event_id, str)}


class RepeatWidgetConsent:
    def __init__(self, config: dict[str, Any], api: ModuleApi):
        self._api = api
        self._bot = config["bot"]
        # (user, room) whose consent is being repeated; the copy being written right now (it passes
        # through the same callback); and those who consented again meanwhile.
        self._repeating: set[tuple[str, str]] = set()
        self._writing: dict[tuple[str, str], dict[str, Any]] = {}
        self._again: set[tuple[str, str]] = set()
        api.register_account_data_callbacks(on_account_data_updated=self.on_account_data_updated)

    @staticmethod
    def parse_config(config: dict[str, Any]) -> dict[str, Any]:
        bot = config.get("bot")
        if not isinstance(bot, str) or not bot.startswith("@") or ":" not in bot:
            raise ConfigError("bot.synapse_consent: 'bot' must be the bot's Matrix ID, e.g. \"@podium:example.org\"")
        return {"bot": bot}

    async def on_account_data_updated(self, user_id: str, room_id: str | None, data_type: str,
                                      content: dict[str, Any]) -> None:
        key = (user_id, room_id or "")
        if (data_type != ALLOWED_WIDGETS or room_id is None or self._writing.get(key) == content
                or not self._api.is_mine(user_id)):
            return
        granted = granted_widget_events(content)
        if not granted or not await self._pinned_by_bot(room_id, granted):
            return
        if key in self._repeating:
            self._again.add(key)  # a new consent while the last is repeated: one more round after it
            return
        self._repeating.add(key)
        self._api.run_as_background_process("podium_repeat_widget_consent", self._repeat, user_id, room_id)

    async def _pinned_by_bot(self, room_id: str, event_ids: set[str]) -> bool:
        state = await self._api.get_room_state(room_id, [(kind, None) for kind in WIDGET_TYPES])
        return any(event.event_id in event_ids and event.sender == self._bot for event in state.values())

    async def _repeat(self, user_id: str, room_id: str) -> None:
        key = (user_id, room_id)
        try:
            while True:
                self._again.discard(key)
                for pause in REPEAT_PAUSES:
                    await self._api.sleep(pause)
                    await self._write_again(user_id, room_id)
                if key not in self._again:
                    return
        except Exception as exc:  # noqa: BLE001 - a copy that fails leaves the person's own write as it is
            log.warning("could not repeat %s's widget consent in %s: %s", user_id, room_id, exc)
        finally:
            self._repeating.discard(key)
            self._again.discard(key)

    async def _write_again(self, user_id: str, room_id: str) -> None:
        # The module API reads and writes only global account data; room account data goes through
        # the same store and handler Synapse's own client API uses (and notifies /sync the same way).
        current = await self._api._store.get_account_data_for_room_and_type(user_id, room_id, ALLOWED_WIDGETS)
        if current is None:
            return
        copy = dict(current)
        self._writing[(user_id, room_id)] = copy
        try:
            await self._api._account_data_handler.add_account_data_to_room(user_id, room_id, ALLOWED_WIDGETS, copy)
        finally:
            del self._writing[(user_id, room_id)]
