"""The conference schedule: models, parsing and validation.

Organisers describe the whole event in one ``schedule.yaml`` (see the sample at the repository
root). This package turns that file - or a dict built by an importer - into a validated, frozen
:class:`Schedule`, or raises :class:`ScheduleInvalid` listing *every* mistake at once, each with
its file, line, path (``talks[3].duration``) and a plain-English message saying what is wrong and
what to do about it.

Entry points:

* :func:`load_schedule` / :func:`parse_schedule` - from a file / from YAML text.
* :func:`validate_schedule_data` - from plain data (importers build a dict and reuse this).
* :func:`check_schedule` - the cross-field checks alone, for a :class:`Schedule` built or edited
  in memory (e.g. after shifting a delayed track).

Times: a naive time (``2026-07-13 09:00``) is in the conference timezone; an explicit offset
(``2026-07-13T09:00+02:00`` or ``...Z``) is honoured (the same instant, expressed in the
conference timezone). All datetimes in the models are aware.
"""

from __future__ import annotations

from ..yamlsource import format_path  # for bot.provisioning.limits, which names its paths the same way
from .checks import check_schedule, written_people
from .errors import DurationError, ScheduleError, ScheduleInvalid
from .fields import (
    CONFERENCE_ID_RE,
    MATRIX_ID_RE,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    MAX_YEAR,
    MIN_YEAR,
    is_free_form,
    matrix_id_problem,
    parse_duration,
)
from .load import (
    ScheduleSource,
    load_schedule,
    load_schedule_source,
    parse_schedule,
    parse_schedule_source,
    validate_schedule_data,
)
from .models import (
    DEFAULT_LOBBY,
    MAX_POSTER_BYTES,
    ConferenceInfo,
    Helpdesk,
    Job,
    LobbyRoom,
    OpenSpace,
    OpenSpaceRoom,
    Person,
    Poster,
    Schedule,
    Slot,
    Speaker,
    Sponsor,
    Staff,
    Talk,
    Track,
    VideoSettings,
    later_by,
    speaker_key,
    speakers_matrix_ids,
)

__all__ = [
    "CONFERENCE_ID_RE",
    "ConferenceInfo",
    "DEFAULT_LOBBY",
    "DurationError",
    "Helpdesk",
    "Job",
    "LobbyRoom",
    "MATRIX_ID_RE",
    "MAX_NAME_LENGTH",
    "MAX_POSTER_BYTES",
    "MAX_TEXT_LENGTH",
    "MAX_URL_LENGTH",
    "MAX_YEAR",
    "MIN_YEAR",
    "OpenSpace",
    "OpenSpaceRoom",
    "Person",
    "Poster",
    "Schedule",
    "ScheduleError",
    "ScheduleInvalid",
    "ScheduleSource",
    "Slot",
    "Speaker",
    "Sponsor",
    "Staff",
    "Talk",
    "Track",
    "VideoSettings",
    "check_schedule",
    "format_path",
    "is_free_form",
    "later_by",
    "load_schedule",
    "load_schedule_source",
    "matrix_id_problem",
    "parse_duration",
    "parse_schedule",
    "parse_schedule_source",
    "speaker_key",
    "speakers_matrix_ids",
    "validate_schedule_data",
    "written_people",
]
