"""Podium: run an online conference inside Matrix."""

from pathlib import Path

__version__ = "0.1.0"

#: The checkout (or installed tree) holding room-templates/, widgets/ and schedule.yaml.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
