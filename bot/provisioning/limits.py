"""What a homeserver can store, checked before the first request.

Matrix caps an event at 65,536 bytes of canonical JSON, with everything the homeserver adds to
it, and room aliases, user IDs and state keys at 255 bytes. The schedule bounds every field it
takes (bot.conference.schedule), but the room templates decide what goes into each event, so
every rendered room is measured as well. A room over a limit is traced back to the schedule
field that puts it there, by rendering the room again with that field left empty; a room over a
limit even with every such field empty is its template's doing.

Pure: rooms, templates and the schedule in, errors out.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..conference.schedule import Schedule, ScheduleError, ScheduleInvalid, ScheduleSource, format_path, is_free_form
from ..roomstate.state import DesiredRoom, RoomRef, StateKey
from ..wording import counted
from .desired import RoomSource, Settings, all_sources, render_room, template_context
from .planner import resolve
from .templates import RoomTemplates, TemplateProblem

MAX_EVENT_BYTES = 65_536
#: Room aliases (the whole ``#localpart:server``), user IDs, room IDs and state keys.
MAX_ID_BYTES = 255

#: What the homeserver adds to the type, state key, sender and content Podium measures: the
#: room ID (up to 255 bytes), up to 20 prev_events and 10 auth_events (47 bytes each, quoted),
#: the sha256 hash, two ed25519 signatures under server names of up to 255 bytes (about 380
#: bytes each), origin, origin_server_ts, depth, unsigned (age_ts, replaces_state), and in a
#: power-levels event the defaults the server merges into power_level_content_override (about
#: 600 bytes): some 3.6 KB at the very most. Twice that is kept back; a room's content may still
#: take 56 KB, far more than any topic or widget needs.
ENVELOPE_ALLOWANCE = 8_192
EVENT_BUDGET = MAX_EVENT_BYTES - ENVELOPE_ALLOWANCE

#: Rooms that do not exist yet are measured with the longest room ID there can be.
_LONGEST_ROOM_IDS: defaultdict[str, str] = defaultdict(lambda: "!" + "x" * (MAX_ID_BYTES - 1))

Path = tuple[Any, ...]


def canonical_size(value: Any) -> int:
    """Bytes of ``value`` as Matrix canonical JSON (UTF-8, sorted keys, no spaces)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode())


def event_size(event_type: str, state_key: StateKey, content: dict[str, Any], sender: str) -> int:
    """What Podium counts of a state event: all but what the homeserver adds (see
    ENVELOPE_ALLOWANCE); rooms that do not exist yet count as the longest room ID there can be."""
    return canonical_size({"type": event_type, "state_key": resolve(state_key, _LONGEST_ROOM_IDS), "sender": sender,
                           "content": resolve(content, _LONGEST_ROOM_IDS)})


@dataclass(frozen=True)
class _Measure:
    """One limit in one room: the largest thing of its kind there, and how large it is."""

    kind: str  # "event", "state key" or "invite"
    event_type: str
    state_key: str  # of the largest one
    size: int

    @property
    def limit(self) -> int:
        return EVENT_BUDGET if self.kind == "event" else MAX_ID_BYTES

    @property
    def what(self) -> str:
        if self.kind == "invite":
            return f"an invitation to the user ID '{_clip(self.state_key)}' of {self.size:,} bytes"
        named = f" '{_clip(self.state_key)}'" if self.state_key else ""
        if self.kind == "state key":
            return f"a state key{named} of {self.size:,} bytes for its {self.event_type} event"
        return f"an {self.event_type} event{named} of {self.size:,} bytes"

    @property
    def over(self) -> str:
        if self.kind == "event":
            return (f"more than the {EVENT_BUDGET:,} bytes Podium allows so that the homeserver "
                    f"can store it (a Matrix event holds {MAX_EVENT_BYTES:,}, including what the "
                    "homeserver adds)")
        return f"more than the {MAX_ID_BYTES} bytes Matrix allows"


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _measures(room: DesiredRoom, bot_user_id: str) -> dict[tuple[str, str], _Measure]:
    """The largest event, state key and invitation in ``room``, by kind and event type."""
    found: dict[tuple[str, str], _Measure] = {}

    def keep(kind: str, event_type: str, state_key: str, size: int) -> None:
        if (kind, event_type) not in found or size > found[(kind, event_type)].size:
            found[(kind, event_type)] = _Measure(kind, event_type, state_key, size)

    for (event_type, state_key), content in room.state.items():
        shown = "" if isinstance(state_key, RoomRef) else state_key
        keep("event", event_type, shown, event_size(event_type, state_key, content, bot_user_id))
        if not isinstance(state_key, RoomRef):
            keep("state key", event_type, state_key, len(state_key.encode()))
    for user in room.invites:
        keep("invite", "m.room.member", user, len(user.encode()))
    return found


