"""Ctrl-C for the commands that work in one run against the homeserver (apply, invite, the
demo's set-up): the first SIGINT or SIGTERM stops the work where it stands, whatever is in flight
(a request the homeserver holds, a rate-limit wait, a back-off), and the command says how far it
got and what finishes the job; a second signal ends the process at once.

The handlers are the event loop's own, as ``podium run``'s are, so they hold however the process
was started: a shell starts a background job (``podium apply &`` in a script) with SIGINT
ignored, and Python then leaves Ctrl-C without its usual KeyboardInterrupt.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from ..wording import counted

T = TypeVar("T")

#: The signals that stop the work: Ctrl-C, and what a service manager or `kill` sends.
STOPPING = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Headway:
    """How far a run got, kept up to date by the work itself, for the line an interrupt prints:
    "5 of 23 write requests made"."""

    unit: str  # one step of the work, counted: "write request", "attendee"
    verb: str  # what a step that is done was: "made", "invited"
    planned: int | None = None  # known once the work has planned
    done: int = 0

    def __str__(self) -> str:
        if self.planned is None:
            return f"no {self.unit} {self.verb} yet"
        return f"{self.done} of {counted(self.planned, self.unit)} {self.verb}"


class Interrupted(Exception):
    """The work was stopped by a signal; ``headway`` says how far it got, ``rerun`` what finishes it."""

    def __init__(self, signum: int, headway: str, rerun: str) -> None:
        self.signum = signum
        self.headway = headway
        self.rerun = rerun
        super().__init__(self.message())

    @property
    def exit_code(self) -> int:
        """A shell's convention for a process ended by a signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum

    def message(self) -> str:
        how = "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name
        return (f"podium: stopped by {how}: {self.headway}. Run `{self.rerun}` again to finish: it carries on "
                "from where this run stopped.")


def run_interruptible(work: Awaitable[T], *, headway: Headway, rerun: str) -> T:
    """``asyncio.run(work)``, stopped by the first SIGINT or SIGTERM with :class:`Interrupted`
    (after the work's own ``finally`` blocks ran); a second signal exits at once."""
    return asyncio.run(_until_signalled(work, headway, rerun))


async def _until_signalled(work: Awaitable[T], headway: Headway, rerun: str) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    received: list[int] = []

    def on_signal(signum: int) -> None:
        if received:
            # The organiser asked twice: no more waiting for the work to wind down.
            print(f"podium: stopped at once by a second {signal.Signals(signum).name}", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        received.append(signum)
        print(f"podium: stopping ({signal.Signals(signum).name}); again to stop at once …", file=sys.stderr,
              flush=True)
        task.cancel()

    for signum in STOPPING:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await task
    except asyncio.CancelledError:
        if not received:
            raise
        raise Interrupted(received[0], str(headway), rerun) from None
    finally:
        for signum in STOPPING:
            loop.remove_signal_handler(signum)
