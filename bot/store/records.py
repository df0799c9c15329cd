"""Rows of one table read back as the frozen dataclass they were stored from (a ``Ticket``, a
``Booking``): the table's columns are the dataclass's fields, in order."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Generic, TypeVar

import sqlite_utils

RecordT = TypeVar("RecordT")


class Records(Generic[RecordT]):
    def __init__(self, db: sqlite_utils.Database, table: str, record: type[RecordT]):
        self.db, self.table, self.record = db, table, record
        self.columns = [f.name for f in fields(record)]  # type: ignore[arg-type]

    def one(self, where: str, params: list[Any]) -> RecordT | None:
        found = self.many(where, params)
        return found[0] if found else None

    def many(self, where: str, params: list[Any]) -> list[RecordT]:
        rows = self.db.execute(f"SELECT {', '.join(self.columns)} FROM {self.table} {where}", params).fetchall()
        return [self.record(**dict(zip(self.columns, row))) for row in rows]
