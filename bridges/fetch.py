"""Reading an import's source: a file, a URL, or pretalx's paginated REST API. The only I/O of the
import; what it reads is handed to the pure readers as it came.

urllib from the standard library, not aiohttp: ``podium import`` is one short, sequential command
(an event, then a few pages), so an event loop would add nothing but ceremony, and urllib follows
redirects and speaks HTTPS with the system's certificates as it is.

The pretalx token goes only to the API's own host, in the ``Authorization`` header, and never into
a message: a ``next`` page link that points elsewhere is refused. No message names a URL as it was
given: :func:`shown` takes out a user name and password and the values of query parameters that
carry a secret. A URL with a user name and password is refused (they would be sent in the clear,
and show in process lists and shell history); a token comes from the environment or a file.

Every read has one :class:`Deadline` for the whole of it: each request, redirect and page counts
against it, so a server that answers a byte at a time cannot hold ``podium import`` for longer.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bot import __version__
from bot.conference.inputfile import IMPORT_LIMIT, InputRefused, read_input

#: More than any conference's programme: pretalx's export of FOSDEM (about 1,000 talks) is ~3 MB.
MAX_BYTES = IMPORT_LIMIT
#: Seconds a whole import may take to read (every page of it), unless ``--timeout`` says otherwise.
DEFAULT_TIMEOUT = 60.0
PAGE_SIZE = 100
#: How many pages to follow at most: 100 000 slots at PAGE_SIZE, a guard against a loop of links.
MAX_PAGES = 1000
USER_AGENT = f"podium/{__version__} (podium import)"


class _KeepTokenAtHome(urllib.request.HTTPRedirectHandler):
    """Redirects as urllib follows them, but the token stays behind when one leads to another host
    (urllib would send every header on)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


class FetchProblem(Exception):
    """The source cannot be read; the message names it and says what to do."""


class Deadline:
    """The moment a read must be complete by. Every connection made for it is watched: when the
    moment comes, each is shut down, so a read blocked on a server that dribbles its answer ends
    at once (a timeout per read alone would let one byte a minute go on for ever)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.001, self.ends - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for a TLS socket: it ends the blocked read at once, where
    # the TLS socket's would first drop its TLS state under the reading thread.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


def _watched(connection_class: type[http.client.HTTPConnection], deadline: Deadline) -> type:
    """``connection_class`` whose connections connect within the deadline and are watched by it."""

    class Watched(connection_class):  # type: ignore[valid-type, misc]
        def connect(self) -> None:
            self.timeout = min(self.timeout or deadline.seconds, deadline.remaining())
            super().connect()
            deadline.watch(self.sock)

    return Watched


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self.connection = _watched(http.client.HTTPConnection, deadline)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline):
        super().__init__()
        self.connection = _watched(http.client.HTTPSConnection, deadline)

    def https_open(self, req):
        return self.do_open(self.connection, req, context=self._context)


def is_url(source: str) -> bool:
    return source[:8].lower().startswith(("http://", "https://"))


#: Query parameters whose values are secrets, by a word in their name (token, api_key, password...).
_SECRET_PARAMETER = re.compile(r"token|key|secret|pass|pwd|auth|sig|session|credential|jwt|bearer", re.I)


def shown(url: str) -> str:
    """``url`` as messages may show it: no user name and password, no secret query values."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "(a URL that cannot be read)"
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    if "@" in parts.netloc:
        netloc = "…@" + netloc
    query = "&".join(
        f"{name}=…" if _SECRET_PARAMETER.search(name) and eq else f"{name}{eq}{value}"
        for name, eq, value in (pair.partition("=") for pair in parts.query.split("&") if pair))
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def check_url(url: str) -> None:
    """FetchProblem for a URL Podium will not fetch: one it cannot read, or with a user name and
    password in it."""
    try:
        netloc = urllib.parse.urlsplit(url).netloc
    except ValueError as exc:
        raise FetchProblem(f"{shown(url)}: not a URL Podium can read ({exc}); check it") from None
    if "@" in netloc:
        raise FetchProblem(f"{shown(url)}: the URL holds a user name or password, which Podium does not send; "
                           "download the export and import the file, or for pretalx's API put a token in "
                           "PODIUM_PRETALX_TOKEN (or --token-file FILE)")


def read_file(path: Path) -> bytes:
    try:
        return read_input(path, MAX_BYTES, "a schedule export (schedule.json or schedule.xml)")
    except InputRefused as exc:
        raise FetchProblem(str(exc)) from None
    except FileNotFoundError:
        raise FetchProblem(f"{path}: no such file; give the path of a schedule.json or schedule.xml, or a URL")
    except OSError as exc:
        raise FetchProblem(f"{path}: cannot read it ({exc.strerror or exc})") from None


