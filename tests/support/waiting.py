"""Waiting for a condition, the one way the tests wait.

A test never sleeps for a guessed time and never bets on how fast something happens: it waits until
what it needs holds. The timeout only bounds a hang, so it is generous: a busy machine (the suite
runs on two cores shared with other work) may take many times as long as an idle one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: Seconds before a wait gives up: long enough for a loaded machine, short enough to report a hang.
PATIENCE = 45.0
#: Seconds between two looks at the condition.
INTERVAL = 0.05


def _gave_up(what: Any, timeout: float) -> AssertionError:
    return AssertionError(f"still not true after {timeout} s: {what}")


async def settled(check: Callable[[], T | Awaitable[T]], *, timeout: float = PATIENCE,
                  interval: float = INTERVAL) -> T:
    """Look at ``check`` (a function, or a coroutine function) until it returns something truthy,
    or ``timeout`` seconds have passed; return what it returned last, for the caller to judge."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)


async def eventually(check: Callable[[], T | Awaitable[T]], *, timeout: float = PATIENCE, what: str = "",
                     interval: float = INTERVAL) -> T:
    """Look at ``check`` until it returns something truthy; return that. For asyncio tests: the
    event loop goes on between looks."""
    value = await settled(check, timeout=timeout, interval=interval)
    if not value:
        raise _gave_up(what or check, timeout)
    return value


def settled_blocking(condition: Callable[[], T], *, timeout: float = PATIENCE, interval: float = INTERVAL) -> T:
    """``settled`` for code without an event loop: what ``condition()`` returned last."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_until(condition: Callable[[], T], what: str = "", timeout: float = PATIENCE) -> T:
    """``eventually`` for a test without an event loop (a browser driven synchronously, a server in
    a thread): block until ``condition()`` is truthy and return it."""
    value = settled_blocking(condition, timeout=timeout)
    if not value:
        raise _gave_up(what or condition, timeout)
    return value
