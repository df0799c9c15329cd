"""The tables of a data directory's database (podium.db), as one numbered list of upgrades.

Upgrade N takes the database from schema version N-1 to N; the version is kept in the file's
own header (``PRAGMA user_version``; 0 in a new file). Opening the database read-write
(``open_database``) runs every upgrade the file has not had yet, each in one transaction that
also records its number, so a stop or a failure halfway leaves the file at the version before,
whole, and the next opening tries that upgrade again. The stores only read and write rows: none
of them makes a table.

Upgrade 1 is the schema Podium 0.1.0 made table by table as each store opened, before there was
a version. It adopts such a file: every statement in it only makes what is not there yet, and
it mends the two older shapes 0.1.0 still mended (polls without their conference, and votes
limited to one per person), so the file gets version 1 with every row where it was.

Upgrade 2 marks how each ticket code's digest was made (``_keyed_ticket_codes``).

Upgrade 5 keeps whom provisioning invited into a room as a speaker (``_speaker_invites``).

Upgrade 6 keeps the transactions an application service's homeserver pushed and the bot handled
(``_pushed_transactions``).

Upgrade 7 keeps the rate limits ``podium apply`` met on a homeserver (``_homeserver_limits``).

Upgrade 8 keeps the events of pushed transactions until they are handled (``_pushed_events``).

A file with a higher version than ``VERSION`` was written by a newer Podium, whose tables this
one cannot know: ``NewerDatabase`` refuses it, for reading and for writing alike, with what to do.

Reading without writing (``check_readable``: the export while the bot runs) never upgrades. It
reads a file of an older version as that version left it: what an older Podium had not made
yet reads as nothing, and a table must keep every column such a reader reads.

To add a table, a column or an index: append an upgrade to ``UPGRADES`` (the next number) and
leave the ones before it exactly as they are: they are what every existing file went through.
Write its statements out in full, without the stores' names for their tables, so a store that
renames a constant later does not rewrite history. SQLite changes a column only by copying its
table (see ``_one_vote_each_person``). Nothing else changes: ``VERSION`` is the length of the list.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils


class NewerDatabase(Exception):
    """The file's schema version is higher than this Podium knows."""


Upgrade = Callable[[sqlite3.Connection], None]


def _podium_0_1_0(db: sqlite3.Connection) -> None:
    """Every table Podium 0.1.0 made, with their indexes; what is there already is kept."""
    for statement in _TABLES_0_1_0:
        db.execute(statement)
    columns = {row[1] for row in db.execute("PRAGMA table_info(polls)")}
    if "conference" not in columns:  # polls from before they knew their conference
        db.execute('ALTER TABLE "polls" ADD COLUMN "conference" TEXT')
    _one_vote_each_person(db)
    for statement in _INDEXES_0_1_0:
        db.execute(statement)


