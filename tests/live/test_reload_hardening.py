"""The running bot's schedule reloader against what an attacker (or a slip) can put at the schedule's
path: a file far too large, a FIFO, a symbolic link to a secret. The bot keeps answering ``!now``
while the file is checked, the backstage report says what is wrong with the file and where, and
it never quotes a file that is no schedule.

Reading is made observable by wrapping the reloader's ``build`` (the real one runs, after the
test has seen the bot answer): a reload whose reading blocked the event loop would keep the bot
from answering until the reading ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from pathlib import Path

import pytest

from bot.conference.inputfile import SCHEDULE_LIMIT, size_text
from bot.day import reload as reload_module
from bot.day.reload import ReloadOptions, ScheduleReloader
from tests.support.live import FIRST_TALK_TITLE, LiveSetup, by_bot
from tests.support.waiting import PATIENCE, eventually

LIVE = LiveSetup(rooms={"track": "track-forum", "backstage": "backstage-forum"}, joins={"mod": ("track", "backstage")})

SECRET_LINE = "DB_PASSWORD=correct-horse-battery-staple-7f3a"


@contextlib.asynccontextmanager
async def watching(live):
    """The reloader watching the live conference's schedule.yaml, as ``podium run`` does; the file
    as it was put back afterwards."""
    path: Path = live.conf.schedule_path
    original = path.read_bytes()
    options = ReloadOptions(path, live.conf.conference.settings, live.connection, every=0.2)
    watcher = asyncio.create_task(ScheduleReloader(live.runner.runtime, options).watch())
    try:
        yield path
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        replacement = path.with_name(path.name + ".restore")
        replacement.write_bytes(original)
        os.replace(replacement, path)  # over a FIFO or a link too
    if watcher.done() and not watcher.cancelled() and watcher.exception():
        raise watcher.exception()


def put_in_place(path: Path, make) -> None:
    """``make(beside)`` creates the new thing beside ``path``; it then takes the path's place at
    once, as an editor saving a file does."""
    beside = path.with_name(path.name + ".new")
    make(beside)
    os.replace(beside, path)


async def report_after(live, started_ms: int) -> str:
    event = await live.mod.wait_for(live.backstage, lambda e: by_bot(live.bot, "changed but was not loaded")(e)
                                    and e["origin_server_ts"] >= started_ms, why="the reload report")
    return event["content"]["body"]


async def test_a_huge_schedule_is_checked_while_the_bot_answers_and_refused_naming_the_cap(live, monkeypatch):
    reading = threading.Event()  # set while the reloader reads and checks the file
    done_reading = threading.Event()  # the test lets the reading go on once the bot has answered
    real_build = reload_module.build

    def observed_build(*args, **kwargs):
        reading.set()
        try:
            done_reading.wait(PATIENCE)
            return real_build(*args, **kwargs)
        finally:
            reading.clear()

    monkeypatch.setattr(reload_module, "build", observed_build)
    async with watching(live) as path:
        started = int(time.time() * 1000)
        text = path.read_text()

        def huge(beside: Path) -> None:
            with beside.open("w") as out:
                out.write(text + "# " + "x" * (3 * SCHEDULE_LIMIT) + "\n")

        put_in_place(path, huge)
        await eventually(reading.is_set, what="the reloader reading the huge file")
        now = await live.mod.ask(live.track, "!now", live.bot)
        assert reading.is_set(), "the bot answered only once the reading was over"
        assert FIRST_TALK_TITLE in now["body"]
        done_reading.set()
        body = await report_after(live, started)
    assert f"{path}: larger than {size_text(SCHEDULE_LIMIT)}" in body
    assert live.runner.runtime.schedule.talks[0].title == FIRST_TALK_TITLE  # the schedule in force stays


async def test_a_fifo_at_the_schedule_path_is_refused_without_waiting_on_it(live):
    # A reader that waits on the FIFO is found by opening the FIFO's other end without blocking:
    # that succeeds only while someone has it open for reading. The valve then lets that reader go
    # (so the test fails rather than hangs) and counts it.
    stop = threading.Event()
    readers_waiting: list[float] = []

    def valve(path: Path) -> None:
        while not stop.wait(0.2):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                continue  # nobody reading: as it should be
            readers_waiting.append(time.monotonic())

    async with watching(live) as path:
        started = int(time.time() * 1000)
        put_in_place(path, os.mkfifo)
        opener = threading.Thread(target=valve, args=(path,), daemon=True)
        opener.start()
        try:
            body = await report_after(live, started)
            now = await live.mod.ask(live.track, "!now", live.bot)
        finally:
            stop.set()
            opener.join()
    assert f"{path}: not a regular file but a FIFO" in body
    assert "Async" in now["body"]
    assert readers_waiting == [], f"the reloader waited on the FIFO {len(readers_waiting)} times"


@pytest.mark.parametrize("secret", [
    SECRET_LINE + "\nAPI_KEY=0123456789abcdef\n",
    "-----BEGIN OPENSSH PRIVATE KEY-----\n" + SECRET_LINE + "\n-----END OPENSSH PRIVATE KEY-----\n",
    "- " + SECRET_LINE + "\n",
])
async def test_a_link_to_a_secret_is_reported_without_a_word_of_it(live, tmp_path, secret):
    secret_file = tmp_path / "secret.env"
    secret_file.write_text(secret)
    async with watching(live) as path:
        started = int(time.time() * 1000)
        put_in_place(path, lambda beside: beside.symlink_to(secret_file))
        body = await report_after(live, started)
        now = await live.mod.ask(live.track, "!now", live.bot)
    assert f"{path}:1: this is not a schedule" in body
    assert "correct-horse" not in body and "DB_PASSWORD" not in body and "BEGIN" not in body
    assert "Async" in now["body"]
