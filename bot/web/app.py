"""The aiohttp application: routes, templates, the security headers and the live streams."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bridges.ical import CONTENT_TYPE as ICAL_TYPE
from bridges.ical import calendar_bytes

from ..conference import pages
from ..conference.clock import Clock, apply_delays, utc_now
from ..conference.openspace import Session, sessions
from ..conference.roomkeys import SPACE, poster_key, sponsor_key
from ..conference.schedule import Poster, Schedule
from ..conference.sponsors import JOBS_ROOM
from ..provisioning.desired import Settings
from ..provisioning.programme import Programme
from ..provisioning.templates import BUNDLED_TEMPLATES
from ..resources import resource
from ..store.database import DATABASE
from . import views
from .limits import (
    RETRY_AFTER_SECONDS,
    StreamSlots,
    WebLimits,
    open_file_limit,
)
from .listener import CappedSite
from .live import LiveData
from .posters import CACHE_FOLDER, PosterFiles, PosterUnavailable
from .requestlog import BadRequestLog

#: The pages' Jinja2 templates and static files, shipped with Podium.
WIDGETS = resource("widgets")
#: How often a live page is re-checked when the store is quiet (talks start and end on the clock).
TICK_SECONDS = 5.0
#: A comment line on an idle event stream, so proxies do not time it out.
HEARTBEAT_SECONDS = 15.0
#: How long a connection with no request in progress stays open.
IDLE_CONNECTION_SECONDS = 15.0
#: pdf.js is made of ES modules, which browsers run only when served as JavaScript; not every
#: system's MIME table knows the .mjs extension.
mimetypes.add_type("text/javascript", ".mjs")


K_PROGRAMME = web.AppKey("programme", Programme)  # the schedule and rooms in force, swapped on reload
K_DELAYS = web.AppKey("delays", object)  # a fixed mapping, or None: the store's
K_NOW = web.AppKey("now", object)
K_JINJA = web.AppKey("jinja", jinja2.Environment)
K_LIVE = web.AppKey("live", LiveData)
K_CLOSING = web.AppKey("closing", asyncio.Event)
K_PAYLOADS = web.AppKey("payloads", dict)
K_LIMITS = web.AppKey("limits", WebLimits)
K_STREAMS = web.AppKey("streams", StreamSlots)
K_POSTERS = web.AppKey("posters", PosterFiles)
K_BAD_REQUESTS = web.AppKey("bad_requests", BadRequestLog)


def create_app(
    schedule: Schedule,
    settings: Settings,
    *,
    data_dir: Path,
    delays: Mapping[str, int] | None = None,
    now: Clock | None = None,
    templates_dir: Path = BUNDLED_TEMPLATES,
    limits: WebLimits | None = None,
    programme: Programme | None = None,
) -> web.Application:
    """The web application for one conference (see the package docstring). Given ``programme``
    (what ``podium run`` shares with the bot), the pages follow it when the schedule is reloaded;
    else they show ``schedule`` with the rooms ``templates_dir`` makes."""
    app = create_bare_app(limits)
    app[K_STREAMS] = StreamSlots(app[K_LIMITS])
    app[K_PROGRAMME] = programme or Programme.bundled(schedule, settings, templates_dir)
    # Kept by reference: whoever passed the mapping may change it and the pages follow.
    app[K_DELAYS] = delays
    app[K_NOW] = now or utc_now
    app[K_JINJA] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WIDGETS / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    # The pages link to each other through the same URL scheme the routes below are made from.
    app[K_JINJA].globals["pages"] = pages
    app[K_LIVE] = LiveData(data_dir / DATABASE)
    app[K_CLOSING] = asyncio.Event()
    app[K_PAYLOADS] = {}
    app[K_POSTERS] = PosterFiles(data_dir / CACHE_FOLDER)
    app.on_response_prepare.append(_security_headers)
    app.on_startup.append(_start_live)
    app.on_shutdown.append(_close_streams)
    app.on_cleanup.append(_stop_live)
    app.on_cleanup.append(_close_posters)

    app.router.add_get(pages.INDEX_PATH, index)
    app.router.add_get(pages.SCHEDULE_PATH, schedule_page)
    app.router.add_get(pages.POSTERS_PATH, posters_page)
    app.router.add_get(pages.POSTER_PDF_PATH, poster_pdf)
    app.router.add_get(pages.STREAM_PATH, stream_widget)
    app.router.add_get(pages.NOW_NEXT_PATH, now_next_widget)
    app.router.add_get(pages.QA_PATH, qa_widget)
    app.router.add_get(pages.QA_EVENTS_PATH, qa_events)
    app.router.add_get(pages.POLLS_PATH, polls_widget)
    app.router.add_get(pages.POLLS_EVENTS_PATH, polls_events)
    app.router.add_get(pages.POSTER_PATH, poster_widget)
    app.router.add_get(pages.SPONSOR_PATH, sponsor_widget)
    app.router.add_get(pages.SPONSOR_EVENTS_PATH, sponsor_events)
    app.router.add_get(pages.JOBS_PATH, jobs_widget)
    app.router.add_get(pages.JOBS_EVENTS_PATH, jobs_events)
    app.router.add_get(pages.NOW_NEXT_API_PATH, now_next_json)
    app.router.add_get(pages.CALENDAR_PATH, calendar_file)
    app.router.add_get(pages.TRACK_CALENDAR_PATH, calendar_file)
    app.router.add_static(pages.STATIC_PATH, WIDGETS / "static", follow_symlinks=False)
    return app


def create_bare_app(limits: WebLimits | None = None) -> web.Application:
    """A web server without any page, held to ``limits`` as the pages' server is: what ``start_web``
    needs to serve it. ``create_app`` adds the pages to one; the bot running without its pages as
    an application service (``podium run --no-pages --appservice``) only the homeserver's
    transactions (``TransactionReceiver.install``)."""
    app = web.Application()
    app[K_LIMITS] = limits or WebLimits.within(open_file_limit())
    app[K_BAD_REQUESTS] = BadRequestLog()
    app.on_cleanup.append(_count_bad_requests)
    return app


async def start_web(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on host:port, with at most its limits' connections open at once;
    ``await runner.cleanup()`` stops it."""
    # Open event streams end at shutdown (see _close_streams), so a short grace period is enough.
    # handler_cancellation: a live page closed in the browser gives back its stream slot and its
    # connection at once, not at its next write. keepalive_timeout: an idle connection, or one
    # that never sends a request, keeps its place under the connection cap for a short while only
    # (one that never finishes its request's headers, a shorter while: see listener.py).
    # logger: malformed requests logged one line each, so many a minute (see requestlog.py).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0, handler_cancellation=True,
                           keepalive_timeout=IDLE_CONNECTION_SECONDS, logger=app[K_BAD_REQUESTS])
    await runner.setup()
    try:
        await CappedSite(runner, host, port, limits=app[K_LIMITS]).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


