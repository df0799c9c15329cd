"""The conference clock's plan: what happens when, as plain data computed from the schedule.

A talk has four transitions:

- ``remind``, a lead time before it starts: its speakers are reminded in the backstage and asked
  to check in;
- ``check-in``, at its start: a speaker with a Matrix ID who has not checked in is reported to
  the track's chairs and moderators;
- ``start``: the track room shows it as now, its speakers get power to present, its Q&A opens;
- ``end``: its Q&A closes, the top questions go to its breakout room, the next talk is up next.

An open-space booking has three (``bot.conference.openspace``):

- ``session-remind``, a few minutes before its slot: the booker is reminded in the room;
- ``session-start``: the room takes the session's name and topic, and says what is on;
- ``session-end``, at the slot's end (or when the session is cancelled while it runs): the room
  gets its template's name and topic back. It runs however late the clock is, as it puts a room
  right rather than saying something that is past.

A start missed by more than the grace window still runs while its talk or session is on (what
it says is true until the end); whatever else was missed, each room's topic and name are put
back to what the last start or end due gives them (``in_force``) whenever the bot starts.

Every transition is identified by (talk, kind, when it is due): the store records that key
once a transition has run, so a restart repeats nothing, and a talk a ``!delay`` or a schedule
edit moves gets new keys and runs again at its new time. Times are absolute (UTC): a lead time
across a daylight-saving change or midnight is just so many minutes earlier.

Nothing here reads the clock or touches the homeserver; the runtime schedules what this returns.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from .clock import apply_delays, talk_end
from .openspace import Booking, booking_slot, moment, session_room
from .roomkeys import booking_key, open_space_key, poster_key
from .schedule import Schedule, Talk

REMIND = "remind"
CHECK_IN = "check-in"
START = "start"
END = "end"
SESSION_REMIND = "session-remind"
SESSION_START = "session-start"
SESSION_END = "session-end"
POSTER_REMIND = "poster-remind"
POSTER_START = "poster-start"
POSTER_END = "poster-end"
#: Kinds in the order they run when due at the same moment: a talk ending at 11:00 closes before
#: the next one starting at 11:00 opens, and the next one's check-in is judged as it starts; an
#: open-space session ending at 13:30 gives the room back before the next one takes it.
KINDS = (END, SESSION_END, POSTER_END, REMIND, SESSION_REMIND, POSTER_REMIND, CHECK_IN, START, SESSION_START,
         POSTER_START)
#: The kinds a talk has (an open-space booking has the ``session-`` ones, a poster session the
#: ``poster-`` ones).
TALK_KINDS = (REMIND, CHECK_IN, START, END)
POSTER_KINDS = (POSTER_REMIND, POSTER_START, POSTER_END)
#: A talk's, an open-space session's and a poster session's beginning and end.
STARTS = (START, SESSION_START, POSTER_START)
ENDS = (END, SESSION_END, POSTER_END)
#: The kinds that set a room's topic or name (``bot.day.effects``).
SETS_STATE = (START, END, SESSION_START, SESSION_END)
#: Default lead time of the speakers' reminder.
REMIND_BEFORE = timedelta(minutes=10)
#: Lead time of an open-space booker's reminder.
SESSION_REMIND_BEFORE = timedelta(minutes=5)
#: Default window within which a transition missed while the bot was down still runs, late.
GRACE = timedelta(minutes=5)
#: How soon after a rehearsal starts its first talk does, by default.
REHEARSAL_LEAD = timedelta(minutes=2)


@dataclass(frozen=True, order=False)
class Transition:
    """One thing the conference clock does: ``kind`` for ``talk_id`` (in ``track_id``) at ``at``.

    For an open-space booking ``talk_id`` is ``booking/<id>`` and ``track_id`` the room's key
    (``open-space/<room>``): the clock runs one room's transitions in order, as one track's."""

    at: datetime  # when it is due, timezone-aware UTC
    kind: str
    talk_id: str
    track_id: str
    plenary: bool = False  # a plenary track's talk: also announced conference-wide
    booking: int | None = None  # the open-space booking's id

    @property
    def key(self) -> str:
        """What the store records once this transition has run: (talk, kind, due time)."""
        return f"{self.talk_id}|{self.kind}|{self.at.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"

    def sort_key(self) -> tuple:
        return (self.at, KINDS.index(self.kind), self.track_id, self.talk_id)


def talk_transitions(talk: Talk, *, plenary: bool = False, remind_before: timedelta = REMIND_BEFORE) -> list[Transition]:
    """The transitions of one talk, as scheduled (delays already applied by the caller)."""
    start = talk.start.astimezone(timezone.utc)
    end = talk_end(talk).astimezone(timezone.utc)
    made = [Transition(start, kind, talk.id, talk.track, plenary) for kind in (CHECK_IN, START)]
    made.append(Transition(end, END, talk.id, talk.track, plenary))
    if remind_before > timedelta(0):
        made.append(Transition(start - remind_before, REMIND, talk.id, talk.track, plenary))
    return made


def transitions(schedule: Schedule, delays: Mapping[str, int] | None = None, *,
                remind_before: timedelta = REMIND_BEFORE) -> list[Transition]:
    """Every transition of the conference, with the tracks' ``!delay`` minutes applied, in the
    order they run (by time; at one moment, ends before starts)."""
    delayed = apply_delays(schedule, delays)
    plenary = {track.id for track in delayed.tracks if track.kind == "plenary"}
    # A cancelled talk is still listed (the pages say it is cancelled), but nothing runs for it.
    made = [t for talk in delayed.talks if not talk.cancelled
            for t in talk_transitions(talk, plenary=talk.track in plenary, remind_before=remind_before)]
    return sorted(made, key=Transition.sort_key)


def poster_transitions(schedule: Schedule, *, remind_before: timedelta = REMIND_BEFORE) -> list[Transition]:
    """Every poster session's transitions, in the order they run: its presenters reminded in the
    poster's room, then the session's start and end there. ``talk_id`` and ``track_id`` are the
    poster's room key (``poster/<id>``): the clock runs one poster's sessions in order."""
    made = []
    for poster in schedule.posters:
        room = poster_key(poster.id)
        for session in poster.sessions:
            start, end = session.start.astimezone(UTC), session.end.astimezone(UTC)
            made += [Transition(start, POSTER_START, room, room), Transition(end, POSTER_END, room, room)]
            if remind_before > timedelta(0):
                made.append(Transition(start - remind_before, POSTER_REMIND, room, room))
    return sorted(made, key=Transition.sort_key)


def booking_transitions(booking: Booking, schedule: Schedule, *,
                        remind_before: timedelta = SESSION_REMIND_BEFORE) -> list[Transition]:
    """The transitions of one open-space booking, by its slot as the schedule has it now: none
    for a booking whose slot or room the schedule no longer has, nor for one cancelled before it
    began. A booking made once its slot began starts at once; one cancelled while it ran ends then."""
    slot = booking_slot(booking, schedule)
    if slot is None or session_room(schedule, booking.room) is None:
        return []
    booked = moment(booking.booked_at)
    start, end = max(slot.start, booked).astimezone(UTC), slot.end.astimezone(UTC)
    subject, room = booking_key(booking.id), open_space_key(booking.room)
    if booking.cancelled_at is not None:
        cancelled = moment(booking.cancelled_at)
        if cancelled <= start:
            return []
        end = min(end, cancelled)
    made = [Transition(start, SESSION_START, subject, room, booking=booking.id),
            Transition(end, SESSION_END, subject, room, booking=booking.id)]
    if remind_before > timedelta(0) and booking.cancelled_at is None:
        made.append(Transition(max(slot.start - remind_before, booked).astimezone(UTC), SESSION_REMIND,
                               subject, room, booking=booking.id))
    return made


def session_transitions(schedule: Schedule, bookings: Iterable[Booking], *,
                        remind_before: timedelta = SESSION_REMIND_BEFORE) -> list[Transition]:
    """Every open-space booking's transitions, in the order they run."""
    made = [t for booking in bookings for t in booking_transitions(booking, schedule, remind_before=remind_before)]
    return sorted(made, key=Transition.sort_key)