_TABLES_0_1_0 = [
    # The provisioning snapshot and the running bot's place (database.Store).
    """CREATE TABLE IF NOT EXISTS "snapshots" ("account" TEXT PRIMARY KEY, "snapshot" TEXT)""",
    """CREATE TABLE IF NOT EXISTS "sync_tokens" ("account" TEXT PRIMARY KEY, "since" TEXT)""",
    """CREATE TABLE IF NOT EXISTS "handled_events" ("event_id" TEXT PRIMARY KEY, "handled_at" REAL)""",
    """CREATE TABLE IF NOT EXISTS "unanswered_creates" (
        "account" TEXT, "alias" TEXT, "sent_at" REAL, PRIMARY KEY ("account", "alias"))""",
    """CREATE TABLE IF NOT EXISTS announcements (
        event_id TEXT PRIMARY KEY, conference TEXT NOT NULL, sender TEXT NOT NULL,
        selector TEXT NOT NULL, text TEXT NOT NULL, made_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS announcement_rooms (
        event_id TEXT NOT NULL, position INTEGER NOT NULL, room_key TEXT NOT NULL, room_id TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'due', posted_event_id TEXT,
        PRIMARY KEY (event_id, room_key))""",
    """CREATE TABLE IF NOT EXISTS open_space_bookings (
        id INTEGER PRIMARY KEY AUTOINCREMENT, conference TEXT NOT NULL,
        slot_start REAL NOT NULL, slot_end REAL NOT NULL, room TEXT NOT NULL,
        booker TEXT NOT NULL, booker_name TEXT NOT NULL, title TEXT NOT NULL, booked_at REAL NOT NULL,
        source_event_id TEXT NOT NULL UNIQUE,
        cancelled_at REAL, cancel_event_id TEXT UNIQUE, canceller_name TEXT)""",
    """CREATE TABLE IF NOT EXISTS reply_budget (
        event_id TEXT PRIMARY KEY, sender TEXT NOT NULL, verdict TEXT NOT NULL,
        tokens REAL NOT NULL, at REAL NOT NULL, warned INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS track_delays (
        conference TEXT NOT NULL, track_id TEXT NOT NULL, minutes INTEGER NOT NULL,
        set_by TEXT NOT NULL, set_at REAL NOT NULL,
        PRIMARY KEY (conference, track_id))""",
    """CREATE TABLE IF NOT EXISTS direct_rooms (
        user_id TEXT PRIMARY KEY, room_id TEXT NOT NULL, at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS welcomes (
        conference TEXT NOT NULL, user_id TEXT NOT NULL, event_id TEXT NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (conference, user_id))""",
    """CREATE TABLE IF NOT EXISTS space_invitations (
        conference TEXT NOT NULL, user_id TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
        at REAL NOT NULL, PRIMARY KEY (conference, user_id))""",
    """CREATE TABLE IF NOT EXISTS sponsor_jobs (
        conference TEXT NOT NULL, sponsor TEXT NOT NULL, number INTEGER NOT NULL,
        title TEXT NOT NULL, url TEXT NOT NULL, posted_by TEXT NOT NULL, posted_at REAL NOT NULL,
        source_event_id TEXT NOT NULL UNIQUE, announced_event_id TEXT, removal_event_id TEXT,
        PRIMARY KEY (conference, sponsor, number))""",
    """CREATE TABLE IF NOT EXISTS mod_calls (
        event_id TEXT PRIMARY KEY, conference TEXT NOT NULL, room_id TEXT NOT NULL,
        sender TEXT NOT NULL, at REAL NOT NULL)""",
    # A poll is its start event (``content``, JSON) and, once closed, the end event's time and
    # the results written then (JSON); ``conference`` is the one whose room it is in.
    """CREATE TABLE IF NOT EXISTS "polls" (
        "poll_id" TEXT PRIMARY KEY, "room_id" TEXT NOT NULL, "conference" TEXT, "track_id" TEXT,
        "talk_id" TEXT, "creator" TEXT NOT NULL, "content" TEXT NOT NULL, "started_at" INTEGER NOT NULL,
        "ended_at" INTEGER, "end_event_id" TEXT, "results" TEXT)""",
    # Responses are kept even for polls not seen to start (yet): a response can be read from
    # /sync before the command that sent the poll has recorded it.
    """CREATE TABLE IF NOT EXISTS "poll_responses" (
        "event_id" TEXT PRIMARY KEY, "poll_id" TEXT NOT NULL, "sender" TEXT NOT NULL,
        "ts" INTEGER NOT NULL, "answers" TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS qa_questions (
        conference TEXT NOT NULL, number INTEGER NOT NULL,
        room_id TEXT NOT NULL, track_id TEXT, talk_id TEXT,
        asker TEXT NOT NULL, asker_name TEXT NOT NULL, text TEXT NOT NULL, asked_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'open', pinned INTEGER NOT NULL DEFAULT 0,
        event_id TEXT, source_event_id TEXT NOT NULL UNIQUE,
        PRIMARY KEY (conference, number))""",
    """CREATE TABLE IF NOT EXISTS qa_votes (
        key TEXT PRIMARY KEY, conference TEXT NOT NULL, number INTEGER NOT NULL,
        user TEXT NOT NULL, at REAL NOT NULL)""",
    # A moderator's last open/close per track, and the talk it was meant for.
    """CREATE TABLE IF NOT EXISTS qa_sessions (
        conference TEXT NOT NULL, track_id TEXT NOT NULL, state TEXT NOT NULL, talk_id TEXT,
        PRIMARY KEY (conference, track_id))""",
    """CREATE TABLE IF NOT EXISTS swag_codes (
        conference TEXT NOT NULL, sponsor TEXT NOT NULL, code TEXT NOT NULL, loaded_at REAL NOT NULL,
        claimed_by TEXT, claim_event_id TEXT, claimed_at REAL, delivered_at REAL,
        UNIQUE (conference, sponsor, code))""",
    """CREATE TABLE IF NOT EXISTS ticket_codes (
        conference TEXT NOT NULL, code_key TEXT NOT NULL, loaded_at REAL NOT NULL,
        used_by TEXT, used_event_id TEXT, used_at REAL, PRIMARY KEY (conference, code_key))""",
    """CREATE TABLE IF NOT EXISTS ticket_code_attempts (
        event_id TEXT PRIMARY KEY, conference TEXT NOT NULL, sender TEXT NOT NULL, at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS helpdesk_tickets (
        conference TEXT NOT NULL, number INTEGER NOT NULL, desk TEXT NOT NULL,
        room_id TEXT NOT NULL, room_key TEXT NOT NULL, asker TEXT NOT NULL, asker_name TEXT NOT NULL,
        text TEXT NOT NULL, asked_at REAL NOT NULL, source_event_id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL DEFAULT 'waiting', claimer TEXT, claimer_name TEXT, claimed_at REAL,
        claim_event_id TEXT, closer_name TEXT, done_at REAL, done_event_id TEXT,
        PRIMARY KEY (conference, number))""",
    """CREATE TABLE IF NOT EXISTS clock_transitions (
        conference TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, talk_id TEXT NOT NULL,
        due_at REAL NOT NULL, done_at REAL NOT NULL, outcome TEXT NOT NULL,
        PRIMARY KEY (conference, key))""",
    """CREATE TABLE IF NOT EXISTS clock_check_ins (
        conference TEXT NOT NULL, talk_id TEXT NOT NULL, user_id TEXT NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (conference, talk_id, user_id))""",
]

