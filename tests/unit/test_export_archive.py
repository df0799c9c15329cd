"""``podium export archive``: the questions and poll results a bot kept, as JSON and CSV files.

The data directory is filled through the Q&A and poll stores, as the bot fills it, and every row
of every file is compared with what those stores answer.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot import SAMPLE_SCHEDULE
from bot.cli import main
from bot.conference.polls import PollSpec, answer_ids, start_content
from bot.conference.qa import ANSWERED, HIDDEN
from bot.conference.schedule import load_schedule
from bot.store.database import DATABASE, Store
from bot.store.polls import PollStore
from bot.store.questions import QuestionStore
from bridges.archive import csv_text, moment

SAMPLE = load_schedule(SAMPLE_SCHEDULE)
CONF = SAMPLE.conference.id
ASKED_AT = 1_783_930_000.0  # Monday 13 July 2026, in the morning
ODD = 'Will the slides, "all of them", be shared; and where? Ünïcode ✓'
FORMULA = "=HYPERLINK(\"https://evil.example\",\"click\")"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Questions on two talks and between talks, one of them in another conference; a closed
    poll and an open secret one."""
    store = Store(tmp_path / "data")
    questions, polls = QuestionStore(store.db), PollStore(store.db)

    def ask(talk: str | None, track: str, text: str, asker: str, n: int) -> int:
        return questions.add(conference=CONF, room_id="!forum:example.org", track_id=track, talk_id=talk,
                             asker=asker, asker_name=asker[1:].split(":")[0].title(), text=text,
                             asked_at=ASKED_AT + n, source_event_id=f"$ask{n}").number

    first = ask("typing-in-practice", "forum", ODD, "@ana:example.org", 1)
    second = ask("typing-in-practice", "forum", FORMULA, "@bo:example.org", 2)
    third = ask("asyncio-patterns", "forum", "Which event loop do you use?", "@cy:example.org", 3)
    ask(None, "forum", "Is there a break before the next talk?", "@ana:example.org", 4)
    questions.add(conference="other", room_id="!x:example.org", track_id="main", talk_id=None,
                  asker="@zed:example.org", asker_name="Zed", text="Not this conference", asked_at=ASKED_AT,
                  source_event_id="$other")
    for n, voter in enumerate(["@bo:example.org", "@cy:example.org", "@di:example.org"]):
        questions.vote(f"$vote{n}", CONF, first, voter, ASKED_AT + 10 + n)
    questions.vote("$vote9", CONF, second, "@cy:example.org", ASKED_AT + 20)
    questions.set_state(CONF, first, ANSWERED)
    questions.set_state(CONF, second, HIDDEN)
    questions.set_pinned(CONF, third, True)

    lunch = start_content(PollSpec("Lunch?", ("Pizza", "Soup, hot", "Salad"), 1, True))
    polls.add_poll("$lunch", "!forum:example.org", "@chair:example.org", lunch, int(ASKED_AT * 1000),
                   conference=CONF, track_id="forum", talk_id="typing-in-practice")
    pizza, soup, _salad = answer_ids(3)
    for n, (voter, answer) in enumerate([("@ana", pizza), ("@bo", soup), ("@cy", soup)]):
        polls.add_response(f"$r{n}", "$lunch", f"{voter}:example.org", int(ASKED_AT * 1000) + 100 + n, [answer])
    polls.close("$lunch", int(ASKED_AT * 1000) + 1000, "$end")
    secret = start_content(PollSpec("Tabs or spaces?", ("Tabs", "Spaces"), 1, False))
    polls.add_poll("$secret", "!south:example.org", "@chair:example.org", secret, int(ASKED_AT * 1000) + 2000,
                   conference=CONF, track_id="south")
    polls.add_response("$r9", "$secret", "@ana:example.org", int(ASKED_AT * 1000) + 2100, [answer_ids(2)[1]])
    store.close()
    return tmp_path / "data"


def archive(out: Path, data_dir: Path, *args: str) -> int:
    return main(["export", "archive", str(out), "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(data_dir),
                 *args])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def stored(data_dir: Path):
    """The stores as the bot reads them."""
    store = Store(data_dir)
    return store, QuestionStore(store.db), PollStore(store.db)


def cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else csv_text(value) if isinstance(value, str) else str(value)


