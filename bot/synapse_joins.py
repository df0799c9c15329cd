"""A Synapse module that joins the people Podium invites into the conference's rooms, so staff and
speakers find their backstages, helpdesk rooms and booths already joined instead of accepting
an invitation for each (an organiser of a ten-track conference would otherwise accept ten or
more one by one).

It runs inside the homeserver, not the bot, and imports nothing of Podium's: copy this one file
onto Synapse's Python path (or install Podium beside Synapse) and add to ``homeserver.yaml``::

    modules:
      - module: bot.synapse_joins.JoinPodiumInvitations
        config:
          inviter: "@podium:example.org"   # the bot's account: only its invitations are joined
          # worker: "worker1"              # with workers: the one process that joins (default: main)

What it joins, and why no more:

- only invitations **sent by the bot's account** (``inviter``): the sender of an event is what the
  homeserver itself checked, where a field in the event's content could be written by anyone. An
  attendee inviting others to a room of their own still needs them to accept;
- only **local, active** users: a remote user's server decides for them;
- **not spaces**: the invitation to the conference itself stays a person's own decision, the one
  step they take; the rooms beneath it follow;
- **not direct chats**: the bot's private replies arrive as an invitation the person opens.

Someone who leaves a room stays out: Podium never invites again a person who left.
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import EventBase, ModuleApi
from synapse.module_api.errors import ConfigError

log = logging.getLogger(__name__)

#: Pauses between attempts to join (seconds): a join can race the invitation's own persistence
#: on a busy homeserver; five tries over half a minute, then the invitation is left as it is.
RETRY_PAUSES = (0, 1, 2, 4, 8)


class JoinPodiumInvitations:
    def __init__(self, config: dict[str, Any], api: ModuleApi):
        self._api = api
        self._inviter = config["inviter"]
        if config.get("worker") != api.worker_name:
            log.info("not joining Podium's invitations on this process (configured: %r, here: %r)",
                     config.get("worker"), api.worker_name)
            return
        api.register_third_party_rules_callbacks(on_new_event=self.on_new_event)
        log.info("joining local users invited by %s into its rooms", self._inviter)

    @staticmethod
    def parse_config(config: dict[str, Any]) -> dict[str, Any]:
        inviter = config.get("inviter")
        if not isinstance(inviter, str) or not inviter.startswith("@") or ":" not in inviter:
            raise ConfigError("bot.synapse_joins: 'inviter' must be the bot's Matrix ID, e.g. \"@podium:example.org\"")
        worker = config.get("worker")
        if worker is not None and not isinstance(worker, str):
            raise ConfigError("bot.synapse_joins: 'worker' must be a worker's name, or left out for the main process")
        return {"inviter": inviter, "worker": worker}

    async def on_new_event(self, event: EventBase, *_: Any) -> None:
        if (event.type != "m.room.member" or not event.is_state() or event.membership != "invite"
                or event.sender != self._inviter or not self._api.is_mine(event.state_key)
                or event.content.get("is_direct") is True):
            return
        user = await self._api.get_userinfo_by_id(event.state_key)
        if user is None or user.is_deactivated or getattr(user, "locked", False) or getattr(user, "suspended", False):
            return
        if await self._is_space(event.room_id):
            return
        self._api.run_as_background_process("podium_join_invitation", self._join, event.state_key, event.room_id)

    async def _is_space(self, room_id: str) -> bool:
        state = await self._api.get_room_state(room_id, [("m.room.create", "")])
        create = state.get(("m.room.create", ""))
        return create is not None and create.content.get("type") == "m.space"

    async def _join(self, user_id: str, room_id: str) -> None:
        for attempt, pause in enumerate(RETRY_PAUSES, 1):
            await self._api.sleep(pause)
            try:
                await self._api.update_room_membership(sender=user_id, target=user_id, room_id=room_id,
                                                       new_membership="join")
                return
            except Exception as exc:  # noqa: BLE001 - Synapse raises several kinds; each is retried the same
                log.info("joining %s to %s (attempt %d of %d): %s", user_id, room_id, attempt, len(RETRY_PAUSES), exc)
        log.warning("left %s invited to %s: joining failed %d times", user_id, room_id, len(RETRY_PAUSES))