# ----------------------------------------------------------------------------- lifecycle


async def _start_live(app: web.Application) -> None:
    await app[K_LIVE].start()


async def _close_streams(app: web.Application) -> None:
    app[K_CLOSING].set()
    app[K_LIVE].wake()


async def _stop_live(app: web.Application) -> None:
    await app[K_LIVE].stop()


async def _close_posters(app: web.Application) -> None:
    await app[K_POSTERS].close()


async def _count_bad_requests(app: web.Application) -> None:
    app[K_BAD_REQUESTS].throttle.flush()  # the count of those not logged, before the log ends


# ----------------------------------------------------------------------------- security

#: Every page: only Podium's own scripts, styles and data; embeddable anywhere (Element runs on
#: any origin, Element Desktop on vector://); no forms, no plugins, no base-URL tricks.
BASE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "media-src": ["'self'"],
    "frame-src": ["'none'"],
    "object-src": ["'none'"],
    "worker-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["*", "vector:"],
}


def policy(**extra: list[str]) -> str:
    """The Content-Security-Policy header, with ``extra`` sources replacing a directive's
    (keyword arguments use underscores: ``frame_src=[...]``)."""
    directives = dict(BASE_POLICY)
    for name, sources in extra.items():
        directives[name.replace("_", "-")] = sources
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