def test_every_question_row_matches_the_store(tmp_path, data_dir, capsys):
    before = (data_dir / DATABASE).read_bytes()
    assert archive(tmp_path / "out", data_dir) == 0
    said = capsys.readouterr().out
    assert "4 questions, 2 polls" in said and str(tmp_path / "out" / "questions.csv") in said
    assert (data_dir / DATABASE).read_bytes() == before, "the export only reads"
    rows = read_csv(tmp_path / "out" / "questions.csv")
    store, questions, _polls = stored(data_dir)
    titles = {t.id: t.title for t in SAMPLE.talks}
    try:
        assert len(rows) == 4
        for row in rows:
            q = questions.get(CONF, int(row["number"]))
            assert row == {
                "track": q.track_id, "talk": cell(q.talk_id), "talk_title": cell(titles.get(q.talk_id)),
                "number": str(q.number), "text": cell(q.text), "votes": str(q.votes),
                "answered": cell(q.state == ANSWERED), "hidden": cell(q.state == HIDDEN), "pinned": cell(q.pinned),
                "asked_at": moment(q.asked_at),
            }
    finally:
        store.close()
    # By talk in programme order, most votes first; between talks last.
    assert [(r["talk"], r["votes"]) for r in rows] == [
        ("typing-in-practice", "3"), ("typing-in-practice", "1"), ("asyncio-patterns", "0"), ("", "0")]
    assert rows[0]["text"] == ODD and rows[0]["answered"] == "true"
    assert rows[1]["text"] == "'" + FORMULA and rows[1]["hidden"] == "true"  # no formula runs in a spreadsheet


def test_the_json_holds_the_same_questions_by_talk(tmp_path, data_dir):
    assert archive(tmp_path / "out", data_dir) == 0
    document = json.loads((tmp_path / "out" / "questions.json").read_text(encoding="utf-8"))
    assert document["conference"] == {"id": CONF, "name": SAMPLE.conference.name}
    store, questions, _polls = stored(data_dir)
    try:
        for group in document["talks"]:
            for entry in group["questions"]:
                q = questions.get(CONF, entry["number"])
                assert (group["track"], group["talk"]) == (q.track_id, q.talk_id)
                assert entry == {"number": q.number, "text": q.text, "votes": q.votes,
                                 "answered": q.state == ANSWERED, "hidden": q.state == HIDDEN,
                                 "pinned": q.pinned, "asked_at": moment(q.asked_at)}
    finally:
        store.close()
    assert [(g["talk"], g["title"], len(g["questions"])) for g in document["talks"]] == [
        ("typing-in-practice", "Gradual typing in a million-line codebase", 2),
        ("asyncio-patterns", "asyncio patterns that survive production", 1), (None, None, 1)]
    assert document["talks"][0]["start"] == "2026-07-13T08:00:00Z"


def test_askers_only_when_asked_for(tmp_path, data_dir):
    assert archive(tmp_path / "plain", data_dir) == 0
    for name in ("questions.csv", "questions.json", "polls.csv", "polls.json"):
        text = (tmp_path / "plain" / name).read_text(encoding="utf-8")
        assert "@ana:example.org" not in text and "Ana" not in text
    assert archive(tmp_path / "named", data_dir, "--with-askers") == 0
    rows = read_csv(tmp_path / "named" / "questions.csv")
    assert next((r["asker"], r["asker_name"]) for r in rows) == ("'@ana:example.org", "Ana")
    document = json.loads((tmp_path / "named" / "questions.json").read_text(encoding="utf-8"))
    assert document["talks"][0]["questions"][0]["asker"] == "@ana:example.org"


