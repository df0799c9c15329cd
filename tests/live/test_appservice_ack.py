"""The bot as an application service answers a pushed transaction once its events are stored, not
once they are handled: the homeserver pushes one transaction at a time and waits for that answer,
so a slow reply must not hold back the transactions behind it. The bot's requests go through a
proxy that holds its replies; what it stored and has not handled yet is handled after a restart,
exactly once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from types import SimpleNamespace

import pytest

from bot.config import APPSERVICE_FOLDER, connection_from
from bot.store.database import Store
from tests.support.appservice import (  # noqa: F401 (the module fixtures applied, invited, service)
    BOT,
    RunningBot,
    all_handled,
    applied,
    attendee_in_track,
    crafted_command,
    invited,
    push_transaction,
    registration_tokens,
    service,
)
from tests.support.proxy import CountingProxy, Fault
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def proxy(service):
    """The bot's way to the homeserver; Synapse pushes to the bot directly."""
    proxy = CountingProxy(service.homeserver)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="module")
async def world(service, invited, proxy):
    """The bot running as the application service behind the proxy, and an attendee in the track room."""
    bot = RunningBot(service)
    bot.connection = connection_from(proxy.base_url, BOT, {}, appservice=service.data / APPSERVICE_FOLDER)
    await bot.start()
    ada, track = await attendee_in_track(service, invited, bot)
    try:
        yield SimpleNamespace(bot=bot, ada=ada, track=track, hs_token=registration_tokens(service)["hs_token"])
    finally:
        await ada.close()
        if bot.task is not None and not bot.task.done():
            await bot.stop()


class HeldReplies:
    """The bot's messages held in the proxy until released: forwarded then, or dropped unseen."""

    def __init__(self, proxy: CountingProxy, *, forward: bool):
        self.proxy = proxy
        self.fault = Fault(release=threading.Event(), arrived=threading.Event(), forward_after_hold=forward)

    def __enter__(self) -> HeldReplies:
        self.proxy.faults.append(self._check)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proxy.faults.remove(self._check)
        assert self.fault.release is not None
        self.fault.release.set()

    def _check(self, method: str, path: str) -> Fault | None:
        return self.fault if method == "PUT" and "/send/m.room.message/" in path else None

    def held(self) -> bool:
        assert self.fault.arrived is not None
        return self.fault.arrived.is_set()


def _pending(service) -> list[str]:
    """The ids of the stored events not handled yet."""
    store = Store(service.data)
    try:
        return [json.loads(row[0]).get("event_id") for row in store.db.execute("SELECT event FROM pushed_events")]
    finally:
        store.close()


async def test_a_transaction_is_answered_while_the_reply_to_its_command_is_still_held(service, world, proxy):
    command = crafted_command(world, "!help")
    with HeldReplies(proxy, forward=True) as replies:
        pushing = asyncio.create_task(push_transaction(service, f"held-{uuid.uuid4().hex}", [command], world.hs_token))
        try:
            await eventually(lambda: pushing.done() and replies.held(),
                             what="the transaction answered while the bot's reply to it is held")
        finally:
            if not pushing.done():
                replies.fault.release.set()  # type: ignore[union-attr]
                await pushing
        assert pushing.result() == (200, {})
    await world.ada.reply_to(world.track, command["event_id"], BOT)


async def test_events_answered_but_not_handled_before_a_stop_are_handled_once_after_the_restart(
        service, world, proxy):
    txn_id = f"stopped-{uuid.uuid4().hex}"
    command = crafted_command(world, "!help")
    with HeldReplies(proxy, forward=False) as replies:
        pushing = asyncio.create_task(push_transaction(service, txn_id, [command], world.hs_token))
        try:
            await eventually(lambda: pushing.done() and replies.held(),
                             what="the transaction answered while the bot's reply to it is held")
        finally:
            await world.bot.stop()  # the reply is never sent: the stop comes before it
        assert pushing.result() == (200, {})
    assert command["event_id"] in _pending(service)
    await world.bot.start()
    await world.ada.reply_to(world.track, command["event_id"], BOT, why="the stored command handled after the restart")
    # The same transaction pushed again after the restart is acknowledged, neither stored nor handled again.
    assert await push_transaction(service, txn_id, [command], world.hs_token) == (200, {})
    await all_handled(world)
    assert len(world.ada.replies_to(world.track, command["event_id"], BOT)) == 1
    await eventually(lambda: not _pending(service), what="no stored event left unhandled")
