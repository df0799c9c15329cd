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
          # worker: "worker1"              # with workers: the one process that joins invitations
          #                                # as they arrive (default: main)

What it joins, and why no more:

- only invitations **sent by the bot's account** (``inviter``): the sender of an event is what the
  homeserver itself checked, where a field in the event's content could be written by anyone. An
  attendee inviting others to a room of their own still needs them to accept;
- only **local, active** users: a remote user's server decides for them;
- **not spaces**: the invitation to the conference itself stays a person's own decision, the one
  step they take (joining one of its rooms is taking it, below); the rooms beneath it follow;
- **not direct chats**: the bot's private replies arrive as an invitation the person opens.

Someone who leaves a room stays out: Podium never invites again a person who left.

A person who opens one of the conference's rooms (a link to a track) before accepting the
conference's invitation asks to join a room restricted to the space's members while only invited
to the space: Synapse would refuse with "[403] You do not belong to any of the required
rooms/spaces". Their join is their intent to enter the conference, so when a local user asks to
join a room whose join rule is ``restricted`` (or ``knock_restricted``) and whose allow list
names a space **the bot's account created** (the conference's own) holding their pending
invitation, the module accepts that invitation first, and the room's join then passes. Who sent
it does not matter there: in the conference's space only those its power levels allow may invite
(the bot, organisers, staff), which the homeserver checked when the invitation was sent. Nobody is
joined into anyone else's space; without an invitation the join is refused as before. This runs in the spam checker's
``user_may_join_room``, which Synapse calls before it checks the restricted join rule's allowed
rooms, on whichever process handles the join (``worker`` names only the process that joins the
invitations as they arrive).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from synapse.module_api import NOT_SPAM, EventBase, ModuleApi
from synapse.module_api.errors import ConfigError

log = logging.getLogger(__name__)

#: Pauses between attempts to join (seconds): a join can race the invitation's own persistence
#: on a busy homeserver; five tries over half a minute, then the invitation is left as it is.
RETRY_PAUSES = (0, 1, 2, 4, 8)
#: Join rules whose allow list admits the members of other rooms (the conference's space).
RESTRICTED_RULES = ("restricted", "knock_restricted")


def rooms_allowing_join(join_rules: Mapping[str, Any]) -> tuple[str, ...]:
    """The rooms whose members a room's ``m.room.join_rules`` content admits: the ``room_id`` of
    each ``m.room_membership`` entry of a restricted rule's allow list, in order, each once.
    Nothing for any other rule, or for entries that are not well formed."""
    if join_rules.get("join_rule") not in RESTRICTED_RULES:
        return ()
    allow = join_rules.get("allow")
    if not isinstance(allow, list):
        return ()
    rooms: list[str] = []
    for entry in allow:
        if (isinstance(entry, Mapping) and entry.get("type") == "m.room_membership"
                and isinstance(entry.get("room_id"), str) and entry["room_id"] not in rooms):
            rooms.append(entry["room_id"])
    return tuple(rooms)


class JoinPodiumInvitations:
    def __init__(self, config: dict[str, Any], api: ModuleApi):
        self._api = api
        self._inviter = config["inviter"]
        #: (user, space) pairs whose space join the module is making: that join passes through
        #: user_may_join_room too, and must go straight through.
        self._entering: set[tuple[str, str]] = set()
        # Every process: a join is checked by whichever process the person's request reaches.
        api.register_spam_checker_callbacks(user_may_join_room=self.user_may_join_room)
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
        if not await self._is_active(event.state_key) or await self._is_space(event.room_id):
            return
        self._api.run_as_background_process("podium_join_invitation", self._join, event.state_key, event.room_id)

    async def user_may_join_room(self, user_id: str, room_id: str, is_invited: bool) -> Literal["NOT_SPAM"]:
        """Never refuses a join: before a restricted room's join is checked, accepts the person's
        pending invitation to the bot's space its allow list names, so the check finds them in it."""
        if is_invited or (user_id, room_id) in self._entering or not self._api.is_mine(user_id):
            return NOT_SPAM
        try:
            await self._enter_inviting_space(user_id, room_id)
        except Exception as exc:  # noqa: BLE001 - the room's own check answers the person, never a server error
            log.warning("could not accept the invitation to a space for %s joining %s: %s", user_id, room_id, exc)
        return NOT_SPAM

    async def _enter_inviting_space(self, user_id: str, room_id: str) -> None:
        """Join ``user_id`` into a space ``room_id``'s join rules admit the members of, if they
        are in none of those rooms yet and hold an invitation to it, the bot's own space."""
        state = await self._api.get_room_state(room_id, [("m.room.join_rules", "")])
        join_rules = state.get(("m.room.join_rules", ""))
        spaces = [space for space in rooms_allowing_join(join_rules.content if join_rules else {}) if space != room_id]
        if not spaces or not await self._is_active(user_id):
            return
        memberships = {space: await self._membership(space, user_id) for space in spaces}
        if any(member is not None and member.membership == "join" for member in memberships.values()):
            return  # already admitted: nothing to accept
        for space, member in memberships.items():
            if member is not None and member.membership == "invite" and await self._is_space(space, by=self._inviter):
                await self._enter(user_id, space, room_id)
                return

    async def _membership(self, room_id: str, user_id: str) -> EventBase | None:
        state = await self._api.get_room_state(room_id, [("m.room.member", user_id)])
        return state.get(("m.room.member", user_id))

    async def _enter(self, user_id: str, space_id: str, room_id: str) -> None:
        """Join ``user_id`` into ``space_id`` on their invitation, marked as the module's own
        join so the callback lets it through."""
        self._entering.add((user_id, space_id))
        try:
            await self._api.update_room_membership(sender=user_id, target=user_id, room_id=space_id,
                                                   new_membership="join")
        finally:
            self._entering.discard((user_id, space_id))
        log.info("joined %s into %s on their invitation, to let them join %s", user_id, space_id, room_id)

    async def _is_active(self, user_id: str) -> bool:
        user = await self._api.get_userinfo_by_id(user_id)
        return not (user is None or user.is_deactivated or getattr(user, "locked", False)
                    or getattr(user, "suspended", False))

    async def _is_space(self, room_id: str, *, by: str | None = None) -> bool:
        """Whether ``room_id`` is a space (created by ``by``, if given)."""
        state = await self._api.get_room_state(room_id, [("m.room.create", "")])
        create = state.get(("m.room.create", ""))
        return (create is not None and create.content.get("type") == "m.space"
                and (by is None or create.sender == by))

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
