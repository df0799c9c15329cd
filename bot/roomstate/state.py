"""Plain data shared by the planner and the Matrix adapter: desired and observed rooms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

#: The state event that names the conference object a room stands for. It is what lets Podium
#: find its rooms again (together with the alias) and tell them apart from everything else.
LOCATOR = "org.podium.locator"
#: A room's first event. Its sender created the room, and only rooms the bot created are Podium's.
CREATE = "m.room.create"
WIDGET = "im.vector.modular.widgets"
LAYOUT = "io.element.widgets.layout"
#: Element's settings for everyone in a room (its "room" level, below each person's own choice).
CLIENT_SETTINGS = "im.vector.web.settings"
SPACE_CHILD = "m.space.child"
SPACE_PARENT = "m.space.parent"
POWER_LEVELS = "m.room.power_levels"
CANONICAL_ALIAS = "m.room.canonical_alias"
GUEST_ACCESS = "m.room.guest_access"
JOIN_RULES = "m.room.join_rules"
#: Never set by Podium, only read: the bot cannot read what is said in an encrypted room.
ENCRYPTION = "m.room.encryption"

#: State the spec takes as given when a room has no such event. A desired value equal to its
#: default is not sent when a room is created, and a room without the event matches it: one
#: event fewer per room, and nothing to repair.
SPEC_DEFAULTS: dict[str, dict[str, Any]] = {
    GUEST_ACCESS: {"guest_access": "forbidden"},
}


@dataclass(frozen=True, order=True)
class RoomRef:
    """Another conference room, by key; becomes its room ID once that room exists."""

    key: str

    def __str__(self) -> str:
        return f"<{self.key}>"


StateKey = Union[str, RoomRef]
StateId = tuple[str, StateKey]  # (event type, state key)


def is_spec_default(event_type: str, state_key: StateKey, content: dict[str, Any]) -> bool:
    """True when ``content`` is what the spec assumes for a room without this event."""
    return state_key == "" and SPEC_DEFAULTS.get(event_type) == content


@dataclass(frozen=True)
class DesiredRoom:
    """What one conference room should look like; content values may hold RoomRefs."""

    key: str  # e.g. "track/forum": stable identity of the conference object
    kind: str  # the room template it came from
    alias: str  # alias localpart; the full alias is #alias:server
    name: str
    is_space: bool
    parent: str | None  # key of the space this room sits in
    state: dict[StateId, dict[str, Any]]
    invites: tuple[str, ...] = ()
    #: Those of ``invites`` invited as the room's speakers: when one no longer is, the invitation
    #: Podium sent is withdrawn (and staff, or people invited by hand, are never touched).
    speakers: tuple[str, ...] = ()
    suggested: bool = True  # shown to attendees first in the parent space
    order: str | None = None  # sort key in the parent space; None: schedule position
    category: int = 0  # the place of its category in the space's listing
    clock: dict[str, bool] = field(default_factory=dict)  # the conference clock's messages here, on or off
    live_state: frozenset[str] = frozenset()  # event types set at creation, then kept up by the running bot
    welcome: bool = False  # (the conference space) new members get the bot's welcome in a direct chat


#: What provisioning remembers of a speaker's invitation to a room: it sent it, or withdrew it.
SPEAKER_INVITED, SPEAKER_WITHDRAWN = "invited", "withdrawn"


@dataclass
class ObservedRoom:
    """A room as the homeserver has it now."""

    room_id: str
    state: dict[tuple[str, str], dict[str, Any]]
    room_version: str = "1"
    creator: str | None = None  # the sender of its m.room.create event

    @property
    def locator(self) -> dict[str, Any]:
        return self.state.get((LOCATOR, ""), {})


@dataclass(frozen=True)
class UntrustedRoom:
    """A room whose locator claims a conference object, made by someone other than the bot."""

    key: str
    room_id: str
    creator: str | None


@dataclass
class Observed:
    """Every room of one conference the bot can see, by key, plus what was looked up."""

    rooms: dict[str, ObservedRoom] = field(default_factory=dict)
    # (room key, user) -> membership ("invite", "join", "leave", "ban") for users we would invite
    memberships: dict[tuple[str, str], str] = field(default_factory=dict)
    # rooms that claim to be this conference's but that the bot did not create: never used
    untrusted: list[UntrustedRoom] = field(default_factory=list)
    # (room key, user) -> SPEAKER_INVITED or SPEAKER_WITHDRAWN: whom provisioning itself invited
    # there as a speaker, or took out again, as its store remembers
    speaker_invites: dict[tuple[str, str], str] = field(default_factory=dict)
