"""What people type into Matrix, made safe to use: text cleaned to one visible line, numbers read
strictly. Pure functions; every command and every message the bot sends goes through them.

Anyone can set a display name or write a question with line breaks, bidi overrides or
zero-width characters. Shown as is, a line break in a name starts a line of its own in the bot's
message (a forged "Q1 · Podium: …"), a right-to-left override turns the rest of the line around,
and a question of zero-width spaces is a blank entry on the board. ``one_line`` removes all of
that; ``visible_length`` is what is left to read.
"""

from __future__ import annotations

import re
import unicodedata

#: Zero-width (non-)joiners are format characters, but they carry meaning between two visible
#: characters: ZWJ glues emoji sequences (🏳️‍🌈, 👩‍💻), ZWNJ shapes Persian and Indic words. Anywhere
#: else they only hide something, and are dropped.
JOINERS = frozenset("\u200c\u200d")
#: Letters and symbols that render as nothing: Hangul fillers and the blank braille pattern,
#: favourites for "empty" display names. Read as spaces.
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Controls, format characters (bidi overrides and isolates, zero-width spaces, the BOM, soft
#: hyphens, tags) and lone surrogates (which SQLite cannot even store).
_DROPPED = frozenset(("Cc", "Cf", "Cs"))
#: Characters that take no room of their own: combining marks (including emoji variation selectors).
_NO_WIDTH = frozenset(("Mn", "Me"))

#: How much of a word the bot quotes back when it refuses it.
QUOTE_LIMIT = 40
#: Numbers people type are at most this many digits: more than any count, question number or
#: poll number a conference reaches, and far inside SQLite's 64-bit integers.
MAX_DIGITS = 9
_NUMBER = re.compile(r"(?P<sign>[+-]?)(?P<digits>[0-9]+)")


class UsageError(ValueError):
    """What someone typed cannot be used; the message is meant for them and says why."""


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` as the bot shows it: one line, every run of whitespace (line breaks too) a single
    space, no control or format characters, trimmed; cut to ``limit`` characters with "…"."""
    chars: list[str] = []
    for char in text:
        if char.isspace() or char in BLANKS:
            chars.append(" ")
        elif char in JOINERS or unicodedata.category(char) not in _DROPPED:
            chars.append(char)
    kept = [char for i, char in enumerate(chars) if char not in JOINERS or _between_visible(chars, i)]
    line = " ".join("".join(kept).split())
    if limit is not None and len(line) > limit:
        line = _trim(line[:limit - 1]) + "…"
    return line


def _between_visible(chars: list[str], i: int) -> bool:
    def visible(j: int) -> bool:
        return 0 <= j < len(chars) and chars[j] != " " and chars[j] not in JOINERS

    return visible(i - 1) and visible(i + 1)


def _trim(line: str) -> str:
    """A cut line without a space or a joiner left dangling at its end."""
    while line and (line[-1] == " " or line[-1] in JOINERS):
        line = line[:-1]
    return line


def visible_length(text: str) -> int:
    """How many characters of ``text`` someone reading it sees: ``one_line`` without spaces,
    joiners and combining marks."""
    return sum(1 for char in one_line(text)
               if char != " " and char not in JOINERS and unicodedata.category(char) not in _NO_WIDTH)


def text_problem(text: str, *, least: int, most: int, missing: str, what: str) -> str | None:
    """Why ``text`` (a question, a request for help) cannot be used, or None when it can. The
    minimum counts what a reader sees (zero-width and control characters say nothing); the
    maximum counts the text as the bot stores and shows it, on one line. ``missing`` is the
    answer to too little; ``what`` names such texts ("questions")."""
    if visible_length(text) < least:
        return missing
    length = len(one_line(text))
    if length > most:
        return f"{what} can be at most {most} characters; this one has {length}"
    return None


def quoted(word: str) -> str:
    """A word someone typed, quoted back to them in a refusal: one line, and short."""
    return f"“{one_line(word, QUOTE_LIMIT)}”"


def read_number(word: str, want: str, *, prefix: str = "", low: int | None = 1, high: int | None = None,
                signed: bool = False) -> int:
    """``word`` as a whole number in ASCII digits, at most ``MAX_DIGITS`` of them, optionally
    after ``prefix`` (any case: ``Q7``) and, when ``signed``, a ``+`` or ``-``; between ``low``
    and ``high`` where given. Anything else is a UsageError whose message ends with ``want``
    (what to type instead).

    ``str.isdigit`` and ``int`` would take "²", "١٢" or a thousand digits; this reads only
    what a keyboard's number row makes, and only numbers that fit anywhere they are used.
    """
    rest = word[len(prefix):] if prefix and word[:len(prefix)].casefold() == prefix.casefold() else word
    match = _NUMBER.fullmatch(rest)
    if match is None or (match["sign"] and not signed):
        raise UsageError(f"{quoted(word)} is not a whole number; {want}")
    digits = match["digits"].lstrip("0") or "0"
    if len(digits) > MAX_DIGITS:
        raise UsageError(f"{quoted(word)} is too large; {want}")
    number = int(match["sign"] + digits)
    if (low is not None and number < low) or (high is not None and number > high):
        raise UsageError(f"{quoted(word)} is out of range; {want}")
    return number
