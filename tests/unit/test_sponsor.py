"""Sponsor rooms as plain logic: who moderates them, what ``!job`` takes, how a file of swag codes
is read, the job and swag stores (the swag claim against concurrent connections to one file),
the commands dispatched with a transport that records what would be sent, and ``podium swag
load``. tests/live/test_sponsor_live.py runs the commands against the real Synapse.
"""

from __future__ import annotations

import re
import threading

import pytest
import sqlite_utils

from bot.cli import main
from bot.commands import Room
from bot.conference.roles import Role, role_of, room_staff
from bot.conference.schedule import ScheduleInvalid, load_schedule
from bot.conference.sponsors import parse_job, read_swag_codes
from bot.conference.userinput import UsageError
from bot.matrix import MatrixError
from bot.store.database import DATABASE
from bot.store.jobs import JobStore
from bot.store.schema import open_database
from bot.store.swag import SwagStore
from tests.support.commands import bodies, dispatch
from tests.support.live import write_live_schedule

CONF = "c1"
STAFF = "@sia:x"


@pytest.fixture
def schedule(tmp_path):
    path, _ = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x", extra={
        "sponsors": [{"id": "acme", "name": "ACME <Corp>", "staff": [STAFF], "booth_url": "https://acme.example/booth",
                      "jobs": [{"title": "Tester", "url": "https://acme.example/jobs/tester"}]},
                     {"id": "bare", "name": "Bare"}]})
    return load_schedule(path)


# ----------------------------------------------------------------------------- pure rules


def test_sponsor_staff_moderate_their_own_booth_and_nothing_else(schedule):
    assert room_staff(schedule, "sponsor/acme") == {STAFF}
    assert room_staff(schedule, "sponsor/bare") == set()
    assert room_staff(schedule, "track/forum") == room_staff(schedule, "sponsor/gone") == set()

    def role(key: str) -> Role:
        return role_of(STAFF, power_levels={}, moderators=room_staff(schedule, key))

    assert (role("sponsor/acme"), role("sponsor/bare"), role("lobby/jobs")) == (Role.MODERATOR, Role.ATTENDEE,
                                                                                Role.ATTENDEE)


def test_a_job_is_a_title_and_a_web_address():
    assert parse_job("Senior  Python\u202e engineer https://acme.example/jobs/1?x=2") == (
        "Senior Python engineer", "https://acme.example/jobs/1?x=2")
    assert parse_job("Ops HTTPS://acme.example/ops") == ("Ops", "https://acme.example/ops")
    for args, why in (("", "give the job's title and then its web address"),
                      ("https://acme.example/jobs", "give the job's title before its web address"),
                      ("Senior Python engineer", "“engineer” is not a web address; end with the job's full http"),
                      ("Tester javascript:alert(1)", "“javascript:alert(1)” is not a web address"),
                      ("Tester ftp://acme.example/x", "is not a web address"),
                      ("Tester https://", "is not a web address"),
                      ("\u200b https://acme.example/x", "give the job's title before its web address"),
                      ("x" * 201 + " https://acme.example/x", "at most 200 characters; this one has 201"),
                      ("Tester https://acme.example/" + "x" * 2000, "at most 2000 characters; this one has 2021")):
        with pytest.raises(UsageError, match=re.escape(why)):
            parse_job(args)


def test_a_codes_file_is_read_with_its_blanks_and_repeats_noted():
    read = read_swag_codes("A1\n  A2  \n\nA1\n\t\nA3\n", "codes.txt", as_csv=False)
    assert read.codes == ((1, "A1"), (2, "A2"), (6, "A3"))
    assert read.blank_lines == (3, 5) and read.repeated == ((4, 1),)
    csv = read_swag_codes('name,Code\nx,C1\ny,\n"z, the last",C2\nshort\n', "codes.csv", as_csv=True)
    assert csv.codes == ((2, "C1"), (4, "C2")) and csv.blank_lines == (3, 5)