K_POLICY = web.RequestKey("csp", str)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Sent with every response, pages, static files, event streams and errors alike."""
    response.headers["Content-Security-Policy"] = request.get(K_POLICY) or policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"


# ----------------------------------------------------------------------------- helpers


def _sessions(request: web.Request, schedule: Schedule) -> list[Session]:
    """The open-space sessions booked with ``!openspace``, as the store has them now."""
    return sessions(schedule, request.app[K_LIVE].bookings(schedule.conference.id))


def _state(request: web.Request) -> tuple[Schedule, datetime, views.RoomLinks, Mapping[str, int]]:
    """The delayed schedule, the moment, room links and delays for this request."""
    app = request.app
    delays = _delays(app)
    programme = app[K_PROGRAMME]
    return apply_delays(programme.schedule, delays), app[K_NOW](), programme.links, delays


def _schedule(app: web.Application) -> Schedule:
    """The schedule in force: read per request, as ``podium run`` may have reloaded it."""
    return app[K_PROGRAMME].schedule


def _delays(app: web.Application) -> Mapping[str, int]:
    """How late each track runs: the mapping given to create_app, else what moderators set
    with ``!delay`` (read from the store once per change)."""
    fixed = app[K_DELAYS]
    return fixed if fixed is not None else app[K_LIVE].delays(_schedule(app).conference.id)


def _render(request: web.Request, template: str, **context: Any) -> web.Response:
    app = request.app
    schedule = _schedule(app)
    theme = request.query.get("theme", "")
    html = app[K_JINJA].get_template(template).render(
        conference=schedule.conference,
        theme="dark" if theme == "dark" else "light",
        **context,
    )
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


def _not_found(request: web.Request, what: str) -> web.Response:
    response = _render(request, "not_found.html", what=what)
    response.set_status(404)
    return response


def _track(request: web.Request) -> str | None:
    track_id = request.match_info["track"]
    known = {t.id for t in _schedule(request.app).tracks}
    return track_id if track_id in known else None


def _busy(what: str) -> web.Response:
    """The answer over a cap: plain text, and when to try again (the pages' scripts do)."""
    response = web.Response(
        status=503,
        text=f"{what}; this page tries again by itself in a few seconds.\n",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
    )
    response.force_close()  # the connection's descriptor is free again at once
    return response


async def _event_stream(request: web.Request, key: str, build: Callable[[], dict[str, Any]]) -> web.StreamResponse:
    """Server-sent events: the page's data as JSON now and whenever it changes.

    Woken by the store's data_version (questions, votes, polls) and by a clock tick (a talk
    starting changes which questions are shown); sends only when the JSON differs. Pages
    showing the same ``key`` share one build per change and tick, so a full room of open
    boards costs one query, not one each. Each stream holds a slot (see limits.StreamSlots)
    for as long as it is open; when none is free the answer is 503.
    """
    slots = request.app[K_STREAMS]
    client = request.app[K_LIMITS].client(request.remote, request.headers.get("X-Forwarded-For"))
    if not slots.take(client):
        return _busy("Too many live pages are open on Podium's web server right now")
    try:
        return await _stream_events(request, key, build)
    finally:
        slots.give_back(client)


async def _stream_events(request: web.Request, key: str, build: Callable[[], dict[str, Any]]) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # nginx: pass events through at once
    })
    await response.prepare(request)
    live, closing, cache = request.app[K_LIVE], request.app[K_CLOSING], request.app[K_PAYLOADS]
    loop = asyncio.get_running_loop()
    last, version, quiet_since = None, live.version, loop.time()
    try:
        while not closing.is_set():
            # Talks start and end on whole minutes (schedule times and delays are minutes), and
            # a new delay moves them.
            minute = request.app[K_NOW]().replace(second=0, microsecond=0)
            stamp = (live.version, minute, tuple(sorted(_delays(request.app).items())))
            cached = cache.get(key)
            if cached is None or cached[0] != stamp:
                cached = cache[key] = (stamp, json.dumps(build(), separators=(",", ":"), sort_keys=True))
            payload = cached[1]
            if payload != last:
                await response.write(f"data: {payload}\n\n".encode())
                last, quiet_since = payload, loop.time()
            elif loop.time() - quiet_since > HEARTBEAT_SECONDS:
                await response.write(b": still here\n\n")
                quiet_since = loop.time()
            version = await live.changed(version, TICK_SECONDS)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


# ----------------------------------------------------------------------------- pages


async def index(request: web.Request) -> web.Response:
    schedule, _now, rooms, _delays = _state(request)
    return _render(
        request,
        "index.html",
        tracks=schedule.tracks,
        posters=schedule.posters,
        sponsors=schedule.sponsors,
        space=rooms.link(SPACE),
    )


