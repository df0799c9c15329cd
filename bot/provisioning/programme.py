"""The conference in force while ``podium run`` runs, shared by everything that shows it.

The bot's replies (``!now`` links), the conference clock (which messages each room gets, the
pages' URL in topics) and the widget pages (schedule, now/next, room links) all read the
schedule and the rooms it makes from one ``Programme``. When schedule.yaml is reloaded the new
conference is put in place in one step, so nobody goes on showing the old schedule, nor links
to rooms of the new one by the old templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..conference.display import RoomLinks
from ..conference.roomkeys import SPACE
from ..conference.schedule import Schedule
from .desired import Settings, desired_rooms
from .pipeline import DEFAULT_TEMPLATES, Conference
from .templates import RoomTemplates


class Programme:
    def __init__(self, conference: Conference):
        self.put(conference)

    @classmethod
    def bundled(cls, schedule: Schedule, settings: Settings, templates_dir: Path = DEFAULT_TEMPLATES) -> Programme:
        """``schedule``'s conference made with the room templates in ``templates_dir`` (the bundled
        ones by default): for a bot or pages started with a schedule alone (``run_bot`` from a
        script, ``create_app`` in a test), whose rooms ``podium apply`` made with those."""
        return cls(Conference(schedule, desired_rooms(schedule, RoomTemplates.load(templates_dir), settings),
                              settings))

    def put(self, conference: Conference) -> None:
        """Put ``conference`` in force. Built whole, then swapped in one assignment: a reader in
        between sees the old programme or the new one, never half of each."""
        links = RoomLinks.of(conference.rooms, conference.settings.server_name)
        switches = {room.key: room.clock for room in conference.rooms}
        welcome = any(room.welcome for room in conference.rooms if room.key == SPACE)
        self._current = (conference, links, switches, welcome)

    @property
    def conference(self) -> Conference:
        return self._current[0]

    @property
    def schedule(self) -> Schedule:
        return self._current[0].schedule

    @property
    def settings(self) -> Settings:
        return self._current[0].settings

    @property
    def links(self) -> RoomLinks:
        """Links to every room of the conference, by desired-room key (``track/forum``)."""
        return self._current[1]

    @property
    def switches(self) -> Mapping[str, Mapping[str, bool]]:
        """Each room's ``clock:`` switches from its template: room key -> message kind -> on."""
        return self._current[2]

    @property
    def welcome(self) -> bool:
        """Whether new members of the conference space get the bot's welcome (the space template's ``welcome:``)."""
        return self._current[3]
