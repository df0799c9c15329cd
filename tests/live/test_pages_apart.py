"""The widget pages as a process of their own (`podium web`) beside the bot alone (`podium run
--no-pages`) on one data directory: the pages show what the bot records, go on answering while the
bot is killed, and an open page follows the restarted bot without a reload. `podium run` started
while its homeserver is down serves its pages at once and catches up when it comes back. Bad
input to `podium web` is one line and exit 1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.cli import main
from bot.config import APPSERVICE_FOLDER, Connection
from bot.conference import pages
from bot.homeserver import EmbeddedSynapse
from bot.ports import free_port
from tests.support.accounts import TEST_PASSWORD
from tests.support.demo_process import PodiumProcess
from tests.support.live import LiveSetup, Person, by_bot, live_conference, write_live_schedule
from tests.support.waiting import PATIENCE, eventually

LIVE = LiveSetup(people=(("ann", "Ann"),), bot_running=False)
#: What `podium run` prints once the bot has caught up with its rooms.
ANSWERING = "Podium is answering"
#: What `podium web` prints once it serves the pages.
SERVING = "Widget pages for"


def rehearsal_start() -> str:
    """A --rehearse-at that puts the test conference's first talk (45 minutes) on now, for the
    bot and the pages alike: questions go to it, the board shows them."""
    return (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")


def bot_env(connection: Connection) -> dict[str, str]:
    env = {"PODIUM_HOMESERVER": connection.homeserver, "PODIUM_USER_ID": connection.user_id}
    return env | ({"PODIUM_ACCESS_TOKEN": connection.access_token} if connection.access_token else {})


class EventStream:
    """A page's server-sent events, read as a browser's EventSource reads them: each ``data:``
    line a payload, the connection kept open between them."""

    def __init__(self, response: aiohttp.ClientResponse):
        self.response = response
        self.payloads: list[str] = []

    async def until(self, text: str) -> str:
        """The first payload (from the last one read on) holding ``text``."""
        async def read() -> str:
            while not (self.payloads and text in self.payloads[-1]):
                line = (await self.response.content.readline()).decode()
                assert line, f"the event stream ended before it showed {text!r}"
                if line.startswith("data: "):
                    self.payloads.append(line[6:].strip())
            return self.payloads[-1]

        return await asyncio.wait_for(read(), PATIENCE)


@contextlib.asynccontextmanager
async def event_stream(session: aiohttp.ClientSession, url: str) -> AsyncIterator[EventStream]:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as response:
        assert response.status == 200 and response.content_type == "text/event-stream", response.status
        yield EventStream(response)


async def answers(session: aiohttp.ClientSession, url: str, *texts: str) -> str:
    """The page at ``url``, which must answer 200 and hold every one of ``texts``."""
    async with session.get(url) as response:
        body = await response.text()
        assert response.status == 200, f"{url}: HTTP {response.status}"
    for text in texts:
        assert text in body, f"{url} does not show {text!r}"
    return body


def finished_cleanly(process: PodiumProcess) -> None:
    code = process.stop()
    assert code == 0, process.output
    assert "Traceback" not in process.output, process.output


async def ask_and_see(person: Person, room: str, bot: str, question: str) -> None:
    await person.say(room, f"!ask {question}")
    await person.wait_for(room, by_bot(bot, question), why=f"the bot's post of {question!r}")


# ----------------------------------------------------------------------------- two processes


async def test_the_pages_outlive_a_killed_bot_and_follow_it_back(live, tmp_path):
    data_dir = live.directory / "data"
    data_dir.mkdir(exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    at = rehearsal_start()
    common = ["--schedule", str(live.conf.schedule_path), "--data-dir", str(data_dir), "--rehearse-at", at]
    web = PodiumProcess(["web", *common, "--listen", f"127.0.0.1:{port}", "--user-id", live.bot],
                        cwd=tmp_path)
    bot_args = ["run", "--no-pages", *common, "--public-url", base]
    bot = PodiumProcess(bot_args, cwd=tmp_path, env=bot_env(live.connection))
    try:
        await asyncio.to_thread(web.wait_for, SERVING, PATIENCE)
        await asyncio.to_thread(bot.wait_for, ANSWERING, PATIENCE)
        assert "listening on" not in bot.output, bot.output  # the bot alone, syncing, listens nowhere
        async with aiohttp.ClientSession() as session:
            async with event_stream(session, base + pages.QA_EVENTS_PATH.format(track="forum")) as board:
                await ask_and_see(live.ann, live.track, live.bot, "Will the pages outlive the bot?")
                await board.until("Will the pages outlive the bot?")

                bot.kill()
                # Everything the pages serve still answers, with what the bot had recorded.
                await answers(session, base + pages.INDEX_PATH, "Live &lt;Test&gt;")
                await answers(session, base + pages.STREAM_PATH.format(track="forum"), "Forum Hall")
                await answers(session, base + pages.QA_PATH.format(track="forum"))
                async with event_stream(session, base + pages.QA_EVENTS_PATH.format(track="forum")) as fresh:
                    shown = json.loads(await fresh.until("Will the pages outlive the bot?"))
                assert shown, "a board opened while the bot is down shows the questions it recorded"

                bot = PodiumProcess(bot_args, cwd=tmp_path, env=bot_env(live.connection))
                await asyncio.to_thread(bot.wait_for, ANSWERING, PATIENCE)
                await ask_and_see(live.ann, live.track, live.bot, "And the restarted bot?")
                # The board opened before the kill, never reloaded, shows the new question.
                await board.until("And the restarted bot?")
        finished_cleanly(bot)
        finished_cleanly(web)
    finally:
        for process in (bot, web):
            if process.process.poll() is None:
                process.kill()


async def test_the_pages_follow_schedule_edits_and_keep_the_last_good_one(live, tmp_path):
    data_dir = live.directory / "edits"
    data_dir.mkdir(exist_ok=True)
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text(live.conf.schedule_path.read_text())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = PodiumProcess(["web", "--schedule", str(schedule), "--data-dir", str(data_dir), "--listen",
                         f"127.0.0.1:{port}", "--user-id", live.bot], cwd=tmp_path)
    try:
        await asyncio.to_thread(web.wait_for, SERVING, PATIENCE)
        async with aiohttp.ClientSession() as session:
            await answers(session, base + pages.SCHEDULE_PATH, "Second talk")
            data = yaml.safe_load(schedule.read_text())
            data["talks"][1]["title"] = "Second talk, renamed"
            schedule.write_text(yaml.safe_dump(data, sort_keys=False))

            async def renamed() -> bool:
                async with session.get(base + pages.SCHEDULE_PATH) as response:
                    return "Second talk, renamed" in await response.text()

            await eventually(renamed, what="the schedule page showing the edit")
            data["talks"][1]["duration"] = "long"
            schedule.write_text(yaml.safe_dump(data, sort_keys=False))
            await asyncio.to_thread(web.wait_for, "was not loaded", PATIENCE)
            # The error is located; the last good programme stays in force.
            assert re.search(rf"{re.escape(schedule.name)}:\d+.*duration", web.output), web.output
            await answers(session, base + pages.SCHEDULE_PATH, "Second talk, renamed")
        finished_cleanly(web)
    finally:
        if web.process.poll() is None:
            web.kill()


async def test_the_bot_alone_as_an_appservice_listens_for_transactions_and_serves_no_page(tmp_path):
    from bot import SAMPLE_SCHEDULE
    from bot.config import AppService
    from bot.provisioning.desired import Settings
    from bot.provisioning.pipeline import build
    from bot.serve import Listen, serve

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    user_id = "@podium:localhost"
    # A homeserver that is not there: the bot keeps trying; what listens is the question here.
    connection = Connection(f"http://127.0.0.1:{free_port()}", user_id, "as-token", None, AppService("podium", "hs"))
    conference = build(SAMPLE_SCHEDULE, Settings("localhost", user_id, "https://pages.example.org"))
    running = asyncio.create_task(serve(connection, conference, tmp_path / "data", listen=Listen("127.0.0.1", port),
                                        pages=False))
    try:
        async with aiohttp.ClientSession() as session:
            async def listening() -> int | None:
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with session.put(base + "/_matrix/app/v1/transactions/1", json={"events": []}) as response:
                        return response.status
                assert not running.done(), running
                return None

            assert await eventually(listening, what="the transactions' listener") == 401  # no hs_token
            for path in (pages.INDEX_PATH, pages.STREAM_PATH.format(track="forum"), pages.SCHEDULE_PATH):
                async with session.get(base + path) as response:
                    assert response.status == 404, path
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


# ----------------------------------------------------------------------------- homeserver away


@pytest.fixture(scope="module")
def away(tmp_path_factory: pytest.TempPathFactory):
    """A Synapse of its own, which the tests stop and start: (the server, a directory for it)."""
    directory = tmp_path_factory.mktemp("away")
    synapse = EmbeddedSynapse(directory / "synapse")
    synapse.start()
    try:
        yield synapse, directory
    finally:
        synapse.stop()


def _make_user(synapse: EmbeddedSynapse):
    def make_user(prefix: str = "user", *, displayname: str | None = None, **_: object) -> tuple[str, str]:
        return synapse.register_user(f"{prefix}-{uuid.uuid4().hex[:10]}", TEST_PASSWORD, displayname=displayname)

    return make_user


async def _attendee_in(synapse: EmbeddedSynapse, conf_id: str) -> tuple[Person, str]:
    """An attendee logged in and in the conference's track room, and that room's id."""
    ann_id, _ = _make_user(synapse)("ann", displayname="Ann")
    ann = await Person.login(synapse.base_url, ann_id, TEST_PASSWORD)
    return ann, await ann.join(f"#{conf_id}-track-forum:localhost")


async def test_run_serves_its_pages_while_the_homeserver_is_down_and_answers_once_it_is_up(away, tmp_path):
    synapse, _ = away
    synapse.start()
    user_id, token = _make_user(synapse)("away-bot", displayname="Podium")
    bot = Connection(synapse.base_url, user_id, token)
    conf = await live_conference(tmp_path, bot, _make_user(synapse))
    ann, track = await _attendee_in(synapse, conf.conf_id)
    await _run_while_away(synapse, conf.schedule_path, ann, track, user_id, tmp_path, [], bot_env(bot))


async def test_run_as_appservice_serves_its_pages_while_the_homeserver_is_down(away, tmp_path):
    synapse, _ = away
    synapse.start()
    port = free_port()
    user_id = f"@away-as-{uuid.uuid4().hex[:10]}:localhost"
    data_dir = tmp_path / "data"
    make_user = _make_user(synapse)
    schedule, conf_id = write_live_schedule(tmp_path, moderator=make_user("mod")[0], speaker=make_user("sam")[0])
    code = await asyncio.to_thread(main, ["appservice", "--user-id", user_id, "--url", f"http://127.0.0.1:{port}",
                                          "--data-dir", str(data_dir), "--schedule", str(schedule)])
    assert code == 0
    await asyncio.to_thread(synapse.stop)
    synapse.app_services = (*synapse.app_services, data_dir / APPSERVICE_FOLDER / "registration.yaml")
    await asyncio.to_thread(synapse.start)
    env = {"PODIUM_HOMESERVER": synapse.base_url, "PODIUM_USER_ID": user_id}
    apply = PodiumProcess(["apply", "--appservice", "--schedule", str(schedule), "--data-dir", str(data_dir)],
                          cwd=tmp_path, env=env)
    assert await asyncio.to_thread(apply.finish, PATIENCE) == 0, apply.output
    ann, track = await _attendee_in(synapse, conf_id)
    await _run_while_away(synapse, schedule, ann, track, user_id, tmp_path, ["--appservice"], env, port=port)


async def _run_while_away(synapse: EmbeddedSynapse, schedule: Path, ann: Person, track: str, bot_id: str,
                          tmp_path: Path, options: list[str], env: dict[str, str], *, port: int | None = None) -> None:
    """`podium run` started while ``synapse`` is stopped: its pages answer at once; once Synapse is
    back the bot catches up and answers a command; the outage is said once, and its end once."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(synapse.stop)
    run = PodiumProcess(["run", *options, "--schedule", str(schedule), "--data-dir",
                         str(tmp_path / "data"), "--listen", f"127.0.0.1:{port}", "--rehearse-at", rehearsal_start()],
                        cwd=tmp_path, env=env)
    try:
        await asyncio.to_thread(run.wait_for, "cannot reach the homeserver", PATIENCE)
        async with aiohttp.ClientSession() as session:
            await answers(session, base + pages.INDEX_PATH, "Live &lt;Test&gt;")
            await answers(session, base + pages.STREAM_PATH.format(track="forum"), "Forum Hall")
            async with event_stream(session, base + pages.QA_EVENTS_PATH.format(track="forum")) as board:
                await board.until("{")
        assert run.process.poll() is None, run.output
        assert ANSWERING not in run.output
        await asyncio.to_thread(synapse.start)
        await asyncio.to_thread(run.wait_for, ANSWERING, PATIENCE)
        await ann.sync(0)
        reply = await ann.ask(track, "!now", bot_id)
        assert "Async" in reply["body"], reply
        assert run.output.count("cannot reach the homeserver") == 1, run.output
        assert "the homeserver answers again" in run.output, run.output
        finished_cleanly(run)
    finally:
        if run.process.poll() is None:
            run.kill()
        await ann.close()