async def schedule_page(request: web.Request) -> web.Response:
    schedule, now, rooms, delays = _state(request)
    return _render(request, "schedule.html",
                   days=views.programme_view(schedule, now, rooms, delays, _sessions(request, schedule)))


async def posters_page(request: web.Request) -> web.Response:
    schedule, _now, rooms, _delays = _state(request)
    posters = [
        {
            "id": p.id,
            "title": p.title,
            "presenters": views.names(p.presenters),
            "abstract": p.abstract,
            "pdf": _pdf_path(p),
            "room": rooms.link(poster_key(p.id)),
        }
        for p in schedule.posters
    ]
    return _render(request, "posters.html", posters=posters)


async def stream_widget(request: web.Request) -> web.Response:
    track_id = _track(request)
    if track_id is None:
        return _not_found(request, "track")
    schedule, now, rooms, delays = _state(request)
    stream = views.stream_view(schedule, track_id, now, rooms, delays)
    source = views.origin(stream["embed_url"] or stream["hls_url"])
    if stream["stream_kind"] == "hls":
        # hls.js fetches the playlist and segments itself and plays them from a blob: URL.
        request[K_POLICY] = policy(
            script_src=["'self'"], connect_src=["'self'", source], media_src=["'self'", source, "blob:"]
        )
    elif source:
        request[K_POLICY] = policy(frame_src=[source])
    data = views.now_next_view(schedule, now, rooms, delays, _sessions(request, schedule))
    # The talk's questions beside the player, as attendees ask and upvote them in the room.
    data["questions"] = _qa_builder(request, track_id, False)()
    return _render(request, "stream.html", stream=stream, data=data)


async def now_next_widget(request: web.Request) -> web.Response:
    schedule, now, rooms, delays = _state(request)
    highlight = request.query.get("track", "")
    data = views.now_next_view(schedule, now, rooms, delays, _sessions(request, schedule))
    return _render(request, "now_next.html", data=data, highlight=highlight)


async def now_next_json(request: web.Request) -> web.Response:
    schedule, now, rooms, delays = _state(request)
    return web.json_response(views.now_next_view(schedule, now, rooms, delays, _sessions(request, schedule)),
                             headers={"Cache-Control": "no-store"})


async def calendar_file(request: web.Request) -> web.Response:
    """The programme as iCalendar, every track's or one track's, at the times the pages show."""
    track_id = None
    if "track" in request.match_info:
        track_id = _track(request)
        if track_id is None:
            return _not_found(request, "track")
    schedule, now, rooms, _delays = _state(request)
    body = calendar_bytes(schedule, rooms, request.app[K_PROGRAMME].settings.public_url.rstrip("/"), stamp=now,
                          tracks=None if track_id is None else [track_id], sessions=_sessions(request, schedule))
    name = f"{schedule.conference.id}{'' if track_id is None else '-' + track_id}.ics"
    return web.Response(body=body, content_type=ICAL_TYPE, charset="utf-8", headers={
        "Cache-Control": "no-store", "Content-Disposition": f'inline; filename="{name}"'})


def _qa_builder(request: web.Request, track_id: str, moderator: bool) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        schedule, now, _rooms, _delays = _state(request)
        live = request.app[K_LIVE]
        return views.qa_view(schedule, track_id, now, live.questions(schedule.conference.id, track_id),
                             moderator=moderator, session=live.qa_session(schedule.conference.id, track_id))

    return build


async def qa_widget(request: web.Request) -> web.Response:
    track_id = _track(request)
    if track_id is None:
        return _not_found(request, "track")
    moderator = request.query.get("view") == "moderator"
    data = _qa_builder(request, track_id, moderator)()
    return _render(request, "qa.html", data=data, track_id=track_id, moderator=moderator)


async def qa_events(request: web.Request) -> web.StreamResponse:
    track_id = _track(request)
    if track_id is None:
        raise web.HTTPNotFound()
    moderator = request.query.get("view") == "moderator"
    key = f"qa/{track_id}/{'moderator' if moderator else 'public'}"
    return await _event_stream(request, key, _qa_builder(request, track_id, moderator))


def _polls_builder(request: web.Request, track_id: str) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        schedule = _schedule(request.app)
        return views.polls_view(schedule, track_id, request.app[K_LIVE].polls(schedule.conference.id, track_id))

    return build


