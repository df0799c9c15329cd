"""Counts as people read them: "1 helpdesk", "3 helpdesks", never "1 helpdesks" or "room(s)"; and
how long ago something was: "just now", "4 min ago"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural unless ``n`` is exactly one (``plural`` for irregular nouns)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def age(seconds: float) -> str:
    """A span of time as people say it: "0 min", "4 min", "2 h 5 min", "3 d 2 h" (whole minutes, down)."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(seconds: float) -> str:
    """How long ago: "just now" under a minute, else "4 min ago", "2 h 5 min ago"."""
    return "just now" if seconds < 60 else f"{age(seconds)} ago"
