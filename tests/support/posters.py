"""The sample schedule's posters: its PDFs copied beside a schedule, and a stand-in poster host."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Self

from aiohttp import web

from bot import SAMPLE_SCHEDULE
from bot.ports import free_port
from bot.provisioning.desired import Settings

SAMPLE_POSTERS = SAMPLE_SCHEDULE.parent / "posters"
SAMPLE_PDF = SAMPLE_POSTERS / "energy.pdf"
SETTINGS = Settings("localhost", "@podium:localhost", "http://127.0.0.1")


def with_sample_posters(directory: Path) -> Path:
    """``directory``, holding the sample's poster PDFs as a copy of the sample schedule there needs."""
    shutil.copytree(SAMPLE_POSTERS, directory / "posters", dirs_exist_ok=True)
    return directory


class PosterHost:
    """An HTTP server standing in for the host of the posters' web addresses, in a thread of its
    own; records each path asked for."""

    def __init__(self):
        self.hits: list[str] = []
        self.up = True
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/{name}", self._serve)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        self._thread.start()

        async def start():
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path_qs)
        name = request.match_info["name"]
        if not self.up or name == "missing.pdf":
            return web.Response(status=404, text="gone")
        if name == "page.pdf":
            return web.Response(text="<html>a web page</html>", content_type="text/html")
        if name == "moved.pdf":
            raise web.HTTPFound("/energy.pdf")
        if name == "slow.pdf":
            await asyncio.sleep(3)
        if name == "big.pdf":  # no Content-Length: the size shows only while reading
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(b"%PDF-1.4\n")
            for _ in range(40):
                await response.write(b"0" * 4096)
            return response
        if name == "declared-big.pdf":
            return web.Response(body=b"%PDF-1.4\n" + b"0" * 200_000, content_type="application/pdf")
        return web.Response(body=SAMPLE_PDF.read_bytes(), content_type="application/pdf")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

