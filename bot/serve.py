"""A conference running: the bot answering in its rooms and the web server its widgets load
from, side by side in one process until asked to stop. ``podium run`` and ``podium demo`` both
end up here, so what an organiser runs is what the demo shows."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .conference.clock import Clock, utc_now
from .conference.userinput import UsageError, read_number
from .config import Connection
from .day.reload import ReloadOptions
from .day.runner import DayOptions
from .ports import free_port_near
from .provisioning.pipeline import Conference
from .provisioning.programme import Programme

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8080"


class ListenProblem(ValueError):
    pass


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> "Listen":
        """``HOST:PORT`` (``[::1]:8080`` for IPv6) or a bare port on 127.0.0.1."""
        host, sep, port = text.rpartition(":")
        if not sep:
            host, port = "127.0.0.1", text
        host = host.strip("[]") or "127.0.0.1"
        try:
            number = read_number(port, "a port is a number from 1 to 65535", high=65535)
        except UsageError:
            raise ListenProblem(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080") from None
        return cls(host, number)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


async def serve(
    connection: Connection,
    conference: Conference,
    data_dir: Path,
    *,
    listen: Listen,
    clock: Clock = utc_now,
    on_ready: Callable[[], None] | None = None,
    max_streams: int | None = None,
    max_streams_per_client: int | None = None,
    day: DayOptions | None = None,
    reload: ReloadOptions | None = None,
) -> None:
    """Run the bot and the web server until SIGINT/SIGTERM (or cancellation). ``on_ready`` is
    called once both are up: the web server listens and the bot has caught up with its rooms.
    If either stops with an error, the other is stopped too and the error raised.

    ``max_streams`` and ``max_streams_per_client`` cap the live pages' event streams (by
    default sized from the limit on open files, see bot.web.limits)."""
    # Imported here: every `podium` command parses --listen, only these two need the bot and the web.
    from .runtime import run_bot
    from .web import create_app, start_web
    from .web.limits import LimitProblem, WebLimits, raise_open_file_limit

    open_files = raise_open_file_limit()
    try:
        limits = WebLimits.within(open_files, streams=max_streams, streams_per_client=max_streams_per_client)
    except LimitProblem as exc:
        raise ListenProblem(str(exc)) from None
    log.info("web server: at most %d connections, %d of them live pages (%d per client address); "
             "%d files may be open", limits.connections, limits.streams, limits.streams_per_client, open_files)
    # One programme for the bot, its clock and the pages: a reloaded schedule reaches all three.
    programme = Programme(conference)
    app = create_app(conference.schedule, conference.settings, data_dir=data_dir, now=clock, limits=limits,
                     programme=programme)
    try:
        runner = await start_web(app, listen.host, listen.port)
    except OSError as exc:
        free = Listen(listen.host, free_port_near(listen.host, listen.port)) if exc.errno == errno.EADDRINUSE else None
        instead = f"pass --listen {free}" if free else "pass --listen with an address and port this machine allows"
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)  # not asyncio's "while attempting to bind"
        raise ListenProblem(f"cannot listen on {listen}: {reason}; {instead}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ready = asyncio.Event()
    bot = asyncio.create_task(run_bot(connection, programme, data_dir, clock=clock, ready=ready, day=day, reload=reload),
                              name="bot")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    caught_up = asyncio.create_task(ready.wait(), name="ready")
    try:
        await asyncio.wait([caught_up, bot, stopping], return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set() and on_ready:
            on_ready()
        await asyncio.wait([bot, stopping], return_when=asyncio.FIRST_COMPLETED)
        if bot.done():
            bot.result()  # the bot ended on its own: raise what stopped it
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        stopping.cancel()
        caught_up.cancel()
        bot.cancel()
        await asyncio.gather(bot, return_exceptions=True)
        await runner.cleanup()
