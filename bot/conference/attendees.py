"""The files organisers let attendees in with, read: the attendee list ``podium invite`` invites
(a CSV with a Matrix ID column, such as a pretix export whose Matrix-ID question is a column) and
the ticket codes ``podium tickets`` loads (a pretix export with a secret or order-code column, or
one code a line). Pure: bytes in, values and every problem located by file, line and column out.

Problems are :class:`ScheduleError`\\ s, raised together as :class:`ScheduleInvalid`, so the
command line reports them as it reports a broken schedule: all at once, each with its place.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import math
import re
import string
from collections.abc import Collection
from dataclasses import dataclass, field

from .qa import rate_limited
from .schedule import ScheduleError, ScheduleInvalid, matrix_id_problem

#: The column ``podium invite`` reads without ``--column``.
MATRIX_ID_COLUMN = "matrix_id"
#: Columns of pretix's exports that hold a ticket's code, the first found is read: a ticket's
#: secret (one per ticket, what its QR code holds) before the order code (one per order).
CODE_COLUMNS = ("secret", "ticket secret", "order code")
#: A ticket code: letters, digits, ``-`` and ``_`` (pretix's secrets and order codes are letters
#: and digits), long enough not to be guessed in a few tries, short enough to type or paste.
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{4,128}$")
#: Wrong codes one sender may send in an hour before being told to wait.
WRONG_CODES, WRONG_WINDOW = 5, 3600.0
#: Codes estimated below this many bits can be guessed. The bot lets each account try 5 codes an
#: hour: a thousand accounts over a three-day conference try 360,000, and every code loaded is a
#: target. At 40 bits (a trillion codes of that length and alphabet) with 5,000 codes loaded that
#: gives a guesser a 1 in 600 chance; a 5-character order code (26 bits) lets them in some 30
#: times. And whoever holds the whole data directory, the digests' secret too, still has to hash
#: a trillion candidates per code, not a few million.
STRONG_CODE_BITS = 40
#: The kinds of character a code is estimated by, as it is compared (small letters count as capitals).
CODE_ALPHABETS = (string.digits, string.ascii_uppercase, "-_")


@dataclass
class Attendees:
    """An attendee list: the Matrix IDs in file order, each once."""

    matrix_ids: list[str] = field(default_factory=list)
    duplicates: list[tuple[int, str, int]] = field(default_factory=list)  # (line, id, its first line)
    blank: int = 0  # rows without a Matrix ID (in a pretix export: who left the question empty)


@dataclass
class TicketCodes:
    """Ticket codes in file order, each once (compared as :func:`normal_code` makes them)."""

    codes: list[str] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)  # (line, the code's first line)
    column: str | None = None  # the column read; None for a plain list
    weak: list[int] = field(default_factory=list)  # lines of codes under STRONG_CODE_BITS


def read_attendees(data: bytes, filename: str, column: str | None = None) -> Attendees:
    """The Matrix IDs in column ``column`` (default ``matrix_id``) of a CSV file. Raises
    :class:`ScheduleInvalid` naming every row whose value is not a Matrix ID."""
    wanted = column or MATRIX_ID_COLUMN
    rows = _rows(_text(data, filename), filename)
    index = _column_index(rows, wanted, filename, hint="name the column of Matrix IDs with --column NAME")
    result, errors, first_seen = Attendees(), [], {}
    for line, row in rows[1:]:
        value = row[index].strip() if index < len(row) else ""
        if not value:
            result.blank += 1
            continue
        problem = matrix_id_problem(value)
        if problem:
            errors.append(ScheduleError(filename, line, wanted, problem))
        elif value in first_seen:
            result.duplicates.append((line, value, first_seen[value]))
        else:
            first_seen[value] = line
            result.matrix_ids.append(value)
    if errors:
        raise ScheduleInvalid(errors)
    return result


def read_ticket_codes(data: bytes, filename: str, column: str | None = None) -> TicketCodes:
    """Ticket codes from a CSV (column ``column``, else pretix's secret or order-code column when
    the first line names one) or from a plain list, one code a line. Raises
    :class:`ScheduleInvalid` naming every line that holds no usable code."""
    text = _text(data, filename)
    rows = _rows(text, filename)
    if column is None and rows:
        header = [cell.strip().casefold() for cell in rows[0][1]]
        column = next((rows[0][1][header.index(name)].strip() for name in CODE_COLUMNS if name in header), None)
    if column is not None:
        index = _column_index(rows, column, filename, hint="name the column of ticket codes with --column NAME")
        entries = [(line, row[index] if index < len(row) else "") for line, row in rows[1:]]
    else:
        entries = list(enumerate(text.splitlines(), 1))
    result, errors, first_seen = TicketCodes(column=column), [], {}
    where = column or "code"
    for line, value in entries:
        value = value.strip()
        if not value:
            continue
        if not CODE_RE.match(value):
            csv_hint = " (a CSV file? name the column of codes with --column NAME)" \
                if column is None and ("," in value or ";" in value) else ""
            errors.append(ScheduleError(filename, line, where, f"{_shown(value)} is not a ticket code: codes are 4 to "
                                                               f"128 letters, digits, '-' or '_'{csv_hint}"))
            continue
        normal = normal_code(value)
        if normal in first_seen:
            result.duplicates.append((line, first_seen[normal]))
        else:
            first_seen[normal] = line
            result.codes.append(value)
            if code_bits(value) < STRONG_CODE_BITS:
                result.weak.append(line)
    if errors:
        raise ScheduleInvalid(errors)
    return result


def normal_code(text: str) -> str:
    """A code as it is compared: without the spaces around it, and in capitals, so a code typed
    in small letters is the same code."""
    return text.strip().upper()


def code_digest(text: str, secret: bytes) -> str:
    """What the store keeps of a code: its HMAC-SHA256 under the data directory's secret, so
    podium.db alone gives no code back, not even by hashing every code of its length."""
    return hmac.new(secret, normal_code(text).encode(), hashlib.sha256).hexdigest()


def unkeyed_digest(text: str) -> str:
    """The bare SHA-256 an older Podium kept of a code, found again to re-key its row."""
    return hashlib.sha256(normal_code(text).encode()).hexdigest()


def code_bits(text: str) -> float:
    """How many bits a guesser must cover, estimated from the code's length and the kinds of
    character in it (digits, letters, ``-`` and ``_``): ``ABC12`` is one of 36**5 codes, 26 bits."""
    code = normal_code(text)
    alphabet = sum(len(chars) for chars in CODE_ALPHABETS if any(c in chars for c in code))
    return len(code) * math.log2(alphabet) if alphabet > 1 else 0.0


def looks_like_code(text: str) -> bool:
    """Whether a direct message is worth checking as a ticket code: one word of code characters."""
    return bool(CODE_RE.match(text.strip()))


def code_shape(text: str) -> str:
    """What a code looks like without what it says: its length, and whether it holds a digit
    (``"7 digits"``, ``"5 letters"``). Kept for each code loaded, so a message of no loaded
    code's shape is known not to be one."""
    normal = normal_code(text)
    return f"{len(normal)} {'digits' if any(c in string.digits for c in normal) else 'letters'}"


