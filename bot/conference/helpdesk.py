"""Helpdesk tickets, pure: what ``!helpdesk`` opens, staff ``!claim`` and close with ``!done``.

A ticket belongs to one helpdesk (its *desk*): a question asked in a helpdesk room goes to that
helpdesk, one asked in a lobby room (the info desk) to the schedule's first helpdesk. Tickets are
numbered per conference, 1, 2, 3 …, and a number is never given twice. A ticket is waiting until
one of the staff claims it, claimed until someone closes it, and then done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .roomkeys import HELPDESK, HELPDESK_STAFF, LOBBY, kind_of, object_id
from .userinput import text_problem

WAITING, CLAIMED, DONE = "waiting", "claimed", "done"
STATES = (WAITING, CLAIMED, DONE)
#: A ticket's question: long enough to say what is wrong, short enough to read in a list.
MIN_LENGTH, MAX_LENGTH = 3, 500
#: The room kinds where attendees open tickets, and where staff take them.
ASK_KINDS = ("lobby", "helpdesk")
STAFF_KINDS = ("helpdesk", "helpdesk-staff")


@dataclass(frozen=True)
class Ticket:
    number: int
    desk: str  # the helpdesk's id
    room_id: str  # where it was asked: the asker is answered there
    room_key: str
    asker: str
    asker_name: str
    text: str
    asked_at: float  # unix seconds, the homeserver's time of the !helpdesk
    source_event_id: str
    state: str = WAITING
    claimer: str | None = None
    claimer_name: str | None = None
    claimed_at: float | None = None
    claim_event_id: str | None = None
    closer_name: str | None = None
    done_at: float | None = None
    done_event_id: str | None = None

    @property
    def label(self) -> str:
        return f"#{self.number}"


def check_text(text: str) -> str | None:
    """Why ``text`` cannot be a ticket's question, or None when it can."""
    return text_problem(text, least=MIN_LENGTH, most=MAX_LENGTH, missing="say what you need help with after !helpdesk",
                        what="a request")


def desk_of(room_key: str, desks: Sequence[str]) -> str | None:
    """The helpdesk a room's tickets go to: a helpdesk room's (or its staff room's) own, the first
    helpdesk for the lobby's rooms; None where there is none."""
    kind, item = kind_of(room_key), object_id(room_key)
    if kind in (HELPDESK, HELPDESK_STAFF):
        return item if item in desks else None
    if kind == LOBBY and desks:
        return desks[0]
    return None
