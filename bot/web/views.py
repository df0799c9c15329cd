"""What the web pages show, as plain data: pure functions over the schedule, the moment and the
rows the stores return. No I/O here, so every page's content is testable without a server.

The same dicts feed the Jinja templates and the JSON the pages fetch or receive over
server-sent events, so a page rendered by the server and one updated live agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..conference.clock import live_talk, next_talk, talk_end, talks_in_track
from ..conference.display import RoomLinks, clock_time, when
from ..conference import qa
from ..conference.openspace import Session, free_rooms, numbered_slots
from ..conference.roomkeys import open_space_key, poster_key, talk_key, track_key
from ..conference.schedule import Person, Schedule, Talk
from ..conference.userinput import one_line

#: Shown instead of an asker whose display name is missing or is just their Matrix ID: the
#: board is public and must not reveal who asked beyond the name they chose to show.
ANONYMOUS = "Attendee"
_MATRIX_ID = re.compile(r"^@[^:\s]+:\S+$")


# ----------------------------------------------------------------------------- links


def http_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address, else None: no ``javascript:`` or ``data:`` link is
    ever put into an href or src, whatever the schedule or an importer supplied."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def origin(url: str | None) -> str | None:
    """scheme://host[:port] of an http(s) URL, for the Content-Security-Policy source lists."""
    safe = http_url(url)
    if safe is None:
        return None
    parts = urlsplit(safe)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def embed_url(stream: str | None) -> str | None:
    """The URL to put in an iframe for a stream page address.

    YouTube watch and short links become embed links (a watch page refuses to be framed), as do
    Vimeo and PeerTube watch pages; anything else is assumed to be embeddable as it is.
    """
    url = http_url(stream)
    if url is None:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if host in ("youtu.be", "www.youtu.be"):
        video = path.strip("/").split("/")[0]
        if _YOUTUBE_ID.match(video):
            return f"https://www.youtube.com/embed/{video}"
    if host.endswith("youtube.com") or host.endswith("youtube-nocookie.com"):
        if path == "/watch":
            video = (parse_qs(parts.query).get("v") or [""])[0]
            if _YOUTUBE_ID.match(video):
                return f"https://www.youtube.com/embed/{video}"
        live = re.match(r"^/(?:live|shorts)/([A-Za-z0-9_-]+)", path)
        if live:
            return f"https://www.youtube.com/embed/{live.group(1)}"
        return url
    if host in ("vimeo.com", "www.vimeo.com"):
        video = re.match(r"^/(\d+)", path)
        if video:
            return f"https://player.vimeo.com/video/{video.group(1)}"
    # PeerTube instances share their URL scheme, not their host: /w/<id> and /videos/watch/<id>.
    peertube = re.match(r"^/(?:w|videos/watch)/([A-Za-z0-9-]+)/?$", path)
    if peertube:
        return f"{parts.scheme}://{parts.netloc}/videos/embed/{peertube.group(1)}"
    return url


def is_hls(stream: str | None) -> bool:
    url = http_url(stream)
    return url is not None and urlsplit(url).path.lower().endswith(".m3u8")


# ----------------------------------------------------------------------------- times


def day_label(day: date) -> str:
    return day.strftime("%A %d %B").replace(" 0", " ")


# ----------------------------------------------------------------------------- talks and tracks


def names(people: Iterable[Person]) -> list[str]:
    return [p.name for p in people]


