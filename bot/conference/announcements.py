"""``!announce``, pure: what an organiser's announcement says and which rooms it goes to.

``!announce <text>`` goes to every public room of the conference: the lobby's rooms and the
track rooms. A selector first narrows that: ``--tracks`` to the track rooms, ``--lobby`` to the
lobby's rooms. The text keeps its line breaks (each line shown as the bot shows anyone's text:
one clean line); blank lines are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .roomkeys import lobby_key
from .userinput import UsageError, one_line, quoted, visible_length

#: Selector -> the room kinds it sends to.
SELECTORS = {"": ("lobby", "track"), "--tracks": ("track",), "--lobby": ("lobby",)}
#: Where an announcement is made from.
ANNOUNCEMENTS_ROOM = lobby_key("announcements")
#: Long enough for a programme change with its details; it is posted in every public room.
MAX_LENGTH = 2000
USAGE = "!announce [--tracks | --lobby] <text>"


@dataclass(frozen=True)
class Announcement:
    selector: str  # a key of SELECTORS
    lines: tuple[str, ...]


class _Room(Protocol):
    key: str
    kind: str


def parse(args: str) -> Announcement:
    """The announcement ``!announce`` was given, or a UsageError saying what is wrong."""
    selector, text = "", args
    if args.startswith("--"):
        word, *rest = args.split(None, 1)
        selector, text = word.lower(), rest[0] if rest else ""
        if selector not in SELECTORS:
            options = ", ".join(s for s in SELECTORS if s)
            raise UsageError(f"there is no option {quoted(word)}; the options are {options}")
    lines = tuple(line for line in (one_line(raw) for raw in text.splitlines()) if line)
    if visible_length(" ".join(lines)) == 0:
        raise UsageError("write the announcement after !announce")
    length = sum(len(line) for line in lines) + len(lines) - 1
    if length > MAX_LENGTH:
        raise UsageError(f"an announcement can be at most {MAX_LENGTH} characters; this one has {length}")
    return Announcement(selector, lines)


def targets(rooms: Iterable[_Room], selector: str) -> list[_Room]:
    """The rooms an announcement with ``selector`` goes to: the lobby's first, then the tracks,
    each by key, so a restart that sends the rest sends them in the same order."""
    kinds: Sequence[str] = SELECTORS[selector]
    return sorted((room for room in rooms if room.kind in kinds), key=lambda room: (kinds.index(room.kind), room.key))