def could_be_code(text: str, shapes: Collection[str | None]) -> bool:
    """Whether a direct message could be one of the codes loaded, whose shapes are ``shapes``
    (None: a code loaded before shapes were kept, which may have any). Only such a message is
    checked, and counted when wrong: "hello" costs no try where every code holds a digit, while
    every guess that could be right still costs one."""
    return looks_like_code(text) and (not shapes or None in shapes or code_shape(text) in shapes)


def wait_for_next_code(wrong_at: list[float], now: float) -> float:
    """Seconds until a sender who sent wrong codes at ``wrong_at`` may try again (0: now)."""
    return rate_limited(wrong_at, now, WRONG_CODES, WRONG_WINDOW)


def _text(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScheduleInvalid([ScheduleError(filename, line, "", f"the file is not UTF-8 text ({exc.reason}); save "
                                                                 "it (or export it) as UTF-8")]) from None


def _rows(text: str, filename: str) -> list[tuple[int, list[str]]]:
    """The CSV's rows, each with the line it starts on (a quoted value may span lines); a row the
    CSV reader refuses (a value longer than it takes, a NUL) is reported on its line."""
    first = text.split("\n", 1)[0]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise ScheduleInvalid([ScheduleError(filename, start, "", f"cannot read this line as CSV ({exc}); is "
                                                                      "this the export of attendees or tickets?")]) \
                from None
        if any(cell.strip() for cell in row):
            rows.append((start, row))


def _column_index(rows: list[tuple[int, list[str]]], column: str, filename: str, *, hint: str) -> int:
    if not rows:
        raise ScheduleInvalid([ScheduleError(filename, None, "", "the file is empty; its first line names the "
                                                                 f"columns, one of them {column!r}")])
    line, header = rows[0]
    names = [cell.strip().casefold() for cell in header]
    if column.strip().casefold() not in names:
        shown = ", ".join(repr(cell.strip()) for cell in header if cell.strip())
        raise ScheduleInvalid([ScheduleError(filename, line, "", f"no column {column!r}; the first line names "
                                                                 f"{shown}: {hint}")])
    return names.index(column.strip().casefold())


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:39] + "…")
