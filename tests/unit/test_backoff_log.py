"""While the homeserver is away the bot tries again and again; its log hears of each change of
state (away, away differently, back), not of each attempt."""

from __future__ import annotations

import logging

from bot.matrix import MatrixError, Unreachable
from bot.runtime import Backoff

REFUSED = Unreachable("sync", None, "M_UNREACHABLE", "cannot connect to 127.0.0.1:8008 (connection refused)")
FAILING = MatrixError("sync", 502, "HTTP_502", "the server answered with an HTML page, HTTP 502")


async def test_an_outage_is_one_line_each_way_however_many_attempts(caplog):
    backoff = Backoff(first=0, most=0)
    with caplog.at_level(logging.INFO, logger="bot.runtime"):
        for _ in range(20):
            await backoff.wait(REFUSED)
        backoff.succeeded()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 2, lines
    assert lines[0].startswith("cannot reach the homeserver: sync: cannot connect") and "trying again" in lines[0]
    assert lines[1].startswith("the homeserver answers again, after 20 failed attempts")


async def test_a_failure_that_changes_is_said_again_and_a_new_outage_too(caplog):
    backoff = Backoff(first=0, most=0)
    with caplog.at_level(logging.INFO, logger="bot.runtime"):
        for failure in (REFUSED, REFUSED, FAILING, FAILING, FAILING):
            await backoff.wait(failure)
        backoff.succeeded()
        await backoff.wait(REFUSED)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [("502" in w, "refused" in w) for w in warnings] == [(False, True), (True, False), (False, True)], warnings