def get(url: str, token: str | None = None, *, deadline: Deadline | None = None) -> bytes:
    """The body at ``url``, read before ``deadline`` (by default, within DEFAULT_TIMEOUT);
    FetchProblem with the URL (as :func:`shown`), what went wrong and what to do."""
    if deadline is None:
        with Deadline(DEFAULT_TIMEOUT) as deadline:
            return get(url, token, deadline=deadline)
    check_url(url)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/xml;q=0.9, */*;q=0.5"}
    if token:
        headers["Authorization"] = f"Token {token}"
    opener = urllib.request.build_opener(_KeepTokenAtHome, _HTTP(deadline), _HTTPS(deadline))
    try:
        request = urllib.request.Request(url, headers=headers)
        with opener.open(request, timeout=deadline.remaining()) as answer:
            data = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FetchProblem(f"{shown(url)}: {exc.code} {exc.reason}; {_advice(exc.code, token)}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.expired:
            raise _too_slow(url, deadline) from None
        if isinstance(exc, ValueError) and not isinstance(exc, http.client.HTTPException):
            raise FetchProblem(f"{shown(url)}: not a URL Podium can read ({_reason(exc, url)}); check it") from None
        if isinstance(exc, urllib.error.URLError):
            raise FetchProblem(f"{shown(url)}: cannot connect ({_reason(exc.reason, url)}); check the address and "
                               "that the server is up") from None
        raise FetchProblem(f"{shown(url)}: no answer ({_reason(exc, url)}); try again, or download the export and "
                           "import the file") from None
    if deadline.expired:  # a shut connection can look like the end of an answer
        raise _too_slow(url, deadline)
    if len(data) > MAX_BYTES:
        raise FetchProblem(f"{shown(url)}: the answer is larger than {MAX_BYTES // 2**20} MB; that is no schedule "
                           "export")
    return data


def _too_slow(url: str, deadline: Deadline) -> FetchProblem:
    return FetchProblem(f"{shown(url)}: no complete answer within {deadline.seconds:g} s; the server is too slow. Try "
                        "again later, allow longer with --timeout SECONDS, or download the export and import the file")


def _reason(reason: object, url: str) -> str:
    """What went wrong, without the parts of ``url`` a message must not show (a library's
    message may quote the URL, or its host and port)."""
    text = str(reason)
    parts = urllib.parse.urlsplit(url)
    secrets = [parts.netloc.rpartition("@")[0]] if "@" in parts.netloc else []
    secrets += [value for name, value in urllib.parse.parse_qsl(parts.query) if _SECRET_PARAMETER.search(name)]
    for secret in filter(None, secrets):
        text = text.replace(secret, "…")
    return text


def _advice(status: int, token: str | None) -> str:
    if status in (401, 403):
        return ("the token was refused: check PODIUM_PRETALX_TOKEN (or --token-file), and that it may read this "
                "event" if token else
                "this needs an API token: set PODIUM_PRETALX_TOKEN or pass --token-file FILE")
    if status == 404:
        return ("nothing there: check the event's slug; give /<event>/schedule/export/schedule.json, "
                "/<event>/schedule/export/schedule.xml or /api/events/<event>/ (is the schedule released?)")
    return "try again later, or download the export and import the file"


class NotJson(ValueError):
    def __init__(self, line: int | None, reason: str):
        super().__init__(reason)
        self.line = line


def parse_json(data: bytes) -> Any:
    """``data`` as JSON; NotJson with the line (where known) and why not."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise NotJson(data.count(b"\n", 0, exc.start) + 1, f"not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise NotJson(exc.lineno, str(exc)) from None
    except RecursionError:
        raise NotJson(None, "nested too deeply (lists or objects inside each other thousands of levels deep)") \
            from None


def get_json(url: str, token: str | None = None, *, deadline: Deadline | None = None) -> Any:
    data = get(url, token, deadline=deadline)
    try:
        return parse_json(data)
    except NotJson as exc:
        raise FetchProblem(f"{shown(url)}: the answer is not JSON ({exc}); is this pretalx's API?") from None


def with_query(url: str, **params: Any) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + [(k, str(v)) for k, v in params.items()]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def get_all(url: str, token: str | None = None, *, deadline: Deadline | None = None) -> list[Any]:
    """Every result of a paginated pretalx list, following its ``next`` links on the same host."""
    origin = urllib.parse.urlsplit(url)[:2]
    results: list[Any] = []
    next_url: str | None = with_query(url, page_size=PAGE_SIZE)
    for _ in range(MAX_PAGES):
        if next_url is None:
            return results
        page = get_json(next_url, token, deadline=deadline)
        if isinstance(page, list):  # an unpaginated answer
            return results + page
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise FetchProblem(f"{shown(next_url)}: expected a page of results ({{count, next, results}}); is this "
                               "pretalx's API v2?")
        results += page["results"]
        next_url = page.get("next") or None
        if next_url is not None and not isinstance(next_url, str):
            raise FetchProblem(f"{shown(url)}: the page's next link is no URL; is this pretalx's API v2?")
        if next_url is not None:
            check_url(next_url)
            link = urllib.parse.urlsplit(next_url)
            if link.netloc != origin[1]:
                raise FetchProblem(f"{shown(url)}: the next page is on another server "
                                   f"({shown(next_url)}); not following it with the token")
            # Behind a proxy pretalx may link its pages with http://: stay on the scheme given.
            next_url = urllib.parse.urlunsplit(link._replace(scheme=origin[0]))
    raise FetchProblem(f"{shown(url)}: more than {MAX_PAGES} pages; stopping")
