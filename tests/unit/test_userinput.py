"""Unit and property tests for what people type (bot.conference.userinput): text cleaned to one
visible line, numbers read strictly."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.conference.userinput import JOINERS, MAX_DIGITS, UsageError, one_line, quoted, read_number, visible_length

# ----------------------------------------------------------------------------- one_line


@pytest.mark.parametrize("text, shown", [
    ("Eve\nQ1 · Podium: you are all banned", "Eve Q1 · Podium: you are all banned"),
    ("a\r\nb\u2028c\u2029d\x85e\tf\x0bg", "a b c d e f g"),
    ("  spaced   out  ", "spaced out"),
    ("\u202eevil\u202c name", "evil name"),  # bidi override and pop
    ("\u2066isolate\u2069", "isolate"),
    ("zero\u200bwidth\ufeff\u2060", "zerowidth"),
    ("bell\x07 and nul\x00", "bell and nul"),
    ("\u3164\u3164", ""),  # Hangul fillers: a "blank" name
    ("lone \ud800 surrogate", "lone surrogate"),
    ("family 👩\u200d👩\u200d👧 and 🏳️\u200d🌈", "family 👩\u200d👩\u200d👧 and 🏳️\u200d🌈"),  # ZWJ sequences stay
    ("\u200d\u200dhidden\u200d", "hidden"),  # a joiner not between two characters goes
    ("thumbs 👍🏽 and ❤️", "thumbs 👍🏽 and ❤️"),  # skin tones and variation selectors stay
    ("Ünïcödé, 日本語, עברית", "Ünïcödé, 日本語, עברית"),
])
def test_one_line_keeps_what_is_read_and_drops_what_is_hidden(text, shown):
    assert one_line(text) == shown


def test_one_line_cuts_to_a_limit():
    assert one_line("a" * 50, 10) == "a" * 9 + "…"
    assert one_line("word " * 10, 8) == "word wo…"
    assert one_line("short", 10) == "short"


@given(st.text())
@example("x\u200d\u200d y")
@example("\u200d \u200d")
def test_any_text_becomes_one_line_without_hidden_characters(text):
    line = one_line(text)
    assert "\n" not in line and "\r" not in line
    assert not any(c.isspace() and c != " " for c in line)
    assert line == line.strip() and "  " not in line
    for i, char in enumerate(line):
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cs"), repr(char)
        if category == "Cf":
            assert char in JOINERS, repr(char)
            assert 0 < i < len(line) - 1 and line[i - 1] not in " \u200c\u200d" and line[i + 1] not in " \u200c\u200d"
    assert one_line(line) == line, "cleaning twice changes nothing"


@given(st.text(), st.integers(1, 60))
def test_a_limited_line_is_never_longer_than_the_limit(text, limit):
    assert len(one_line(text, limit)) <= limit


@pytest.mark.parametrize("text, length", [
    ("\u200b\u200b\u200b\u200b", 0),
    ("\u202e\u202e   \x00\x00", 0),
    ("\ufe0f\ufe0f\ufe0f", 0),  # variation selectors alone show nothing
    ("a\u200bb", 2),
    ("e\u0301te\u0301", 3),
    ("Why?", 4),
    ("a b", 2),
])
def test_visible_length_counts_what_a_reader_sees(text, length):
    assert visible_length(text) == length


def test_quoted_words_are_short_and_on_one_line():
    assert quoted("x") == "“x”"
    assert quoted("a\nb") == "“a b”"
    assert len(quoted("z" * 1000)) < 50


# ----------------------------------------------------------------------------- read_number


@pytest.mark.parametrize("word, number", [("7", 7), ("0007", 7), ("Q7", 7), ("q12", 12), ("999999999", 999_999_999),
                                          ("0" * 30 + "5", 5)])
def test_numbers_in_ascii_digits_are_read(word, number):
    assert read_number(word, "say which", prefix="Q") == number


@pytest.mark.parametrize("word", [
    "²", "¹", "Q²", "١٢", "５", "7.5", "1_000", "1e3", " 7", "7 ", "", "Q", "QQ7", "x", "-1", "+1",
    "9" * 10, "Q99999999999999999999999", "9" * 5000,
])
def test_anything_else_is_a_usage_error(word):
    with pytest.raises(UsageError) as refused:
        read_number(word, "say which question, e.g. 7 or Q7", prefix="Q")
    assert str(refused.value).endswith("say which question, e.g. 7 or Q7")
    assert len(str(refused.value)) < 120, "the refusal quotes only the start of a long word"


def test_signed_numbers_and_bounds():
    assert read_number("-5", "say", signed=True, low=-10, high=10) == -5
    assert read_number("+5", "say", signed=True, low=-10, high=10) == 5
    for word in ("-11", "11", "--5", "+-5"):
        with pytest.raises(UsageError):
            read_number(word, "say", signed=True, low=-10, high=10)
    with pytest.raises(UsageError, match="out of range"):
        read_number("0", "say")  # low is 1 unless told otherwise
    assert read_number("0", "say", low=None) == 0


@given(st.text(max_size=30), st.booleans(), st.sampled_from(["", "Q"]))
def test_reading_any_text_raises_nothing_but_a_usage_error(word, signed, prefix):
    try:
        number = read_number(word, "say", prefix=prefix, signed=signed, low=None)
    except UsageError:
        return
    assert abs(number) < 10 ** MAX_DIGITS
    assert word.isascii()


@given(st.integers(1, 10 ** MAX_DIGITS - 1))
def test_every_number_in_range_reads_back(number):
    assert read_number(str(number), "say") == number
    assert read_number(f"Q{number}", "say", prefix="Q") == number
