"""Serve the web app from a thread of its own, for callers that are not asyncio programs
(the screenshot script, browser tests driving a synchronous browser API)."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from ..ports import free_port
from .app import start_web


class ThreadedServer:
    """``with ThreadedServer(app) as server: ... server.url ...``"""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int | None = None):
        self.app = app
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="podium-web", daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> "ThreadedServer":
        self._thread.start()
        self._runner = asyncio.run_coroutine_threadsafe(start_web(self.app, self.host, self.port), self._loop).result(30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> "ThreadedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