@pytest.mark.parametrize("text, as_csv, problems", [
    ("", False, ["codes: there are no codes in this file; write one code per line"]),
    ("\n \n", False, ["codes: there are no codes in this file"]),
    ("ok\nbad\x07code\n" + "y" * 501 + "\n", False, ["codes:2: code: this code has a control character",
                                                      "codes:3: code: this code has 501 characters; a code can have "
                                                      "at most 500"]),
    ("", True, ["codes: the file is empty; a CSV file of swag codes starts with a header line naming a 'code' column"]),
    ("name,coupon\nx,C1\n", True, ["codes:1: there is no 'code' column (the header has 'name', 'coupon'); "
                                   "name the column of codes 'code'"]),
    ("code\n\n", True, ["codes: there are no codes in this file; write one code per line in its 'code' column"]),
])
def test_a_codes_file_that_cannot_be_loaded_says_where(text, as_csv, problems):
    with pytest.raises(ScheduleInvalid) as raised:
        read_swag_codes(text, "codes", as_csv=as_csv)
    assert len(raised.value.errors) == len(problems)
    for error, problem in zip(raised.value.errors, problems):
        assert str(error).startswith(problem)


# ----------------------------------------------------------------------------- stores


def test_jobs_are_numbered_once_per_event_and_taken_down_once():
    store = JobStore(open_database(":memory:"))

    def post(event: str, sponsor: str = "acme"):
        return store.post(CONF, sponsor, title=f"Job {event}", url="https://a.example", posted_by=STAFF,
                          posted_at=1.0, source_event_id=event)

    first, second = post("$1"), post("$2")
    assert (first.number, second.number, post("$1")) == (1, 2, first)
    assert post("$3", sponsor="bare").number == 1, "numbers are per sponsor"
    store.announced("$1", "$post1")
    removed = store.remove(CONF, "acme", 1, event_id="$rm")
    assert (removed.removal_event_id, removed.announced_event_id) == ("$rm", "$post1")
    assert store.remove(CONF, "acme", 1, event_id="$rm2").removal_event_id == "$rm", "the first removal stays"
    assert store.remove(CONF, "acme", 9, event_id="$rm3") is None
    assert [j.number for j in store.listed(CONF, "acme")] == [2]
    assert post("$4").number == 3, "a number taken down is not given again"


def test_swag_is_loaded_once_and_claimed_once_per_person():
    store = SwagStore(open_database(":memory:"))
    assert store.load(CONF, "acme", ["A", "B"], 1.0) == 2
    assert store.load(CONF, "acme", ["B", "A", "C"], 2.0) == 1, "loading again adds only what is new"
    assert store.load(CONF, "bare", ["A"], 2.0) == 1, "codes are per sponsor"
    alice = store.claim(CONF, "acme", "@alice:x", event_id="$a", at=3.0)
    assert (alice.code, alice.claim_event_id, alice.delivered) == ("A", "$a", False)
    assert store.claim(CONF, "acme", "@alice:x", event_id="$a", at=9.0) == alice, "handled again: the same code"
    assert store.claim(CONF, "acme", "@alice:x", event_id="$a2", at=9.0) == alice, "a second claim: still one code"
    store.delivered(CONF, "acme", "@alice:x", 4.0)
    assert store.held(CONF, "acme", "@alice:x").delivered
    assert store.counts(CONF, "acme") == (2, 3)
    assert [store.claim(CONF, "acme", user, event_id=f"${user}", at=5.0).code for user in ("@b:x", "@c:x")] == ["B", "C"]
    assert store.claim(CONF, "acme", "@d:x", event_id="$d", at=6.0) is None
    assert store.counts(CONF, "acme") == (0, 3) and store.counts(CONF, "gone") == (0, 0)


def test_concurrent_claims_on_separate_connections_never_share_a_code(tmp_path):
    path = tmp_path / DATABASE
    SwagStore(open_database(path)).load(CONF, "acme", [f"CODE-{n}" for n in range(5)], 1.0)
    start, results = threading.Barrier(8), {}

    def claim(n: int) -> None:
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA busy_timeout = 5000")
        store = SwagStore(db)
        start.wait()
        held = store.claim(CONF, "acme", f"@user{n}:x", event_id=f"$e{n}", at=2.0)
        results[n] = held.code if held else None
        db.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    given = [code for code in results.values() if code]
    assert len(results) == 8 and sorted(given) == [f"CODE-{n}" for n in range(5)], results
    assert list(results.values()).count(None) == 3


# ----------------------------------------------------------------------------- commands