def talk_view(talk: Talk, schedule: Schedule, now: datetime, rooms: RoomLinks) -> dict[str, Any]:
    end = talk_end(talk)
    return {
        "id": talk.id,
        "title": talk.title,
        "kind": talk.kind,
        "speakers": names(talk.speakers),
        "start": clock_time(talk.start, schedule),
        "end": clock_time(end, schedule),
        "when": when(talk.start, now, schedule),
        "starts_in_min": max(0, int((talk.start - now).total_seconds() // 60)) if talk.start > now else 0,
        "link": rooms.link(talk_key(talk.id)),
        # What the programme says beside the title: its own grouping (a devroom), what attendees
        # may follow, whether it is recorded, and whether it still takes place.
        "category": talk.category,
        "subtitle": talk.subtitle,
        "language": talk.language,
        "description": talk.description,
        "links": [{"url": link.url, "title": link.title or link.url} for link in talk.links if http_url(link.url)],
        "do_not_record": talk.do_not_record,
        "cancelled": talk.cancelled,
    }


def track_view(
    schedule: Schedule, track_id: str, now: datetime, rooms: RoomLinks, delays: Mapping[str, int] | None
) -> dict[str, Any]:
    """A track's current and next talk with links to its rooms (``schedule`` already delayed)."""
    track = schedule.track(track_id)
    talks = talks_in_track(schedule, track_id)  # a cancelled talk is never on now or next
    current, upcoming = live_talk(talks, now), next_talk(talks, now)
    return {
        "id": track.id,
        "name": track.name,
        "kind": track.kind,
        "link": rooms.link(track_key(track.id)),
        "alias": rooms.alias(track_key(track.id)),
        "delay_min": int((delays or {}).get(track.id, 0)),
        "now": None if current is None else talk_view(current, schedule, now, rooms),
        "next": None if upcoming is None else talk_view(upcoming, schedule, now, rooms),
    }


def session_view(session: Session, schedule: Schedule, now: datetime, rooms: RoomLinks) -> dict[str, Any]:
    """An open-space session shaped like a talk (title, speakers, times, link: its room's)."""
    return {
        "id": f"open-space-{session.booking.id}",
        "title": session.booking.title,
        "kind": "open-space",
        "speakers": [session.booking.booker_name],
        "room": session.room.name,
        "start": clock_time(session.slot.start, schedule),
        "end": clock_time(session.slot.end, schedule),
        "when": when(session.slot.start, now, schedule),
        "live": session.slot.start <= now < session.slot.end,
        "link": rooms.link(open_space_key(session.room.id)),
    }


def open_space_now_next(schedule: Schedule, sessions: Iterable[Session], now: datetime,
                        rooms: RoomLinks) -> dict[str, Any] | None:
    """The open-space sessions on now and those of the next booked slot (None: no open space)."""
    if not schedule.open_space.rooms or not schedule.open_space.slots:
        return None
    on = [s for s in sessions if s.slot.start <= now < s.slot.end]
    later = sorted((s for s in sessions if s.slot.start > now), key=lambda s: s.slot.start)
    upcoming = [s for s in later if s.slot.start == later[0].slot.start] if later else []
    return {"now": [session_view(s, schedule, now, rooms) for s in on],
            "next": [session_view(s, schedule, now, rooms) for s in upcoming]}


def now_next_view(
    schedule: Schedule, now: datetime, rooms: RoomLinks, delays: Mapping[str, int] | None,
    sessions: Iterable[Session] = (),
) -> dict[str, Any]:
    """Every track's now and next, and the open space's: the navigator's and the stream page's
    live data (``schedule`` already delayed). ``refresh_in``: seconds until the next talk or
    open-space slot starts or ends, so that a page asks again then rather than show a talk that
    has started as still to come."""
    sessions = list(sessions)
    return {
        "conference": schedule.conference.name,
        "time": clock_time(now, schedule),
        "timezone": schedule.conference.timezone,
        "tracks": [track_view(schedule, t.id, now, rooms, delays) for t in schedule.tracks],
        "open_space": open_space_now_next(schedule, sessions, now, rooms),
        "refresh_in": seconds_to_next_change(schedule, now),
    }


def seconds_to_next_change(schedule: Schedule, now: datetime) -> int | None:
    """Whole seconds (rounded up) until a talk or an open-space slot starts or ends; None when
    nothing more does."""
    moments = [m for talk in schedule.talks for m in (talk.start, talk_end(talk))]
    moments += [m for slot in numbered_slots(schedule) for m in (slot.start, slot.end)]
    later = [m for m in moments if m > now]
    return math.ceil((min(later) - now).total_seconds()) if later else None


def open_space_day(schedule: Schedule, day: date, sessions: list[Session], now: datetime,
                   rooms: RoomLinks) -> list[dict[str, Any]]:
    """The day's open-space slots: each with its sessions and the rooms still free."""
    tz, made = schedule.conference.tz, []
    booked = [s.booking for s in sessions]
    for slot in numbered_slots(schedule):
        if slot.start.astimezone(tz).date() != day or not schedule.open_space.rooms:
            continue
        made.append({
            "number": slot.number,
            "start": clock_time(slot.start, schedule),
            "end": clock_time(slot.end, schedule),
            "live": slot.start <= now < slot.end,
            "sessions": [session_view(s, schedule, now, rooms) for s in sessions if s.slot.key == slot.key],
            "free": [room.name for room in free_rooms(slot, booked, schedule.open_space.rooms)],
        })
    return made


def programme_view(
    schedule: Schedule, now: datetime, rooms: RoomLinks, delays: Mapping[str, int] | None,
    sessions: Iterable[Session] = (),
) -> list[dict[str, Any]]:
    """The whole programme by conference day, then by track, talks in start order; each day's
    open-space slots with what is booked in them."""
    tz = schedule.conference.tz
    booked = list(sessions)
    days: dict[date, list[Talk]] = {}
    for talk in sorted(schedule.talks, key=lambda t: (t.start, t.id)):
        days.setdefault(talk.start.astimezone(tz).date(), []).append(talk)
    if schedule.open_space.rooms:
        for slot in schedule.open_space.slots:
            days.setdefault(slot.start.astimezone(tz).date(), [])
    for poster in schedule.posters:
        for session in poster.sessions:
            days.setdefault(session.start.astimezone(tz).date(), [])
    result = []
    for day, talks in sorted(days.items()):
        tracks = []
        for track in schedule.tracks:
            mine = [t for t in talks if t.track == track.id]
            if mine:
                tracks.append({
                    "id": track.id,
                    "name": track.name,
                    "link": rooms.link(track_key(track.id)),
                    "delay_min": int((delays or {}).get(track.id, 0)),
                    "talks": [
                        {**talk_view(t, schedule, now, rooms), "live": not t.cancelled and t.start <= now < talk_end(t)}
                        for t in mine
                    ],
                })
        result.append({"day": day.isoformat(), "label": day_label(day), "tracks": tracks,
                       "open_space": open_space_day(schedule, day, booked, now, rooms),
                       "poster_sessions": poster_sessions_day(schedule, day, now, rooms)})
    return result


def poster_sessions_day(schedule: Schedule, day: date, now: datetime, rooms: RoomLinks) -> list[dict[str, Any]]:
    """The day's poster sessions in start order: when each poster's presenters are in its room."""
    tz = schedule.conference.tz
    found = sorted(((session, poster) for poster in schedule.posters for session in poster.sessions
                    if session.start.astimezone(tz).date() == day), key=lambda it: (it[0].start, it[1].id))
    return [{"poster": poster.id, "title": poster.title, "start": clock_time(session.start, schedule),
             "end": clock_time(session.end, schedule), "presenters": [p.name for p in poster.presenters],
             "link": rooms.link(poster_key(poster.id)), "live": session.start <= now < session.end}
            for session, poster in found]


def stream_view(
    schedule: Schedule, track_id: str, now: datetime, rooms: RoomLinks, delays: Mapping[str, int] | None
) -> dict[str, Any]:
    track = schedule.track(track_id)
    hls = is_hls(track.stream)
    return {
        **track_view(schedule, track_id, now, rooms, delays),
        "stream_kind": None if track.stream is None else ("hls" if hls else "iframe"),
        "hls_url": http_url(track.stream) if hls else None,
        "embed_url": None if hls else embed_url(track.stream),
    }


# ----------------------------------------------------------------------------- Q&A and polls


def display_name(name: str | None) -> str:
    """The asker as the board shows them: their display name as one line, never a Matrix ID.
    (Names are cleaned when stored; questions stored before that were not.)"""
    name = one_line(name or "")
    if not name or _MATRIX_ID.match(name):
        return ANONYMOUS
    return name


def current_talk_id(schedule: Schedule, track_id: str, now: datetime) -> str | None:
    """The talk whose questions the board shows: the one live in the track, or None between
    talks, where the track's own questions go (the same rule ``!ask`` files questions by)."""
    talk = live_talk(talks_in_track(schedule, track_id), now)
    return None if talk is None else talk.id


def qa_view(
    schedule: Schedule,
    track_id: str,
    now: datetime,
    questions: Iterable[Any],
    *,
    moderator: bool,
    session: tuple[str, str | None] | None = None,
) -> dict[str, Any]:
    """The Q&A board: the current talk's questions in the store's ranking, hidden ones dropped
    (whatever the store returned), askers by display name only; ``asking`` whether ``!ask`` takes
    questions now (``session``: the moderators' last open/close), so the board invites questions
    only then."""
    talk_id = current_talk_id(schedule, track_id, now)
    talk = schedule.talk(talk_id) if talk_id else None
    shown = []
    for q in questions:
        if q.state == "hidden" or q.talk_id != talk_id:
            continue
        shown.append({
            "number": int(q.number),
            "text": one_line(str(q.text)),
            "name": display_name(q.asker_name),
            "votes": int(q.votes),
            "answered": q.state == "answered",
            "pinned": bool(q.pinned),
        })
    return {
        "track": schedule.track(track_id).name,
        "talk": None if talk is None else {"title": talk.title, "speakers": names(talk.speakers)},
        "moderator": moderator,
        "asking": qa.is_open(talk_id, session),
        "open": [q for q in shown if not q["answered"]],
        "answered": [q for q in shown if q["answered"]],
    }


def jobs_view(sponsor: Any, posted: Iterable[Any]) -> dict[str, Any]:
    """A sponsor's job openings: the schedule's first, then those its staff posted with ``!job``;
    a link only where it is a web address."""
    return {
        "id": sponsor.id,
        "name": sponsor.name,
        "level": sponsor.level or "",
        "jobs": [{"title": one_line(job.title), "url": http_url(job.url)} for job in [*sponsor.jobs, *posted]],
    }


def poll_view(poll: Any) -> dict[str, Any]:
    """One poll's bars: counts and shares for a disclosed or closed poll; for a secret poll
    still open only how many have voted."""
    counts = poll.visible_counts()
    total = sum(counts.values()) if counts else 0
    answers = []
    for answer_id, text in poll.answers:
        count = None if counts is None else int(counts.get(answer_id, 0))
        answers.append({
            "id": str(answer_id),
            "text": str(text),
            "count": count,
            "share": 0 if not count or not total else round(100 * count / total),
        })
    return {
        "id": str(poll.poll_id),
        "question": str(poll.question),
        "closed": bool(poll.closed),
        "disclosed": bool(poll.disclosed),
        "voters": int(poll.voters),
        "results_hidden": counts is None,
        "answers": answers,
    }


def polls_view(schedule: Schedule, track_id: str, polls: Iterable[Any], *, limit: int = 5) -> dict[str, Any]:
    """The track's newest polls first."""
    return {"track": schedule.track(track_id).name, "polls": [poll_view(p) for p in list(polls)[:limit]]}
