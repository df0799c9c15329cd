"""The welcome: each new member of the conference space gets one message from the bot saying
how to find their way (the navigator and the schedule, the lobby rooms, ``!help``).

It goes to a direct chat (``bot.direct``), not into a room: a space has no timeline Element
shows, and a notice per arrival in the lobby would bury what people say there and greet
everyone but the newcomer. A direct chat reaches the newcomer alone, stays listed under
"People" to read again, and is where they can write to the bot. Once per member, across
restarts and across leaving and coming back (``bot.store.direct``); the space template's
``welcome: false`` turns it off.
"""

from __future__ import annotations

from ..conference.display import place_name
from ..conference.pages import now_next_page, schedule_page
from ..conference.roomkeys import SPACE, lobby_key
from ..store.direct import DirectRoomStore
from . import Context, listener
from .message import Message, code, link, message, room, user


@listener("m.room.member")
async def welcome(ctx: Context) -> None:
    if ctx.room.key != SPACE or not ctx.welcome or ctx.event.get("state_key") != ctx.sender:
        return
    previous = (ctx.event.get("unsigned") or {}).get("prev_content") or {}
    if ctx.content.get("membership") != "join" or previous.get("membership") == "join":
        return  # a new name or avatar, not a new member
    if not ctx.store(DirectRoomStore).welcome(ctx.schedule.conference.id, ctx.sender, ctx.event_id,
                                              ctx.received_at):
        return
    if ctx.direct_chat is None:
        return  # no homeserver to make the chat on
    room_id = await ctx.direct_chat(ctx.sender)
    await ctx.send("m.room.message", welcome_message(ctx).content(), room_id=room_id)


def welcome_message(ctx: Context) -> Message:
    schedule = ctx.schedule
    text = message("Welcome to ", user(schedule.conference.name), "! How to find your way:")
    rows: list[tuple] = []
    if ctx.public_url:
        rows.append(("What is on now, in every track: ", link(now_next_page(ctx.public_url), "the navigator"),
                     "; the whole programme: ", link(schedule_page(ctx.public_url), "the schedule"), "."))
    if schedule.lobby:
        parts: list = ["Start in the lobby: "]
        for i, lobby in enumerate(schedule.lobby):
            key = lobby_key(lobby.id)
            parts += [", " if i else "", room(ctx.links, key, place_name(schedule, key))]
        rows.append((*parts, "."))
    rows.append(("Every room of the conference is listed in its space; in any of them, send ", code("!help"),
                 " to see what you can do there (", code("!now"), " for what is on, ", code("!ask"),
                 " to ask a speaker a question)."))
    return text.items(rows)
