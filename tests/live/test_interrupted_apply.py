"""An interrupted set-up is completed, not refused: ``podium apply`` stopped by SIGINT or
SIGKILL while a createRoom is on its way (held by the proxy, then let through or dropped), or
while a space link is, and a room the bot created but never finished, all end in exactly the
rooms the plan calls for, each once, after the next apply."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.matrix import MatrixAdapter
from bot.roomstate.observation import Snapshot, fold
from bot.roomstate.state import LOCATOR
from tests.support.provisioning import conference_for, podium, small_schedule
from tests.support.proxy import Fault


@pytest.fixture
def own_bot(synapse, make_user):
    """A bot account of its own, so every room it is in belongs to the conference under test."""
    from bot.config import Connection

    user_id, token = make_user("interrupted-bot", displayname="Podium")
    synapse.override_ratelimit(user_id)
    return Connection(synapse.base_url, user_id, token)


def bot_rooms(bot) -> Snapshot:
    async def run() -> Snapshot:
        async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
            return fold(Snapshot(), await adapter.sync_state(None))

    return asyncio.run(run())


def assert_exactly_the_plan(path: Path, bot, monkeypatch, capsys) -> None:
    """plan finds nothing to do, and the bot is in one room per conference object, each the room
    its alias names: nothing was created twice, nothing was left half made."""
    code, out, err = podium(monkeypatch, capsys, bot, bot.homeserver, "plan", "--schedule", str(path))
    assert code == 0, out + err
    conference = conference_for(path, bot)
    snapshot = bot_rooms(bot)
    keys = sorted(state.get(LOCATOR, {}).get("", {}).get("key", "<no locator>") for state in snapshot.rooms.values())
    assert keys == sorted(room.key for room in conference.rooms), "one room per conference object, no more"

    async def aliases() -> dict[str, str | None]:
        async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
            return {room.key: await adapter.resolve_alias(f"#{room.alias}:localhost") for room in conference.rooms}

    by_key = {state[LOCATOR][""]["key"]: room_id for room_id, state in snapshot.rooms.items()}
    assert asyncio.run(aliases()) == by_key


def apply_in_a_process(path: Path, bot, homeserver: str, data_dir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_HOMESERVER=homeserver, PODIUM_USER_ID=bot.user_id, PODIUM_ACCESS_TOKEN=bot.access_token,
               PODIUM_DATA_DIR=str(data_dir))
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "apply", "--schedule", str(path), "--quiet"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def nth(method: str, fragment: str, n: int):
    """Matches the n-th request (1-based) whose method is ``method`` and path holds ``fragment``."""
    seen = [0]
    lock = threading.Lock()

    def match(m: str, p: str) -> bool:
        if m != method or fragment not in p:
            return False
        with lock:
            seen[0] += 1
            return seen[0] == n

    return match


POINTS = {
    "the space's createRoom": ("POST", "/createRoom", 1),
    "a later createRoom": ("POST", "/createRoom", 4),
    "a space link": ("PUT", "/state/m.space.child/", 2),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("point", list(POINTS))
def test_apply_stopped_with_a_request_on_its_way_converges(point, sig, tmp_path, own_bot, proxy, monkeypatch,
                                                             capsys):
    """The request reaches the homeserver only after apply is gone: its answer is lost for good."""
    path, _ = small_schedule(tmp_path, talks=3)
    method, fragment, n = POINTS[point]
    is_it = nth(method, fragment, n)
    arrived, release = threading.Event(), threading.Event()
    proxy.faults.append(lambda m, p: Fault(release=release, arrived=arrived) if is_it(m, p) else None)
    process = apply_in_a_process(path, own_bot, proxy.base_url, tmp_path / "data")
    try:
        assert arrived.wait(30), f"apply never reached {point}"
        process.send_signal(sig)
        process.wait(20)
    finally:
        process.kill()
        release.set()
    proxy.settled()
    assert process.returncode != 0
    code, out, err = podium(monkeypatch, capsys, own_bot, own_bot.homeserver, "apply", "--schedule", str(path),
                            "--quiet", "--data-dir", str(tmp_path / "data"))
    assert code == 0, out + err
    assert_exactly_the_plan(path, own_bot, monkeypatch, capsys)


def test_apply_killed_while_its_create_never_reached_the_homeserver_converges(tmp_path, own_bot, proxy,
                                                                               monkeypatch, capsys):
    path, _ = small_schedule(tmp_path, talks=3)
    is_it = nth("POST", "/createRoom", 2)
    arrived, release = threading.Event(), threading.Event()
    proxy.faults.append(lambda m, p: Fault(release=release, arrived=arrived, forward_after_hold=False)
                        if is_it(m, p) else None)
    process = apply_in_a_process(path, own_bot, proxy.base_url, tmp_path / "data")
    try:
        assert arrived.wait(30)
        process.kill()
        process.wait(20)
    finally:
        release.set()
    proxy.settled()
    code, out, err = podium(monkeypatch, capsys, own_bot, own_bot.homeserver, "apply", "--schedule", str(path),
                            "--quiet", "--data-dir", str(tmp_path / "data"))
    assert code == 0, out + err
    assert_exactly_the_plan(path, own_bot, monkeypatch, capsys)


def test_a_room_the_bot_created_but_never_finished_is_completed(tmp_path, own_bot, monkeypatch, capsys):
    """What a homeserver stopped inside createRoom leaves: the room and its alias exist, made by
    the bot, but none of the initial state (no locator, name, widgets, space link) was stored."""
    path, conf_id = small_schedule(tmp_path, talks=2)
    alias = f"{conf_id}-track-tr0"

    async def half_made() -> str:
        async with MatrixAdapter(own_bot.homeserver, own_bot.user_id, own_bot.access_token) as adapter:
            return await adapter.create_room({"room_alias_name": alias, "preset": "private_chat"}, what="half made")

    room_id = asyncio.run(half_made())
    code, out, err = podium(monkeypatch, capsys, own_bot, own_bot.homeserver, "apply", "--schedule", str(path),
                            "--quiet")
    assert code == 0, out + err
    assert "finished setting up the room for track/tr0: an earlier run was interrupted after creating it" in out
    assert_exactly_the_plan(path, own_bot, monkeypatch, capsys)
    snapshot = bot_rooms(own_bot)
    assert snapshot.rooms[room_id][LOCATOR][""]["key"] == "track/tr0", "the bot's own room was completed"


def test_ctrl_c_during_the_first_demo_set_up_is_completed_by_the_next(tmp_path):
    """The case as a new user met it: Ctrl-C while the first `podium demo` creates its rooms stops
    the homeserver inside createRoom calls; the next `podium demo` finishes the set-up."""
    from bot import SAMPLE_SCHEDULE
    from bot.homeserver import EmbeddedSynapse
    from bot.provisioning.desired import Settings
    from bot.provisioning.pipeline import build
    from bot.web.background import free_port
    from tests.support.demo_process import DemoProcess

    data_dir, port = tmp_path / "demo", free_port()
    first = DemoProcess(data_dir, port, free_port(), "--no-wait")
    first.wait_for("Plan:", timeout=120)
    time.sleep(2)  # well inside the set-up: the sample conference takes 10 s and more to create
    first.stop()
    second = DemoProcess(data_dir, port, free_port(), "--no-wait")
    assert second.process.wait(240) == 0, second.output
    assert "FAILED" not in second.output, second.output

    server = EmbeddedSynapse(data_dir / "synapse", server_name="localhost", port=port)
    server.start()
    try:
        token = server.login("podium", (data_dir / "bot-password").read_text().strip())
        from bot.config import Connection

        bot = Connection(server.base_url, "@podium:localhost", token)
        snapshot = bot_rooms(bot)
    finally:
        server.stop()
    conference = build(SAMPLE_SCHEDULE, Settings("localhost", "@podium:localhost", "http://localhost"))
    keys = sorted(state.get(LOCATOR, {}).get("", {}).get("key", "<no locator>") for state in snapshot.rooms.values())
    assert keys == sorted(room.key for room in conference.rooms), "every room once, none half made"


@pytest.mark.parametrize("journal", [True, False], ids=["sent-by-an-earlier-run", "never-sent"])
def test_an_alias_left_naming_a_room_the_bot_is_not_in(journal, tmp_path, own_bot, monkeypatch, capsys):
    """A homeserver stopped inside createRoom before the room's first event leaves the alias
    naming a room nobody is in. The store remembers that an earlier run sent that createRoom and
    never heard back: apply takes the alias back and makes the room. Without that memory, the
    alias is someone else's as far as Podium can tell, and it is only reported."""
    from bot.store.database import Store

    path, conf_id = small_schedule(tmp_path, talks=1)
    alias = f"#{conf_id}-hallway:localhost"

    async def stray() -> str:
        # The closest a test gets to a room without events: one the bot made under the alias and left.
        async with MatrixAdapter(own_bot.homeserver, own_bot.user_id, own_bot.access_token) as adapter:
            room_id = await adapter.create_room({"room_alias_name": alias[1:].split(":")[0]}, what="stray")
            await adapter.request("POST", f"/_matrix/client/v3/rooms/{room_id}/leave", {}, what="leave it")
            return room_id

    stray_id = asyncio.run(stray())
    data_dir = tmp_path / "data"
    if journal:
        store = Store(data_dir)
        store.note_create(Store.account(own_bot.user_id, own_bot.homeserver), alias, time.time())
        store.close()
    code, out, err = podium(monkeypatch, capsys, own_bot, own_bot.homeserver, "apply", "--schedule", str(path),
                            "--quiet", "--data-dir", str(data_dir))
    if journal:
        assert code == 0, out + err
        assert "finished setting up the room for lobby/hallway" in out
        assert_exactly_the_plan(path, own_bot, monkeypatch, capsys)
        assert stray_id not in bot_rooms(own_bot).rooms
    else:
        assert code == 1
        assert f"the alias belongs to room {stray_id}, which the bot is not in" in out
        store = Store(data_dir)
        assert store.unanswered_creates(Store.account(own_bot.user_id, own_bot.homeserver)) == set(), \
            "an answered create leaves no mark"
        store.close()
