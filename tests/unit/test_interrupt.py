"""Ctrl-C for the one-run commands (bot/cli/interrupt.py), in a real process with real signals:
the first SIGINT or SIGTERM cancels the work and says how far it got, a second one ends the
process at once, however long the work would take to wind down."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.support.waiting import PATIENCE

WORK = """
import asyncio, sys
from bot.cli.interrupt import Headway, Interrupted, run_interruptible

async def work(headway, stubborn):
    headway.planned, headway.done = 23, 5
    try:
        print("working", flush=True)
        await asyncio.sleep(3600)  # a request the homeserver holds
    except asyncio.CancelledError:
        if not stubborn:
            raise
        print("winding down", flush=True)
        await asyncio.sleep(3600)  # a wind-down that never ends

headway = Headway("write request", "made")
try:
    run_interruptible(work(headway, sys.argv[1] == "stubborn"), headway=headway, rerun="podium apply")
except Interrupted as exc:
    print(exc, flush=True)
    sys.exit(exc.exit_code)
"""


def start(how: str, **popen) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", WORK, how], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, **popen)
    assert process.stdout is not None
    assert process.stdout.readline() == "working\n"
    return process


@pytest.mark.parametrize("sig, how, code", [(signal.SIGINT, "Ctrl-C", 130), (signal.SIGTERM, "SIGTERM", 143)])
def test_the_first_signal_stops_the_work_and_says_how_far_it_got(sig, how, code):
    process = start("plain")
    process.send_signal(sig)
    output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode == code, output
    assert (f"podium: stopped by {how}: 5 of 23 write requests made. Run `podium apply` again to finish: it carries "
            "on from where this run stopped.") in output


def test_a_second_signal_ends_the_process_while_the_work_still_winds_down():
    process = start("stubborn")
    process.send_signal(signal.SIGINT)
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline()]
    assert "winding down\n" in lines, lines
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode == 130, output
    assert "stopped at once by a second SIGINT" in output


def test_ctrl_c_stops_the_work_where_the_process_was_started_with_it_ignored():
    """A shell starts a background job with SIGINT ignored; the event loop's handler holds anyway."""
    process = start("plain", preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode == 130, output


def test_before_the_plan_the_line_says_nothing_was_made_yet():
    from bot.cli.interrupt import Headway

    assert str(Headway("write request", "made")) == "no write request made yet"
    assert str(Headway("attendee", "handled", planned=1, done=1)) == "1 of 1 attendee handled"
