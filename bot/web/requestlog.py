"""What the web server logs about requests it cannot serve: one short line each, so many a minute.

Anyone on the internet can send a malformed request, as often as they like. aiohttp logs each
with its traceback (ten lines, none of them about Podium), so a few thousand bury the log and
cost the disk. Podium's web server logs such a request as one line naming the peer and what was
wrong, at most ``LINES_PER_WINDOW`` of them a minute; the rest are counted, and the count is one
line when the minute is over (or the server stops). Errors in Podium's own handlers are bugs,
not input, and keep their traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

#: Lines of one kind logged in a window; the rest of the window's are counted only.
LINES_PER_WINDOW = 10
WINDOW_SECONDS = 60.0
#: At most this much of what a sender wrote goes into a line.
REASON_CHARACTERS = 120


class LogThrottle:
    """Lines of one kind (``what``: "bad requests"), at most ``per_window`` in ``window`` seconds;
    the rest counted and told in one line, "N more bad requests suppressed", when the window
    ends or ``flush()`` is called."""

    def __init__(self, logger: logging.Logger, what: str, *, per_window: int = LINES_PER_WINDOW,
                 window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.logger, self.what, self.per_window, self.window, self.clock = logger, what, per_window, window, clock
        self.suppressed = 0  # lines held back in the current window
        self._window_ends = float("-inf")
        self._shown = 0
        self._summary: asyncio.TimerHandle | None = None

    def line(self, level: int, msg: str, *args: Any) -> None:
        now = self.clock()
        if now >= self._window_ends:
            self.flush()
            self._window_ends, self._shown = now + self.window, 0
        if self._shown < self.per_window:
            self._shown += 1
            self.logger.log(level, msg, *args)
            return
        self.suppressed += 1
        if self._summary is None:
            self._summary = _call_later(self._window_ends - now, self.flush)

    def flush(self) -> None:
        """Log how many lines were held back, if any."""
        if self._summary is not None:
            self._summary.cancel()
            self._summary = None
        if self.suppressed:
            self.logger.warning("%d more %s suppressed", self.suppressed, self.what)
            self.suppressed = 0


def _call_later(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle | None:
    """``callback`` after ``delay`` seconds on the running event loop; None without one (the
    count is then told with the next line after the window, or at flush)."""
    try:
        return asyncio.get_running_loop().call_later(delay, callback)
    except RuntimeError:
        return None


class BadRequestLog(logging.LoggerAdapter):
    """The logger aiohttp's request handlers are given. A request aiohttp could not parse (it
    logs those with the exception that said so) becomes one line through ``throttle``; anything
    else goes to aiohttp's own log as it would have."""

    def __init__(self, throttle: LogThrottle | None = None):
        super().__init__(logging.getLogger("aiohttp.server"), {})
        self.throttle = throttle or LogThrottle(log, "bad requests")

    def log(self, level: int, msg: object, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            # aiohttp's message is "Error handling request from %s", with the peer's address.
            peer = args[0] if args else None
            self.throttle.line(logging.INFO, "bad request from %s: %s", peer or "an unknown address",
                               describe(exc_info))
            return
        super().log(level, msg, *args, exc_info=exc_info, **kwargs)


def describe(exc: HttpProcessingError) -> str:
    """What was wrong with a request, on one line: the parser's reason and the status answered.
    The reason may quote what the sender wrote, so only its first line, printable and short."""
    lines = str(exc.message or "").strip().splitlines()
    reason = lines[0].rstrip(":") if lines else type(exc).__name__
    reason = "".join(c if c.isprintable() else "?" for c in reason)
    if len(reason) > REASON_CHARACTERS:
        reason = reason[:REASON_CHARACTERS] + "…"
    return f"{reason} ({exc.code})"