ROOMS = [Room(f"!{key.replace('/', '-')}:x", CONF, key, key.split("/")[0])
         for key in ("sponsor/acme", "sponsor/bare", "lobby/jobs", "lobby/hallway")]


class DirectChats:
    """``Context.direct_chat`` without a homeserver: one room per person, or a refusal."""

    def __init__(self, refuse: bool = False):
        self.refuse, self.asked = refuse, []

    async def __call__(self, user_id: str) -> str:
        self.asked.append(user_id)
        if self.refuse:
            raise MatrixError(f"invite {user_id}", 403, "M_FORBIDDEN", "not allowed")
        return f"!dm-{user_id}"


def run(schedule, db, body: str, *, role: Role = Role.ATTENDEE, key: str = "sponsor/acme", rooms=ROOMS, **options):
    return dispatch(schedule, db, body, role=role, key=key, rooms=rooms, **options)


def test_a_job_goes_to_the_jobs_room_once_and_comes_down_again(schedule):
    db = open_database(":memory:")
    first = run(schedule, db, "!job Rust <b>dev</b> https://acme.example/jobs/rust", role=Role.MODERATOR,
                sender=STAFF)
    again = run(schedule, db, "!job Rust <b>dev</b> https://acme.example/jobs/rust", role=Role.MODERATOR,
                sender=STAFF)
    assert first == again, "handled again: the same two sends"
    (jobs_room, post), (room, reply) = first
    assert jobs_room == "!lobby-jobs:x" and room == "!sponsor-acme:x"
    assert post["body"] == "ACME <Corp> is hiring: Rust <b>dev</b> (https://acme.example/jobs/rust)"
    assert post["formatted_body"] == ('ACME &lt;Corp&gt; is hiring: <a href="https://acme.example/jobs/rust">'
                                      'Rust &lt;b&gt;dev&lt;/b&gt;</a>')
    assert post["msgtype"] == "m.text"
    assert reply["body"] == ("Posted job #1, “Rust <b>dev</b>”, in the Jobs room and on the booth page.\n"
                             "Take it down with !job remove 1.")
    [job] = JobStore(db).listed(CONF, "acme")
    assert job.announced_event_id == "$sent1"

    listing = bodies(run(schedule, db, "!job", event_id="$list"))
    assert listing == ["Jobs at ACME <Corp> (2):\nTester (https://acme.example/jobs/tester)\n"
                       "#1 Rust <b>dev</b> (https://acme.example/jobs/rust)"]

    removed = run(schedule, db, "!job remove #1", role=Role.MODERATOR, event_id="$rm")
    assert removed[0] == ("!lobby-jobs:x", {"redacts": "$sent1", "reason": "the job was taken down"})
    assert bodies(removed[1:]) == ["Job #1, “Rust <b>dev</b>”, is taken down."]
    twice = run(schedule, db, "!job remove 1", role=Role.MODERATOR, event_id="$rm2")
    assert bodies(twice) == ["Job #1, “Rust <b>dev</b>”, is taken down."], "no second redaction"
    assert bodies(run(schedule, db, "!job", role=Role.MODERATOR, event_id="$list2")) == [
        "Jobs at ACME <Corp> (1):\nTester (https://acme.example/jobs/tester)\n"
        "Post one with !job <title> <url>; take one down with !job remove <n>."]


def test_without_a_jobs_room_a_job_is_on_the_booth_page_alone(schedule):
    db = open_database(":memory:")
    sent = run(schedule, db, "!job Ops https://acme.example/ops", role=Role.ORGANISER, rooms=ROOMS[:2])
    assert bodies(sent) == ["Posted job #1, “Ops”, on the booth page.\nTake it down with !job remove 1."]
    assert bodies(run(schedule, db, "!job", key="sponsor/bare", event_id="$2", rooms=ROOMS[:2])) == [
        "Bare lists no jobs yet."]


