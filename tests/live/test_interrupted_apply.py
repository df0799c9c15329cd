"""An interrupted set-up is completed, not refused: ``podium apply`` stopped by SIGINT or
SIGKILL while a createRoom is on its way (held by the proxy, then let through or dropped), or
while a space link is, and a room the bot created but never finished, all end in exactly the
rooms the plan calls for, each once, after the next apply."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import re
import threading
import time
from pathlib import Path

import pytest
import yaml

from bot.matrix import MatrixAdapter
from bot.roomstate.observation import Snapshot, fold
from bot.roomstate.state import LOCATOR
from tests.support.provisioning import conference_for, podium, small_schedule
from tests.support.proxy import Fault
from tests.support.waiting import PATIENCE, wait_until


#: A real pretalx export (tests/fixtures/README.md says where it comes from), served slowly to `podium import`.
DEMOCON = Path(__file__).resolve().parents[1] / "fixtures" / "pretalx-democon.json"


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


def apply_in_a_process(path: Path, bot, homeserver: str, data_dir: Path, **popen) -> subprocess.Popen:
    return podium_in_a_process(bot, homeserver, data_dir, "apply", "--schedule", str(path), "--quiet", **popen)


def podium_in_a_process(bot, homeserver: str, data_dir: Path, *args: str, **popen) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_HOMESERVER=homeserver, PODIUM_USER_ID=bot.user_id, PODIUM_ACCESS_TOKEN=bot.access_token,
               PODIUM_DATA_DIR=str(data_dir))
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **popen)


def signalled_while_held(process: subprocess.Popen, arrived: threading.Event, release: threading.Event, what: str,
                         sig: int = signal.SIGINT) -> str:
    """Send ``sig`` once the proxy holds the request (``arrived``), and the output once the process
    has ended; the request is let go only after that."""
    try:
        assert arrived.wait(PATIENCE), f"never reached {what}"
        process.send_signal(sig)
        output, _ = process.communicate(timeout=PATIENCE)  # bounds a hang only: bench/interrupt.py times it
    finally:
        process.kill()
        release.set()
    return output


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
    """The request reaches the homeserver only after apply is gone: its answer is lost for good.
    Ctrl-C does not wait for it: apply stops at once and says how far it got."""
    path, _ = small_schedule(tmp_path, talks=3)
    method, fragment, n = POINTS[point]
    is_it = nth(method, fragment, n)
    arrived, release = threading.Event(), threading.Event()
    proxy.faults.append(lambda m, p: Fault(release=release, arrived=arrived) if is_it(m, p) else None)
    process = apply_in_a_process(path, own_bot, proxy.base_url, tmp_path / "data")
    # While the proxy holds the request, apply waits for the homeserver, and stays so until the signal ends it.
    output = signalled_while_held(process, arrived, release, point, sig)
    proxy.settled()
    if sig == signal.SIGINT:
        assert process.returncode == 130, output
        assert re.search(r"podium: stopped by Ctrl-C: \d+ of 23 write requests made\. Run `podium apply` again to "
                         r"finish", output), output
        assert "Traceback" not in output, output
    else:
        assert process.returncode == -signal.SIGKILL
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


def creates_on_their_way(data_dir: Path) -> int:
    """How many createRooms the demo's bot has sent and not yet heard back from."""
    database = data_dir / "podium.db"
    if not database.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as db:
        try:
            return db.execute("SELECT count(*) FROM unanswered_creates").fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not made yet
            return 0


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
    # A createRoom on its way: the store notes each one before sending it and forgets it when answered.
    wait_until(lambda: creates_on_their_way(data_dir), "a createRoom on its way")
    assert first.stop() == 130, first.output
    assert re.search(r"podium: stopped by Ctrl-C: \d+ of \d+ write requests made\. Run `podium demo` again",
                     first.output), first.output
    assert "Stopping Synapse" in first.output, first.output
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


