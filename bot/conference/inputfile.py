"""Reading a file an organiser names (a schedule, an import, a list of codes, a token file): the one
way Podium reads such a file, so that none of them can make it wait forever or fill its memory.

Only a regular file is read, and at most ``limit`` bytes of it. A FIFO, a device (``/dev/zero``),
a socket or a directory is refused before it is opened for reading, and the file is opened
non-blocking and checked again once open, so one swapped in between is refused too rather than
waited on. A symbolic link is followed: what it points to must be a regular file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Far more than any conference's schedule.yaml: FOSDEM's programme (about 1,000 talks, abstracts
#: included) is some 3 MB; the cap keeps a wrong file from stalling every reader of it.
SCHEDULE_LIMIT = 20 * 2**20
#: A list of attendees, ticket codes or swag codes: a pretix export of 100,000 orders is ~15 MB.
LIST_LIMIT = 20 * 2**20
#: A programme to import: pretalx's export of FOSDEM is ~3 MB.
IMPORT_LIMIT = 50 * 2**20
#: A file holding one secret (an access token, a password).
SECRET_LIMIT = 64 * 2**10

#: The file types that are no regular file, as people call them.
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


class InputRefused(Exception):
    """The file is no regular file, or larger than its limit; the message names the file, the
    limit and what to do (``reason``: the same without the file's name, for a message that names
    it already). Other reasons a file cannot be read stay ``OSError``s."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def size_text(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 2**10} KB"


def _refuse_unless_regular(path: Path, mode: int, what: str) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "no regular file")
        raise InputRefused(path, f"not a regular file but {kind}; give the path of {what}")


def _refuse_if_larger(path: Path, size: int, limit: int, what: str) -> None:
    if size > limit:
        raise InputRefused(path, f"larger than {size_text(limit)}, the most Podium reads for {what}; check that "
                                 "this is the right file")


def check_input(path: Path, limit: int, what: str) -> os.stat_result:
    """The file's status once it is known to be a regular file within ``limit`` bytes: InputRefused
    otherwise, OSError (like FileNotFoundError) when it cannot be looked at. Never opens it."""
    status = os.stat(path)  # follows a link: the file it points to is what would be read
    _refuse_unless_regular(path, status.st_mode, what)
    _refuse_if_larger(path, status.st_size, limit, what)
    return status


def read_input(path: Path | str, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; ``what`` names what the
    file should be, for the messages ("a schedule file", "a list of ticket codes").

    Raises InputRefused (no regular file, too large) or OSError (missing, unreadable)."""
    path = Path(path)
    check_input(path, limit, what)
    # O_NONBLOCK: should a FIFO have taken the file's place since the look above, opening it does
    # not wait for a writer; it is refused below. For a regular file the flag changes nothing.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        _refuse_unless_regular(path, status.st_mode, what)
        _refuse_if_larger(path, status.st_size, limit, what)
        data = handle.read(limit + 1)  # it may have grown since
    _refuse_if_larger(path, len(data), limit, what)
    return data