def check_room_limits(located: ScheduleSource, templates: RoomTemplates, settings: Settings,
                      rooms: list[DesiredRoom]) -> None:
    """Raise :class:`ScheduleInvalid` naming the schedule field behind every room that the
    homeserver could not store, or :class:`TemplateProblem` when a template alone is to blame."""
    tracer: _Tracer | None = None  # made only when a room is over a limit: the usual case is cheap
    found: dict[Path, list[str]] = {}
    for room in rooms:
        alias = f"#{room.alias}:{settings.server_name}"
        over = [m for m in _measures(room, settings.bot_user_id).values() if m.size > m.limit]
        if not over and len(alias.encode()) <= MAX_ID_BYTES:
            continue
        tracer = tracer or _Tracer(located, templates, settings)
        source = tracer.source(room.key)
        if len(alias.encode()) > MAX_ID_BYTES:
            # The entry's own id when the schedule spells it out (the default lobby does not).
            path = (*source.origin, "id")
            if source.origin == ("conference",) or located.lines.get(path) is None:
                path = ("conference", "id")
            found.setdefault(path, []).append(
                f"room {room.key} would have the alias {_clip(alias)} of {len(alias.encode()):,} bytes, more "
                f"than the {MAX_ID_BYTES} Matrix allows (the server name takes {len(settings.server_name.encode())} "
                "of them); shorten this id")
        for measure in over:
            path, message = tracer.trace(source, measure)
            found.setdefault(path, []).append(message)
    if found:
        raise ScheduleInvalid([_one_error(located, path, messages) for path, messages in found.items()])


def _one_error(located: ScheduleSource, path: Path, messages: list[str]) -> ScheduleError:
    """One error per field, however many rooms it makes too large."""
    more = len(messages) - 1
    return located.error(path, messages[0] + (f"; the same goes for {counted(more, 'more room', 'more rooms')}"
                                               if more else ""))


