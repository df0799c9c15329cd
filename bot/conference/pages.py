"""The widget server's URL scheme, in one place: the path of every page (what the web app
routes) and the URL of a page for a given track, poster or sponsor (what room templates, the
clock's topics, commands and calendars link to).

Each ``*_PATH`` is an aiohttp route pattern (``{name}`` stands for an id); each function takes the
server's public base URL (as browsers reach it, with or without a trailing "/"; "" gives the
path alone, for links between the server's own pages) and the ids, and returns the page's URL.
Schedule ids are letters, digits, ".", "_" and "-" only, so they go into a URL as they are.

Pure: nothing here reads or writes anything.
"""

from __future__ import annotations

from typing import NamedTuple

from .schedule import Schedule

INDEX_PATH = "/"
SCHEDULE_PATH = "/schedule"
POSTERS_PATH = "/posters"
POSTER_PDF_PATH = "/posters/{poster}.pdf"
STREAM_PATH = "/widgets/stream/{track}"
NOW_NEXT_PATH = "/widgets/now-next"
QA_PATH = "/widgets/qa/{track}"
QA_EVENTS_PATH = "/widgets/qa/{track}/events"
POLLS_PATH = "/widgets/polls/{track}"
POLLS_EVENTS_PATH = "/widgets/polls/{track}/events"
POSTER_PATH = "/widgets/poster/{poster}"
SPONSOR_PATH = "/widgets/sponsor/{sponsor}"
SPONSOR_EVENTS_PATH = "/widgets/sponsor/{sponsor}/events"
JOBS_PATH = "/widgets/jobs"
JOBS_EVENTS_PATH = "/widgets/jobs/events"
NOW_NEXT_API_PATH = "/api/now-next"
CALENDAR_PATH = "/schedule.ics"
TRACK_CALENDAR_PATH = "/tracks/{track}.ics"
STATIC_PATH = "/static"

#: Element fills this widget-URL variable with the client's theme, so a page can match it.
THEME_PARAMETER = "theme=$org.matrix.msc2873.client_theme"


class TrackPage(NamedTuple):
    """The page a track room pins, and what to call it in a topic."""

    what: str
    url: str


def _at(base: str, path: str) -> str:
    return base.rstrip("/") + path


def schedule_page(base: str) -> str:
    """The whole programme by day and track."""
    return _at(base, SCHEDULE_PATH)


def posters_page(base: str) -> str:
    """The poster gallery."""
    return _at(base, POSTERS_PATH)


def poster_pdf(base: str, poster_id: str) -> str:
    """A poster's PDF, served from the widget server's own origin."""
    return _at(base, POSTER_PDF_PATH.format(poster=poster_id))


def stream_page(base: str, track_id: str) -> str:
    """A track's stream, with what is on now and next beside it."""
    return _at(base, STREAM_PATH.format(track=track_id))


def now_next_page(base: str, track_id: str | None = None) -> str:
    """What is on now and next: in every track (the navigator), or in ``track_id`` alone."""
    url = _at(base, NOW_NEXT_PATH)
    return url if track_id is None else f"{url}?track={track_id}"


def qa_board(base: str, track_id: str, *, moderator: bool = False) -> str:
    """A track's Q&A board; the moderators' view with ``moderator``."""
    url = _at(base, QA_PATH.format(track=track_id))
    return f"{url}?view=moderator" if moderator else url


def qa_events(base: str, track_id: str, *, moderator: bool = False) -> str:
    """The event stream the Q&A board follows (the moderators' with ``moderator``)."""
    url = _at(base, QA_EVENTS_PATH.format(track=track_id))
    return f"{url}?view=moderator" if moderator else url


def polls_page(base: str, track_id: str) -> str:
    """A track's polls as live bars."""
    return _at(base, POLLS_PATH.format(track=track_id))


def polls_events(base: str, track_id: str) -> str:
    """The event stream the polls page follows."""
    return _at(base, POLLS_EVENTS_PATH.format(track=track_id))


def poster_page(base: str, poster_id: str) -> str:
    """One poster, drawn page by page."""
    return _at(base, POSTER_PATH.format(poster=poster_id))


def sponsor_page(base: str, sponsor_id: str) -> str:
    """A sponsor's booth page."""
    return _at(base, SPONSOR_PATH.format(sponsor=sponsor_id))


def sponsor_events(base: str, sponsor_id: str) -> str:
    """The event stream the booth page follows (its jobs)."""
    return _at(base, SPONSOR_EVENTS_PATH.format(sponsor=sponsor_id))


def jobs_page(base: str) -> str:
    """Every sponsor's job openings, the jobs room's page."""
    return _at(base, JOBS_PATH)


def jobs_events(base: str) -> str:
    """The event stream the jobs page follows."""
    return _at(base, JOBS_EVENTS_PATH)


def calendar_file(base: str) -> str:
    """The programme as iCalendar, to subscribe to."""
    return _at(base, CALENDAR_PATH)


def track_calendar(base: str, track_id: str) -> str:
    """One track's talks as iCalendar."""
    return _at(base, TRACK_CALENDAR_PATH.format(track=track_id))


def track_page(schedule: Schedule, track_id: str, base: str) -> TrackPage:
    """The page a track room pins: its stream page, or now/next without a stream."""
    track = next(t for t in schedule.tracks if t.id == track_id)
    if track.stream is not None:
        return TrackPage("Stream", stream_page(base, track_id))
    return TrackPage("Now and next", now_next_page(base, track_id))


def widget_url(page: str) -> str:
    """``page`` as a room widget's URL: Element passes the client's theme to it."""
    return f"{page}{'&' if '?' in page else '?'}{THEME_PARAMETER}"