@pytest.mark.parametrize("body, role, key, reply", [
    ("!job Tester https://acme.example/t", Role.ATTENDEE, "sponsor/acme",
     "Sorry, only the sponsor's staff post and take down jobs. Send !job alone to see the jobs."),
    ("!job remove 1", Role.SPEAKER, "sponsor/acme",
     "Sorry, only the sponsor's staff post and take down jobs. Send !job alone to see the jobs."),
    ("!job Tester", Role.MODERATOR, "sponsor/acme", "give the job's title and then its web address. "
                                                    "Usage: !job [<title> <url> | remove <n>]"),
    ("!job Tester jobs.acme.example", Role.MODERATOR, "sponsor/acme", "“jobs.acme.example” is not a web address; "
                                                                      "end with the job's full http:// or https:// "
                                                                      "address. Usage: !job [<title> <url> | remove "
                                                                      "<n>]"),
    ("!job remove", Role.MODERATOR, "sponsor/acme", "say which job to take down, e.g. !job remove 2. "
                                                    "Usage: !job [<title> <url> | remove <n>]"),
    ("!job remove x", Role.MODERATOR, "sponsor/acme", "“x” is not a whole number; say which job, e.g. 2 or #2. "
                                                      "Usage: !job [<title> <url> | remove <n>]"),
    ("!job remove 1 2", Role.MODERATOR, "sponsor/acme", "unexpected “2”; name one job. "
                                                        "Usage: !job [<title> <url> | remove <n>]"),
    ("!job remove 7", Role.MODERATOR, "sponsor/acme", "ACME <Corp> has no job #7 posted here. !job lists them; "
                                                      "the jobs schedule.yaml lists change there."),
    ("!job", Role.ORGANISER, "lobby/hallway", "There is no !job in this room. Send !help to see what you can do "
                                              "here."),
    ("!swag", Role.ATTENDEE, "lobby/jobs", "There is no !swag in this room. Send !help to see what you can do "
                                           "here."),
    ("!swag please", Role.ATTENDEE, "sponsor/acme", "unexpected “please”; send !swag alone (staff: !swag count). "
                                                    "Usage: !swag [count]"),
    ("!swag count", Role.ATTENDEE, "sponsor/acme", "Sorry, only the sponsor's staff see how many codes are left. "
                                                   "Send !swag alone to get yours."),
    ("!swag", Role.ATTENDEE, "sponsor/bare", "Bare has no digital swag to give out here."),
    ("!swag count", Role.MODERATOR, "sponsor/bare", "No swag codes are loaded for Bare: an organiser loads them "
                                                    "with podium swag load bare FILE."),
])
def test_bad_arguments_and_wrong_roles_get_one_clear_reply(schedule, body, role, key, reply):
    sent = run(schedule, open_database(":memory:"), body, role=role, key=key, direct_chat=DirectChats())
    assert bodies(sent) == [reply]


def test_swag_comes_by_direct_message_once_per_person(schedule):
    db, chats = open_database(":memory:"), DirectChats()
    SwagStore(db).load(CONF, "acme", ["GIFT-1", "GIFT-2"], 1.0)
    first = run(schedule, db, "!swag", direct_chat=chats, event_id="$s1")
    (dm, code_message), (room, reply) = first
    assert dm == "!dm-@a:x" and room == "!sponsor-acme:x" and chats.asked == ["@a:x"]
    assert code_message["body"] == ("🎁 Your swag from ACME <Corp>: GIFT-1\nTheir booth: https://acme.example/booth\n"
                                    "Thank you for visiting ACME <Corp>!")
    assert "<code>GIFT-1</code>" in code_message["formatted_body"] and code_message["msgtype"] == "m.text"
    assert reply["body"] == "I sent you a direct message with your ACME <Corp> swag code."
    assert "GIFT" not in reply["body"] + reply["formatted_body"]
    assert run(schedule, db, "!swag", direct_chat=chats, event_id="$s1") == first, "handled again: the same sends"
    assert bodies(run(schedule, db, "!swag", direct_chat=chats, event_id="$s2")) == [
        "You have your ACME <Corp> swag already: its code is in your direct chat with me. It is one per person."]
    assert bodies(run(schedule, db, "!swag count", role=Role.MODERATOR, sender=STAFF, event_id="$c")) == [
        "ACME <Corp> swag: 1 code of 2 left (1 given out)."]
    run(schedule, db, "!swag", direct_chat=chats, event_id="$b", sender="@b:x")
    assert bodies(run(schedule, db, "!swag", direct_chat=chats, event_id="$c1", sender="@c:x")) == [
        "Sorry, ACME <Corp>'s swag is all given out: no codes are left."]