@dataclass(frozen=True)
class Due:
    """What to do with the transitions up to ``now``: run these (``late`` among them by more than
    a moment), skip those (missed by more than the grace window), and wait for the rest."""

    run: list[Transition]
    skipped: list[Transition]
    waiting: list[Transition]


def due(planned: Iterable[Transition], now: datetime, done: set[str] | frozenset[str] = frozenset(), *,
        grace: timedelta = GRACE) -> Due:
    """Sort ``planned`` by what the clock should do at ``now``, leaving out what has run (keys in
    ``done``). A transition missed within ``grace`` (the bot was down, or busy) still runs, once;
    an older one is skipped, for the runtime to summarise to the moderators in one message; but
    an open-space session's end, which gives the room its name back, runs however late, and so
    does the start of a talk or session still on at ``now``: what it says is still true, and the
    room would otherwise not say what is on until the next change (a demo or a first run starts
    in the middle of talks; a restart comes after a change of talks)."""
    planned = sorted(planned, key=Transition.sort_key)
    on = still_on(planned, now)
    run: list[Transition] = []
    skipped: list[Transition] = []
    waiting: list[Transition] = []
    for transition in planned:
        if transition.key in done:
            continue
        if transition.at > now:
            waiting.append(transition)
        elif now - transition.at <= grace or transition.kind == SESSION_END or transition in on:
            run.append(transition)
        else:
            skipped.append(transition)
    return Due(run, skipped, waiting)


def still_on(planned: Iterable[Transition], now: datetime) -> set[Transition]:
    """The starts in ``planned`` (of a talk, an open-space session, a poster session) whose
    talk or session has begun and not ended at ``now``: its end (the first one of the same
    subject after the start) is still to come."""
    ends: dict[str, list[datetime]] = defaultdict(list)
    for transition in planned:
        if transition.kind in ENDS:
            ends[transition.talk_id].append(transition.at)
    for times in ends.values():
        times.sort()
    on: set[Transition] = set()
    for transition in planned:
        if transition.kind not in STARTS or transition.at > now:
            continue
        times = ends.get(transition.talk_id, [])
        after = bisect_right(times, transition.at)
        if after < len(times) and times[after] > now:
            on.add(transition)
    return on


def in_force(planned: Iterable[Transition], now: datetime) -> list[Transition]:
    """For each room the clock names and titles (a track room, an open-space room), the last
    start or end due at ``now``: the one whose topic and name the room should show, whether it ran
    or was skipped. Rooms with none due yet keep what their template gives them."""
    last: dict[str, Transition] = {}
    for transition in sorted(planned, key=Transition.sort_key):
        if transition.at <= now and transition.kind in SETS_STATE:
            last[transition.track_id] = transition
    return list(last.values())


def rehearsal_moment(schedule: Schedule, now: datetime, first_talk_at: datetime | None = None) -> datetime | None:
    """What a rehearsal's clock reads at ``now``: the conference moment that puts its first talk's
    start at ``first_talk_at`` (default: two minutes from ``now``), so organisers can dry-run the
    day from the top. None for a schedule without talks."""
    first = min((talk.start for talk in schedule.talks), default=None)
    if first is None:
        return None
    at = first_talk_at if first_talk_at is not None else now + REHEARSAL_LEAD
    return first - (at - now)
