"""``podium import``: read a programme from a file or URL, recognising its format from the content,
merge it into schedule.yaml and write the result atomically.

Sources: pretalx's schedule JSON export, frab/pentabarf schedule XML (as a file or a URL), and
pretalx's REST API (a URL whose answer is a pretalx event, like ``https://…/api/events/<e>/``).
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.error
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bot.conference.inputfile import SCHEDULE_LIMIT, InputRefused, read_input
from bot.conference.schedule import ScheduleError, ScheduleInvalid, load_schedule

from . import fetch
from .c3voc_json import is_schedule_v2, parse_schedule_v2
from .frab_json import is_frab_json, parse_frab_json
from .frab_xml import parse_frab_xml
from .merge import MergeResult, merge
from .pretalx_api import (
    SLOT_EXPAND,
    find_question,
    is_pretalx_event,
    matrix_ids_from_answers,
    parse_pretalx_api,
)
from .programme import Programme

#: ``…/api/events/<slug>`` with anything after it: the event's API root is what is read.
_API_EVENT = re.compile(r"^(?P<root>.*/api/events/[^/]+)(?:/.*)?$")
KINDS_OF_SOURCE = ("pretalx's schedule JSON export (/<event>/schedule/export/schedule.json), frab or pentabarf "
                   "schedule XML (schedule.xml), c3voc's schedule v2 JSON, or pretalx's API "
                   "(https://…/api/events/<event>/)")


@dataclass(frozen=True)
class ImportOptions:
    token: str | None = None
    #: The speaker question whose answers are Matrix IDs (its text, identifier or id); API only.
    matrix_question: str | None = None
    #: The conference's IANA time zone, for a source that names none (--timezone).
    timezone: str | None = None
    #: Seconds the whole read of a URL may take, every request and page of it.
    timeout: float = fetch.DEFAULT_TIMEOUT


def read_programme(source: str, options: ImportOptions) -> tuple[Programme, list[str]]:
    """The programme at ``source`` and notes about reading it; FetchProblem or ScheduleInvalid."""
    notes: list[str] = []
    if not fetch.is_url(source):
        programme, _ = _from_content(fetch.read_file(Path(source)), source, options.timezone)
        return _with_notes(programme, source, options, notes)
    fetch.check_url(source)
    with fetch.Deadline(options.timeout) as deadline:
        parts = urllib.parse.urlsplit(source)
        api = _API_EVENT.match(parts.path)
        if api:
            root = urllib.parse.urlunsplit(parts._replace(path=api["root"] + "/", query="", fragment=""))
            return _with_talks(_from_api(root, options, notes, deadline)), notes
        try:
            data = fetch.get(source, deadline=deadline)
            page_failed = None
        except fetch.FetchProblem as problem:
            # An event's page that fails to render (a server error, a login wall) still has its
            # export and API beside it; a server that cannot be reached at all has nothing to try.
            if not _answered(problem):
                raise
            data, page_failed = b"", problem
        if page_failed is not None or is_web_page(data):
            api_programme = _api_behind(source, options, notes, deadline)
            if api_programme is not None:
                return _with_talks(api_programme), notes
            try:
                source, data = _export_behind(source, notes, deadline, page_failed=page_failed is not None)
            except fetch.FetchProblem:
                if page_failed is not None:
                    raise page_failed from None
                raise
        # Messages, and the schedule's header, name the source without the secrets in its query.
        programme, parsed = _from_content(data, fetch.shown(source), options.timezone)
        if programme is None and is_pretalx_event(parsed):
            return _with_talks(_from_api(source.rstrip("/") + "/", options, notes, deadline)), notes
        return _with_notes(programme, source, options, notes)


def _with_notes(programme: Programme | None, source: str, options: ImportOptions,
                notes: list[str]) -> tuple[Programme, list[str]]:
    if programme is None:
        raise fetch.FetchProblem(f"{fetch.shown(source) if fetch.is_url(source) else source}: not a format Podium "
                                 f"reads; give {KINDS_OF_SOURCE}")
    notes += programme.notes
    _with_talks(programme)
    if options.matrix_question:
        notes.append(f"--matrix-question: {programme.format} carries no answers to questions, so speakers' Matrix "
                     "IDs come from schedule.yaml only; import from pretalx's API (/api/events/<event>/) with a "
                     "token to read them")
    return programme, notes


def _with_talks(programme: Programme) -> Programme:
    """``programme``, if it holds a talk: a programme without one is a wrong file or an unreleased
    schedule, never something to report as "up to date"."""
    if not programme.talks:
        raise fetch.FetchProblem(f"{programme.source}: {programme.format} with no talk in it; nothing was imported. "
                                 "Is the schedule released, and is this the export of the right event?")
    return programme


_WEB_PAGE = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)
#: Where pretalx and frab publish their exports, relative to an event's page.
EXPORTS_OF_EVENT = ("schedule/export/schedule.json", "schedule/export/schedule.xml", "schedule.json",
                    "schedule.xml")


def is_web_page(data: bytes) -> bool:
    return bool(_WEB_PAGE.match(data.lstrip(b"\xef\xbb\xbf")[:4096]))


def _api_behind(url: str, options: ImportOptions, notes: list[str], deadline: fetch.Deadline) -> Programme | None:
    """With a token, the pretalx API of the event whose web page ``url`` is: it holds what the
    public export leaves out (cancelled talks, the speakers' answers). None where there is none."""
    segments = [s for s in urllib.parse.urlsplit(url).path.split("/") if s]
    if not options.token or not segments:
        return None
    parts = urllib.parse.urlsplit(url)
    root = urllib.parse.urlunsplit(parts._replace(path=f"/api/events/{segments[0]}/", query="", fragment=""))
    try:
        if not is_pretalx_event(fetch.get_json(root, options.token, deadline=deadline)):
            return None
    except fetch.FetchProblem:
        return None
    notes.append(f"{fetch.shown(url)} is an event's page; read its pretalx API at {fetch.shown(root)}")
    return _from_api(root, options, notes, deadline)


def _answered(problem: fetch.FetchProblem) -> bool:
    """Whether the server answered the request that failed (with an HTTP error status)."""
    return isinstance(problem.__context__, urllib.error.HTTPError)


def _export_behind(url: str, notes: list[str], deadline: fetch.Deadline, *,
                   page_failed: bool = False) -> tuple[str, bytes]:
    """The export of the event whose web page ``url`` is (what an organiser copies from the
    browser, like https://pretalx.example/democon/): tried where pretalx and frab publish it."""
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    # The event's page, or one of its pages (…/democon/schedule/, …/democon/talk/ABC/): the event
    # is the first segment on pretalx; frab's events sit one level deeper, so try both.
    bases = []
    for depth in range(min(len(segments), 3), 0, -1):
        bases.append("/" + "/".join(segments[:depth]) + "/")
    tried = []
    for base in dict.fromkeys(bases):
        for export in EXPORTS_OF_EVENT:
            candidate = urllib.parse.urlunsplit(parts._replace(path=base + export, query="", fragment=""))
            tried.append(candidate)
            try:
                data = fetch.get(candidate, deadline=deadline)
            except fetch.FetchProblem:
                continue
            if not is_web_page(data):
                what = "did not load" if page_failed else "is a web page"
                notes.append(f"{fetch.shown(url)} {what}; read the event's export at {fetch.shown(candidate)}")
                return candidate, data
    raise fetch.FetchProblem(f"{fetch.shown(url)}: this is a web page, not a schedule export, and no export was found beside "
                             f"it (tried {', '.join(fetch.shown(t) for t in tried[:4]) or 'nothing: the address names no event'}); give "
                             f"{KINDS_OF_SOURCE}")


def _from_content(data: bytes, source: str, timezone: str | None = None) -> tuple[Programme | None, object]:
    """The programme in ``data`` if it is in a format Podium reads, and the parsed JSON if it is JSON."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        if is_web_page(data):
            raise fetch.FetchProblem(f"{source}: this is a web page, not a schedule export; give {KINDS_OF_SOURCE}")
        return parse_frab_xml(data, source, timezone), None
    if head == b"{":
        try:
            parsed = fetch.parse_json(data)
        except fetch.NotJson as exc:
            raise ScheduleInvalid([ScheduleError(source, exc.line, "", f"not valid JSON ({exc}); export it again")]) \
                from None
        if is_schedule_v2(parsed):
            return parse_schedule_v2(parsed, source, timezone), parsed
        if is_frab_json(parsed):
            return parse_frab_json(parsed, source, timezone), parsed
        return None, parsed
    return None, None


def _from_api(root: str, options: ImportOptions, notes: list[str], deadline: fetch.Deadline) -> Programme:
    token = options.token
    event = fetch.get_json(root, token, deadline=deadline)
    if not is_pretalx_event(event):
        raise fetch.FetchProblem(f"{fetch.shown(root)}: this is not a pretalx event; give "
                                 "https://…/api/events/<event>/")
    latest = fetch.get_json(root + "schedules/latest/", token, deadline=deadline)
    if not isinstance(latest, dict) or "id" not in latest:
        raise fetch.FetchProblem(f"{fetch.shown(root)}schedules/latest/: no released schedule; release one in "
                                 "pretalx first")
    slots = fetch.get_all(fetch.with_query(root + "slots/", schedule=latest["id"], expand=SLOT_EXPAND), token,
                          deadline=deadline)
    # Cancelled talks leave the released schedule; only their submissions, seen with a token, say why.
    cancelled = fetch.get_all(fetch.with_query(root + "submissions/", state="canceled"), token,
                              deadline=deadline) if token else []
    matrix_ids: dict[str, str] = {}
    if options.matrix_question:
        if not token:
            raise fetch.FetchProblem("--matrix-question: pretalx shows answers only with an API token; set "
                                     "PODIUM_PRETALX_TOKEN or pass --token-file FILE")
        questions = fetch.get_all(root + "questions/", token, deadline=deadline)
        question = find_question(questions, options.matrix_question)
        if question is None:
            texts = ", ".join(repr(_first_text(q.get("question"))) for q in questions if isinstance(q, dict))
            raise fetch.FetchProblem(f"{fetch.shown(root)}questions/: no question {options.matrix_question!r}; the "
                                     f"event's questions are: {texts or 'none'}")
        answers = fetch.get_all(fetch.with_query(root + "answers/", question=question["id"]), token, deadline=deadline)
        matrix_ids = matrix_ids_from_answers(answers)
    elif not token:
        notes.append("no API token (PODIUM_PRETALX_TOKEN or --token-file): read what pretalx shows the public")
    return parse_pretalx_api(event, latest, slots, fetch.shown(root), matrix_ids, cancelled)


def _first_text(value) -> str:
    if isinstance(value, dict):
        return next((v for v in value.values() if isinstance(v, str)), "")
    return value if isinstance(value, str) else ""


def import_into(programme: Programme, into: Path, *, prune: bool = False, dry_run: bool = False) -> MergeResult:
    """Merge ``programme`` into the file ``into`` (created when missing) and write it, unless
    ``dry_run``; the file is replaced in one rename, only once the result is valid."""
    try:
        existing = read_input(into, SCHEDULE_LIMIT, "a schedule file (schedule.yaml)").decode("utf-8-sig") \
            if into.exists() else None
    except InputRefused as exc:
        raise fetch.FetchProblem(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fetch.FetchProblem(f"{into}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    if existing is not None:
        load_schedule(into)  # its own mistakes, located in it, come first (and posters are checked in place)
    result = merge(programme, existing, str(into), prune=prune)
    if not dry_run:
        write_atomically(into, result.text)
    return result


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary file beside it and a rename: readers (and a
    running ``podium run``) see the old file or the new one, never half of one."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise fetch.FetchProblem(f"{path}: cannot write beside it ({exc.strerror or exc}); nothing was written") \
            from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise fetch.FetchProblem(f"{path}: cannot write it ({exc.strerror or exc}); nothing was written") from None