def test_every_poll_option_row_matches_the_store(tmp_path, data_dir):
    assert archive(tmp_path / "out", data_dir) == 0
    rows = read_csv(tmp_path / "out" / "polls.csv")
    document = json.loads((tmp_path / "out" / "polls.json").read_text(encoding="utf-8"))
    store, _questions, polls = stored(data_dir)
    try:
        expected = []
        for poll_id in ("$lunch", "$secret"):
            poll, tally, view = polls.poll(poll_id), polls.tally(poll_id), polls.view(poll_id)
            for answer_id, text in poll.answers:
                expected.append({
                    "poll": poll_id, "track": view.track_id, "talk": cell(view.talk_id), "question": poll.question,
                    "secret": cell(not poll.disclosed), "max_selections": str(poll.max_selections),
                    "closed": cell(view.closed), "started_at": moment(view.started_at),
                    "ended_at": cell(moment(view.ended_at)), "voters": str(tally.voters), "option": answer_id,
                    "option_text": text, "votes": str(tally.counts[answer_id])})
        assert rows == expected
        [lunch] = [p for p in polls.export() if p["poll_id"] == "$lunch"]
        assert {o["option"]: o["votes"] for o in document["polls"][0]["options"]} == lunch["results"]["counts"]
    finally:
        store.close()
    assert [(r["option_text"], r["votes"], r["closed"]) for r in rows] == [
        ("Pizza", "1", "true"), ("Soup, hot", "2", "true"), ("Salad", "0", "true"),
        ("Tabs", "0", "false"), ("Spaces", "1", "false")]
    assert document["polls"][1]["secret"] and document["polls"][1]["ended_at"] is None


def test_existing_files_are_kept_unless_forced(tmp_path, data_dir, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "polls.csv").write_text("mine\n")
    assert archive(out, data_dir) == 1
    err = capsys.readouterr().err
    assert f"{out / 'polls.csv'} already exists; nothing was written" in err and "--force" in err
    assert sorted(p.name for p in out.iterdir()) == ["polls.csv"] and (out / "polls.csv").read_text() == "mine\n"
    assert archive(out, data_dir, "--force") == 0
    assert read_csv(out / "polls.csv")[0]["option_text"] == "Pizza"
    assert sorted(p.name for p in out.iterdir()) == ["polls.csv", "polls.json", "questions.csv", "questions.json"]


def test_a_data_directory_without_a_store_is_a_clear_error(tmp_path, capsys):
    assert archive(tmp_path / "out", tmp_path / "missing") == 1
    assert "--data-dir" in capsys.readouterr().err and not (tmp_path / "out").exists()
    (tmp_path / "empty").mkdir()
    assert archive(tmp_path / "out", tmp_path / "empty") == 1
    err = capsys.readouterr().err
    assert f"holds no {DATABASE}" in err and "Traceback" not in err
    Store(tmp_path / "empty" / "demo").close()
    assert archive(tmp_path / "out", tmp_path / "empty") == 1
    assert f"({tmp_path / 'empty' / 'demo'} holds one)" in capsys.readouterr().err
    (tmp_path / "empty" / DATABASE).write_text("not a database")
    assert archive(tmp_path / "out", tmp_path / "empty") == 1
    err = capsys.readouterr().err
    assert "cannot read it" in err and "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_store_of_a_bot_that_took_no_questions_exports_empty_files(tmp_path, capsys):
    Store(tmp_path / "data").close()  # what `podium apply` leaves: no Q&A or poll tables yet
    assert archive(tmp_path / "out", tmp_path / "data") == 0
    assert "0 questions, 0 polls" in capsys.readouterr().out
    assert read_csv(tmp_path / "out" / "questions.csv") == []
    assert json.loads((tmp_path / "out" / "polls.json").read_text())["polls"] == []


def test_a_file_where_the_directory_should_be_is_a_clear_error(tmp_path, data_dir, capsys):
    (tmp_path / "report").write_text("notes")
    assert archive(tmp_path / "report", data_dir) == 1
    assert f"{tmp_path / 'report'} is a file, not a directory" in capsys.readouterr().err
    assert (tmp_path / "report").read_text() == "notes"


def test_the_archive_reads_a_store_the_running_bot_holds_open(tmp_path, data_dir):
    store = Store(data_dir)  # as `podium run` holds it: WAL mode, the newest writes not yet in podium.db
    try:
        QuestionStore(store.db).add(conference=CONF, room_id="!r:example.org", track_id="south", talk_id=None,
                                    asker="@eve:example.org", asker_name="Eve", text="Asked just now",
                                    asked_at=ASKED_AT + 99, source_event_id="$now")
        assert (data_dir / f"{DATABASE}-wal").stat().st_size > 0
        assert archive(tmp_path / "out", data_dir) == 0
    finally:
        store.close()
    assert "Asked just now" in [r["text"] for r in read_csv(tmp_path / "out" / "questions.csv")]
