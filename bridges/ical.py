"""The conference programme as an iCalendar file (RFC 5545): one event per talk, and one per
open-space session booked with ``!openspace``.

Pure: the schedule, the links to its rooms and the web server's public URL in, the calendar's
bytes out. ``podium export ical`` writes them to a file, and the web server serves them at
``/schedule.ics`` and ``/tracks/<id>.ics`` for calendar apps to subscribe to.

Every time is written in UTC, so a calendar app needs no time zone definition and shows each
talk in its reader's own zone. Each event's UID is made of the conference id and the talk id
alone, so re-importing the file (or the next refresh of a subscription) updates the events,
never duplicates them, however the talk's title, time or room changed; a session's UID is made
of the conference id and its booking's number, which is never given twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, vDuration

from bot import __version__
from bot.conference.display import RoomLinks
from bot.conference.openspace import Session
from bot.conference.pages import poster_page, track_page
from bot.conference.roomkeys import open_space_key, poster_key, talk_key, track_key
from bot.conference.schedule import Poster, Schedule, Slot, Talk

#: Who made the file (RFC 5545 PRODID: a unique text naming the product).
PRODID = f"-//Podium//Podium {__version__}//EN"
#: How often a subscribed calendar should fetch the file again: delays announced with ``!delay``
#: and schedule edits show within this (RFC 7986 REFRESH-INTERVAL; X-PUBLISHED-TTL for the
#: clients that read only the older property).
REFRESH = timedelta(minutes=15)
#: The media type the web server sends with the file.
CONTENT_TYPE = "text/calendar"


def talk_uid(conference_id: str, talk_id: str) -> str:
    """The talk's stable event UID. Conference ids hold no "/", so the two parts never run into
    each other, whatever the talk id looks like."""
    return f"{conference_id}/{talk_id}@podium"


def session_uid(conference_id: str, booking_id: int) -> str:
    """An open-space session's stable event UID ("open-space/" is no talk id: ids hold no "/")."""
    return f"{conference_id}/open-space/{booking_id}@podium"


def utc_times(talk: Talk) -> tuple[datetime, datetime]:
    """When the talk starts and ends, in UTC. The end is the start plus the duration in elapsed
    time: a talk across the night the clocks go back lasts as long as it says, not an hour more."""
    start = talk.start.astimezone(UTC)
    return start, start + talk.duration


def calendar_bytes(schedule: Schedule, rooms: RoomLinks, public_url: str, *, stamp: datetime,
                   tracks: Iterable[str] | None = None, sessions: Iterable[Session] = ()) -> bytes:
    """The calendar of the conference's talks (only those of ``tracks`` when given), in start
    order, then its open-space ``sessions`` and the posters' sessions (in the whole conference's
    calendar, not a track's). ``stamp`` is when the file is made (each event's DTSTAMP, which RFC 5545 requires);
    ``rooms`` are the links provisioning gives the rooms, ``public_url`` where the stream pages are."""
    wanted = None if tracks is None else set(tracks)
    conference = schedule.conference
    names = {track.id: track.name for track in schedule.tracks}
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    title = conference.name if wanted is None else f"{conference.name} · {', '.join(names[t] for t in sorted(wanted))}"
    calendar.add("name", title)
    calendar.add("x-wr-calname", title)
    if conference.description:
        calendar.add("x-wr-caldesc", conference.description)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for talk in sorted(schedule.talks, key=lambda t: (t.start, t.track, t.id)):
        if wanted is None or talk.track in wanted:
            calendar.add_component(_event(schedule, talk, names[talk.track], rooms, public_url, stamp))
    for session in sessions if wanted is None else ():
        calendar.add_component(_session_event(schedule, session, rooms, stamp))
    for poster in schedule.posters if wanted is None else ():
        for number, slot in enumerate(poster.sessions, start=1):
            calendar.add_component(_poster_event(schedule, poster, number, slot, rooms, public_url, stamp))
    return calendar.to_ical()


def poster_session_uid(conference_id: str, poster_id: str, number: int) -> str:
    """A poster session's event UID: the poster and the session's place in its list."""
    return f"{conference_id}/poster/{poster_id}/{number}@podium"


def _poster_event(schedule: Schedule, poster: Poster, number: int, slot: Slot, rooms: RoomLinks, public_url: str,
                  stamp: datetime) -> Event:
    event = Event()
    event.add("uid", poster_session_uid(schedule.conference.id, poster.id, number))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", slot.start.astimezone(UTC))
    event.add("dtend", slot.end.astimezone(UTC))
    event.add("summary", f"Poster session: {poster.title}")
    room_link = rooms.link(poster_key(poster.id))
    parts = [f"With {', '.join(p.name for p in poster.presenters)}" if poster.presenters else "",
             poster.abstract, f"The poster: {poster_page(public_url, poster.id)}" if poster.pdf else "",
             f"Its room, with the video call: {room_link}" if room_link else ""]
    event.add("description", "\n\n".join(part for part in parts if part))
    event.add("location", f"Poster · {poster.title}")
    if room_link:
        event.add("url", room_link)
    event.add("categories", ["poster"])
    return event


def _session_event(schedule: Schedule, session: Session, rooms: RoomLinks, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", session_uid(schedule.conference.id, session.booking.id))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", session.slot.start.astimezone(UTC))
    event.add("dtend", session.slot.end.astimezone(UTC))
    event.add("summary", session.booking.title)
    room_link = rooms.link(open_space_key(session.room.id))
    where = f"\n\n{session.room.name}: {room_link}" if room_link else ""
    event.add("description", f"Open-space session by {session.booking.booker_name}{where}")
    event.add("location", session.room.name)
    if room_link:
        event.add("url", room_link)
    event.add("categories", ["open-space"])
    return event


def _event(schedule: Schedule, talk: Talk, track_name: str, rooms: RoomLinks, public_url: str,
           stamp: datetime) -> Event:
    start, end = utc_times(talk)
    page_name, page = track_page(schedule, talk.track, public_url)
    event = Event()
    event.add("uid", talk_uid(schedule.conference.id, talk.id))
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", talk.title)
    event.add("description", _description(talk, track_name, rooms, (page_name, page)))
    event.add("location", track_name)
    event.add("url", page)
    event.add("categories", [talk.kind])
    return event


def _description(talk: Talk, track_name: str, rooms: RoomLinks, page: tuple[str, str]) -> str:
    """Who speaks, the abstract, and where to follow the talk: its stream page and its rooms,
    as links any calendar app shows (it has no Matrix client of its own)."""
    parts = []
    if talk.speakers:
        parts.append("With " + ", ".join(person.name for person in talk.speakers))
    if talk.abstract:
        parts.append(talk.abstract)
    links = [f"{page[0]}: {page[1]}"]
    track_room = rooms.link(track_key(talk.track))
    if track_room:
        links.append(f"Track room ({track_name}): {track_room}")
    breakout = rooms.link(talk_key(talk.id))
    if breakout:
        links.append(f"Meet the speakers: {breakout}")
    parts.append("\n".join(links))
    return "\n\n".join(parts)
