"""Podium: run an online conference inside Matrix."""

from pathlib import Path

__version__ = "0.1.0"

#: The sample conference: what ``podium demo`` brings up and ``podium init`` starts a new one from.
SAMPLE_SCHEDULE = Path(__file__).resolve().parent / "sample" / "schedule.yaml"
