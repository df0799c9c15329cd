"""The bot as an application service against a Synapse of its own that keeps its stock rate
limits and loads the registration `podium appservice` wrote (the module fixture ``service``), the
conference applied and attendees invited through it (``applied``, ``invited``), the bot's
``podium run --appservice`` in the test's process (``RunningBot``), and transactions pushed to it
as Synapse pushes them (``push_transaction``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import yaml
from nio import AsyncClient

from bot.cli import main
from bot.config import APPSERVICE_FOLDER, connection_from
from bot.homeserver import EmbeddedSynapse
from bot.matrix import MatrixAdapter
from bot.ports import free_port
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import build
from bot.serve import Listen, serve
from tests.support.accounts import TEST_PASSWORD
from tests.support.live import DURING_FIRST_TALK, Person
from tests.support.waiting import PATIENCE

BOT = "@podium-as:localhost"
FRESH_BOT = "@podium-fresh:localhost"
#: Breakout rooms beyond the space, lobbies, track and backstage: well over the ten rooms Synapse's
#: stock limits let one user create in a burst.
TALKS = 14
#: Attendees invited at once: over the ten invitations to one room Synapse's stock limits allow in a burst.
ATTENDEES = 14

def podium_cli(*argv: str) -> tuple[int, str]:
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
    code, printed = podium_cli("appservice", "--user-id", BOT, "--url", url, "--data-dir", str(data),
                         "--schedule", str(schedule))
    assert code == 0, printed
    registration = data / APPSERVICE_FOLDER / "registration.yaml"
    # A second service, for a bot whose account does not exist yet (Synapse never pushes to it).
    fresh = directory / "fresh"
    fresh.mkdir()
    code, fresh_printed = podium_cli("appservice", "--user-id", FRESH_BOT, "--url", "http://127.0.0.1:9", "--data-dir",
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


@pytest.fixture(scope="module")
def applied(service) -> str:
    """The conference applied through the application service; what `podium apply` printed."""
    code, printed = podium_cli("apply", "--appservice", "--homeserver", service.homeserver, "--user-id", BOT,
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
    code, printed = podium_cli("invite", str(attendees), "--appservice", "--homeserver", service.homeserver,
                         "--user-id", BOT, "--data-dir", str(service.data), "--schedule", str(service.schedule),
                         "--quiet")
    assert code == 0, printed
    return SimpleNamespace(first=accounts[0], printed=printed)


def registration_tokens(service) -> dict[str, str]:
    return yaml.safe_load(service.registration.read_text())


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


def crafted_command(world, body: str) -> dict[str, Any]:
    """A command event as Synapse pushes one (it is in no room's history: only the push tells of it)."""
    return {"type": "m.room.message", "room_id": world.track, "sender": world.ada.user_id,
            "event_id": f"$crafted-{uuid.uuid4().hex}", "origin_server_ts": 1, "content": {"msgtype": "m.text",
                                                                                            "body": body}}


async def push_transaction(service, txn_id: str, events: list[dict[str, Any]], token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{service.url}/_matrix/app/v1/transactions/{txn_id}", json={"events": events},
                               headers=headers) as response:
            return response.status, await response.json()


async def all_handled(world) -> None:
    """Everything pushed before is handled: a command sent now is answered after it."""
    await world.ada.ask(world.track, "!help", BOT)


async def attendee_in_track(service, invited, bot: RunningBot) -> tuple[Person, str]:
    """The first invited attendee, joined to the space and the track room; and that room's id."""
    user_id, token = invited.first
    client = AsyncClient(service.homeserver, user_id)
    client.access_token, client.user_id = token, user_id
    ada = Person(client)
    await ada.sync(0)
    conf_id = bot.conference.schedule.conference.id
    await ada.join(f"#{conf_id}:localhost")  # the space, which admits its members to the rooms
    return ada, await ada.join(f"#{conf_id}-track-forum:localhost")
