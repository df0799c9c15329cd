"""The provisioning pipeline shared by ``podium plan``, ``apply`` and ``demo``:
schedule + templates -> desired rooms; connection -> adapter; then plan or converge."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..conference.schedule import Schedule, ScheduleSource, load_schedule_source
from ..config import ConfigProblem, Connection
from ..matrix import MatrixAdapter
from ..roomstate.state import DesiredRoom
from .desired import Settings, desired_rooms
from .limits import check_room_limits
from .templates import BUNDLED_TEMPLATES, RoomTemplates

DEFAULT_TEMPLATES = BUNDLED_TEMPLATES
DEFAULT_PUBLIC_URL = "http://localhost:8080"


@dataclass(frozen=True)
class Conference:
    """A loaded schedule and the rooms it calls for on one homeserver."""

    schedule: Schedule
    rooms: list[DesiredRoom]
    settings: Settings


def build(schedule_path: Path, settings: Settings, templates_dir: Path = DEFAULT_TEMPLATES) -> Conference:
    """Load and validate everything before anything touches the homeserver: the schedule, the
    templates, and every room they make, which must be one the homeserver can store."""
    return conference_from(load_schedule_source(schedule_path), RoomTemplates.load(templates_dir), settings)


def conference_from(located: ScheduleSource, templates: RoomTemplates, settings: Settings) -> Conference:
    """The rooms a valid schedule calls for, each checked to be one the homeserver can store."""
    rooms = desired_rooms(located.schedule, templates, settings)
    check_room_limits(located, templates, settings, rooms)
    return Conference(located.schedule, rooms, settings)


#: Device id for plan/apply password logins: without one every run would leave a new device on
#: the bot's account. Not the running bot's device, so an apply during the conference does not
#: touch the bot's session.
APPLY_DEVICE_ID = "PODIUM_APPLY"


async def connect(connection: Connection, **adapter_options: object) -> MatrixAdapter:
    """An adapter for the bot account, logged in (or, as an application service, registered)
    and checked to be who it says."""
    adapter = MatrixAdapter(connection.homeserver, connection.user_id, connection.access_token or "",
                            appservice=connection.appservice is not None, **adapter_options)
    try:
        if connection.appservice is not None:
            await adapter.claim_user()
        elif not connection.access_token:
            assert connection.password
            await adapter.login(connection.password, device_id=APPLY_DEVICE_ID)
        who = await adapter.whoami()
    except BaseException:
        await adapter.close()
        raise
    if who != connection.user_id:
        await adapter.close()
        raise ConfigProblem(f"the access token belongs to {who}, not {connection.user_id}: set PODIUM_USER_ID to match")
    return adapter
