"""QuestionStore over a real SQLite file: numbering, votes keyed by event, idempotent writes,
a second connection (as the web server opens) seeing every commit at once, and a store from
before a person could hold two votes migrated with its votes."""

from __future__ import annotations

from bot.store.questions import VOTES, QuestionStore
from bot.store.schema import open_database


def ask(store: QuestionStore, source: str, text: str, *, asker: str = "@alice:x", track: str = "forum",
        talk: str | None = "t1", at: float = 100.0, conference: str = "conf"):
    return store.add(conference=conference, room_id="!room:x", track_id=track, talk_id=talk, asker=asker,
                     asker_name=asker[1:].split(":")[0].title(), text=text, asked_at=at, source_event_id=source)


def test_numbers_per_conference_and_asking_twice_is_one_question(tmp_path):
    store = QuestionStore(open_database(tmp_path / "podium.db"))
    q1 = ask(store, "$a", "First?")
    q2 = ask(store, "$b", "Second?", asker="@bob:x")
    other = ask(store, "$c", "Elsewhere?", conference="other")
    assert (q1.number, q2.number, other.number) == (1, 2, 1)
    again = ask(store, "$a", "First?")
    assert again == q1 and q1.votes == 0, "asking is no vote"
    assert store.by_source("$b") == ("conf", q2)
    assert sorted(q.number for q in store.for_track("conf", "forum")) == [1, 2]
    assert [q.number for q in store.for_track("other", "forum")] == [1], "another conference's track of the same id"


def test_votes_one_per_user_withdrawn_by_their_event(tmp_path):
    store = QuestionStore(open_database(tmp_path / "podium.db"))
    q = ask(store, "$a", "First?")
    store.set_post("conf", q.number, "$post")
    assert store.by_post("$post")[1].number == q.number
    assert store.vote("$r1", "conf", q.number, "@bob:x", 101)
    assert not store.vote("$r2", "conf", q.number, "@bob:x", 102), "one vote per user"
    assert store.vote("$r3", "conf", q.number, "@alice:x", 103), "the asker's own 👍 is a vote like any"
    assert store.get("conf", q.number).votes == 2
    assert store.withdraw("$nothing") is None, "a reaction that was no vote withdraws nothing"
    assert store.withdraw("$r1") == ("conf", q.number)
    assert store.withdraw("$r2") == ("conf", q.number)
    assert store.get("conf", q.number).votes == 1


def test_ranking_states_pins_and_live_reads_from_a_second_connection(tmp_path):
    path = tmp_path / "podium.db"
    store = QuestionStore(open_database(path))
    web = QuestionStore(open_database(path))  # the web server's own connection
    version = web.db.execute("PRAGMA data_version").fetchone()[0]
    q1, q2, q3 = (ask(store, f"${n}", f"Question {n}?", at=100 + n) for n in range(3))
    store.vote("$v", "conf", q3.number, "@bob:x", 200)
    assert web.db.execute("PRAGMA data_version").fetchone()[0] != version, "committed, not held open"
    assert [q.number for q in web.for_track("conf", "forum")] == [3, 1, 2]
    store.set_pinned("conf", q2.number, True)
    store.set_pinned("conf", q1.number, True)
    assert [q.number for q in web.for_track("conf", "forum")] == [1, 3, 2], "pinning replaces the last pin"
    store.set_state("conf", q3.number, "hidden")
    store.set_state("conf", q1.number, "answered")
    assert [q.number for q in web.for_track("conf", "forum")] == [1, 2]
    assert [q.number for q in web.for_track("conf", "forum", include_hidden=True)] == [1, 3, 2]
    assert web.for_track("conf", "forum")[0].state == "answered"
    assert [q.number for q in store.for_talk("conf", "forum", "t1")] == [1, 2]
    assert store.for_talk("conf", "forum", None) == []


def test_sessions_and_rate_inputs(tmp_path):
    store = QuestionStore(open_database(tmp_path / "podium.db"))
    assert store.session("conf", "forum") is None
    store.set_session("conf", "forum", "closed", "t1")
    assert store.session("conf", "forum") == ("closed", "t1")
    store.set_session("conf", "forum", "open", None)
    assert store.session("conf", "forum") == ("open", None)
    ask(store, "$a", "One?", at=10)
    ask(store, "$b", "Two?", at=50)
    assert store.asked_times("conf", "@alice:x", since=20) == [50]


def test_a_person_with_two_votes_counts_once_while_either_stays(tmp_path):
    store = QuestionStore(open_database(tmp_path / "podium.db"))
    q = ask(store, "$a", "First?")
    assert store.vote("$thumb", "conf", q.number, "@bob:x", 101)
    assert not store.vote("$thumb-medium", "conf", q.number, "@bob:x", 102), "bob had voted already"
    assert store.get("conf", q.number).votes == 1
    assert store.withdraw("$thumb") == ("conf", q.number)
    assert store.get("conf", q.number).votes == 1, "bob's 👍🏽 still stands"
    assert store.withdraw("$thumb-medium") == ("conf", q.number)
    assert store.get("conf", q.number).votes == 0, "now bob has withdrawn both"
    assert store.vote("$own", "conf", q.number, "@alice:x", 103), "the asker's 👍 counts as anyone's"
    store.withdraw("$own")
    assert store.get("conf", q.number).votes == 0
    assert store.vote("$thumb", "conf", q.number, "@bob:x", 104), "a vote again after withdrawing every one"


def test_a_store_from_before_keeps_its_votes_and_takes_a_second_one(tmp_path):
    path = tmp_path / "podium.db"
    old = open_database(path)
    ask(QuestionStore(old), "$a", "First?")
    with old.conn:
        old.execute("PRAGMA user_version = 0")  # as stores left it before the schema had a version
        # The votes table as stores before this one made it: one vote per person, enforced.
        old.execute(f"DROP TABLE {VOTES}")
        old.execute(f"""CREATE TABLE {VOTES} (
            key TEXT PRIMARY KEY, conference TEXT NOT NULL, number INTEGER NOT NULL,
            user TEXT NOT NULL, at REAL NOT NULL, UNIQUE (conference, number, user))""")
        old.execute(f"INSERT INTO {VOTES} VALUES ('ask:$a', 'conf', 1, '@alice:x', 100), "
                    f"('$bob', 'conf', 1, '@bob:x', 101), ('$carol', 'conf', 1, '@carol:x', 102)")
    old.close()

    store = QuestionStore(open_database(path))
    web = QuestionStore(open_database(path))  # opened again: nothing left to migrate
    assert store.get("conf", 1).votes == 2, "the votes from before are kept; asking was no vote"
    assert store.vote("$bob-medium", "conf", 1, "@bob:x", 103) is False, "bob had voted already"
    store.withdraw("$bob")
    assert web.get("conf", 1).votes == 2, "bob's second reaction holds his vote"
    assert {r[0] for r in store.db.execute(f"SELECT key FROM {VOTES}")} == {"ask:$a", "$carol", "$bob-medium"}
    assert ask(store, "$b", "Second?").number == 2, "numbering carries on"