_INDEXES_0_1_0 = [
    # One active booking per slot and room, even for a second writer.
    """CREATE UNIQUE INDEX IF NOT EXISTS open_space_bookings_taken ON open_space_bookings (conference, slot_start, room)
       WHERE cancelled_at IS NULL""",
    "CREATE INDEX IF NOT EXISTS open_space_bookings_booker ON open_space_bookings (conference, booker)",
    "CREATE INDEX IF NOT EXISTS reply_budget_sender ON reply_budget (sender)",
    "CREATE INDEX IF NOT EXISTS reply_budget_at ON reply_budget (at)",
    "CREATE INDEX IF NOT EXISTS direct_rooms_room ON direct_rooms (room_id)",
    "CREATE INDEX IF NOT EXISTS mod_calls_room ON mod_calls (conference, room_id, at)",
    "CREATE INDEX IF NOT EXISTS mod_calls_sender ON mod_calls (conference, sender, at)",
    'CREATE INDEX IF NOT EXISTS "idx_polls_room_id_started_at" ON "polls" ("room_id", "started_at")',
    """CREATE INDEX IF NOT EXISTS "idx_polls_conference_track_id_started_at"
       ON "polls" ("conference", "track_id", "started_at")""",
    'CREATE INDEX IF NOT EXISTS "idx_poll_responses_poll_id" ON "poll_responses" ("poll_id")',
    "CREATE INDEX IF NOT EXISTS qa_questions_track ON qa_questions (track_id, talk_id)",
    "CREATE INDEX IF NOT EXISTS qa_questions_post ON qa_questions (event_id)",
    "CREATE INDEX IF NOT EXISTS qa_votes_voter ON qa_votes (conference, number, user)",
    # The rule the swag claim's UPDATE keeps, as the database's own guarantee too.
    """CREATE UNIQUE INDEX IF NOT EXISTS swag_codes_one_each
       ON swag_codes (conference, sponsor, claimed_by) WHERE claimed_by IS NOT NULL""",
    "CREATE INDEX IF NOT EXISTS ticket_code_attempts_sender ON ticket_code_attempts (conference, sender, at)",
    "CREATE INDEX IF NOT EXISTS helpdesk_tickets_desk ON helpdesk_tickets (conference, desk, state)",
]


def _one_vote_each_person(db: sqlite3.Connection) -> None:
    """Files from before a person could hold two votes had UNIQUE (conference, number, user) on
    the votes table: a second reaction was not recorded, so withdrawing the first one lost the
    vote. SQLite cannot drop a constraint; the table is copied into one without it, votes kept."""
    if not any(row[3] == "u" for row in db.execute("PRAGMA index_list(qa_votes)")):
        return
    db.execute("""CREATE TABLE qa_votes_new (
        key TEXT PRIMARY KEY, conference TEXT NOT NULL, number INTEGER NOT NULL,
        user TEXT NOT NULL, at REAL NOT NULL)""")
    db.execute("INSERT INTO qa_votes_new (key, conference, number, user, at) "
               "SELECT key, conference, number, user, at FROM qa_votes")
    db.execute("DROP TABLE qa_votes")
    db.execute("ALTER TABLE qa_votes_new RENAME TO qa_votes")


def _keyed_ticket_codes(db: sqlite3.Connection) -> None:
    """Ticket codes say how their digest was made. Rows before this upgrade hold a bare SHA-256
    of their code, which no upgrade can key without the codes themselves: they are marked as
    such, and ``bot.store.ticketcodes`` re-keys each once its code is sent or loaded again."""
    if "digest" not in {row[1] for row in db.execute("PRAGMA table_info(ticket_codes)")}:
        db.execute("ALTER TABLE ticket_codes ADD COLUMN digest TEXT NOT NULL DEFAULT 'sha256'")