# ----------------------------------------------------------------------------- bad input


def test_web_help_names_what_it_serves(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["web", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--listen" in out and "--data-dir" in out and "--trusted-proxy" in out, out
    assert "PODIUM_ACCESS_TOKEN" not in out, "the pages need no login"


def test_web_refuses_a_missing_data_dir_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PODIUM_USER_ID", "@podium:localhost")
    from bot import SAMPLE_SCHEDULE

    code = main(["web", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path / "nowhere"),
                 "--listen", f"127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "nowhere" in err and "--data-dir" in err, err
    assert "Traceback" not in err


def test_web_refuses_a_bad_schedule_with_where_it_is_wrong(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PODIUM_USER_ID", "@podium:localhost")
    schedule = tmp_path / "schedule.yaml"
    schedule.write_text("conference:\n  id: Not An Id\n")
    (tmp_path / "data").mkdir()
    code = main(["web", "--schedule", str(schedule), "--data-dir", str(tmp_path / "data"),
                 "--listen", f"127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 1
    assert "schedule.yaml:" in err and "Traceback" not in err, err


def test_web_without_the_bots_id_says_which_setting_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PODIUM_USER_ID", raising=False)
    from bot import SAMPLE_SCHEDULE

    (tmp_path / "data").mkdir()
    code = main(["web", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "PODIUM_USER_ID" in err, err