def test_apply_started_with_ctrl_c_ignored_still_stops_on_it(tmp_path, own_bot, proxy):
    """A shell starts a background job (`podium apply &` in a script) with SIGINT ignored; Python
    then never raises KeyboardInterrupt. Podium stops on Ctrl-C all the same."""
    path, _ = small_schedule(tmp_path, talks=3)
    is_it = nth("POST", "/createRoom", 2)
    arrived, release = threading.Event(), threading.Event()
    proxy.faults.append(lambda m, p: Fault(release=release, arrived=arrived) if is_it(m, p) else None)
    process = apply_in_a_process(path, own_bot, proxy.base_url, tmp_path / "data",
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    output = signalled_while_held(process, arrived, release, "the second createRoom")
    proxy.settled()
    assert process.returncode == 130, output
    assert "podium: stopped by Ctrl-C: " in output, output



def test_invite_stopped_with_an_invite_on_its_way_is_finished_by_the_next(tmp_path, own_bot, make_user, proxy,
                                                                          monkeypatch, capsys):
    path, conf_id = small_schedule(tmp_path, talks=1, tracks=1)
    schedule = yaml.safe_load(path.read_text())
    schedule["conference"]["access"] = "invite"
    path.write_text(yaml.safe_dump(schedule, sort_keys=False))
    code, out, err = podium(monkeypatch, capsys, own_bot, own_bot.homeserver, "apply", "--schedule", str(path),
                            "--quiet")
    assert code == 0, out + err
    attendees = [make_user("attendee")[0] for _ in range(3)]
    people = tmp_path / "attendees.csv"
    people.write_text("matrix_id\n" + "".join(f"{user}\n" for user in attendees))
    is_it = nth("POST", "/invite", 2)
    arrived, release = threading.Event(), threading.Event()
    proxy.faults.append(lambda m, p: Fault(release=release, arrived=arrived) if is_it(m, p) else None)
    data_dir = tmp_path / "data"
    process = podium_in_a_process(own_bot, proxy.base_url, data_dir, "invite", str(people), "--schedule", str(path),
                                  "--quiet")
    output = signalled_while_held(process, arrived, release, "the second invite")
    proxy.settled()
    assert process.returncode == 130, output
    assert f"podium: stopped by Ctrl-C: 1 of 3 attendees handled. Run `podium invite {people}` again" in output, output
    code, out, err = podium(monkeypatch, capsys, own_bot, own_bot.homeserver, "invite", str(people), "--schedule",
                            str(path), "--quiet", "--data-dir", str(data_dir))
    assert code == 0, out + err

    async def memberships() -> list[str | None]:
        async with MatrixAdapter(own_bot.homeserver, own_bot.user_id, own_bot.access_token) as adapter:
            space = await adapter.resolve_alias(f"#{conf_id}:localhost")
            return [await adapter.membership(space, user) for user in attendees]

    assert asyncio.run(memberships()) == ["invite"] * 3


def test_import_stopped_while_its_download_is_held_writes_nothing_and_the_next_finishes(tmp_path):
    """`podium import` from a server that has not answered yet: Ctrl-C stops it, the schedule is
    not written, and the next import (the server answering now) writes it."""
    arrived, release = threading.Event(), threading.Event()

    class SlowServer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            arrived.set()
            release.wait(PATIENCE)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(DEMOCON.read_bytes())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the import this was for was stopped

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    into = tmp_path / "schedule.yaml"
    command = [sys.executable, "-m", "bot.cli", "import", f"http://127.0.0.1:{server.server_port}/schedule.json",
               "--into", str(into)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    try:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert arrived.wait(PATIENCE), "import never asked the server"
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=PATIENCE)
        finally:
            process.kill()
        assert process.returncode == 130, output
        assert "podium: stopped by Ctrl-C; the schedule file is only ever replaced whole" in output, output
        assert "Traceback" not in output, output
        assert not into.exists(), "nothing is written by an import stopped before it had the programme"
        release.set()
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert into.exists()
    finally:
        release.set()
        server.shutdown()
        server.server_close()
