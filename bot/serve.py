"""A conference running: the bot answering in its rooms and the web server its widgets load
from, side by side in one process until asked to stop. ``podium run`` and ``podium demo`` both
end up here, so what an organiser runs is what the demo shows. The pages may also run alone
(``serve_pages``, ``podium web``) beside a bot without them (``serve(pages=False)``), so that
they go on through the bot's restarts.

The composition root: the one place that wires the runtime (sync loop and dispatch), the
conference clock and the schedule reloader together (``run_bot``) and puts the web beside them."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .conference.clock import Clock, utc_now
from .conference.schedule import Schedule
from .conference.userinput import UsageError, read_number
from .config import Connection
from .day.reload import ReloadOptions, ScheduleFile
from .day.runner import DayOptions
from .ports import free_port_near
from .provisioning.pipeline import Conference
from .provisioning.programme import Programme
from .service_manager import READY, STOPPING, notify

if TYPE_CHECKING:
    from .web.transactions import TransactionReceiver

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


@dataclass(frozen=True)
class WebCaps:
    """What the operator asked of the web server (``podium run``'s options); None: the default,
    sized from the limit on open files (see bot.web.limits)."""

    streams: int | None = None  # live pages' event streams open at once
    streams_per_client: int | None = None
    connections_per_client: int | None = None
    header_seconds: float | None = None  # a new connection's time to send its request headers
    trusted_proxies: tuple = ()  # ip_network()s whose X-Forwarded-For names the client


async def serve(
    connection: Connection,
    conference: Conference,
    data_dir: Path,
    *,
    listen: Listen,
    clock: Clock = utc_now,
    on_ready: Callable[[], None] | None = None,
    caps: WebCaps = WebCaps(),
    day: DayOptions | None = None,
    reload: ReloadOptions | None = None,
    pages: bool = True,
) -> None:
    """Run the bot and the web server until SIGINT/SIGTERM (or cancellation). ``on_ready`` is
    called once both are up: the web server listens and the bot has caught up with its rooms.
    If either stops with an error, the other is stopped too and the error raised; a homeserver
    that is away or failing is no error: the bot tries again while the pages go on.

    ``caps`` cap the live pages' event streams and what one client may hold (see WebCaps).
    Without ``pages`` (``podium run --no-pages``, the pages served by ``serve_pages`` in a process
    of their own) the web server takes only the homeserver's transactions, for a bot that is an
    application service, and a bot that syncs listens nowhere."""
    # Imported here: every `podium` command parses --listen, only these need the bot and the web.
    from .web import create_app, create_bare_app

    # One programme for the bot, its clock and the pages: a reloaded schedule reaches all three.
    programme = Programme(conference)
    app = None
    if pages:
        app = create_app(conference.schedule, conference.settings, data_dir=data_dir, now=clock,
                         limits=_web_limits(caps), programme=programme)
    elif connection.appservice is not None:
        app = create_bare_app(_web_limits(caps))
    receiver = None
    if connection.appservice is not None:
        from .web.transactions import TransactionReceiver

        # The homeserver pushes the rooms' events to the same web server as the pages.
        receiver = TransactionReceiver(connection.appservice)
        receiver.install(app)
    runner = await _listen(app, listen) if app is not None else None
    ready = asyncio.Event()
    bot = asyncio.create_task(run_bot(connection, programme, data_dir, clock=clock, ready=ready, day=day, reload=reload,
                                      receiver=receiver), name="bot")
    try:
        await _until_stopped(bot, ready, on_ready)
    finally:
        if runner is not None:
            await runner.cleanup()


async def serve_pages(
    conference: Conference,
    data_dir: Path,
    *,
    listen: Listen,
    clock: Clock = utc_now,
    on_ready: Callable[[], None] | None = None,
    caps: WebCaps = WebCaps(),
    follow: ScheduleFile | None = None,
) -> None:
    """The widget pages alone (``podium web``), until SIGINT/SIGTERM (or cancellation): no Matrix
    account, no homeserver. Questions, polls, delays and jobs come from the store in ``data_dir``
    that a bot (``podium run --no-pages``) writes, whether it runs, restarts or is gone; with
    ``follow``, edits to schedule.yaml are put in force as the bot's reloader puts them.
    ``on_ready`` is called once the server listens."""
    from .day.reload import follow_edits
    from .web import create_app

    programme = Programme(conference)
    app = create_app(conference.schedule, conference.settings, data_dir=data_dir, now=clock,
                     limits=_web_limits(caps), programme=programme)
    runner = await _listen(app, listen)
    ready = asyncio.Event()
    ready.set()
    edits = asyncio.create_task(follow_edits(programme, follow) if follow else asyncio.Future(), name="edits")
    try:
        await _until_stopped(edits, ready, on_ready)
    finally:
        await runner.cleanup()


def _web_limits(caps: WebCaps):
    """The web server's limits the operator asked for, within what this process may open; logged."""
    from .web.limits import LimitProblem, WebLimits, raise_open_file_limit

    open_files = raise_open_file_limit()
    try:
        limits = WebLimits.within(open_files, streams=caps.streams, streams_per_client=caps.streams_per_client,
                                  connections_per_client=caps.connections_per_client,
                                  header_seconds=caps.header_seconds, trusted_proxies=caps.trusted_proxies)
    except LimitProblem as exc:
        raise ListenProblem(str(exc)) from None
    log.info("web server: at most %d connections, %d of them live pages (%d per client address), %d from one "
             "address; request headers within %g s; %s; %d files may be open", limits.connections, limits.streams,
             limits.streams_per_client, limits.connections_per_client, limits.header_seconds,
             f"trusted proxies {', '.join(map(str, limits.trusted_proxies))}" if limits.trusted_proxies
             else "no trusted proxy", open_files)
    return limits


async def _listen(app, listen: Listen):
    """``app`` served on ``listen``; a port taken or not allowed is a ListenProblem naming one to use."""
    from .web import start_web

    try:
        runner = await start_web(app, listen.host, listen.port)
    except OSError as exc:
        free = Listen(listen.host, free_port_near(listen.host, listen.port)) if exc.errno == errno.EADDRINUSE else None
        instead = f"pass --listen {free}" if free else "pass --listen with an address and port this machine allows"
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)  # not asyncio's "while attempting to bind"
        raise ListenProblem(f"cannot listen on {listen}: {reason}; {instead}") from exc
    log.info("web server listening on %s", listen)
    return runner


