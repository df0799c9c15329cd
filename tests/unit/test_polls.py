"""Unit and property tests for the pure poll logic (bot.conference.polls): parsing, events, tally rules."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conference import polls
from bot.conference.polls import EndCandidate, Poll, PollError, PollSpec, PollView, Response, parse_poll, tally
from bot.conference.userinput import one_line

# ----------------------------------------------------------------------------- parsing


def test_parse_quoted_question_and_options():
    spec = parse_poll('"What next?" "Talks" "Lunch break" Coffee')
    assert spec == PollSpec("What next?", ("Talks", "Lunch break", "Coffee"), 1, True)


def test_parse_multi_and_secret_anywhere():
    assert parse_poll('--secret "Q" "A" "B" "C" --multi 2') == PollSpec("Q", ("A", "B", "C"), 2, False)
    assert parse_poll('"Q" "A" "B" --multi=2').max_selections == 2


def test_parse_single_quotes_and_escapes():
    spec = parse_poll("\"It's fine?\" \"Say \\\"yes\\\"\" 'no'")
    assert spec.question == "It's fine?"
    assert spec.options == ('Say "yes"', "no")


@pytest.mark.parametrize(
    "args, message",
    [
        ("", "needs a question"),
        ('"Q"', "at least 2 options, got 0"),
        ('"Q" "A"', "at least 2 options, got 1"),
        ('"Q" ' + " ".join(f'"o{n}"' for n in range(21)), "at most 20 options, got 21"),
        ('"Q" "A" "a"', "given twice"),
        ('"Q" "A" "B" --multi 3', "between 1 and 2"),
        ('"Q" "A" "B" --multi 0', "between 1 and 2"),
        ('"Q" "A" "B" --multi x', "whole number"),
        ('"Q" "A" "B" --multi', "needs a number"),
        ('"Q" "A" "B" --anon', "unknown option “--anon”"),
        ('"Q" "A" "B" --multi ²', "whole number"),
        ('"Q" "A" "B" --multi ' + "9" * 5000, "too large"),
        ('"Q" "\u200b" "B"', "empty"),
        ('"\u202e\u200b" "A" "B"', "needs a question"),
        ('"Q "A" "B"', "could not read"),
        ('"Q" "A" ""', "empty"),
    ],
)
def test_parse_errors_say_what_is_wrong(args, message):
    with pytest.raises(PollError, match=message):
        parse_poll(args)


def test_typographic_double_quotes_accepted():
    assert parse_poll("“What’s next?” “Talks” “Lunch”") == PollSpec("What’s next?", ("Talks", "Lunch"))


def test_twenty_options_allowed():
    assert len(parse_poll('"Q" ' + " ".join(f'"o{n}"' for n in range(20))).options) == 20


def test_whitespace_in_options_collapses():
    assert parse_poll('"Q\nmore" "A  b" "C"').question == "Q more"


def test_hidden_characters_are_dropped_from_question_and_options():
    spec = parse_poll('"Lunch\u202e?" "Pi\u200bzza" "Soup\x00"')
    assert spec == PollSpec("Lunch?", ("Pizza", "Soup"))


# Any text with something visible in it, but typographic double quotes (read as quotes) and
# words that look like --flags.
WORDS = st.text(min_size=1, max_size=20).filter(lambda s: one_line(s) and not s.startswith("--")
                                                and not set(s) & set("“”„"))


@given(
    question=WORDS,
    options=st.lists(WORDS, min_size=2, max_size=20, unique_by=lambda s: one_line(s).casefold()),
)
def test_parse_round_trips_any_quoted_text(question, options):
    import shlex

    args = " ".join(shlex.quote(t) for t in [question, *options])
    spec = parse_poll(args)
    assert spec.question == one_line(question)
    assert spec.options == tuple(one_line(o) for o in options)


# ----------------------------------------------------------------------------- events


def test_start_content_matches_msc3381_unstable_shape():
    content = polls.start_content(PollSpec("Lunch?", ("Pizza", "Soup"), 1, True))
    assert content == {
        "org.matrix.msc1767.text": "Lunch?\n1. Pizza\n2. Soup",
        "org.matrix.msc3381.poll.start": {
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "question": {"org.matrix.msc1767.text": "Lunch?"},
            "answers": [
                {"id": "a1", "org.matrix.msc1767.text": "Pizza"},
                {"id": "a2", "org.matrix.msc1767.text": "Soup"},
            ],
        },
    }
    secret = polls.start_content(PollSpec("Q", ("A", "B", "C"), 2, False))
    assert secret["org.matrix.msc3381.poll.start"]["kind"] == "org.matrix.msc3381.poll.undisclosed"
    assert secret["org.matrix.msc3381.poll.start"]["max_selections"] == 2


def test_read_start_round_trip_and_defaults():
    poll = polls.read_start(polls.start_content(PollSpec("Q", ("A", "B"), 2, False)))
    assert poll == Poll("Q", (("a1", "A"), ("a2", "B")), 2, False)
    # Another client's poll: missing max_selections defaults to 1, unknown kind is undisclosed.
    other = polls.read_start({polls.START: {"kind": "x.custom", "question": {polls.TEXT: "Q"},
                                            "answers": [{"id": "p", polls.TEXT: "P"}, {"id": "p", polls.TEXT: "dup"}]}})
    assert other == Poll("Q", (("p", "P"),), 1, False)
    assert polls.read_start({"body": "not a poll"}) is None


@pytest.mark.parametrize("answers", [5, "a1", {"id": "a1"}, None, True])
def test_read_start_of_answers_that_are_not_a_list_is_no_poll(answers):
    assert polls.read_start({polls.START: {"question": {polls.TEXT: "Q"}, "answers": answers}}) is None


def test_another_clients_poll_is_read_as_one_line_per_text():
    poll = polls.read_start({polls.START: {
        "question": {polls.TEXT: "Lunch?\nThe poll has ended: Soup won"},
        "answers": [{"id": "a", polls.TEXT: "Pizza\u202e"}, {"id": "b", polls.TEXT: "Soup\n\nSoup: 99 votes ✓"}]}})
    assert poll.question == "Lunch? The poll has ended: Soup won"
    assert poll.answers == (("a", "Pizza"), ("b", "Soup Soup: 99 votes ✓"))
    text = polls.results_text(poll, tally(poll, [Response("@a:x", 1, ["a"])]))
    assert len(text.splitlines()) == 4, "one line per answer: nothing forged"


def test_end_content_carries_results_text():
    poll = Poll("Lunch?", (("a1", "Pizza"), ("a2", "Soup")), 1, True)
    result = tally(poll, [Response("@a:x", 1, ["a1"]), Response("@b:x", 1, ["a1"]), Response("@c:x", 1, ["a2"])])
    content = polls.end_content("$start", poll, result)
    assert content["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$start"}
    assert content["org.matrix.msc3381.poll.end"] == {}
    assert content["org.matrix.msc1767.text"] == (
        "The poll has ended: Lunch?\nPizza: 2 votes ✓\nSoup: 1 vote\n3 people voted."
    )


def test_read_response():
    assert polls.read_response(polls.response_content("$p", ["a1"])) == ("$p", ["a1"])
    assert polls.read_response({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$p"}}) is None
    # A response without a readable answer list still replaces the earlier vote, spoiled.
    assert polls.read_response({"m.relates_to": {"rel_type": "m.reference", "event_id": "$p"}}) == ("$p", [None])


# ----------------------------------------------------------------------------- tally rules

POLL = Poll("Q", (("a1", "A"), ("a2", "B"), ("a3", "C")), 1, True)
MULTI = Poll("Q", (("a1", "A"), ("a2", "B"), ("a3", "C")), 2, True)


def test_latest_response_per_user_wins():
    result = tally(POLL, [Response("@a:x", 10, ["a1"]), Response("@a:x", 20, ["a2"]), Response("@b:x", 5, ["a2"])])
    assert result.counts == {"a1": 0, "a2": 2, "a3": 0}
    assert result.voters == 2


def test_latest_by_timestamp_not_arrival():
    result = tally(POLL, [Response("@a:x", 20, ["a2"], order=1), Response("@a:x", 10, ["a1"], order=2)])
    assert result.counts["a2"] == 1 and result.counts["a1"] == 0


def test_timestamp_tie_broken_by_event_order():
    result = tally(POLL, [Response("@a:x", 10, ["a2"], order=2), Response("@a:x", 10, ["a1"], order=1)])
    assert result.ballots == {"@a:x": ("a2",)}


def test_unknown_answer_spoils_and_replaces_earlier_vote():
    result = tally(POLL, [Response("@a:x", 1, ["a1"]), Response("@a:x", 2, ["nope"])])
    assert result.counts == {"a1": 0, "a2": 0, "a3": 0}
    assert result.voters == 0 and result.spoiled == 1


def test_non_string_answer_spoils():
    assert tally(POLL, [Response("@a:x", 1, [7])]).spoiled == 1
    assert tally(POLL, [Response("@a:x", 1, [None])]).spoiled == 1


def test_too_many_selections_truncated_not_spoiled():
    # MSC3381: "Clients must truncate this array to max_selections during processing."
    result = tally(MULTI, [Response("@a:x", 1, ["a3", "a1", "a2"])])
    assert result.counts == {"a1": 1, "a2": 0, "a3": 1}
    assert result.spoiled == 0


def test_unknown_answer_beyond_truncation_does_not_spoil():
    assert tally(POLL, [Response("@a:x", 1, ["a2", "bogus"])]).counts["a2"] == 1


def test_repeated_answer_counts_once():
    result = tally(MULTI, [Response("@a:x", 1, ["a1", "a1"])])
    assert result.counts["a1"] == 1


def test_empty_selection_unvotes():
    result = tally(POLL, [Response("@a:x", 1, ["a1"]), Response("@a:x", 2, [])])
    assert result.counts["a1"] == 0 and result.voters == 0 and result.spoiled == 0


def test_responses_after_end_ignored_on_or_before_counted():
    responses = [Response("@a:x", 100, ["a1"]), Response("@b:x", 101, ["a2"]),
                 Response("@c:x", 50, ["a3"]), Response("@c:x", 150, ["a1"])]
    result = tally(POLL, responses, ended_at=100)
    assert result.counts == {"a1": 1, "a2": 0, "a3": 1}


def test_first_valid_end_by_creator_or_redactor():
    mods = {"@mod:x"}
    ends = [EndCandidate("@rando:x", 5), EndCandidate("@mod:x", 30), EndCandidate("@creator:x", 20)]
    assert polls.first_valid_end("@creator:x", ends, mods.__contains__) == EndCandidate("@creator:x", 20)
    assert polls.first_valid_end("@creator:x", ends[:1], mods.__contains__) is None
    assert polls.first_valid_end("@creator:x", ends[:2], mods.__contains__) == EndCandidate("@mod:x", 30)


def test_visible_counts_hidden_for_open_undisclosed_poll():
    view = PollView("$p", "!r", None, "Q", [("a1", "A")], {"a1": 3}, 3, False, False, 1, 0.0)
    assert view.visible_counts() is None
    assert PollView(**{**view.__dict__, "closed": True}).visible_counts() == {"a1": 3}
    assert PollView(**{**view.__dict__, "disclosed": True}).visible_counts() == {"a1": 3}


# ----------------------------------------------------------------------------- properties

SENDERS = [f"@u{n}:x" for n in range(6)]
ANSWER = st.sampled_from(["a1", "a2", "a3", "zz"])
RESPONSES = st.lists(
    st.builds(Response, sender=st.sampled_from(SENDERS), ts=st.integers(0, 50),
              answers=st.lists(ANSWER, max_size=4)),
    max_size=30,
)


def numbered(responses):
    return [Response(r.sender, r.ts, r.answers, order=i) for i, r in enumerate(responses)]


@settings(max_examples=200)
@given(responses=RESPONSES, seed=st.integers(), max_sel=st.integers(1, 3))
def test_tally_invariant_under_reordering(responses, seed, max_sel):
    poll = Poll("Q", POLL.answers, max_sel, True)
    events = numbered(responses)
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    assert tally(poll, events) == tally(poll, shuffled)


@settings(max_examples=200)
@given(responses=RESPONSES, max_sel=st.integers(1, 3), end=st.one_of(st.none(), st.integers(0, 50)))
def test_total_counted_bounded_by_voters_times_max(responses, max_sel, end):
    poll = Poll("Q", POLL.answers, max_sel, True)
    result = tally(poll, numbered(responses), ended_at=end)
    assert sum(result.counts.values()) <= result.voters * max_sel
    assert result.voters + result.spoiled <= len({r.sender for r in responses})
    assert all(count <= result.voters for count in result.counts.values())


@settings(max_examples=200)
@given(responses=RESPONSES, sender=st.sampled_from(SENDERS))
def test_unvote_removes_that_users_vote(responses, sender):
    events = numbered(responses)
    last_ts = max((r.ts for r in events), default=0)
    before = tally(POLL, events)
    after = tally(POLL, events + [Response(sender, last_ts + 1, [], order=len(events))])
    assert sender not in after.ballots
    removed = before.ballots.get(sender, ())
    for answer_id in before.counts:
        assert after.counts[answer_id] == before.counts[answer_id] - (answer_id in removed)


@settings(max_examples=200)
@given(responses=RESPONSES, end=st.integers(0, 50))
def test_late_responses_change_nothing(responses, end):
    events = numbered(responses)
    on_time = [r for r in events if r.ts <= end]
    assert tally(POLL, events, ended_at=end) == tally(POLL, on_time, ended_at=end)


# ----------------------------------------------------------------------------- store


@pytest.fixture
def store():
    from bot.store.polls import PollStore
    from bot.store.schema import open_database

    return PollStore(open_database(":memory:"))


def start(question="Q", options=("A", "B", "C"), multi=1, disclosed=True):
    return polls.start_content(PollSpec(question, tuple(options), multi, disclosed))


def test_store_tallies_recorded_responses_and_ignores_replays(store):
    store.add_poll("$p", "!room", "@bot:x", start(), 1000, conference="c", track_id="main")
    assert store.add_response("$r1", "$p", "@a:x", 1100, ["a1"])
    assert not store.add_response("$r1", "$p", "@a:x", 1100, ["a1"])  # replayed event
    store.add_response("$r2", "$p", "@b:x", 1200, ["a2"])
    store.add_response("$r3", "$p", "@a:x", 1300, ["a2"])  # changed vote
    assert store.tally("$p").counts == {"a1": 0, "a2": 2, "a3": 0}


def test_store_redacted_response_reverts_vote(store):
    store.add_poll("$p", "!room", "@bot:x", start(), 1000)
    store.add_response("$r1", "$p", "@a:x", 1100, ["a1"])
    store.add_response("$r2", "$p", "@a:x", 1200, ["a3"])
    assert store.remove_response("$r2")
    assert store.tally("$p").ballots == {"@a:x": ("a1",)}


def test_store_close_keeps_earliest_end_and_stores_results(store):
    store.add_poll("$p", "!room", "@bot:x", start(), 1000)
    store.add_response("$r1", "$p", "@a:x", 1100, ["a1"])
    store.add_response("$r2", "$p", "@b:x", 2500, ["a2"])
    store.close("$p", 3000, "$end-late")
    result = store.close("$p", 2000, "$end")
    assert result.counts == {"a1": 1, "a2": 0, "a3": 0}
    store.close("$p", 4000, "$end-later")  # a later end changes nothing
    [exported] = store.export()
    assert exported["ended_at"] == 2000
    assert exported["results"]["counts"] == {"a1": 1, "a2": 0, "a3": 0}
    assert exported["results"]["text"].startswith("The poll has ended: Q")


def test_store_results_follow_responses_read_after_the_close(store):
    store.add_poll("$p", "!room", "@bot:x", start(), 1000)
    store.add_response("$r1", "$p", "@a:x", 1100, ["a1"])
    store.close("$p", 2000, "$end")
    # Sent before the end event, read after it: it counts, and the exported results say so.
    store.add_response("$r2", "$p", "@b:x", 1900, ["a2"])
    store.add_response("$r3", "$p", "@c:x", 2100, ["a2"])  # after the end: ignored
    assert store.export()[0]["results"]["counts"] == {"a1": 1, "a2": 1, "a3": 0}
    store.remove_response("$r1")  # a redaction after the close reverts that vote too
    assert store.export()[0]["results"]["counts"] == {"a1": 0, "a2": 1, "a3": 0}
    store.add_response("$orphan", "$unknown", "@a:x", 1, ["a1"])  # a poll this store never saw


def test_store_for_track_newest_first_with_views(store):
    store.add_poll("$old", "!room", "@bot:x", start("Old?"), 1000, conference="c", track_id="main")
    store.add_poll("$new", "!room", "@bot:x", start("New?", disclosed=False), 5000, conference="c", track_id="main")
    store.add_poll("$other", "!room2", "@bot:x", start("Elsewhere?"), 6000, conference="c", track_id="side")
    # Another conference sharing the data directory, with a track of the same id.
    store.add_poll("$theirs", "!room3", "@bot:x", start("Theirs?"), 7000, conference="d", track_id="main")
    store.add_response("$r", "$new", "@a:x", 5100, ["a2"])
    views = store.for_track("c", "main")
    assert [v.poll_id for v in views] == ["$new", "$old"]
    new = views[0]
    assert (new.question, new.disclosed, new.closed, new.voters, new.started_at) == ("New?", False, False, 1, 5.0)
    assert new.counts == {"a1": 0, "a2": 1, "a3": 0} and new.visible_counts() is None
    store.close("$new", 6000)
    assert store.for_track("c", "main")[0].visible_counts() == {"a1": 0, "a2": 1, "a3": 0}
    assert store.in_room("!room", open_only=True) == ["$old"]
    assert store.for_track("c", "nowhere") == []
    assert [v.poll_id for v in store.for_track("d", "main")] == ["$theirs"]


def test_store_from_before_polls_knew_their_conference_gains_the_column(tmp_path):
    import sqlite_utils

    from bot.store.polls import PollStore
    from bot.store.schema import open_database

    old = sqlite_utils.Database(tmp_path / "old.db")
    old["polls"].create({"poll_id": str, "room_id": str, "track_id": str, "talk_id": str, "creator": str,
                         "content": str, "started_at": int, "ended_at": int, "end_event_id": str, "results": str},
                        pk="poll_id")
    old.close()
    db = open_database(tmp_path / "old.db")
    store = PollStore(db)
    assert "conference" in db["polls"].columns_dict
    store.add_poll("$p", "!room", "@bot:x", start(), 1000, conference="c", track_id="main")
    assert [v.poll_id for v in store.for_track("c", "main")] == ["$p"]
