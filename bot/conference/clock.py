"""What is on now and next: pure functions over the schedule and a moment in time.

The runtime (which talk a ``!ask`` belongs to) and the web pages (stream, now/next, schedule) ask
the same questions, so they share these answers. Nothing here reads the clock: callers pass
``now`` (timezone-aware), which keeps every answer reproducible in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .schedule import Schedule, Talk, later_by


def apply_delays(schedule: Schedule, delays: Mapping[str, int] | None) -> Schedule:
    """The schedule with every talk of a delayed track moved later by that track's minutes.

    ``delays`` maps track ids to minutes (negative moves a track earlier); unknown tracks and
    zero delays are ignored. The original schedule is left untouched.
    """
    shifts = {track: int(minutes) for track, minutes in (delays or {}).items() if int(minutes)}
    if not shifts:
        return schedule
    talks = [
        t.model_copy(update={"start": later_by(t.start, timedelta(minutes=shifts[t.track]))}) if t.track in shifts else t
        for t in schedule.talks
    ]
    return schedule.model_copy(update={"talks": talks})


def talk_end(talk: Talk) -> datetime:
    return talk.end


def talks_in_track(schedule: Schedule, track_id: str) -> list[Talk]:
    """The track's talks in start order, but for those cancelled: none of them is on now or next."""
    return sorted((t for t in schedule.talks if t.track == track_id and not t.cancelled), key=lambda t: t.start)


def is_on(talk: Talk, now: datetime) -> bool:
    """Whether ``talk`` runs at ``now`` (start inclusive, end exclusive)."""
    return talk.start <= now < talk_end(talk)


def live_talk(talks: Iterable[Talk], now: datetime) -> Talk | None:
    """The talk running at ``now``, if any."""
    return next((talk for talk in talks if is_on(talk, now)), None)


def next_talk(talks: Iterable[Talk], now: datetime) -> Talk | None:
    """The first talk starting after ``now``."""
    upcoming = [t for t in talks if t.start > now]
    return min(upcoming, key=lambda t: t.start, default=None)


@dataclass(frozen=True)
class NowNext:
    track_id: str
    now: Talk | None
    next: Talk | None

    def starts_in(self, moment: datetime) -> timedelta | None:
        """How long until the next talk starts, seen from ``moment``."""
        return None if self.next is None else self.next.start - moment


def now_next(schedule: Schedule, track_id: str, now: datetime) -> NowNext:
    talks = talks_in_track(schedule, track_id)
    return NowNext(track_id, live_talk(talks, now), next_talk(talks, now))


def programme(schedule: Schedule, now: datetime) -> list[NowNext]:
    """Now and next for every track, in schedule order."""
    return [now_next(schedule, track.id, now) for track in schedule.tracks]


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def busiest_moment(schedule: Schedule) -> datetime | None:
    """A moment when the most tracks have a talk running (the earliest such, five minutes into
    a talk): where a rehearsal or a demo of the conference is most alive."""
    best: tuple[int, datetime] | None = None
    tracks = [talks_in_track(schedule, track.id) for track in schedule.tracks]
    for talk in schedule.talks:
        moment = talk.start + timedelta(minutes=5)
        if moment >= talk_end(talk):
            continue
        live = sum(1 for talks in tracks if live_talk(talks, moment))
        if best is None or live > best[0] or (live == best[0] and moment < best[1]):
            best = (live, moment)
    return None if best is None else best[1]


def longest_running(schedule: Schedule, moment: datetime) -> NowNext | None:
    """The track whose live talk runs on longest after ``moment`` (None when nothing is on): the
    room to send a newcomer to, where questions are taken for the longest."""
    live = [entry for entry in programme(schedule, moment) if entry.now is not None]
    return max(live, key=lambda entry: talk_end(entry.now), default=None)


def shifted_clock(start_at: datetime, real: Clock = utc_now) -> Clock:
    """A clock that reads ``start_at`` now and runs on in real time from there."""
    offset = start_at - real()
    return lambda: real() + offset
