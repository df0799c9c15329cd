"""``podium swag load``: a sponsor's swag codes from a file into the data directory, where ``!swag``
gives them out. Reads the file whole and checks every line before it writes anything; the codes
go in in one transaction, so a file is loaded entirely or not at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..conference.inputfile import LIST_LIMIT, InputRefused, read_input
from ..conference.schedule import Schedule
from ..conference.sponsors import read_swag_codes
from ..config import ConfigProblem
from ..store.database import DATABASE, Store
from ..store.swag import SwagStore
from ..wording import counted

#: Line numbers listed in a note before the rest are only counted.
SHOWN_LINES = 10


class SwagProblem(ConfigProblem):
    """The codes cannot be loaded as asked; the message says why and what to do."""


@dataclass(frozen=True)
class SwagLoad:
    sponsor: str  # its name
    added: int
    loaded_before: int
    left: int
    total: int
    blank_lines: tuple[int, ...]
    repeated: tuple[tuple[int, int], ...]
    database: Path


def load_swag(schedule: Schedule, schedule_file: Path, sponsor_id: str, codes_file: Path, data_dir: Path) -> SwagLoad:
    """Load ``codes_file`` for the sponsor ``sponsor_id``; SwagProblem or ScheduleInvalid (every
    bad line, located) before anything is written."""
    sponsor = next((s for s in schedule.sponsors if s.id == sponsor_id), None)
    if sponsor is None:
        known = ", ".join(s.id for s in schedule.sponsors)
        raise SwagProblem(f"no sponsor '{sponsor_id}' in {schedule_file}; "
                          + (f"the sponsors are {known}" if known else "it lists no sponsors: add them under 'sponsors:'"))
    codes = read_swag_codes(_text_of(codes_file), str(codes_file), as_csv=codes_file.suffix.lower() == ".csv")
    store = Store(data_dir)
    try:
        swag = SwagStore(store.db)
        conference = schedule.conference.id
        added = swag.load(conference, sponsor.id, (code for _, code in codes.codes), time.time())
        left, total = swag.counts(conference, sponsor.id)
    finally:
        store.close()
    return SwagLoad(sponsor.name, added, len(codes.codes) - added, left, total, codes.blank_lines, codes.repeated,
                    data_dir / DATABASE)


def _text_of(path: Path) -> str:
    how = "give a text file with one code per line, or a .csv file with a 'code' column"
    if not path.exists():
        raise SwagProblem(f"{path}: no such file; {how}")
    if path.is_dir():
        raise SwagProblem(f"{path} is a folder; {how}")
    try:
        data = read_input(path, LIST_LIMIT, "a list of swag codes")
    except InputRefused as exc:
        raise SwagProblem(str(exc)) from None
    except OSError as exc:
        raise SwagProblem(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        # utf-8-sig: spreadsheet programs start their CSV exports with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SwagProblem(f"{path}:{line}: this is not UTF-8 text; save the file as UTF-8 and load it again") from None


def report_lines(load: SwagLoad, codes_file: Path) -> list[str]:
    """What ``podium swag load`` prints."""
    before = f" ({counted(load.loaded_before, 'code')} of the file loaded before)" if load.loaded_before else ""
    lines = [(f"Added {counted(load.added, 'code')} for {load.sponsor} from {codes_file}{before}: "
              f"{counted(load.left, 'code')} left of {load.total}, in {load.database}.")]
    if load.blank_lines:
        lines.append(f"Skipped {counted(len(load.blank_lines), 'blank line')}: {_lines(load.blank_lines)}.")
    if load.repeated:
        shown = [f"line {line} repeats line {first}" for line, first in load.repeated[:SHOWN_LINES]]
        more = f", and {len(load.repeated) - SHOWN_LINES} more" if len(load.repeated) > SHOWN_LINES else ""
        lines.append(f"Skipped {counted(len(load.repeated), 'repeated code')}: {', '.join(shown)}{more}.")
    return lines


def _lines(numbers: tuple[int, ...]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOWN_LINES])
    more = f" and {len(numbers) - SHOWN_LINES} more" if len(numbers) > SHOWN_LINES else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"
