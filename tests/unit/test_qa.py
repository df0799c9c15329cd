"""Unit and property tests for the pure Q&A rules (bot.conference.qa): ranking, duplicates, limits."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.conference import qa
from bot.conference.qa import Question, duplicate_of, is_open, normalise, rank, rate_limited, similarity


def question(number: int, *, votes: int = 1, asked_at: float = 0.0, pinned: bool = False, state: str = "open",
             text: str = "a question") -> Question:
    return Question(number, "!r:x", "forum", "t1", "@a:x", "A", text, asked_at, votes, state, pinned, None)


# ----------------------------------------------------------------------------- ranking


def test_rank_pinned_then_votes_then_age():
    old_popular = question(1, votes=5, asked_at=10)
    new_popular = question(2, votes=5, asked_at=20)
    top = question(3, votes=9, asked_at=30)
    pinned = question(4, votes=0, asked_at=40, pinned=True)
    assert [q.number for q in rank([old_popular, new_popular, top, pinned])] == [4, 3, 1, 2]


questions = st.builds(
    question,
    st.integers(1, 10_000),
    votes=st.integers(0, 50),
    asked_at=st.floats(0, 1e6, allow_nan=False),
    pinned=st.booleans(),
)


@given(st.lists(questions, max_size=30, unique_by=lambda q: q.number))
def test_rank_is_a_sorted_permutation(qs):
    ranked = rank(qs)
    assert sorted(q.number for q in ranked) == sorted(q.number for q in qs)
    for before, after in zip(ranked, ranked[1:]):
        assert before.pinned >= after.pinned
        if before.pinned == after.pinned:
            assert before.votes >= after.votes
            if before.votes == after.votes:
                assert before.asked_at <= after.asked_at
    assert rank(reversed(qs)) == ranked, "the order does not depend on the input order"


# ----------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize("a, b", [
    ("What's the roadmap for Python 4?", "what is the roadmap for python 4"),
    ("Is the GIL gone in 3.14?", "  is the GIL   gone in 3.14 ??"),
    ("How do I install it on Windows?", "How can I install it on Windows?"),
    ("Does it run on PyPy and CPython?", "Does it run on CPython and PyPy?"),
])
def test_rewordings_are_duplicates(a, b):
    assert similarity(a, b) >= qa.DUPLICATE_THRESHOLD


@pytest.mark.parametrize("a, b", [
    ("Will slides be shared?", "Will videos be shared?"),
    ("How do you test this?", "How do you deploy this?"),
    ("What about async support?", "What about async support in Django?"),
    ("Why?", "How?"),
])
def test_different_questions_are_not(a, b):
    assert similarity(a, b) < qa.DUPLICATE_THRESHOLD


def test_duplicate_of_prefers_the_closest_then_the_oldest_and_skips_hidden():
    hidden = question(1, text="What is the roadmap for Python 4?", state="hidden")
    older = question(2, text="What is the roadmap for Python 4?", asked_at=5)
    newer = question(3, text="What is the roadmap for Python 4?", asked_at=9)
    assert duplicate_of("what's the roadmap for python 4", [newer, hidden, older]) == older
    assert duplicate_of("what's the roadmap for python 4", [hidden]) is None
    assert duplicate_of("Something else entirely", [older, newer]) is None


text = st.text(alphabet=string.ascii_letters + " ?!.,'", max_size=60)


@given(text, text)
def test_similarity_is_symmetric_and_bounded(a, b):
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 <= similarity(a, b) <= 1.0


WORDS = ("how does it scale run on pypy and python why when will you share slides with the team "
         "is there a plan for typing async wheels docs support").split()


@st.composite
def asked_before(draw) -> tuple[str, list[Question]]:
    """A question and earlier ones, many of them the same question with a word or two changed."""
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
    earlier = []
    for number in range(1, draw(st.integers(0, 10)) + 1):
        other = list(words)
        for _ in range(draw(st.integers(0, 2))):
            at = draw(st.integers(0, len(other)))
            edit = draw(st.sampled_from(["insert", "delete", "replace", "move"]))
            if edit == "insert" or not other:
                other.insert(at, draw(st.sampled_from(WORDS)))
            elif edit == "delete":
                other.pop(min(at, len(other) - 1))
            elif edit == "replace":
                other[min(at, len(other) - 1)] = draw(st.sampled_from(WORDS))
            else:
                other.insert(at, other.pop(draw(st.integers(0, len(other) - 1))))
        if draw(st.integers(0, 3)) == 0:  # now and then an unrelated question
            other = draw(st.lists(st.sampled_from(WORDS), max_size=12))
        earlier.append(question(number, text=" ".join(other), asked_at=draw(st.integers(0, 3)),
                                state=draw(st.sampled_from(["open", "open", "hidden"]))))
    return " ".join(words), earlier


@given(asked_before())
# Word order alike (0.9), word sets less so (9 of 11): only the costly comparison finds this one.
@example(("how does it scale run on pypy and python why",
          [question(1, text="how does it scale run on and typing python why")]))
@settings(max_examples=300)
def test_duplicate_of_is_the_best_match_by_similarity(case):
    """Whatever shortcut ``duplicate_of`` takes, it finds what comparing every pair would."""
    text, qs = case
    scored = [(similarity(text, q.text), -q.asked_at, -q.number, q) for q in qs if q.state != "hidden"]
    candidates = [c for c in scored if c[0] >= qa.DUPLICATE_THRESHOLD]
    expected = max(candidates, key=lambda c: c[:3])[3] if candidates else None
    assert duplicate_of(text, qs) == expected


@given(text)
def test_case_punctuation_and_spacing_do_not_matter(a):
    noisy = "  " + a.upper().replace(" ", "   ") + " ?!"
    assert normalise(noisy) == normalise(a)
    if normalise(a):
        assert similarity(a, noisy) == 1.0


# ----------------------------------------------------------------------------- limits


def test_text_limits():
    assert qa.check_text("Why is it so?") is None
    assert qa.check_text("  ") is not None
    assert "at most 500" in qa.check_text("x" * 501)


@pytest.mark.parametrize("text", ["\u200b\u200b\u200b\u200b", "\u200b \u2060 \ufeff \u200d", "\u202e\u202d\u2066\u2069",
                                  "\x00\x01\x02\x7f", "\u3164\u3164\u3164", "a\u200b\u200b\u200bb", "\ufe0f" * 10])
def test_a_question_of_invisible_characters_is_no_question(text):
    assert qa.check_text(text) == "write the question after !ask"


def test_the_maximum_counts_the_text_as_shown():
    assert qa.check_text("x" * 500 + "\u200b" * 100) is None
    assert qa.check_text(("why " * 100) + "\n" * 300) is None, "400 characters once the line breaks are one space"


# ----------------------------------------------------------------------------- votes


@pytest.mark.parametrize("key", ["👍", "👍\ufe0f", "👍\ufe0e", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿", "👍🏽\ufe0f", ":+1:",
                                 ":thumbsup:", ":THUMBSUP:"])
def test_every_form_of_thumbs_up_is_a_vote(key):
    assert qa.is_upvote(key)


@pytest.mark.parametrize("key", ["👎", "🎉", "👍👍", "👍 nice", " 👍", "+1", "thumbsup", "", None, 1, ["👍"], {"key": "👍"}])
def test_anything_else_is_not(key):
    assert not qa.is_upvote(key)


def test_rate_limit_allows_a_few_then_says_how_long_to_wait():
    assert rate_limited([], 100.0) == 0
    assert rate_limited([90.0, 95.0], 100.0) == 0
    assert rate_limited([90.0, 95.0, 99.0], 100.0) == pytest.approx(50.0)  # 90 + 60 - 100
    assert rate_limited([10.0, 20.0, 30.0], 100.0) == 0, "old questions no longer count"


@given(st.lists(st.floats(0, 1000, allow_nan=False), max_size=10), st.floats(0, 1000, allow_nan=False))
def test_rate_limit_never_negative_and_waiting_it_out_works(times, now):
    times = [t for t in times if t <= now]  # what a user asked before, not after, now
    wait = rate_limited(times, now)
    assert wait >= 0
    if wait:
        assert rate_limited(times, now + wait + 1e-6) == 0


def test_qa_open_while_a_talk_is_live_unless_closed_for_that_talk():
    assert is_open("t1", None) and not is_open(None, None)
    assert not is_open("t1", ("closed", "t1"))
    assert is_open("t2", ("closed", "t1")), "a close for one talk does not close the next"
    assert is_open(None, ("open", None)) and not is_open(None, ("open", "t1"))
