"""The attendee lists and ticket codes organisers let people in with: reading them (every bad row
located), and ``podium invite`` / ``podium tickets`` refusing what they cannot use."""

from __future__ import annotations

import pytest
import yaml

from bot.cli import main
from bot.conference.attendees import (
    WRONG_CODES,
    WRONG_WINDOW,
    code_digest,
    looks_like_code,
    read_attendees,
    read_ticket_codes,
    wait_for_next_code,
)
from bot.conference.schedule import ScheduleInvalid
from bot.store.database import Store
from bot.store.ticketcodes import TicketCodeStore


def test_an_attendee_list_gives_each_matrix_id_once_in_file_order():
    data = b"name,matrix_id\nAda,@ada:example.org\nBob,\n Cy , @cy:example.org \nAda again,@ada:example.org\n"
    attendees = read_attendees(data, "people.csv")
    assert attendees.matrix_ids == ["@ada:example.org", "@cy:example.org"]
    assert attendees.duplicates == [(5, "@ada:example.org", 2)]
    assert attendees.blank == 1


def test_a_pretix_export_is_read_by_its_question_column_semicolons_and_quoted_line_breaks_too():
    data = ('\ufeffOrder code;Email;"Matrix ID"\nABC12;a@x.org;@ada:example.org\n'
            'DEF34;"b@x.org";""\nGHI56;"c\nd@x.org";@cy:example.org\n').encode()
    attendees = read_attendees(data, "orders.csv", column="matrix id")
    assert attendees.matrix_ids == ["@ada:example.org", "@cy:example.org"]


def test_bad_rows_are_all_named_with_file_line_and_column():
    data = b"matrix_id\n@ada:example.org\nbob\n@Cy:example.org\n\n@dee\n"
    with pytest.raises(ScheduleInvalid) as raised:
        read_attendees(data, "people.csv")
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("people.csv:3: matrix_id: 'bob' is not a valid Matrix ID (it must start with '@')")
    assert lines[1].startswith("people.csv:4: matrix_id: '@Cy:example.org' is not a valid Matrix ID (Matrix user "
                               "names are lowercase: did you mean '@cy:example.org'?)")
    assert lines[2].startswith("people.csv:6: matrix_id: '@dee' is not a valid Matrix ID (the server part")
    assert lines[3] == "3 problems found in people.csv; fix and try again."


def test_a_missing_column_names_the_columns_there_are_and_the_option():
    with pytest.raises(ScheduleInvalid) as raised:
        read_attendees(b"Order code,Email\nABC12,a@x.org\n", "orders.csv")
    assert str(raised.value).startswith("orders.csv:1: no column 'matrix_id'; the first line names 'Order code', "
                                        "'Email': name the column of Matrix IDs with --column NAME")
    with pytest.raises(ScheduleInvalid, match=r"people.csv:2: the file is not UTF-8 text"):
        read_attendees(b"matrix_id\n@\xe9:x.org\n", "people.csv")


def test_ticket_codes_from_a_plain_list_and_from_pretix_columns():
    plain = read_ticket_codes(b"ABC12\n\n  def34  \nabc12\n", "codes.txt")
    assert (plain.codes, plain.duplicates, plain.column) == (["ABC12", "def34"], [(4, 1)], None)
    export = read_ticket_codes(b"Order code,Position ID,Secret\nABC12,1,s3cr3tabcd\nABC12,2,s3cr3tefgh\n", "x.csv")
    assert (export.codes, export.column) == (["s3cr3tabcd", "s3cr3tefgh"], "Secret")
    by_order = read_ticket_codes(b"Order code,Email\nABC12,a@x.org\n", "x.csv")
    assert (by_order.codes, by_order.column) == (["ABC12"], "Order code")