async def _until_stopped(work: asyncio.Task, ready: asyncio.Event, on_ready: Callable[[], None] | None) -> None:
    """Wait for SIGINT/SIGTERM, or for ``work`` to end (raising what ended it); ``on_ready`` once
    ``ready`` is set, the service manager told then that the process is ready and, on a signal,
    that it is stopping. ``work`` is cancelled on the way out."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopping = asyncio.create_task(stop.wait(), name="stop")
    caught_up = asyncio.create_task(ready.wait(), name="ready")
    try:
        await asyncio.wait([caught_up, work, stopping], return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            notify(READY)
            if on_ready:
                on_ready()
        await asyncio.wait([work, stopping], return_when=asyncio.FIRST_COMPLETED)
        if work.done():
            work.result()  # it ended on its own: raise what stopped it
        notify(STOPPING)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        stopping.cancel()
        caught_up.cancel()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)


async def run_bot(connection: Connection, schedule: Schedule | Programme, data_dir: Path, *,
                  clock: Clock = utc_now, ready: asyncio.Event | None = None, day: DayOptions | None = None,
                  reload: ReloadOptions | None = None, receiver: TransactionReceiver | None = None) -> None:
    """Run the bot for ``schedule`` (or a programme shared with the web pages) until cancelled: log in (access token, or password on a fixed
    device), open the store in ``data_dir``, sync and answer. ``ready`` is set once it listens.
    With ``day``, the conference clock runs the transitions too (``bot.day``); with ``reload``,
    edits to schedule.yaml (and ``!reload``) are put in force while it runs. With a ``receiver``
    (the bot as an application service), the events come from the transactions the homeserver
    pushes to it instead of /sync."""
    # Imported here, as in serve: every `podium` command parses --listen through this module.
    from .day.reload import ScheduleReloader
    from .day.runner import DayRunner
    from .runtime import Runtime, answering_adapter, log_in, until_reached
    from .store.database import Store
    from .store.transactions import PushedTransactions

    adapter = answering_adapter(connection.homeserver, connection.user_id, connection.access_token or "",
                                appservice=connection.appservice is not None)
    store = Store(data_dir)
    try:
        if connection.appservice is not None:
            await until_reached(adapter.claim_user)
        elif not connection.access_token:
            assert connection.password
            await log_in(adapter, connection.password)
        runtime = Runtime(adapter, schedule, store, clock=clock)
        if ready is not None:
            waiter = asyncio.create_task(_forward(runtime.ready, ready))
        if receiver is None:
            answering = runtime.run()
        else:
            pushed = PushedTransactions(store.db, receiver.service.id)
            receiver.attach(runtime, pushed)
            answering = runtime.run_pushed(pushed)
        tasks = [asyncio.create_task(answering, name="answering")]
        if day is not None:
            tasks.append(asyncio.create_task(DayRunner(runtime, day).run(), name="clock"))
        if receiver is not None:
            tasks.append(asyncio.create_task(receiver.call_for_pushes(), name="pushes"))
        if reload is not None:
            runtime.reloader = ScheduleReloader(runtime, reload)
            tasks.append(asyncio.create_task(runtime.reloader.watch(), name="reload"))
        try:
            # Any of them ending (an error) ends all: the clock without the sync loop would act
            # on stale rooms, the bot without the clock would skip the day's transitions.
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if ready is not None:
                waiter.cancel()
    finally:
        if receiver is not None:
            receiver.detach()
        store.close()
        await adapter.close()


async def _forward(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