async def polls_widget(request: web.Request) -> web.Response:
    track_id = _track(request)
    if track_id is None:
        return _not_found(request, "track")
    return _render(request, "polls.html", data=_polls_builder(request, track_id)(), track_id=track_id)


async def polls_events(request: web.Request) -> web.StreamResponse:
    track_id = _track(request)
    if track_id is None:
        raise web.HTTPNotFound()
    return await _event_stream(request, f"polls/{track_id}", _polls_builder(request, track_id))


def _poster(request: web.Request) -> Poster | None:
    wanted = request.match_info["poster"]
    return next((p for p in _schedule(request.app).posters if p.id == wanted), None)


def _pdf_path(poster: Poster) -> str | None:
    """Where the poster's PDF is served from this server, when it has one."""
    return pages.poster_pdf("", poster.id) if poster.pdf is not None else None


async def poster_widget(request: web.Request) -> web.Response:
    _schedule, _now, rooms, _delays = _state(request)
    poster = _poster(request)
    if poster is None:
        return _not_found(request, "poster")
    pdf = _pdf_path(poster)
    if pdf:
        # pdf.js parses the PDF in a worker of its own, loaded from this server.
        request[K_POLICY] = policy(worker_src=["'self'"])
    return _render(
        request,
        "poster.html",
        poster=poster,
        presenters=views.names(poster.presenters),
        pdf=pdf,
        room=rooms.link(poster_key(poster.id)),
    )


async def poster_pdf(request: web.Request) -> web.StreamResponse:
    """The poster's PDF from this server's own origin (see posters.py)."""
    poster = _poster(request)
    if poster is None:
        raise web.HTTPNotFound(text="No such poster in the programme.\n")
    try:
        path = await request.app[K_POSTERS].file(poster)
    except PosterUnavailable as exc:
        return web.Response(status=exc.status, text=f"{exc}\n", headers={"Cache-Control": "no-store"})
    return web.FileResponse(path, headers={
        "Content-Type": "application/pdf",
        "Content-Disposition": f'inline; filename="{poster.id}.pdf"',
        "Cache-Control": "public, max-age=300",
    })


def _sponsor(request: web.Request):
    wanted = request.match_info["sponsor"]
    return next((s for s in _schedule(request.app).sponsors if s.id == wanted), None)


def _jobs_builder(request: web.Request, sponsors: Callable[[], list]) -> Callable[[], dict[str, Any]]:
    """The jobs of ``sponsors()``: the schedule's, then those their staff posted with !job; read
    again on every change, so that an open page shows a new job at once."""
    def build() -> dict[str, Any]:
        conference, live = _schedule(request.app).conference.id, request.app[K_LIVE]
        return {"sponsors": [views.jobs_view(s, live.jobs(conference, s.id)) for s in sponsors()]}

    return build


async def sponsor_widget(request: web.Request) -> web.Response:
    schedule, _now, rooms, _delays = _state(request)
    sponsor = _sponsor(request)
    if sponsor is None:
        return _not_found(request, "sponsor")
    data = _jobs_builder(request, lambda: [sponsor])()
    return _render(
        request,
        "sponsor.html",
        sponsor=sponsor,
        data=data,
        jobs=data["sponsors"][0]["jobs"],
        events=pages.sponsor_events("", sponsor.id),
        booth=views.http_url(sponsor.booth_url),
        room=rooms.link(sponsor_key(sponsor.id)),
        jobs_room=rooms.link(JOBS_ROOM),
    )


async def sponsor_events(request: web.Request) -> web.StreamResponse:
    sponsor = _sponsor(request)
    if sponsor is None:
        raise web.HTTPNotFound()
    # Looked up again on each change: a reload may have taken the sponsor out of the schedule.
    return await _event_stream(request, f"booth-jobs:{sponsor.id}", _jobs_builder(request, lambda: [
        s for s in [_sponsor(request)] if s is not None]))


async def jobs_widget(request: web.Request) -> web.Response:
    data = _jobs_builder(request, lambda: list(_schedule(request.app).sponsors))()
    return _render(request, "jobs.html", data=data, events=pages.jobs_events(""))


async def jobs_events(request: web.Request) -> web.StreamResponse:
    return await _event_stream(request, "jobs", _jobs_builder(request, lambda: list(_schedule(request.app).sponsors)))
