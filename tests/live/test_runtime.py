"""The runtime against a real Synapse: exactly-once across kills and restarts, history ignored,
a long absence caught up, reconnection after homeserver errors and lost replies.

The bot is "killed" by cancelling its task at a chosen point (a hook holds it there): nothing is
written on the way out, so what the next run finds is what a killed process leaves behind.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlite_utils

from bot.store.questions import QuestionStore
from tests.support.accounts import TEST_PASSWORD
from tests.support.live import BotRunner, LiveSetup, Person, hang_at
from tests.support.proxy import Fault
from tests.support.waiting import eventually


#: Each test runs the bot itself, on a data directory of its own, and kills and restarts it.
LIVE = LiveSetup(people=(("alice", "Alice"),), bot_running=False)


def runner_for(live, data_dir, homeserver: str | None = None) -> BotRunner:
    return BotRunner(homeserver or live.homeserver, live.connection, live.conf.conference, data_dir)


def bot_posts(person: Person, room_id: str, bot: str, prefix: str) -> list[dict]:
    return [e for e in person.timeline.get(room_id, [])
            if e.get("sender") == bot and e.get("content", {}).get("body", "").startswith(prefix)]


async def test_history_from_before_the_first_run_is_ignored(live, tmp_path):
    early = await live.alice.say(live.track, "!help")
    runner = runner_for(live, tmp_path / "data")
    await runner.start()
    try:
        late = await live.alice.say(live.track, "!help")
        await live.alice.reply_to(live.track, late, live.bot)
        # The bot answers in timeline order: a reply to the earlier command would be in by now.
        assert live.alice.replies_to(live.track, early, live.bot) == []
    finally:
        await runner.stop()


async def test_killed_mid_command_everything_is_answered_exactly_once(live, tmp_path):
    data = tmp_path / "data"
    runner = runner_for(live, data)
    before_reply, after_reply = asyncio.Event(), asyncio.Event()
    first_kill = "!ask Killed before the bot could answer?"
    second_kill = "!ask Killed after the bot answered?"

    await runner.start(hook=hang_at("received", first_kill, before_reply))
    store = QuestionStore(sqlite_utils.Database(runner.store.path))
    survivor_ask = await live.alice.say(live.track, "!ask Do questions survive a restart?")
    survivor = (await eventually(lambda: (hit := store.by_source(survivor_ask)) and hit[1].event_id and hit))[1]
    await live.mod.react(live.track, survivor.event_id)
    await eventually(lambda: store.get(live.conf.conf_id, survivor.number).votes == 1)

    killed = await live.alice.say(live.track, first_kill)
    await asyncio.wait_for(before_reply.wait(), 15)
    # One stuck command holds up no other: a later one is answered meanwhile.
    while_stuck = await live.alice.say(live.track, "!questions")
    await live.alice.reply_to(live.track, while_stuck, live.bot)
    await runner.stop()  # received, not answered
    while_down = await live.alice.say(live.track, "!help")

    await runner.start(hook=hang_at("answered", second_kill, after_reply))
    answered_then_killed = await live.alice.say(live.track, second_kill)
    await asyncio.wait_for(after_reply.wait(), 15)
    await runner.stop()  # answered, not yet recorded as handled

    await runner.start()
    try:
        final = await live.alice.say(live.track, "!questions")
        listing = (await live.alice.reply_to(live.track, final, live.bot))["content"]["body"]
        await live.alice.reply_to(live.track, while_down, live.bot)
        await live.alice.sync(1000)
        assert len(live.alice.replies_to(live.track, while_down, live.bot)) == 1
        assert len(live.alice.replies_to(live.track, while_stuck, live.bot)) == 1, "not answered again"
        for source, text in ((killed, first_kill), (answered_then_killed, second_kill)):
            conference, question = store.by_source(source)
            assert question.text == text.removeprefix("!ask ")
            assert len(bot_posts(live.alice, live.track, live.bot, f"Q{question.number} · ")) == 1, text
        numbers = sorted(q.number for q in store.for_track(live.conf.conf_id, "forum"))
        assert len(numbers) == len(set(numbers)) == 3, "each question stored once"
        assert store.get(live.conf.conf_id, survivor.number).votes == 1, "votes survive"
        assert f"Q{survivor.number} · 1 👍 · Alice: Do questions survive a restart?" in listing
    finally:
        await runner.stop()


async def test_a_long_absence_is_caught_up(live, tmp_path):
    runner = runner_for(live, tmp_path / "data")
    await runner.start(timeline_limit=3)
    await runner.stop()
    sent = [await live.alice.say(live.track, f"!help {name}") for name in ("ask", "questions", "help", "qa", "nope")]
    await runner.start(timeline_limit=3)  # so the next sync leaves most of them out
    try:
        for event_id in sent:
            await live.alice.reply_to(live.track, event_id, live.bot)
        await live.alice.sync(1000)
        assert [len(live.alice.replies_to(live.track, e, live.bot)) for e in sent] == [1] * len(sent)
    finally:
        await runner.stop()


async def test_reconnects_after_errors_and_a_lost_reply_is_not_sent_twice(live, tmp_path, proxy):
    runner = runner_for(live, tmp_path / "data", proxy.base_url)
    await runner.start()
    # Two lost answers in a row: the HTTP client retries a PUT once by itself, so the second
    # loss reaches the bot, which backs off and handles the command again.
    failures = {"sync": 2, "send": 2}

    def flaky(method: str, path: str) -> Fault | None:
        if "/sync" in path and failures["sync"]:
            failures["sync"] -= 1
            return Fault(status=502, errcode="M_UNKNOWN", error="Bad Gateway", retry_after=None)
        if method == "PUT" and "/send/m.room.message/" in path and failures["send"]:
            failures["send"] -= 1
            return Fault(drop_after_forwarding=True)  # the reply is posted; the bot never hears so
        return None

    proxy.faults.append(flaky)
    try:
        await eventually(lambda: failures["sync"] == 0)  # the homeserver was away
        command = await live.alice.say(live.track, "!help")
        await live.alice.reply_to(live.track, command, live.bot)
        # The reply is out before the bot knows it: wait until it has recorded the command handled.
        await eventually(lambda: runner.store.is_handled(command))
        assert failures == {"sync": 0, "send": 0}
        assert proxy.count("PUT", "/send/m.room.message/") == 3, "the lost reply was sent again"
        await live.alice.sync(1000)
        assert len(live.alice.replies_to(live.track, command, live.bot)) == 1, "and posted once"
    finally:
        await runner.stop()


async def test_run_bot_logs_in_with_a_password_and_answers(live, tmp_path):
    """The entry point `podium run` (and the demo) uses: password login on a fixed device."""
    from bot.config import Connection
    from bot.serve import run_bot

    connection = Connection(live.homeserver, live.bot, password=TEST_PASSWORD)
    ready = asyncio.Event()
    task = asyncio.create_task(run_bot(connection, live.conf.conference.schedule, tmp_path / "data", ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        reply = await live.alice.ask(live.track, "!help", live.bot)
        assert "!ask <question>" in reply["body"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_token_the_homeserver_does_not_know_starts_over_from_now(live, tmp_path, caplog):
    from bot.store.database import Store

    runner = runner_for(live, tmp_path / "data")
    store = Store(tmp_path / "data")
    store.save_sync_token(Store.account(live.bot, live.homeserver), "s_not_a_real_token")
    store.close()
    runtime = await runner.start()
    try:
        # Only what is sent after the bot has started over from now is answered: ask once it has.
        await eventually(lambda: runtime.since != "s_not_a_real_token", what="the bot starting over")
        reply = await live.alice.ask(live.track, "!help", live.bot)
        assert "!ask <question>" in reply["body"]
        assert "does not know where the bot stopped" in caplog.text
    finally:
        await runner.stop()


async def test_an_encrypted_conference_room_is_reported_at_start(live, tmp_path, caplog):
    from bot.matrix import MatrixAdapter
    from bot.roomstate.state import ENCRYPTION

    conf_id = live.conf.conference.schedule.conference.id
    async with MatrixAdapter(live.homeserver, live.bot, live.connection.access_token) as adapter:
        room_id = await adapter.resolve_alias(f"#{conf_id}-jobs:localhost")
        assert room_id is not None
        await adapter.put_state(room_id, ENCRYPTION, "", {"algorithm": "m.megolm.v1.aes-sha2"}, what="encrypt")
    runner = runner_for(live, tmp_path / "data")
    await runner.start()
    try:
        warned = [r.getMessage() for r in caplog.records if "end-to-end encrypted" in r.getMessage()]
        assert warned == [f"lobby/jobs ({room_id}) is end-to-end encrypted: the bot cannot read commands or votes there"]
    finally:
        await runner.stop()


async def test_a_vote_waits_for_the_post_it_is_for(live, tmp_path):
    """The homeserver has the bot's post (attendees see it and vote) before the bot hears back
    what its event id is: the vote must wait for that, not be lost."""
    runner = runner_for(live, tmp_path / "data")
    runtime = await runner.start()
    held, release = asyncio.Event(), asyncio.Event()
    real_send = runtime.adapter.send_event

    async def slow_answer(room_id, event_type, content, txn_id, *, what):
        event_id = await real_send(room_id, event_type, content, txn_id, what=what)
        if content.get("body", "").startswith("Q"):
            held.set()
            await release.wait()
        return event_id

    runtime.adapter.send_event = slow_answer
    try:
        source = await live.alice.say(live.track, "!ask Is a vote ever lost?")
        await asyncio.wait_for(held.wait(), 15)
        post = await live.mod.wait_for(live.track, lambda e: e.get("sender") == live.bot and
                                        e["content"].get("body", "").startswith("Q") and "vote ever lost" in
                                        e["content"]["body"])
        await live.mod.react(live.track, post["event_id"])
        chat = await live.mod.say(live.track, "!help")
        await live.mod.reply_to(live.track, chat, live.bot)  # later syncs are handled meanwhile
        store = QuestionStore(sqlite_utils.Database(runner.store.path))
        assert store.by_source(source)[1].event_id is None, "the bot does not know its post yet"
        release.set()
        await eventually(lambda: store.by_source(source)[1].votes == 1)
    finally:
        release.set()
        await runner.stop()


async def test_a_burst_of_commands_is_answered_side_by_side(live, tmp_path):
    """Replies wait in the homeserver's queue for their room, not for a free request slot in the
    bot: with the first replies of a burst held on their way out, the rest still go out."""
    runner = runner_for(live, tmp_path / "data")
    runtime = await runner.start()
    burst = 6  # more than the adapter's default bound of requests in flight
    held, all_out = [], asyncio.Event()
    real_send = runtime.adapter.client.send

    async def holding_send(method, path, *args, **kwargs):
        if method == "PUT" and "/send/m.room.message/" in path:
            held.append(path)
            if len(held) >= burst:
                all_out.set()
            await all_out.wait()
        return await real_send(method, path, *args, **kwargs)

    runtime.adapter.client.send = holding_send
    try:
        for n in range(burst):
            await (live.alice if n % 2 else live.mod).say(live.track, "!help")
        await asyncio.wait_for(all_out.wait(), 20)
        assert len(held) == burst
    finally:
        all_out.set()
        await runner.stop()


async def test_a_waiting_sync_does_not_hold_back_other_requests(live):
    """The long-poll waits for news; it must not take the slot a reply needs."""
    from bot.matrix import MatrixAdapter

    async with MatrixAdapter(live.homeserver, live.bot, live.connection.access_token, max_in_flight=1) as adapter:
        since = (await adapter.sync_state()).next_batch
        quiet = {"room": {"rooms": []}, "presence": {"types": []}, "account_data": {"types": []}}
        reads = adapter.stats.reads
        waiting = asyncio.create_task(adapter.sync(since, quiet, timeout_ms=20_000))
        # Counted as it goes out: past the point where it would have taken the only slot.
        await eventually(lambda: adapter.stats.reads > reads, what="the long-poll going out")
        assert await adapter.whoami() == live.bot
        assert not waiting.done(), "the request went out only after the long-poll came back"
        waiting.cancel()


def test_marks_of_long_handled_events_are_dropped_and_recent_ones_kept(tmp_path):
    from bot.store.database import Store

    store = Store(tmp_path / "marks")
    store.mark_handled("$old", 1_000.0)
    store.mark_handled("$recent", 5_000.0)
    assert store.forget_handled_before(2_000.0) == 1
    assert not store.is_handled("$old")
    assert store.is_handled("$recent")
    store.close()
