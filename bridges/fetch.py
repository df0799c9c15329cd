"""Reading an import's source: a file, a URL, or pretalx's paginated REST API. The only I/O of the
import; what it reads is handed to the pure readers as it came.

urllib from the standard library, not aiohttp: ``podium import`` is one short, sequential command
(an event, then a few pages), so an event loop would add nothing but ceremony, and urllib follows
redirects and speaks HTTPS with the system's certificates as it is.

The pretalx token goes only to the API's own host, in the ``Authorization`` header, and never into
a message: a ``next`` page link that points elsewhere is refused.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bot import __version__

#: More than any conference's programme: pretalx's export of FOSDEM (about 1,000 talks) is ~3 MB.
MAX_BYTES = 50 * 1024 * 1024
TIMEOUT = 60
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


_OPENER = urllib.request.build_opener(_KeepTokenAtHome)


class FetchProblem(Exception):
    """The source cannot be read; the message names it and says what to do."""


def is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in ("http", "https")


def read_file(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise FetchProblem(f"{path}: no such file; give the path of a schedule.json or schedule.xml, or a URL")
    except OSError as exc:
        raise FetchProblem(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise FetchProblem(f"{path}: larger than {MAX_BYTES // 2**20} MB; that is no schedule export")
    return data


def get(url: str, token: str | None = None) -> bytes:
    """The body at ``url``; FetchProblem with the URL, what went wrong and what to do."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/xml;q=0.9, */*;q=0.5"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as answer:
            data = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FetchProblem(f"{url}: {exc.code} {exc.reason}; {_advice(exc.code, token)}") from None
    except urllib.error.URLError as exc:
        raise FetchProblem(f"{url}: cannot connect ({exc.reason}); check the address and that the server is up") \
            from None
    except (TimeoutError, OSError) as exc:
        raise FetchProblem(f"{url}: no answer ({exc}); try again, or download the export and import the file") \
            from None
    if len(data) > MAX_BYTES:
        raise FetchProblem(f"{url}: the answer is larger than {MAX_BYTES // 2**20} MB; that is no schedule export")
    return data


def _advice(status: int, token: str | None) -> str:
    if status in (401, 403):
        return ("the token was refused: check PODIUM_PRETALX_TOKEN (or --token-file), and that it may read this "
                "event" if token else
                "this needs an API token: set PODIUM_PRETALX_TOKEN or pass --token-file FILE")
    if status == 404:
        return ("nothing there: check the event's slug; give /<event>/schedule/export/schedule.json, "
                "/<event>/schedule/export/schedule.xml or /api/events/<event>/ (is the schedule released?)")
    return "try again later, or download the export and import the file"


def get_json(url: str, token: str | None = None) -> Any:
    data = get(url, token)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchProblem(f"{url}: the answer is not JSON ({exc}); is this pretalx's API?") from None


def with_query(url: str, **params: Any) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + [(k, str(v)) for k, v in params.items()]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def get_all(url: str, token: str | None = None) -> list[Any]:
    """Every result of a paginated pretalx list, following its ``next`` links on the same host."""
    origin = urllib.parse.urlsplit(url)[:2]
    results: list[Any] = []
    next_url: str | None = with_query(url, page_size=PAGE_SIZE)
    for _ in range(MAX_PAGES):
        if next_url is None:
            return results
        page = get_json(next_url, token)
        if isinstance(page, list):  # an unpaginated answer
            return results + page
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            raise FetchProblem(f"{next_url}: expected a page of results ({{count, next, results}}); is this "
                               "pretalx's API v2?")
        results += page["results"]
        next_url = page.get("next") or None
        if next_url is not None:
            link = urllib.parse.urlsplit(next_url)
            if link.netloc != origin[1]:
                raise FetchProblem(f"{url}: the next page is on another server ({link.netloc}); not following it "
                                   "with the token")
            # Behind a proxy pretalx may link its pages with http://: stay on the scheme given.
            next_url = urllib.parse.urlunsplit(link._replace(scheme=origin[0]))
    raise FetchProblem(f"{url}: more than {MAX_PAGES} pages; stopping")
