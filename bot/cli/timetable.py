"""``podium transitions``: what the conference clock will do and when, by track, as text lines.

Pure: the schedule, the tracks' delays, the open-space bookings and the transitions in, lines
out; the command reads the files and prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from ..conference.openspace import Booking
from ..conference.roomkeys import booking_key, open_space_key, poster_key
from ..conference.schedule import Schedule
from ..conference.transitions import (
    CHECK_IN,
    END,
    POSTER_END,
    POSTER_KINDS,
    POSTER_REMIND,
    POSTER_START,
    REMIND,
    SESSION_END,
    SESSION_REMIND,
    SESSION_START,
    START,
    Transition,
    poster_transitions,
    session_transitions,
    transitions,
)
from ..wording import counted

#: What the bot does at each kind of transition, as the timetable explains it.
DOES = {
    REMIND: "remind the speakers in the backstage; ask them to check in with !here",
    CHECK_IN: "tell the chairs and moderators in the backstage who has not checked in",
    START: "now on in the topic and a notice; speakers may present; Q&A opens",
    END: "Q&A closes; top questions to the talk's breakout room; next talk up",
    SESSION_REMIND: "remind an open-space session's booker in its room",
    SESSION_START: "the open-space room takes the session's name and topic; a notice",
    SESSION_END: "the open-space room's own name and topic come back",
    POSTER_REMIND: "remind a poster's presenters in its room",
    POSTER_START: "a notice in the poster's room: the session is on, meet the presenters in its call",
    POSTER_END: "a notice in the poster's room: the session has ended",
}


def timetable_lines(schedule: Schedule, delays: Mapping[str, int] | None = None,
                    track_ids: list[str] | None = None, bookings: Iterable[Booking] = ()) -> list[str]:
    """The timetable: a legend, then each track's transitions in order, in the conference's time
    zone, with the track's delay applied and said; then, without ``track_ids``, each open-space
    room's booked sessions."""
    zone = ZoneInfo(schedule.conference.timezone)
    delays = dict(delays or {})
    planned = transitions(schedule, delays)
    talks = {talk.id: talk for talk in schedule.talks}
    tracks = [t for t in schedule.tracks if track_ids is None or t.id in track_ids]
    shown = [t for t in planned if t.track_id in {track.id for track in tracks}]
    sessions = session_transitions(schedule, bookings) if track_ids is None else []
    posters = [p for p in schedule.posters if p.sessions] if track_ids is None else []
    poster_sessions = poster_transitions(schedule) if posters else []
    titles = {booking_key(booking.id): f"{booking.title} (by {booking.booker_name})" for booking in bookings}
    lines = [f"{schedule.conference.name}: {counted(len(shown) + len(sessions) + len(poster_sessions), 'transition')}, "
             f"times in {schedule.conference.timezone}."]
    open_space = schedule.open_space.rooms if track_ids is None else []
    legend = {kind: does for kind, does in DOES.items()
              if (open_space or kind not in (SESSION_REMIND, SESSION_START, SESSION_END))
              and (posters or kind not in POSTER_KINDS)}
    width = max(len(kind) for kind in legend)
    lines += [f"  {kind:<{width}}  {does}" for kind, does in legend.items()]
    for track in tracks:
        mine = [t for t in shown if t.track_id == track.id]
        minutes = delays.get(track.id, 0)
        late = f", {abs(minutes)} min {'late' if minutes > 0 else 'early'}" if minutes else ""
        lines += ["", f"{track.name} ({track.id}){late}: {counted(len(mine), 'transition')}"]
        lines += [_line(t, talks[t.talk_id].title, zone, width) for t in mine]
    for room in open_space:
        mine = [t for t in sessions if t.track_id == open_space_key(room.id)]
        lines += ["", f"{room.name} (open space, {room.id}): {counted(len(mine), 'transition')} of booked sessions"]
        lines += [_line(t, titles[t.talk_id], zone, width) for t in mine]
    for poster in posters:
        mine = [t for t in poster_sessions if t.track_id == poster_key(poster.id)]
        lines += ["", f"Poster {poster.title} ({poster.id}): {counted(len(mine), 'transition')}"]
        lines += [_line(t, poster.title, zone, width) for t in mine]
    return lines


def _line(transition: Transition, title: str, zone: ZoneInfo, width: int) -> str:
    when = transition.at.astimezone(zone)
    return f"  {when:%a %d %b %H:%M}  {transition.kind:<{width}}  {title}"