def _receive_times(db: sqlite3.Connection) -> None:
    """When the bot first received each event (``received.ReceivedStore``): limits and polls go
    by it, not by the time a sender's server wrote on the event."""
    db.execute("CREATE TABLE IF NOT EXISTS received_events (event_id TEXT PRIMARY KEY, received_ms INTEGER NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS received_events_at ON received_events (received_ms)")


def _ticket_code_shapes(db: sqlite3.Connection) -> None:
    """Each ticket code's shape (``attendees.code_shape``), so a message no code has the shape of
    is not counted as a wrong code. Codes loaded before have none: every shape may be theirs."""
    if "shape" not in {row[1] for row in db.execute("PRAGMA table_info(ticket_codes)")}:
        db.execute("ALTER TABLE ticket_codes ADD COLUMN shape TEXT")


def _speaker_invites(db: sqlite3.Connection) -> None:
    """Whom provisioning invited into a room as one of its speakers (``database.Store``): only
    those invitations are withdrawn when the speaker no longer belongs there."""
    db.execute("""CREATE TABLE IF NOT EXISTS speaker_invites (
        account TEXT NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL, state TEXT NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (account, room_id, user_id))""")


def _pushed_transactions(db: sqlite3.Connection) -> None:
    """The transactions the homeserver pushed to the bot as an application service and the bot
    handled (``transactions.PushedTransactions``): one pushed again is acknowledged, not handled
    twice."""
    db.execute("CREATE TABLE IF NOT EXISTS pushed_transactions (service TEXT NOT NULL, txn_id TEXT NOT NULL, "
               "handled_at REAL NOT NULL, PRIMARY KEY (service, txn_id))")
    db.execute("CREATE INDEX IF NOT EXISTS pushed_transactions_at ON pushed_transactions (handled_at)")


def _homeserver_limits(db: sqlite3.Connection) -> None:
    """The rate limits ``podium apply`` met, per bot account and kind of write
    (``database.Store``): ``podium plan`` tells from them how long a build will take."""
    db.execute("""CREATE TABLE IF NOT EXISTS homeserver_limits (
        account TEXT NOT NULL, kind TEXT NOT NULL, per_second REAL NOT NULL, burst INTEGER NOT NULL,
        measured_at REAL NOT NULL, PRIMARY KEY (account, kind))""")


def _pushed_events(db: sqlite3.Connection) -> None:
    """The events of the transactions the homeserver pushed, stored before the bot answers and
    kept until they are handled (``transactions.PushedTransactions``): a bot stopped in between
    handles them when it starts again. ``seq`` keeps the order they were pushed in; since this
    upgrade a transaction's ``handled_at`` is when its events were stored."""
    db.execute("""CREATE TABLE IF NOT EXISTS pushed_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, txn_id TEXT NOT NULL,
        event TEXT NOT NULL, received_at REAL NOT NULL)""")
    db.execute("CREATE INDEX IF NOT EXISTS pushed_events_transaction ON pushed_events (service, txn_id)")


#: Upgrade N (from version N-1 to N) is ``UPGRADES[N - 1]``.
UPGRADES: list[Upgrade] = [_podium_0_1_0, _keyed_ticket_codes, _receive_times, _ticket_code_shapes,
                           _speaker_invites, _pushed_transactions, _homeserver_limits, _pushed_events]
VERSION = len(UPGRADES)


def open_database(path: Path | str) -> sqlite_utils.Database:
    """The database at ``path`` (``":memory:"`` for one that lives as long as it is open),
    upgraded to ``VERSION`` first if it is older."""
    db = sqlite_utils.Database(path)
    try:
        upgrade(db.conn, path, UPGRADES)
    except BaseException:
        db.close()
        raise
    return db


def upgrade(db: sqlite3.Connection, path: Path | str, upgrades: list[Upgrade]) -> None:
    """Run the ``upgrades`` the database has not had, one transaction each."""
    while True:
        with db:
            # Taking the write lock before reading the version: of two connections opening the
            # file at once (the bot and the web server), the second finds the upgrade done.
            db.execute("BEGIN IMMEDIATE")
            found = version(db)
            _refuse_newer(found, len(upgrades), path)
            if found == len(upgrades):
                return
            upgrades[found](db)
            # PRAGMA takes no parameters; the number is ours, not input.
            db.execute(f"PRAGMA user_version = {found + 1}")


def check_readable(db: sqlite3.Connection, path: Path | str) -> None:
    """Refuse a read-only connection's file when a newer Podium wrote it; an older one is read as it is."""
    _refuse_newer(version(db), VERSION, path)


def version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def _refuse_newer(found: int, known: int, path: Path | str) -> None:
    if found > known:
        raise NewerDatabase(
            f"{path} was written by a newer Podium (data schema version {found}; this Podium knows up to "
            f"{known}). Run that newer Podium (upgrade this installation), or give a different --data-dir; "
            "the file was left as it is.")
