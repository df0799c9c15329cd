"""Poster PDFs served from Podium's own origin.

The poster page draws a PDF with pdf.js, which reads it with ``fetch``: a PDF on another host
could only be read if that host allowed it (CORS), and most do not. So the web server serves
every poster itself at ``/posters/<id>.pdf``: a file shipped beside schedule.yaml as it is, and a
PDF at a web address fetched by the server, kept in the data directory and fetched again now and
then. Only the address the schedule gives for that poster is ever fetched, never one taken from
a request; a fetch is bounded in size and time, and the body must be a PDF.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from pathlib import Path

import aiohttp

from ..conference.schedule import MAX_POSTER_BYTES, Poster

log = logging.getLogger(__name__)

#: Where fetched posters are kept, inside the data directory.
CACHE_FOLDER = "poster-cache"
#: A poster replaced on its host shows within this long; until then the kept copy is served.
REFRESH_SECONDS = 600.0
#: How long one fetch may take, connecting included.
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
CHUNK = 64 * 1024


class PosterUnavailable(Exception):
    """No PDF to serve; ``str()`` says why, for the attendee, and ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 502):
        super().__init__(message)
        self.status = status


class PosterFiles:
    """The file to serve for each poster: its own, or the kept copy of its web address."""

    def __init__(self, cache: Path, *, max_bytes: int = MAX_POSTER_BYTES,
                 timeout: aiohttp.ClientTimeout = FETCH_TIMEOUT, refresh: float = REFRESH_SECONDS):
        self.cache = cache
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.refresh = refresh
        self._locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def file(self, poster: Poster) -> Path:
        """The PDF to send for ``poster``; raises PosterUnavailable."""
        if poster.pdf_file is not None:
            return self._own_file(poster.pdf_file)
        url = poster.pdf_url
        if poster.pdf is None:
            raise PosterUnavailable("The presenters have not shared a PDF yet.", 404)
        if url is None:  # a path, in a schedule read from text rather than from its file
            raise PosterUnavailable("The poster's PDF is not on this server.", 404)
        kept = self.cache / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.pdf"
        if self._fresh(kept):
            return kept
        # One fetch per poster at a time: a room full of attendees opening it together waits
        # for the same download.
        async with self._locks.setdefault(url, asyncio.Lock()):
            if self._fresh(kept):
                return kept
            try:
                await self._fetch(url, kept)
            except PosterUnavailable as exc:
                if kept.is_file():  # the host is down: the copy from before is better than nothing
                    log.warning("poster %s: %s; serving the copy kept before", poster.id, exc)
                    return kept
                log.warning("poster %s: %s", poster.id, exc)
                raise
        return kept

    def _own_file(self, path: Path) -> Path:
        # Checked when the schedule was loaded; looked at again in case it changed since.
        try:
            size = path.stat().st_size
        except OSError:
            raise PosterUnavailable("The poster's PDF file is missing on the server.", 404) from None
        if size > self.max_bytes:
            raise PosterUnavailable("The poster's PDF file is too large to show.", 404)
        return path

    def _fresh(self, path: Path) -> bool:
        try:
            return time.time() - path.stat().st_mtime < self.refresh
        except OSError:
            return False

    async def _fetch(self, url: str, target: Path) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, trust_env=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        limit = _size(self.max_bytes)
        try:
            async with self._session.get(url, max_redirects=5) as response:
                if response.status != 200:
                    answer = f"{response.status} {response.reason or ''}".rstrip()
                    raise PosterUnavailable(f"The poster's host answered {answer}.")
                if (response.content_length or 0) > self.max_bytes:
                    raise PosterUnavailable(f"The poster's PDF is larger than {limit}.")
                size, head = 0, b""
                with partial.open("wb") as out:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise PosterUnavailable(f"The poster's PDF is larger than {limit}.")
                        if len(head) < 5:
                            head += chunk[:5 - len(head)]
                        out.write(chunk)
            if head != b"%PDF-":
                raise PosterUnavailable("The poster's address does not give a PDF file.")
            os.replace(partial, target)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            reason = "took too long" if isinstance(exc, TimeoutError) else (str(exc) or type(exc).__name__)
            raise PosterUnavailable(f"The poster could not be fetched from its host ({reason}).") from None
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()


def _size(count: int) -> str:
    return f"{count // 2**20} MB" if count >= 2**20 else f"{count // 2**10} KB"
