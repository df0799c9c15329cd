"""``!mod``, pure: where a call for a moderator goes, and how often one may be made.

A call from a track room, its backstage or a talk's breakout goes to the track's backstage: the
chairs and moderators who know that track are there, and a chair can be in the room in seconds.
A call from anywhere else (the lobby, a helpdesk, a sponsor's booth, a poster, open space) goes
to the staff room of the first helpdesk: the people on duty for the conference as a whole. With
no helpdesk, it goes to the first track's backstage, where the organisers are.

One call per room is enough to bring someone: within ``ROOM_WINDOW`` of a call, another from the
same room is told a moderator was called already. A person may call ``SENDER_COUNT`` times in
``SENDER_WINDOW`` (in any rooms), so nobody can keep the moderators' room ringing.
"""

from __future__ import annotations

from collections.abc import Sequence

from .qa import rate_limited
from .roomkeys import HELPDESK, HELPDESK_STAFF, backstage_key, helpdesk_staff_key, kind_of, object_id
from .userinput import one_line

#: One call per room in five minutes.
ROOM_WINDOW = 300.0
#: Three calls per person in ten minutes.
SENDER_COUNT, SENDER_WINDOW = 3, 600.0
#: What the caller may add about what is wrong.
MAX_REASON = 300


def moderators_room(room_key: str, track_id: str | None, desks: Sequence[str], tracks: Sequence[str]) -> str | None:
    """The key of the room a call from ``room_key`` goes to (None: the conference has no such room)."""
    if track_id is not None and track_id in tracks:
        return backstage_key(track_id)
    kind, item = kind_of(room_key), object_id(room_key)
    if kind in (HELPDESK, HELPDESK_STAFF) and item in desks:
        return helpdesk_staff_key(item)
    if desks:
        return helpdesk_staff_key(desks[0])
    if tracks:
        return backstage_key(tracks[0])
    return None


def wait_for_room(calls_here: Sequence[float], now: float) -> float:
    """Seconds until this room may call again (0: it may)."""
    return rate_limited(calls_here, now, 1, ROOM_WINDOW)


def wait_for_sender(calls_by_sender: Sequence[float], now: float) -> float:
    """Seconds until this person may call again (0: they may)."""
    return rate_limited(calls_by_sender, now, SENDER_COUNT, SENDER_WINDOW)


def check_reason(reason: str) -> str | None:
    """Why ``reason`` cannot go with a call, or None."""
    length = len(one_line(reason))
    if length > MAX_REASON:
        return f"say what is wrong in at most {MAX_REASON} characters; this has {length}"
    return None
