"""The bot as an application service, against a Synapse of its own that keeps its stock rate limits
(about one room creation a minute after a burst of ten) and loads the registration `podium
appservice` wrote: Synapse accepts it, `podium apply --appservice` creates more rooms than the
limits allow a user without being throttled, and `podium run --appservice` answers the commands
Synapse pushes to its web server, each transaction once, refusing any push without the hs_token.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import yaml
from nio import AsyncClient, JoinedMembersResponse, RoomCreateResponse, RoomPreset

from bot.cli import main
from bot.config import APPSERVICE_FOLDER, connection_from
from bot.homeserver import EmbeddedSynapse
from bot.matrix import MatrixAdapter, MatrixError
from bot.ports import free_port
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import build, connect
from bot.serve import Listen, serve
from bot.store.database import Store
from bot.store.transactions import PushedTransactions
from tests.support.accounts import TEST_PASSWORD
from tests.support.live import DURING_FIRST_TALK, Person
from tests.support.waiting import PATIENCE, eventually

BOT = "@podium-as:localhost"
FRESH_BOT = "@podium-fresh:localhost"
#: Breakout rooms beyond the space, lobbies, track and backstage: well over the ten rooms Synapse's
#: stock limits let one user create in a burst.
TALKS = 14
#: Attendees invited at once: over the ten invitations to one room Synapse's stock limits allow in a burst.
ATTENDEES = 14


def _cli(*argv: str) -> tuple[int, str]:
    """``podium ARGV`` as an organiser types it: its exit code and everything it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(list(argv))
    return code, printed.getvalue()


