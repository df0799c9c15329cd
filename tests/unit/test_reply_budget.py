"""The reply budget: the token bucket's rules (bot.commands.budget) and their memory in the store
(bot.store.budget), which makes a command handled again after a restart get the same verdict."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.commands.budget import CAPACITY, FULL, REFILL_SECONDS, Bucket, Verdict, charge, seconds_until_answer
from bot.store.budget import KEEP_SECONDS, ReplyBudgetStore
from bot.store.schema import open_database


def run(times: list[float], bucket: Bucket = FULL) -> list[Verdict]:
    verdicts = []
    for at in times:
        verdict, bucket = charge(bucket, at)
        verdicts.append(verdict)
    return verdicts


def test_a_burst_is_answered_up_to_the_capacity_then_told_once_then_quiet():
    verdicts = run([1000.0 + 0.1 * n for n in range(CAPACITY + 5)])
    assert verdicts == [Verdict.ANSWER] * CAPACITY + [Verdict.WARN] + [Verdict.QUIET] * 4


def test_a_moderator_clearing_the_board_is_never_refused():
    # !qa top, !qa answered 1 .. 10 one a second, !qa close: well within the budget.
    assert set(run([1000.0 + n for n in range(12)])) == {Verdict.ANSWER}
    # And at a person's pace (a command every REFILL_SECONDS) the bucket never runs dry.
    assert set(run([1000.0 + REFILL_SECONDS * n for n in range(500)])) == {Verdict.ANSWER}


def test_after_the_notice_it_answers_again_when_it_said_and_tells_again_only_after_a_pause():
    bucket = FULL
    for _ in range(CAPACITY):
        _, bucket = charge(bucket, 1000.0)
    verdict, bucket = charge(bucket, 1000.0)
    assert verdict is Verdict.WARN
    wait = seconds_until_answer(bucket)
    assert wait == REFILL_SECONDS
    assert charge(bucket, 1000.0 + wait - 0.5)[0] is Verdict.QUIET
    verdict, bucket = charge(bucket, 1000.0 + wait)
    assert verdict is Verdict.ANSWER, "answered when the notice said"
    assert charge(bucket, 1000.0 + wait)[0] is Verdict.QUIET, "told once: no second notice in the same spell"
    _, rested = charge(bucket, 1000.0 + wait + CAPACITY * REFILL_SECONDS)
    assert rested.warned is False, "a full bucket ends the spell"


def test_an_event_from_the_past_refills_nothing():
    _, bucket = charge(FULL, 2000.0)
    _, earlier = charge(bucket, 1000.0)
    assert earlier.at == 2000.0 and earlier.tokens == bucket.tokens - 1


@given(st.lists(st.floats(0, 10_000), min_size=1, max_size=200))
def test_answers_never_exceed_the_capacity_plus_the_refill(times):
    times = sorted(times)
    verdicts = run(times)
    answered = verdicts.count(Verdict.ANSWER)
    assert answered <= CAPACITY + (times[-1] - times[0]) / REFILL_SECONDS
    # A notice only after an unanswered stretch begins, and no more notices than pauses to full.
    for before, after in zip(verdicts, verdicts[1:]):
        assert not (before is Verdict.WARN and after is Verdict.WARN)
    assert verdicts.count(Verdict.WARN) <= 1 + (times[-1] - times[0]) / (CAPACITY * REFILL_SECONDS)


def test_the_store_keeps_each_verdict_and_each_senders_bucket(tmp_path):
    now = time.time()
    store = ReplyBudgetStore(open_database(tmp_path / "podium.db"))
    assert store.bucket("@a:x") is None and store.verdict("$e1") is None
    store.record("$e1", "@a:x", "answer", 11.0, now, False)
    store.record("$e2", "@a:x", "warn", 0.5, now + 1, True)
    store.record("$e1", "@a:x", "quiet", 0.0, now + 2, True)  # the same event again: the first record stays
    store.record("$old", "@c:x", "answer", 11.0, now - KEEP_SECONDS - 60, False)
    again = ReplyBudgetStore(open_database(tmp_path / "podium.db"))
    assert again.verdict("$e1") == ("answer", 11.0, now, False)
    assert again.bucket("@a:x") == (0.5, now + 1, True)
    assert again.bucket("@b:x") is None
    assert again.verdict("$old") is None and again.bucket("@c:x") is None, "a day old: dropped on opening"


def test_the_readme_states_the_budget():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"{CAPACITY} commands in a row, then one every {REFILL_SECONDS:g} seconds" in readme
