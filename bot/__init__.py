"""Podium: run an online conference inside Matrix."""

from .resources import resource

__version__ = "0.1.0"

#: The sample conference: what ``podium demo`` brings up and ``podium init`` starts a new one from.
SAMPLE_SCHEDULE = resource("schedule.yaml")
