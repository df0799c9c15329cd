"""The planner's world without a homeserver: the sample's desired rooms, and plans carried out on
in-memory state."""

from __future__ import annotations

import copy

from bot import SAMPLE_SCHEDULE
from bot.conference.schedule import parse_schedule
from bot.provisioning.desired import Settings, desired_rooms
from bot.provisioning.planner import CreateRoom, Invite, SetState, plan, resolve
from bot.roomstate.state import CANONICAL_ALIAS, POWER_LEVELS, Observed, ObservedRoom
from bot.provisioning.templates import BUNDLED_TEMPLATES, RoomTemplates

BOT = "@podium:example.org"


SETTINGS = Settings(server_name="example.org", bot_user_id=BOT, public_url="https://podium.example.org")


TEMPLATES = RoomTemplates.load(BUNDLED_TEMPLATES)


SAMPLE = (SAMPLE_SCHEDULE).read_text()


def sample_rooms(text: str = SAMPLE):
    return desired_rooms(parse_schedule(text), TEMPLATES, SETTINGS)


def play(the_plan, observed: Observed) -> Observed:
    """Carry out a plan on in-memory state, as a homeserver would store it."""
    result = copy.deepcopy(observed)
    ids = {key: room.room_id for key, room in result.rooms.items()}
    for action in the_plan.actions:
        if isinstance(action, CreateRoom):
            room_id = f"!{action.key}:example.org"
            ids[action.key] = room_id
            # Deep copies: what the server stores must never alias the desired state.
            state = {(t, resolve(sk, ids)): copy.deepcopy(resolve(c, ids)) for t, sk, c in action.initial_state}
            state[(CANONICAL_ALIAS, "")] = {"alias": f"#{action.alias}:example.org"}
            state[(POWER_LEVELS, "")] = {"historical": 100, **copy.deepcopy(action.power_levels)}  # server defaults merged in
            result.rooms[action.key] = ObservedRoom(room_id, state, "12")
        elif isinstance(action, SetState):
            result.rooms[action.key].state[(action.event_type, resolve(action.state_key, ids))] = copy.deepcopy(resolve(action.content, ids))
        elif isinstance(action, Invite):
            result.memberships[(action.key, action.user_id)] = "invite"
    return result


def fresh_plan(rooms, version="12"):
    return plan(rooms, Observed(), bot_user_id=BOT, room_version=version)