def _schedule(directory: Path) -> Path:
    conf_id = f"as{uuid.uuid4().hex[:8]}"
    talks = [{"id": f"t{n}", "track": "forum", "title": f"Talk {n}", "start": f"2026-07-13 {9 + n // 2:02d}:"
              f"{30 * (n % 2):02d}", "duration": 25} for n in range(1, TALKS + 1)]
    path = directory / "schedule.yaml"
    path.write_text(yaml.safe_dump({
        "conference": {"id": conf_id, "name": "Pushed <Conf>", "timezone": "UTC", "start": "2026-07-13",
                       "end": "2026-07-13", "access": "space-members"},
        "tracks": [{"id": "forum", "name": "Forum Hall"}],
        "talks": talks,
    }, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    """The registration written by `podium appservice` for a web server on a free port, and a
    Synapse with stock rate limits that loads it."""
    directory = tmp_path_factory.mktemp("appservice")
    schedule = _schedule(directory)
    data = directory / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code, printed = _cli("appservice", "--user-id", BOT, "--url", url, "--data-dir", str(data),
                         "--schedule", str(schedule))
    assert code == 0, printed
    registration = data / APPSERVICE_FOLDER / "registration.yaml"
    # A second service, for a bot whose account does not exist yet (Synapse never pushes to it).
    fresh = directory / "fresh"
    fresh.mkdir()
    code, fresh_printed = _cli("appservice", "--user-id", FRESH_BOT, "--url", "http://127.0.0.1:9", "--data-dir",
                               str(fresh / "data"), "--schedule", str(_schedule(fresh)))
    assert code == 0, fresh_printed
    synapse = EmbeddedSynapse(directory / "synapse", lift_limits=False)
    synapse.start()
    try:
        # The bot's account from before the service: a password, and a room it made.
        _, token = synapse.register_user(BOT[1:].split(":")[0], TEST_PASSWORD)
        room_before = asyncio.run(_room_of(synapse.base_url, token))
        synapse.stop()
        synapse.app_services = (registration, fresh / "data" / APPSERVICE_FOLDER / "registration.yaml")
        synapse.start()
        yield SimpleNamespace(directory=directory, schedule=schedule, data=data, port=port, url=url,
                              registration=registration, printed=printed, synapse=synapse,
                              homeserver=synapse.base_url, room_before=room_before, fresh_data=fresh / "data")
    finally:
        synapse.stop()


async def _room_of(homeserver: str, token: str) -> str:
    async with MatrixAdapter(homeserver, BOT, token) as adapter:
        return await adapter.create_room({"preset": "private_chat", "name": "From before"}, what="create a room")


async def _joined_rooms(adapter: MatrixAdapter) -> list[str]:
    return (await adapter.request("GET", "/_matrix/client/v3/joined_rooms", what="list the bot's rooms"))["joined_rooms"]


@pytest.fixture(scope="module")
def applied(service) -> str:
    """The conference applied through the application service; what `podium apply` printed."""
    code, printed = _cli("apply", "--appservice", "--homeserver", service.homeserver, "--user-id", BOT,
                         "--data-dir", str(service.data), "--schedule", str(service.schedule), "--quiet")
    assert code == 0, printed
    return printed


@pytest.fixture(scope="module")
def invited(service, applied) -> SimpleNamespace:
    """Attendees invited to the space through the application service; the first one's account,
    and what `podium invite` printed."""
    accounts = [service.synapse.register_user(f"guest-{uuid.uuid4().hex[:8]}", TEST_PASSWORD)
                for _ in range(ATTENDEES)]
    attendees = service.directory / "attendees.csv"
    attendees.write_text("matrix_id\n" + "".join(f"{user_id}\n" for user_id, _ in accounts))
    code, printed = _cli("invite", str(attendees), "--appservice", "--homeserver", service.homeserver,
                         "--user-id", BOT, "--data-dir", str(service.data), "--schedule", str(service.schedule),
                         "--quiet")
    assert code == 0, printed
    return SimpleNamespace(first=accounts[0], printed=printed)


def _tokens(service) -> dict[str, str]:
    return yaml.safe_load(service.registration.read_text())


def test_the_registration_is_private_names_the_bot_and_synapse_accepts_it(service):
    folder = service.data / APPSERVICE_FOLDER
    for path in (folder / "as_token", folder / "hs_token", service.registration):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    registration = _tokens(service)
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
    before = _tokens(service)
    code, printed = _cli("appservice", "--user-id", BOT, "--url", service.url, "--data-dir", str(service.data),
                         "--schedule", str(service.schedule))
    assert code == 0, printed
    assert _tokens(service) == before


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


class RunningBot:
    """`podium run --appservice`'s serve() in this process, stopped and started at will."""

    def __init__(self, service):
        self.service = service
        self.connection = connection_from(service.homeserver, BOT, {},
                                          appservice=service.data / APPSERVICE_FOLDER)
        self.conference = build(service.schedule, Settings("localhost", BOT, service.url))
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self.task = asyncio.create_task(serve(self.connection, self.conference, self.service.data,
                                              listen=Listen("127.0.0.1", self.service.port),
                                              clock=lambda: DURING_FIRST_TALK, on_ready=ready.set))
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait([waiting, self.task], timeout=PATIENCE, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()
        assert ready.is_set(), "the bot did not get going"

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture(scope="module")
async def world(service, invited):
    """The bot running as the application service, and an invited attendee in the track room."""
    bot = RunningBot(service)
    await bot.start()
    user_id, token = invited.first
    client = AsyncClient(service.homeserver, user_id)
    client.access_token, client.user_id = token, user_id
    ada = Person(client)
    await ada.sync(0)
    conf_id = bot.conference.schedule.conference.id
    await ada.join(f"#{conf_id}:localhost")  # the space, which admits its members to the rooms
    track = await ada.join(f"#{conf_id}-track-forum:localhost")
    try:
        yield SimpleNamespace(bot=bot, ada=ada, track=track, hs_token=_tokens(service)["hs_token"],
                              as_token=_tokens(service)["as_token"])
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


def _crafted(world, body: str) -> dict[str, Any]:
    """A command event as Synapse pushes one (it is in no room's history: only the push tells of it)."""
    return {"type": "m.room.message", "room_id": world.track, "sender": world.ada.user_id,
            "event_id": f"$crafted-{uuid.uuid4().hex}", "origin_server_ts": 1, "content": {"msgtype": "m.text",
                                                                                            "body": body}}


async def _push(service, txn_id: str, events: list[dict[str, Any]], token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{service.url}/_matrix/app/v1/transactions/{txn_id}", json={"events": events},
                               headers=headers) as response:
            return response.status, await response.json()


async def _settled(world) -> None:
    """Everything pushed before is handled: a command sent now is answered after it."""
    await world.ada.ask(world.track, "!help", BOT)


async def test_a_transaction_pushed_again_is_not_handled_again_also_after_a_restart_which_misses_nothing(
        service, world):
    txn_id = f"replayed-{uuid.uuid4().hex}"
    first = _crafted(world, "!help")
    assert await _push(service, txn_id, [first], world.hs_token) == (200, {})
    await world.ada.reply_to(world.track, first["event_id"], BOT)
    # The same transaction again, and under its id events it did not hold: acknowledged, not handled.
    again = _crafted(world, "!help")
    assert await _push(service, txn_id, [first], world.hs_token) == (200, {})
    assert await _push(service, txn_id, [again], world.hs_token) == (200, {})
    await _settled(world)
    assert len(world.ada.replies_to(world.track, first["event_id"], BOT)) == 1
    assert world.ada.replies_to(world.track, again["event_id"], BOT) == []

    await world.bot.stop()
    while_down = await world.ada.say(world.track, "!help")  # Synapse keeps it for the bot
    await world.bot.start()
    await world.ada.reply_to(world.track, while_down, BOT, why="an answer to what was said while the bot was down")
    after_restart = _crafted(world, "!help")
    assert await _push(service, txn_id, [after_restart], world.hs_token) == (200, {})
    await _settled(world)
    assert world.ada.replies_to(world.track, after_restart["event_id"], BOT) == []
    assert len(world.ada.replies_to(world.track, first["event_id"], BOT)) == 1
    # A new transaction is handled as ever.
    fresh = _crafted(world, "!help")
    assert await _push(service, f"fresh-{uuid.uuid4().hex}", [fresh], world.hs_token) == (200, {})
    await world.ada.reply_to(world.track, fresh["event_id"], BOT)


async def test_a_transaction_without_the_hs_token_is_refused_and_not_handled(service, world):
    forged = _crafted(world, "!help")
    for token, status in ((None, 401), ("not-the-token", 403), (world.as_token, 403)):
        code, answer = await _push(service, f"forged-{uuid.uuid4().hex}", [forged], token)
        assert (code, answer.get("errcode")) == (status, "M_UNAUTHORIZED" if status == 401 else "M_FORBIDDEN")
    await _settled(world)
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
