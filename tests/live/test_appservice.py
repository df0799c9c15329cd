"""The bot as an application service, against a Synapse of its own that keeps its stock rate limits
(about one room creation a minute after a burst of ten) and loads the registration `podium
appservice` wrote: Synapse accepts it, `podium apply --appservice` creates more rooms than the
limits allow a user without being throttled, and `podium run --appservice` answers the commands
Synapse pushes to its web server, each transaction once, refusing any push without the hs_token.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import uuid
from types import SimpleNamespace

import pytest
import yaml
from nio import JoinedMembersResponse, RoomCreateResponse, RoomPreset

from bot.config import APPSERVICE_FOLDER, connection_from
from bot.matrix import MatrixAdapter, MatrixError
from bot.provisioning.pipeline import connect
from bot.store.database import Store
from tests.support.accounts import TEST_PASSWORD
from tests.support.appservice import (  # noqa: F401 (the module fixtures applied, invited, service)
    ATTENDEES,
    BOT,
    FRESH_BOT,
    TALKS,
    RunningBot,
    all_handled,
    applied,
    attendee_in_track,
    crafted_command,
    invited,
    podium_cli,
    push_transaction,
    registration_tokens,
    service,
)
from tests.support.waiting import PATIENCE, eventually


async def _joined_rooms(adapter: MatrixAdapter) -> list[str]:
    return (await adapter.request("GET", "/_matrix/client/v3/joined_rooms", what="list the bot's rooms"))["joined_rooms"]


def test_the_registration_is_private_names_the_bot_and_synapse_accepts_it(service):
    folder = service.data / APPSERVICE_FOLDER
    for path in (folder / "as_token", folder / "hs_token", service.registration):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    registration = registration_tokens(service)
    assert registration["as_token"] == (folder / "as_token").read_text().strip()
    assert registration["hs_token"] == (folder / "hs_token").read_text().strip()
    assert registration["as_token"] not in service.printed and registration["hs_token"] not in service.printed
    assert registration["rate_limited"] is False
    assert registration["url"] == service.url and registration["sender_localpart"] == "podium-as-appservice"
    users = registration["namespaces"]["users"]
    assert [bool(re.match(n["regex"], BOT)) and n["exclusive"] for n in users] == [True]
    assert not any(re.match(n["regex"], "@podium-as-not:localhost") for n in users)
    conf_id = yaml.safe_load(service.schedule.read_text())["conference"]["id"]
    aliases = registration["namespaces"]["aliases"]
    assert all(n["exclusive"] for n in aliases)
    assert any(re.match(n["regex"], f"#{conf_id}-track-forum:localhost") for n in aliases)
    assert not any(re.match(n["regex"], "#other-track-forum:localhost") for n in aliases)

    async def whoami() -> tuple[str, str, list[str]]:
        async with MatrixAdapter(service.homeserver, BOT, registration["as_token"]) as service_user, \
                await connect(connection_from(service.homeserver, BOT, {},
                                              appservice=service.data / APPSERVICE_FOLDER)) as bot:
            return await service_user.whoami(), await bot.whoami(), await _joined_rooms(bot)

    # Synapse started with the file: its as_token is the service's, which acts as the bot, whose
    # account from before is still its account, with its rooms.
    service_user, bot, rooms = asyncio.run(whoami())
    assert (service_user, bot) == ("@podium-as-appservice:localhost", BOT)
    assert service.room_before in rooms


def test_a_bot_account_that_does_not_exist_yet_is_registered_by_the_first_command(service):
    connection = connection_from(service.homeserver, FRESH_BOT, {}, appservice=service.fresh_data / APPSERVICE_FOLDER)

    async def before_and_after() -> tuple[int | None, str]:
        async with MatrixAdapter(service.homeserver, FRESH_BOT, connection.access_token or "",
                                 appservice=True) as unregistered:
            with pytest.raises(MatrixError) as refused:
                await unregistered.whoami()
        async with await connect(connection) as bot:
            return refused.value.status, await bot.whoami()

    assert asyncio.run(before_and_after()) == (403, FRESH_BOT)


def test_writing_the_registration_again_keeps_the_tokens(service):
    before = registration_tokens(service)
    code, printed = podium_cli("appservice", "--user-id", BOT, "--url", service.url, "--data-dir", str(service.data),
                         "--schedule", str(service.schedule))
    assert code == 0, printed
    assert registration_tokens(service) == before


async def test_a_user_is_throttled_after_a_burst_of_room_creations_or_invitations(service):
    """The limits the next tests go beyond: a user of this Synapse gets a 429 within a few rooms,
    and within a few invitations to one room."""
    user_id, token = service.synapse.register_user(f"plain-{uuid.uuid4().hex[:8]}", TEST_PASSWORD)
    async with MatrixAdapter(service.homeserver, user_id, token, max_retries=0) as adapter:
        created = 0
        with pytest.raises(MatrixError) as refused:
            for _ in range(TALKS + 10):
                await adapter.create_room({"preset": "private_chat"}, what="create a room")
                created += 1
    assert refused.value.status == 429, refused.value
    assert created < TALKS, created

    user_id, token = service.synapse.register_user(f"plain-{uuid.uuid4().hex[:8]}", TEST_PASSWORD)
    guests = [service.synapse.register_user(f"guest-{uuid.uuid4().hex[:8]}", TEST_PASSWORD)[0]
              for _ in range(ATTENDEES)]
    async with MatrixAdapter(service.homeserver, user_id, token, max_retries=0) as adapter:
        room_id = await adapter.create_room({"preset": "private_chat"}, what="create a room")
        invited = 0
        with pytest.raises(MatrixError) as refused:
            for guest in guests:
                await adapter.invite(room_id, guest, what=f"invite {guest}")
                invited += 1
    assert refused.value.status == 429, refused.value
    assert invited < ATTENDEES, invited


def test_apply_through_the_appservice_creates_more_rooms_than_the_limit_allows_unthrottled(service, applied):
    created = re.search(r"(\d+) rooms created", applied)
    assert created and int(created[1]) > TALKS, applied
    assert "rate-limited" not in applied, applied


def test_invite_through_the_appservice_invites_more_than_the_limit_allows_unthrottled(service, invited):
    assert f"{ATTENDEES} attendees invited" in invited.printed, invited.printed
    assert "could not be invited" not in invited.printed and "rate limits" not in invited.printed, invited.printed


# ---------------------------------------------------------------------------- pushed transactions


@pytest.fixture(scope="module")
async def world(service, invited):
    """The bot running as the application service, and an invited attendee in the track room."""
    bot = RunningBot(service)
    await bot.start()
    ada, track = await attendee_in_track(service, invited, bot)
    try:
        yield SimpleNamespace(bot=bot, ada=ada, track=track, hs_token=registration_tokens(service)["hs_token"],
                              as_token=registration_tokens(service)["as_token"])
    finally:
        await ada.close()
        if bot.task is not None and not bot.task.done():
            await bot.stop()


def _handled_transactions(service) -> set[str]:
    store = Store(service.data)
    try:
        rows = store.db.execute("SELECT txn_id FROM pushed_transactions").fetchall()
    finally:
        store.close()
    return {row[0] for row in rows}


async def test_run_answers_a_command_synapse_pushes_in_a_transaction(service, world):
    before = _handled_transactions(service)
    reply = await world.ada.ask(world.track, "!help", BOT)
    assert "!ask" in reply["body"], reply
    # It came as a transaction Synapse pushed (recorded as handled), not through /sync.
    assert _handled_transactions(service) - before


async def test_a_transaction_pushed_again_is_not_handled_again_also_after_a_restart_which_misses_nothing(
        service, world):
    txn_id = f"replayed-{uuid.uuid4().hex}"
    first = crafted_command(world, "!help")
    assert await push_transaction(service, txn_id, [first], world.hs_token) == (200, {})
    await world.ada.reply_to(world.track, first["event_id"], BOT)
    # The same transaction again, and under its id events it did not hold: acknowledged, not handled.
    again = crafted_command(world, "!help")
    assert await push_transaction(service, txn_id, [first], world.hs_token) == (200, {})
    assert await push_transaction(service, txn_id, [again], world.hs_token) == (200, {})
    await all_handled(world)
    assert len(world.ada.replies_to(world.track, first["event_id"], BOT)) == 1
    assert world.ada.replies_to(world.track, again["event_id"], BOT) == []

    await world.bot.stop()
    while_down = await world.ada.say(world.track, "!help")  # Synapse keeps it for the bot
    await world.bot.start()
    await world.ada.reply_to(world.track, while_down, BOT, why="an answer to what was said while the bot was down")
    after_restart = crafted_command(world, "!help")
    assert await push_transaction(service, txn_id, [after_restart], world.hs_token) == (200, {})
    await all_handled(world)
    assert world.ada.replies_to(world.track, after_restart["event_id"], BOT) == []
    assert len(world.ada.replies_to(world.track, first["event_id"], BOT)) == 1
    # A new transaction is handled as ever.
    fresh = crafted_command(world, "!help")
    assert await push_transaction(service, f"fresh-{uuid.uuid4().hex}", [fresh], world.hs_token) == (200, {})
    await world.ada.reply_to(world.track, fresh["event_id"], BOT)


async def test_a_transaction_without_the_hs_token_is_refused_and_not_handled(service, world):
    forged = crafted_command(world, "!help")
    for token, status in ((None, 401), ("not-the-token", 403), (world.as_token, 403)):
        code, answer = await push_transaction(service, f"forged-{uuid.uuid4().hex}", [forged], token)
        assert (code, answer.get("errcode")) == (status, "M_UNAUTHORIZED" if status == 401 else "M_FORBIDDEN")
    await all_handled(world)
    assert world.ada.replies_to(world.track, forged["event_id"], BOT) == []


async def test_a_direct_chat_opened_with_the_bot_is_taken_and_answered_through_pushes(world):
    response = await world.ada.client.room_create(is_direct=True, invite=[BOT], preset=RoomPreset.trusted_private_chat)
    assert isinstance(response, RoomCreateResponse), response

    async def bot_joined() -> bool:
        members = await world.ada.client.joined_members(response.room_id)
        return isinstance(members, JoinedMembersResponse) and BOT in {m.user_id for m in members.members}

    await eventually(bot_joined, what="the bot taking the direct chat Synapse told it of")
    reply = await world.ada.ask(response.room_id, "!help", BOT)
    assert reply["body"], reply


async def test_podium_run_appservice_as_the_readme_has_it_answers_and_never_shows_a_token(service, world):
    await world.bot.stop()  # the port is the registration's: the command takes the bot's place
    env = {key: value for key, value in os.environ.items() if not key.startswith("PODIUM_")}
    env.update(PODIUM_HOMESERVER=service.homeserver, PODIUM_USER_ID=BOT)
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--appservice", "--schedule",
                                str(service.schedule), "--data-dir", str(service.data), "--listen",
                                f"127.0.0.1:{service.port}"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        await eventually(lambda: "Podium is answering" in "".join(lines) or process.poll() is not None,
                         what="podium run to say it answers")
        assert process.poll() is None, "".join(lines)
        reply = await world.ada.ask(world.track, "!help", BOT)
        assert "!ask" in reply["body"], reply
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(PATIENCE)
    output = "".join(lines)
    assert world.hs_token not in output and world.as_token not in output
    assert "Traceback" not in output, output
    assert "podium appservice --url" not in output, output  # Synapse reached the web server when asked
