"""The data directory's schema: one numbered list of upgrades, run when podium.db is opened.

A data directory as Podium 0.1.0 left it (tests/fixtures/datadir-0.1.0.sql, made by that
version's own stores) is upgraded in place and read back through today's stores; a fresh one
starts at the latest version; a file from a newer Podium is refused with what to do; an upgrade
that fails leaves the file as it was.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bot import SAMPLE_SCHEDULE
from bot.cli import main
from bot.store.announcements import SENT, AnnouncementStore
from bot.store.bookings import BookingStore, bookings_in
from bot.store.budget import ReplyBudgetStore
from bot.store.database import DATABASE, Store
from bot.store.delays import DelayStore, delays_in
from bot.store.direct import DirectRoomStore
from bot.store.invitations import InvitationStore
from bot.store.jobs import JobStore
from bot.store.modcalls import ModCallStore
from bot.store.polls import PollStore
from bot.store.questions import QuestionStore
from bot.store.schema import UPGRADES, VERSION, NewerDatabase, open_database, upgrade, version
from bot.store.swag import SwagStore
from bot.store.ticketcodes import TicketCodeStore
from bot.store.tickets import TicketStore
from bot.store.transitions import TransitionStore

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datadir-0.1.0.sql"
CONF = "ep2026"
ACCOUNT = Store.account("@podium:example.org", "https://matrix.example.org/")


def podium_0_1_0(data_dir: Path) -> Path:
    """A data directory whose podium.db is the one Podium 0.1.0 left."""
    data_dir.mkdir(parents=True)
    path = data_dir / DATABASE
    with sqlite3.connect(path) as db:
        db.executescript(FIXTURE.read_text())
    return path


def schema_of(path: Path) -> set[tuple[str, str, str | None]]:
    """(type, name, statement) of everything in the file, the statements with their spacing
    and identifier quotes normalised (a statement keeps the text that made it)."""
    def normal(sql: str | None) -> str | None:
        if sql is None:
            return None
        sql = re.sub(r"\s+", " ", sql.replace('"', ""))
        return re.sub(r"\s*([(),])\s*", r"\1", sql).strip()

    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    return {(kind, name, normal(sql)) for kind, name, sql in rows}


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return version(db)


def test_a_data_directory_from_podium_0_1_0_is_upgraded_in_place_with_every_row(tmp_path):
    path = podium_0_1_0(tmp_path / "data")
    assert user_version(path) == 0

    store = Store(tmp_path / "data")
    db = store.db
    assert version(db.conn) == VERSION
    assert store.load_snapshot(ACCOUNT).creators == {"!track:example.org": "@podium:example.org"}
    assert store.load_sync_token(ACCOUNT) == "s99_7"
    assert store.is_handled("$handled:example.org")
    assert store.unanswered_creates(ACCOUNT) == {"#ep2026-forum:example.org"}

    deliveries = AnnouncementStore(db).deliveries("$announce:example.org")
    assert [(d.room_key, d.state, d.posted_event_id) for d in deliveries] == [
        ("track/forum", SENT, "$posted:example.org"), ("track/hall", "due", None)]
    bookings = BookingStore(db)
    assert [(b.title, b.room, b.cancelled_at is None) for b in bookings.all(CONF)] == [
        ("Rust meetup", "room-a", True), ("Knitting", "room-b", False)]
    assert ReplyBudgetStore(db).verdict("$cmd:example.org") == ("ok", 4.0, 4_000_000_000.0, False)
    assert DelayStore(db).all(CONF) == {"forum": 10}
    direct = DirectRoomStore(db)
    assert direct.room_of("@ada:example.org") == "!dm-ada:example.org"
    assert direct.welcome(CONF, "@ada:example.org", "$join:example.org", 1.0), "the same join's welcome"
    assert InvitationStore(db).done(CONF) == {"@ada:example.org"}
    assert InvitationStore(db).state(CONF, "@eve:example.org") == "not-found"
    assert [(j.number, j.title, j.announced_event_id) for j in JobStore(db).listed(CONF, "acme")] == [
        (1, "Rust developer", "$jobpost:example.org")]
    assert ModCallStore(db).made("$mod:example.org")
    polls = PollStore(db)
    [poll] = polls.in_conference(CONF)
    assert (poll.question, poll.closed, sum(poll.counts.values())) == ("Tabs or spaces?", True, 1)
    assert polls.export()[0]["results"]["voters"] == 1
    questions = QuestionStore(db)
    [question] = questions.in_conference(CONF)
    assert (question.text, question.votes, question.pinned, question.event_id) == (
        "How does it scale?", 1, True, "$askpost:example.org")  # the asker's vote of old is not counted
    assert questions.session(CONF, "forum") == ("open", "talk-1")
    swag = SwagStore(db)
    assert swag.held(CONF, "acme", "@ada:example.org").code == "CODE-1"
    assert swag.counts(CONF, "acme") == (1, 2)
    codes = TicketCodeStore(db)
    assert codes.count(CONF) == (2, 1)
    assert codes.wrong_since(CONF, "@eve:example.org", 0, besides="$other") == [1_780_000_122.0]
    ticket = TicketStore(db).get(CONF, 1)
    assert (ticket.text, ticket.state, ticket.claimer) == ("My audio is gone", "claimed", "@staff:example.org")
    transitions = TransitionStore(db)
    assert transitions.done(CONF) == {"talk-1/start/1780003600"}
    assert transitions.checked_in(CONF, "talk-1") == {"@speaker:example.org"}

    # Writing carries on where 0.1.0 stopped: numbers and ids are not given twice.
    again = bookings.book(CONF, slot_start=1_780_010_000.0, slot_end=1_780_013_600.0, rooms=["room-a"],
                          booker="@cy:example.org", booker_name="Cy", title="Chess", now=1_780_000_200.0,
                          source_event_id="$book3:example.org")
    assert again is not None and again.id == 3
    store.close()

    assert schema_of(path) == schema_of(fresh(tmp_path / "fresh"))


def fresh(data_dir: Path) -> Path:
    Store(data_dir).close()
    return data_dir / DATABASE


def test_a_fresh_data_directory_gets_the_latest_version_and_opening_again_changes_nothing(tmp_path):
    path = fresh(tmp_path / "data")
    assert user_version(path) == VERSION
    before = schema_of(path)
    with sqlite3.connect(path) as watcher:
        changes = watcher.execute("PRAGMA data_version").fetchone()[0]
        Store(tmp_path / "data").close()
        assert watcher.execute("PRAGMA data_version").fetchone()[0] == changes, "nothing was written"
    assert user_version(path) == VERSION
    assert schema_of(path) == before


def test_a_store_from_a_newer_podium_is_refused_with_what_to_do(tmp_path):
    path = fresh(tmp_path / "data")
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {VERSION + 1}")

    with pytest.raises(NewerDatabase) as refused:
        Store(tmp_path / "data")
    message = str(refused.value)
    assert str(path) in message and "newer Podium" in message and "--data-dir" in message
    with pytest.raises(NewerDatabase):  # reading without writing refuses it too
        delays_in(path, CONF)
    assert user_version(path) == VERSION + 1, "the file is left as it is"


def test_the_command_line_says_so_without_a_traceback(tmp_path, capsys):
    path = fresh(tmp_path / "data")
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {VERSION + 1}")

    code = main(["export", "archive", str(tmp_path / "out"), "--schedule", str(SAMPLE_SCHEDULE),
                 "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("podium: error: ") and "newer Podium" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_reading_without_writing_reads_a_0_1_0_store_as_it_is(tmp_path):
    path = podium_0_1_0(tmp_path / "data")
    assert delays_in(path, CONF) == {"forum": 10}
    assert [b.title for b in bookings_in(path, CONF)] == ["Rust meetup"]
    assert user_version(path) == 0, "a reader does not upgrade"


def test_an_upgrade_that_fails_leaves_the_store_at_the_version_before(tmp_path):
    path = fresh(tmp_path / "data")

    def half_done(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE made_halfway (x TEXT)")
        db.execute("INSERT INTO qa_sessions (conference, track_id, state) VALUES ('c', 't', 'open')")
        raise sqlite3.OperationalError("disk I/O error")

    db = open_database(path)
    with pytest.raises(sqlite3.OperationalError):
        upgrade(db.conn, path, [*UPGRADES, half_done])
    db.close()

    assert user_version(path) == VERSION
    assert schema_of(path) == schema_of(fresh(tmp_path / "fresh"))
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT COUNT(*) FROM qa_sessions").fetchone()[0] == 0
