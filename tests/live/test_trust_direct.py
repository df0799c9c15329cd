"""What the bot says to one person only stays with that person, against the real Synapse with real
attendee clients: a direct chat someone else joined after the bot took it gets no swag code and no
answer to a ticket code (the bot answers in a direct chat of the two of them and says so where it
leaves), and every direct chat the bot takes or opens is listed in its ``m.direct``, however many
open at once.

One conference (access ``space-members``, a sponsor with swag codes) and one running bot are
shared by the module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3

from nio import RoomCreateResponse, RoomPreset

from bot.cli import main
from bot.matrix import MatrixAdapter
from tests.support.live import LiveSetup, Person, bot_messages
from tests.support.waiting import eventually

AT_ONCE = 12
OPENERS = tuple((f"opener{n}", f"Opener {n}") for n in range(AT_ONCE))
NEWCOMERS = tuple((f"newcomer{n}", f"Newcomer {n}") for n in range(AT_ONCE))
SWAG = "ACME-SECRET-SWAG-1"
TICKET = "quinn-ticket-h7k2m9q4x8v3"

LIVE = LiveSetup(
    people=(("pia", "Pia"), ("quinn", "Quinn"), ("tom", "Tom"), *OPENERS, *NEWCOMERS),
    extra=lambda users: {"conference": {"access": "space-members"},
                         "sponsors": [{"id": "acme", "name": "ACME", "staff": [users["tom"]]}]},
    rooms={"booth": "sponsor-acme"}, joins={})


@contextlib.asynccontextmanager
async def live_extras(live):
    """The bot's adapter for the checks, the space's id, and the swag and ticket codes loaded into
    the running bot's data directory."""
    live.adapter = MatrixAdapter(live.homeserver, live.bot, live.connection.access_token or "")
    schedule, data = live.directory / f"{live.conf.conf_id}.yaml", live.directory / "data"
    try:
        live.space = await live.adapter.resolve_alias(f"#{live.conf.conf_id}:localhost")
        (live.directory / "swag.txt").write_text(f"{SWAG}\n")
        assert main(["swag", "load", "acme", str(live.directory / "swag.txt"), "--schedule", str(schedule),
                     "--data-dir", str(data)]) == 0
        (live.directory / "tickets.txt").write_text(f"{TICKET}\n")
        assert main(["tickets", str(live.directory / "tickets.txt"), "--schedule", str(schedule),
                     "--data-dir", str(data)]) == 0
        yield
    finally:
        await live.adapter.close()


async def open_direct_chat(person: Person, bot: str) -> str:
    """A direct chat ``person`` opens with the bot, as Element's *Start chat* does; once the bot took it."""
    response = await person.client.room_create(is_direct=True, invite=[bot], preset=RoomPreset.trusted_private_chat)
    assert isinstance(response, RoomCreateResponse), response
    return response.room_id


async def taken(live, person: Person, room_id: str) -> None:
    await eventually(lambda: live.runner.runtime.direct_rooms.user_of(room_id) == person.user_id,
                     what=f"the bot took {person.user_id}'s direct chat")


async def joined_by_a_third(live, owner: Person, room_id: str) -> None:
    """``owner`` invites Tom into their direct chat with the bot, and Tom joins."""
    await owner.client.room_invite(room_id, live.tom.user_id)
    await live.tom.join(room_id)


async def members(live, room_id: str) -> set[str]:
    """Who is joined to or invited into ``room_id``."""
    answer = await live.adapter.request("GET", f"/_matrix/client/v3/rooms/{room_id}/members", what="read members")
    return {e["state_key"] for e in answer["chunk"] if e["content"].get("membership") in ("join", "invite")}


async def bot_left_saying(live, room_id: str) -> str:
    """The reason the bot gave for leaving ``room_id``, as its other members see it."""
    await live.tom.sync(300)
    left = [e for e in live.tom.timeline.get(room_id, []) if e.get("type") == "m.room.member"
            and e.get("state_key") == live.bot and e["content"].get("membership") == "leave"]
    return left[0]["content"].get("reason", "") if left else ""


