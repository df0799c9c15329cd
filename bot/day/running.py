"""The running bot as the conference clock and the schedule reloader see it: what they read (the
programme in force, the rooms' state, the store) and the few things they do through it (send a
message, wake the clock). The runtime provides it; the clock names it here so that it depends on
this much and not on the runtime above it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from ..commands import Room
from ..conference.clock import Clock
from ..conference.schedule import Schedule
from ..matrix import MatrixAdapter
from ..provisioning.programme import Programme
from ..store.database import Store


class RunningBot(Protocol):
    adapter: MatrixAdapter
    clock: Clock
    conference_id: str
    #: The schedule and rooms in force, shared with the commands and the pages.
    programme: Programme
    #: Set once the bot has caught up with its rooms.
    ready: asyncio.Event
    #: room id -> event type -> state key -> content, as the bot has synced it.
    rooms: dict[str, dict[str, dict[str, Any]]]
    store: Store
    #: Called when the timetable moved (a ``!delay``, a reload); the clock sets it when it runs.
    wake_clock: Callable[[], None] | None

    @property
    def schedule(self) -> Schedule: ...

    def room_id_of(self, key: str) -> str | None: ...

    def own_rooms(self) -> list[Room]: ...

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str: ...
