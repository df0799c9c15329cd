"""Ticket codes sent to the bot in a direct chat: wrong ones are counted by when the bot received
them, whatever date the sender's server wrote on them, and only what could be a code is counted.

One conference with access ``space-members`` (so codes are asked for); the codes sender is a user
of the forging application service (tests/support/forger.py), which dates its events as it likes.
"""

from __future__ import annotations

import time

import pytest

from bot.conference.attendees import WRONG_CODES
from bot.store.ticketcodes import TicketCodeStore
from tests.support.forger import RECEIVED, Forger, StillClock, forged
from tests.support.live import BotRunner, LiveSetup, body
from tests.support.waiting import eventually

LIVE = LiveSetup(extra={"conference": {"access": "space-members"}}, rooms={}, bot_running=False)
#: The code on the one ticket loaded: seven characters with a digit, like every wrong one sent.
TICKET = "TIX4ADA"
NOT_A_CODE = "That is not a ticket code"


@pytest.fixture
async def runner(live, tmp_path):
    runner = BotRunner(live.homeserver, live.connection, live.conf.conference, tmp_path / "data",
                       receive_clock=StillClock(RECEIVED))
    await runner.start()
    TicketCodeStore(runner.store.db).load(live.conf.conf_id, [TICKET], time.time())
    yield runner
    await runner.stop()


@pytest.fixture
async def direct(live, runner, forger_token):
    """A forging user and its direct chat with the bot, once the bot has taken it up."""
    forger = await Forger.register(live.homeserver, forger_token[1], "ticket")
    room_id = await forger.direct_chat_with(live.bot)
    await eventually(lambda: runner.runtime.direct_rooms.user_of(room_id) == forger.user_id,
                     what="the bot in the direct chat")
    yield forger, room_id
    await forger.close()


async def test_forged_dates_buy_no_extra_wrong_codes(live, runner, direct):
    forger, room_id = direct
    sent = await forged(forger, room_id, [f"WRONG{n:02}" for n in range(12)], apart_hours=1)
    await runner.until_handled(sent)
    replies = await forger.replies(room_id, live.bot)
    checked = [e for e in sent if any(body(r).startswith(NOT_A_CODE) for r in replies.get(e, []))]
    assert checked == sent[:WRONG_CODES]
    # The right code, a minute later by the bot's clock (its reply budget full again), while told
    # to wait: not used either.
    runner.runtime.receive_clock.at += 60
    [right] = await forged(forger, room_id, [TICKET], apart_hours=0)
    await runner.until_handled([right])
    assert body((await forger.replies(room_id, live.bot))[right][0]).startswith(
        f"That makes {WRONG_CODES} wrong codes within an hour")
    assert TicketCodeStore(runner.store.db).count(live.conf.conf_id) == (1, 0)


async def test_a_word_that_cannot_be_a_code_costs_no_try(live, runner, direct):
    forger, room_id = direct
    sent = await forged(forger, room_id, ["hello", "WRONG99"], apart_hours=0)
    await runner.until_handled(sent)
    replies = await forger.replies(room_id, live.bot)
    assert not body(replies[sent[0]][0]).startswith(NOT_A_CODE)
    assert body(replies[sent[1]][0]).endswith(f"({WRONG_CODES - 1} more tries this hour).")