async def test_a_swag_code_never_goes_to_a_direct_chat_someone_else_joined(live):
    pia = live.pia
    shared = await open_direct_chat(pia, live.bot)
    await taken(live, pia, shared)
    await live.adapter.invite(live.space, pia.user_id, what="invite pia")
    await pia.join(live.space)
    await pia.join(f"#{live.conf.conf_id}-sponsor-acme:localhost")
    await joined_by_a_third(live, pia, shared)

    booth = await live.adapter.resolve_alias(f"#{live.conf.conf_id}-sponsor-acme:localhost")
    answer = await pia.ask(booth, "!swag", live.bot)
    assert answer["body"] == "I sent you a direct message with your ACME swag code."
    [(room_id, _)] = await eventually(lambda: bot_messages(pia, live.bot, SWAG), what="pia's swag code")
    assert room_id != shared and await members(live, room_id) == {live.bot, pia.user_id}
    assert not await bot_messages(live.tom, live.bot, SWAG), "Tom never reads Pia's code"
    assert "private" in await eventually(lambda: bot_left_saying(live, shared), what="the bot leaving, saying why")


async def test_a_ticket_code_sent_in_a_direct_chat_someone_else_joined_is_answered_in_private(live):
    quinn = live.quinn
    shared = await open_direct_chat(quinn, live.bot)
    await taken(live, quinn, shared)
    await joined_by_a_third(live, quinn, shared)

    await quinn.say(shared, TICKET)
    await eventually(lambda: live.adapter.membership(live.space, quinn.user_id), what="quinn invited to the space")
    [(room_id, _)] = await eventually(lambda: bot_messages(quinn, live.bot, "I invited you to"), what="the answer")
    assert room_id != shared and await members(live, room_id) == {live.bot, quinn.user_id}
    assert not await bot_messages(live.tom, live.bot, "invited you"), "Tom never reads the answer"
    assert "private" in await eventually(lambda: bot_left_saying(live, shared), what="the bot leaving, saying why")


async def missing_from_m_direct(live, people: list[Person]) -> list[str]:
    """Who of ``people`` has a direct chat on record that the bot's ``m.direct`` does not list under them."""
    listed = await live.adapter.account_data("m.direct")
    store = live.runner.runtime.direct_rooms
    return [person.user_id for person in people if store.room_of(person.user_id) not in listed.get(person.user_id, [])]


async def test_twelve_direct_chats_opened_at_once_are_all_in_m_direct(live):
    openers = [getattr(live, name) for name, _ in OPENERS]
    rooms = await asyncio.gather(*(open_direct_chat(person, live.bot) for person in openers))
    await asyncio.gather(*(taken(live, person, room_id) for person, room_id in zip(openers, rooms)))
    # Answered: the bot is done taking the chat (it answers what was said after it joined).
    await asyncio.gather(*(person.ask(room_id, "!help", live.bot) for person, room_id in zip(openers, rooms)))
    assert await missing_from_m_direct(live, openers) == []


async def test_twelve_newcomers_welcomed_at_once_all_have_their_direct_chat_in_m_direct(live):
    newcomers = [getattr(live, name) for name, _ in NEWCOMERS]
    for person in newcomers:
        await live.adapter.invite(live.space, person.user_id, what=f"invite {person.user_id}")
    # They join while the bot is away, so it sees every join in one batch and welcomes all at once.
    await live.runner.stop()
    await asyncio.gather(*(person.join(live.space) for person in newcomers))
    await live.runner.start()
    await asyncio.gather(*(eventually(lambda p=person: bot_messages(p, live.bot, "Welcome to"),
                                      what=f"{person.user_id}'s welcome") for person in newcomers))
    assert await missing_from_m_direct(live, newcomers) == []


async def test_the_bot_says_when_it_starts_while_codes_are_stored_unkeyed(live, caplog):
    await live.runner.stop()
    with sqlite3.connect(live.directory / "data" / "podium.db") as db:
        db.execute("INSERT INTO ticket_codes (conference, code_key, loaded_at, digest) VALUES (?, ?, 0, 'sha256')",
                   [live.conf.conf_id, hashlib.sha256(b"AN-OLD-CODE-X7K2M9").hexdigest()])
    caplog.set_level(logging.WARNING, logger="bot.runtime")
    await live.runner.start()
    assert "1 ticket code stored by an older Podium as bare SHA-256" in caplog.text
    assert "podium tickets" in caplog.text and "AN-OLD-CODE" not in caplog.text
