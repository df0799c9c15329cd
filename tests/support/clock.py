"""The bot with its conference clock running, on a clock faster than real time."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from bot.day.runner import DayOptions, DayRunner
from tests.support.live import BotRunner

SPEED = 10  # conference seconds per real second
DAY = datetime(2026, 7, 13, 10, 0, tzinfo=timezone.utc)


class FastClock:
    """Conference time from ``start``, running ``SPEED`` times as fast as real time."""

    def __init__(self, start: datetime):
        self.start, self.real = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.real) * SPEED)


class ClockBot(BotRunner):
    """The bot with its conference clock, as ``podium run`` runs both."""

    def __init__(self, *args, day: DayOptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.day = day
        self.clockwork: asyncio.Task | None = None
        self.day_runner: DayRunner | None = None

    async def start(self, **options):
        runtime = await super().start(**options)
        self.day_runner = DayRunner(runtime, self.day)
        self.clockwork = asyncio.create_task(self.day_runner.run())
        return runtime

    async def stop(self) -> None:
        if self.clockwork is not None:
            self.clockwork.cancel()
            await asyncio.gather(self.clockwork, return_exceptions=True)
        await super().stop()

