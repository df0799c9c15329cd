"""The room-key grammar: how Podium names each conference room internally, in one place.

A room key is ``<kind>/<id>``: the kind says which section of the schedule the room stands for
(``track/forum`` is the track ``forum``'s room, ``talk/t1`` the breakout room of the talk ``t1``),
and the id is that entry's id in schedule.yaml. Schedule ids hold no "/", so the split is never
ambiguous. The conference space has the bare key ``space``. Keys are stored in every room's
locator state and in the bot's database, so they never change for a room that exists.

A key's kind is not the room's template kind: ``talk/…`` rooms are rendered from the ``breakout``
template. ``poster-breakout/…`` rooms, a poster's second room, were made by earlier versions: a
poster now has one room, and apply reports such a room as no longer wanted.

Pure: nothing here reads or writes anything.
"""

from __future__ import annotations

SEPARATOR = "/"

#: The conference space: the one key without an id.
SPACE = "space"
LOBBY = "lobby"
TRACK = "track"
BACKSTAGE = "backstage"
TALK = "talk"
POSTER = "poster"
POSTER_BREAKOUT = "poster-breakout"  # made by earlier versions only: see above
SPONSOR = "sponsor"
HELPDESK = "helpdesk"
HELPDESK_STAFF = "helpdesk-staff"
OPEN_SPACE = "open-space"
#: Not a room: the conference clock's subject for one open-space booking (its room is the
#: open-space room it was booked in).
BOOKING = "booking"

#: Every kind of room key with an id, in the order the conference space lists them.
ROOM_KINDS = (LOBBY, TRACK, BACKSTAGE, TALK, POSTER, SPONSOR, HELPDESK, HELPDESK_STAFF, OPEN_SPACE)


def key_of(kind: str, object_id: str) -> str:
    """The key of the ``kind`` room of the schedule entry ``object_id``."""
    return f"{kind}{SEPARATOR}{object_id}"


def lobby_key(room_id: str) -> str:
    """A lobby room's key (``lobby/hallway``)."""
    return key_of(LOBBY, room_id)


def track_key(track_id: str) -> str:
    """A track's room, where its talks are streamed and asked about."""
    return key_of(TRACK, track_id)


def backstage_key(track_id: str) -> str:
    """A track's private room for its speakers, chairs and moderators."""
    return key_of(BACKSTAGE, track_id)


def talk_key(talk_id: str) -> str:
    """A talk's breakout room, for meeting its speakers afterwards."""
    return key_of(TALK, talk_id)


def poster_key(poster_id: str) -> str:
    """A poster's room: its video call and the poster itself."""
    return key_of(POSTER, poster_id)


def poster_breakout_key(poster_id: str) -> str:
    """A poster's second room, which earlier versions made beside its poster room."""
    return key_of(POSTER_BREAKOUT, poster_id)


def sponsor_key(sponsor_id: str) -> str:
    """A sponsor's booth room."""
    return key_of(SPONSOR, sponsor_id)


def helpdesk_key(desk_id: str) -> str:
    """A helpdesk, where attendees ask."""
    return key_of(HELPDESK, desk_id)


def helpdesk_staff_key(desk_id: str) -> str:
    """The private room behind a helpdesk, where its tickets reach its staff."""
    return key_of(HELPDESK_STAFF, desk_id)


def open_space_key(room_id: str) -> str:
    """An open-space room, where attendees run the sessions they book."""
    return key_of(OPEN_SPACE, room_id)


def booking_key(booking_id: int | str) -> str:
    """The conference clock's subject for one open-space booking (not a room)."""
    return key_of(BOOKING, str(booking_id))


def kind_of(key: str) -> str:
    """The kind of a key (``track`` for ``track/forum``; ``space`` for the space)."""
    return key.partition(SEPARATOR)[0]


def object_id(key: str) -> str:
    """The schedule id a key names (``forum`` for ``track/forum``; "" for the space)."""
    return key.partition(SEPARATOR)[2]