def test_a_line_that_is_no_code_is_located_and_a_csv_without_a_known_column_is_named():
    with pytest.raises(ScheduleInvalid) as raised:
        read_ticket_codes(b"ABC12\nab\nname,ticket\n", "codes.txt")
    text = str(raised.value)
    assert "codes.txt:2: code: 'ab' is not a ticket code: codes are 4 to 128 letters, digits, '-' or '_'" in text
    assert "codes.txt:3: code: 'name,ticket' is not a ticket code" in text and "--column NAME" in text


def test_codes_are_compared_in_capitals_and_stored_as_digests():
    secret = bytes(32)
    assert code_digest(" abc12 ", secret) == code_digest("ABC12", secret) != code_digest("ABC13", secret)
    assert code_digest("ABC12", secret) != code_digest("ABC12", bytes([1] * 32)), "keyed by the secret"
    assert "ABC12" not in code_digest("ABC12", secret)
    assert looks_like_code("ABC12") and not looks_like_code("hello there") and not looks_like_code("hi")


def test_wrong_codes_are_limited_per_hour():
    wrong = [100.0 + i for i in range(WRONG_CODES - 1)]
    assert wait_for_next_code(wrong, 200.0) == 0
    assert wait_for_next_code([*wrong, 110.0], 200.0) == pytest.approx(100.0 + WRONG_WINDOW - 200.0)
    assert wait_for_next_code([*wrong, 110.0], 100.0 + WRONG_WINDOW + 1) == 0


def _schedule(tmp_path, access: str):
    path = tmp_path / "schedule.yaml"
    path.write_text(yaml.safe_dump({"conference": {"id": "ep", "name": "EP", "timezone": "UTC", "start": "2026-07-13",
                                                   "end": "2026-07-13", "access": access}}))
    return path


def test_podium_tickets_loads_codes_once_and_counts_them(tmp_path, capsys):
    schedule = _schedule(tmp_path, "space-members")
    codes = tmp_path / "codes.txt"
    codes.write_text("ABC12\nDEF34\nabc12\n")
    data = tmp_path / "data"
    argv = ["tickets", str(codes), "--schedule", str(schedule), "--data-dir", str(data)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"note: {codes}:3: the same code as line 1; loaded once" in out
    assert f"Loaded 2 new ticket codes from {codes}; {data} holds 2 for EP, 0 used." in out
    codes.write_text("ABC12\nGHI56\n")
    assert main(argv) == 0
    assert f"Loaded 1 new ticket code from {codes} (1 loaded before); {data} holds 3 for EP" in capsys.readouterr().out
    store = Store(data)
    try:
        assert TicketCodeStore(store.db).count("ep") == (3, 0)
        stored = store.db.execute("SELECT code_key FROM ticket_codes").fetchall()
        assert all("ABC12" not in row[0] for row in stored)
    finally:
        store.close()


def test_a_public_conference_refuses_invites_and_codes(tmp_path, capsys):
    schedule = _schedule(tmp_path, "public")
    people = tmp_path / "people.csv"
    people.write_text("matrix_id\n@ada:example.org\n")
    assert main(["invite", str(people), "--schedule", str(schedule)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"podium: error: {schedule}: conference.access is public: anyone on the homeserver may "
                          "join the conference space, so there is no one to invite. To let only attendees in, set "
                          "access to space-members")
    assert main(["tickets", str(people), "--schedule", str(schedule), "--data-dir", str(tmp_path / "d")]) == 1
    assert "nothing a ticket code could admit anyone to" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_a_bad_row_stops_podium_invite_before_it_connects(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PODIUM_HOMESERVER", raising=False)
    people = tmp_path / "people.csv"
    people.write_text("matrix_id\n@ada:example.org\nbob\n")
    assert main(["invite", str(people), "--schedule", str(_schedule(tmp_path, "invite"))]) == 1
    assert capsys.readouterr().err.startswith(f"{people}:3: matrix_id: 'bob' is not a valid Matrix ID")
    assert main(["invite", str(tmp_path / "missing.csv"), "--schedule", str(tmp_path / "schedule.yaml")]) == 1
    assert "missing.csv: cannot read it (No such file or directory)" in capsys.readouterr().err
