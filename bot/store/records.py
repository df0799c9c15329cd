"""Rows of one table read back as the frozen dataclass they were stored from (a ``Ticket``, a
``Booking``): the table's columns are the dataclass's fields, in order."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlite_utils

from .schema import check_readable

RecordT = TypeVar("RecordT")


class Records(Generic[RecordT]):
    def __init__(self, db: sqlite_utils.Database | sqlite3.Connection, table: str, record: type[RecordT]):
        self.db, self.table, self.record = db, table, record
        self.columns = [f.name for f in fields(record)]  # type: ignore[arg-type]

    def one(self, where: str, params: list[Any]) -> RecordT | None:
        found = self.many(where, params)
        return found[0] if found else None

    def many(self, where: str, params: list[Any]) -> list[RecordT]:
        rows = self.db.execute(f"SELECT {', '.join(self.columns)} FROM {self.table} {where}", params).fetchall()
        return [self.record(**dict(zip(self.columns, row))) for row in rows]


def insert_numbered(db: sqlite_utils.Database, table: str, values: Mapping[str, Any], *,
                    numbered_within: Sequence[str]) -> None:
    """Insert ``values`` as a new row whose ``number`` is one past the highest among the rows that
    share its ``numbered_within`` columns (a question's conference, a job's conference and
    sponsor), in one statement, so two writers never take one number; nothing when the table's
    unique ``source_event_id`` holds the row already (the same command handled again). Runs in
    the caller's transaction."""
    columns = [*values, "number"]
    within = " AND ".join(f"{column} = ?" for column in numbered_within)
    db.execute(f"""INSERT OR IGNORE INTO {table} ({', '.join(columns)})
                   SELECT {', '.join('?' for _ in values)}, COALESCE(MAX(number), 0) + 1 FROM {table}
                   WHERE {within}""",
               [*values.values(), *(values[column] for column in numbered_within)])


@contextmanager
def read_only(database: Path, table: str) -> Iterator[sqlite3.Connection | None]:
    """A connection that only reads ``database`` (a bot's podium.db, for an export while the bot
    runs), or None when there is no database yet or it has no ``table``. It never upgrades the
    file (see ``schema``): one a newer Podium wrote is refused with ``NewerDatabase``."""
    if not database.is_file():
        yield None
        return
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        check_readable(db, database)
        known = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()
        yield db if known else None