class _Tracer:
    """Finds the schedule fields behind a room that is over a limit."""

    def __init__(self, located: ScheduleSource, templates: RoomTemplates, settings: Settings) -> None:
        self.located = located
        self.schedule = located.schedule
        self.templates = templates
        self.settings = settings
        self.paths = {id(model): path for path, model in _models(self.schedule)}
        #: Fields already found to blame, tried first in the next room: a field that makes one
        #: room too large usually makes many (every room's power levels list the organisers).
        #: The schedule without each of them, and its rooms' sources, are kept for the next room.
        self.culprits: dict[Path, tuple[Schedule, dict[str, RoomSource]]] = {}
        self.sources = all_sources(self.schedule)

    def source(self, key: str) -> RoomSource:
        return self.sources[key]

    def trace(self, source: RoomSource, measure: _Measure) -> tuple[Path, str]:
        candidates = self._candidates(source)
        where = f"{self.templates.directory.name}/{source.kind}.yaml"
        blamed = self._known_culprit(source, measure, candidates)
        if not blamed:
            floor = self._size_without(source, measure, candidates)
            if floor is not None and floor > measure.limit:
                raise TemplateProblem(
                    f"{self.templates.directory / f'{source.kind}.yaml'}: room {source.key} would get "
                    f"{dataclasses.replace(measure, size=floor).what} even with every schedule text left "
                    f"empty, {measure.over}; shorten what the template itself writes")
            blamed = self._blame(source, measure, candidates)
        path = blamed[0] if blamed else source.origin
        message = f"room {source.key} ({where}) would get {measure.what}, {measure.over}; "
        value = _at(self.schedule, path)
        message += "list fewer entries, or shorter ones" if isinstance(value, (list, tuple)) else "shorten it"
        if len(blamed) > 1:
            others = ", ".join(f"{format_path(p)} (line {self.located.lines.line_for(p)})" for p in blamed[1:])
            message += f"; that alone is not enough: shorten {others} too"
        return path, message

    def _known_culprit(self, source: RoomSource, measure: _Measure, candidates: list[Path]) -> list[Path]:
        for path, variant in self.culprits.items():
            if path in candidates:
                size = self._size_in(variant, source, measure)
                if size is not None and size <= measure.limit:
                    return [path]
        return []

    def _blame(self, source: RoomSource, measure: _Measure, candidates: list[Path]) -> list[Path]:
        """The fewest fields that, emptied, bring the room under the limit: largest share first."""
        gains = []
        for path in candidates:
            size = self._size_without(source, measure, [path])
            if size is not None and size < measure.size:
                gains.append((measure.size - size, path))
        gains.sort(key=lambda gain: -gain[0])
        blamed, left = [], measure.size
        for gain, path in gains:
            blamed.append(path)
            left -= gain
            if left <= measure.limit:
                break
        for path in blamed:
            self.culprits.setdefault(path, self._without([path]))
        return blamed

    def _candidates(self, source: RoomSource) -> list[Path]:
        """The free-form fields of every schedule entry the room's template sees."""
        context = template_context(self.schedule, self.settings, source)
        entries = [source.origin, *(self.paths[id(v)] for v in context.values() if id(v) in self.paths)]
        candidates: list[Path] = []
        for entry in dict.fromkeys(entries):
            model = _at(self.schedule, entry)
            for name in type(model).model_fields:
                if is_free_form(type(model), name) and getattr(model, name) and (*entry, name) not in candidates:
                    candidates.append((*entry, name))
        return candidates

    def _without(self, paths: list[Path]) -> tuple[Schedule, dict[str, RoomSource]]:
        """The schedule with what is at ``paths`` emptied, and what its rooms are rendered from."""
        schedule = self.schedule
        for path in paths:
            schedule = _replaced(schedule, path, [] if isinstance(_at(schedule, path), (list, tuple)) else "")
        return schedule, all_sources(schedule)

    def _size_without(self, source: RoomSource, measure: _Measure, paths: list[Path]) -> int | None:
        """The measure in the room rendered with ``paths`` emptied; None if it cannot render."""
        return self._size_in(self._without(paths), source, measure)

    def _size_in(self, variant: tuple[Schedule, dict[str, RoomSource]], source: RoomSource,
                 measure: _Measure) -> int | None:
        schedule, sources = variant
        try:
            room = render_room(schedule, self.templates, self.settings, sources[source.key])
        except TemplateProblem:
            return None
        again = _measures(room, self.settings.bot_user_id).get((measure.kind, measure.event_type))
        return 0 if again is None else again.size


def _models(value: Any, path: Path = ()):
    """Every model in the schedule with its path: the schedule, its sections' entries, ..."""
    if isinstance(value, BaseModel):
        yield path, value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name), (*path, name))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _models(item, (*path, i))


def _at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part] if isinstance(part, int) else getattr(value, part)
    return value


def _replaced(value: Any, path: Path, new: Any) -> Any:
    """A copy of ``value`` with what is at ``path`` replaced by ``new`` (models are frozen)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(value)
        items[head] = _replaced(items[head], rest, new)
        return items
    return value.model_copy(update={head: _replaced(getattr(value, head), rest, new)})