def test_a_code_whose_message_could_not_be_sent_is_sent_on_the_next_try(schedule):
    db = open_database(":memory:")
    SwagStore(db).load(CONF, "acme", ["GIFT-1", "GIFT-2"], 1.0)
    refused = bodies(run(schedule, db, "!swag", direct_chat=DirectChats(refuse=True), event_id="$s1"))
    assert refused == ["Your ACME <Corp> swag code is kept for you, but I could not send you a direct message: "
                       "check that you accept invitations from me, then send !swag again."]
    retried = run(schedule, db, "!swag", direct_chat=DirectChats(), event_id="$s2")
    assert "GIFT-1" in retried[0][1]["body"], "the code kept for them, not a second one"
    assert SwagStore(db).counts(CONF, "acme") == (1, 2)


def test_help_lists_the_sponsor_commands(schedule):
    attendee = bodies(run(schedule, open_database(":memory:"), "!help"))[0]
    assert "!job [<title> <url> | remove <n>]" in attendee and "!swag [count]" in attendee
    elsewhere = bodies(run(schedule, open_database(":memory:"), "!help", key="lobby/hallway"))[0]
    assert "!job" not in elsewhere and "!swag" not in elsewhere


# ----------------------------------------------------------------------------- podium swag load


def swag_load(tmp_path, schedule_file, *args: str) -> int:
    return main(["swag", "load", *args, "--schedule", str(schedule_file), "--data-dir", str(tmp_path / "data")])


def test_podium_swag_load_adds_each_code_once(tmp_path, capsys):
    schedule_file, conf_id = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x",
                                                 extra={"sponsors": [{"id": "acme", "name": "ACME"}]})
    codes = tmp_path / "codes.csv"
    codes.write_text("\ufeffcode,note\nA1,x\n\nA2,y\nA1,z\n", encoding="utf-8")
    assert swag_load(tmp_path, schedule_file, "acme", str(codes)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Added 2 codes for ACME from {codes}: 2 codes left of 2, in ")
    assert "Skipped 1 blank line: line 3.\nSkipped 1 repeated code: line 5 repeats line 2.\n" in out
    assert swag_load(tmp_path, schedule_file, "acme", str(codes)) == 0
    assert capsys.readouterr().out.startswith(f"Added 0 codes for ACME from {codes} (2 codes of the file loaded "
                                              "before): 2 codes left of 2")
    assert SwagStore(open_database(tmp_path / "data" / DATABASE)).counts(conf_id, "acme") == (2, 2)


def test_podium_swag_load_refuses_what_it_cannot_load_and_writes_nothing(tmp_path, capsys):
    schedule_file, _ = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x",
                                           extra={"sponsors": [{"id": "acme", "name": "ACME"}]})
    empty, bad, latin = tmp_path / "empty.txt", tmp_path / "bad.txt", tmp_path / "latin.txt"
    empty.write_text("\n\n")
    bad.write_text("A1\nA2\x00\n")
    latin.write_bytes(b"A1\nCaf\xe9\n")
    for args, error in (
        (("acme", str(tmp_path / "missing.txt")), f"podium: error: {tmp_path / 'missing.txt'}: no such file; give a "
                                                  "text file with one code per line, or a .csv file with a 'code' "
                                                  "column\n"),
        (("acme", str(tmp_path)), f"podium: error: {tmp_path} is a folder; "),
        (("nope", str(bad)), f"podium: error: no sponsor 'nope' in {schedule_file}; the sponsors are acme\n"),
        (("acme", str(empty)), f"{empty}: there are no codes in this file; write one code per line\n"
                               f"1 problem found in {empty}; fix and try again.\n"),
        (("acme", str(bad)), f"{bad}:2: code: this code has a control character"),
        (("acme", str(latin)), f"podium: error: {latin}:2: this is not UTF-8 text; save the file as UTF-8"),
    ):
        assert swag_load(tmp_path, schedule_file, *args) == 1, args
        err = capsys.readouterr().err
        assert err.startswith(error) and err.endswith("Nothing was changed.\n") and "Traceback" not in err, err
    assert not (tmp_path / "data").exists(), "nothing written, not even the data directory"
