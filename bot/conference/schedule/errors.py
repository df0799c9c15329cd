"""Mistakes in a schedule: each one located (file, line, path) and worded for organisers, and the
exception that carries all of them at once."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable

from pydantic_core import PydanticCustomError

from ...wording import counted


@dataclass(frozen=True)
class ScheduleError:
    """One mistake in a schedule, located as precisely as we can."""

    file: str
    line: int | None
    path: str  # like "talks[3].duration"; "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def _sort_key(self) -> tuple:
        return (self.file, self.line is None, self.line or 0, self.path)


class ScheduleInvalid(Exception):
    """The schedule has mistakes; ``errors`` lists all of them (sorted by line)."""

    def __init__(self, errors: list[ScheduleError]) -> None:
        self.errors = sorted(errors, key=ScheduleError._sort_key)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.errors)
        files = sorted({e.file for e in self.errors})
        count = f"{counted(n, 'problem')} found in {', '.join(files) or 'the schedule'}"
        return "\n".join([*(str(e) for e in self.errors), f"{count}; fix and try again."])


class DurationError(ValueError):
    """A duration that cannot be understood or is out of range."""


def _err(kind: str, message: str) -> PydanticCustomError:
    # Without a context the message is used verbatim (no {placeholder} formatting), so user
    # input containing braces is safe.
    return PydanticCustomError(f"podium_{kind}", message)


def _show(value: Any) -> str:
    """Describe a YAML value the way an organiser wrote it."""
    if value is None:
        return "nothing (the value is empty)"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a block of fields"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


def _suggest(word: Any, choices: Iterable[str]) -> str:
    choices = [c for c in choices if isinstance(c, str)]
    if not isinstance(word, str):
        return ""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f" (did you mean '{lowered[word.lower()]}'?)"
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean '{lowered[match[0]]}'?)" if match else ""
