"""Where the files Podium ships beside its code are: the sample conference (``schedule.yaml`` and
the ``posters/`` it names), the room templates (``room-templates/``) and the widget pages
(``widgets/``).

In the repository they sit at the top level, where organisers and designers look for them. A
wheel carries them inside the package, in ``bot/bundled/`` (pyproject.toml's force-include), so
that an installed Podium finds them from any directory; a checkout, and the editable install that
runs from it, has no such folder and reads the top level."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: The folder the shipped files are in: the installed package's copy, else the checkout's top level.
RESOURCES = _PACKAGE / "bundled" if (_PACKAGE / "bundled").is_dir() else _PACKAGE.parent


def resource(name: str) -> Path:
    """The shipped file or folder ``name``, like ``"room-templates"``."""
    return RESOURCES / name
