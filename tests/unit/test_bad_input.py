"""Hostile and broken input to the ``podium`` command line, run through its real entry point: each
is refused with exit 1 and a message that says where (file, line or field) and what to do, never
a traceback, never a credential from a URL, and never by waiting on a file that does not end.

Files that are no regular files (a FIFO, /dev/zero) run ``podium`` in a child process with a
bound: a reader that waited on one would otherwise hold the test forever.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.conference.inputfile import LIST_LIMIT, SCHEDULE_LIMIT
from bot.conference.schedule import ScheduleInvalid
from bridges.c3voc_json import is_schedule_v2, parse_schedule_v2
from bridges.frab_json import parse_frab_json
from bridges.merge import merge
from bridges.pretalx_api import parse_pretalx_api

#: Long enough for a child ``podium`` on a loaded machine; it bounds a hang, it is no timing.
CHILD_PATIENCE = 120


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    return code, output


def run_child(*argv: str, cwd: Path) -> tuple[int, str]:
    """``podium`` in a child process, stopped (and the test failed) if it never ends."""
    try:
        done = subprocess.run([sys.executable, "-m", "bot.cli", *argv], cwd=cwd, capture_output=True, text=True,
                              timeout=CHILD_PATIENCE, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"podium {' '.join(argv)} was still reading after {CHILD_PATIENCE} s")
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    return done.returncode, output


def frab(*, rooms=None, date="2026-07-13T10:00:00+02:00") -> dict:
    """A small pretalx schedule.json with one talk."""
    entry = {"code": "AAA111", "title": "Opening", "date": date, "duration": "00:30", "room": "Main",
             "type": "Talk", "persons": [{"code": "P1", "public_name": "Ada"}], "abstract": "<p>Hi</p>"}
    conference = {"acronym": "tiny", "title": "Tiny", "start": "2026-07-13", "end": "2026-07-13",
                  "time_zone_name": "Europe/Prague", "rooms": [{"name": "Main"}] if rooms is None else rooms,
                  "days": [{"index": 1, "date": "2026-07-13", "rooms": {"Main": [entry]}}]}
    return {"schedule": {"version": "1.0", "conference": conference}}


@pytest.fixture
def conference(tmp_path: Path) -> Path:
    """A directory holding the sample conference (ticket codes admit attendees to it)."""
    assert main(["init", str(tmp_path / "conf")]) == 0
    (tmp_path / "conf" / "programme.json").write_text(json.dumps(frab()))
    return tmp_path / "conf"


# --------------------------------------------------------------------------- podium import: content


def test_json_nested_two_hundred_thousand_deep_is_refused_with_the_file(tmp_path, capsys):
    source = tmp_path / "deep.json"
    source.write_text('{"schedule": {"conference": ' + "[" * 200_000 + "]" * 200_000 + "}}")
    code, output = run(capsys, "import", str(source), "--into", str(tmp_path / "s.yaml"))
    assert code == 1
    assert f"{source}:" in output and "nested too deeply" in output
    assert not (tmp_path / "s.yaml").exists()


@pytest.mark.parametrize("rooms", [7, "Main", {"name": "Main"}, True])
def test_a_value_of_the_wrong_type_where_a_list_is_expected_is_located(tmp_path, capsys, rooms):
    source = tmp_path / "rooms.json"
    source.write_text(json.dumps(frab(rooms=rooms)))
    code, output = run(capsys, "import", str(source), "--into", str(tmp_path / "s.yaml"))
    assert code == 1
    assert f"{source}: schedule.conference.rooms:" in output and "a list" in output


@pytest.mark.parametrize("date", ["0001-01-01T00:30:00+05:00", "9999-12-31T23:30:00-05:00",
                                  "9999-12-31T23:59:00+00:00"])
def test_talks_in_the_year_1_or_9999_are_located_not_overflowed(tmp_path, capsys, date):
    source = tmp_path / "years.json"
    source.write_text(json.dumps(frab(date=date)))
    code, output = run(capsys, "import", str(source), "--into", str(tmp_path / "s.yaml"))
    assert code == 1
    assert f"{source}: schedule.conference.days[0].rooms.Main[0].date:" in output
    assert "1970" in output and "9998" in output


def test_xml_declaring_utf7_is_refused_on_its_line(tmp_path, capsys):
    source = tmp_path / "schedule.xml"
    source.write_text('<?xml version="1.0" encoding="UTF-7"?>\n<schedule><conference/></schedule>\n')
    code, output = run(capsys, "import", str(source), "--into", str(tmp_path / "s.yaml"))
    assert code == 1
    assert f"{source}:1:" in output and "UTF-7" in output and "UTF-8" in output


def _wrong_values() -> list:
    return [7, -1, 1e308, "x", "", None, True, [], [7], {}, {"x": 7}]


def _paths(value, path=()) -> Iterator[tuple]:
    """Every path into a JSON value, containers before what they hold."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replaced(value, path: tuple, new):
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    holder = copy
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = new
    return copy


def test_every_value_of_an_export_replaced_by_one_of_another_type_is_read_or_refused_located():
    """Not one of the ~900 variants raises anything but a located ScheduleInvalid."""
    original = frab()
    tried = 0
    for path, new in itertools.product(list(_paths(original)), _wrong_values()):
        data = _replaced(original, path, new)
        try:
            merge(parse_frab_json(data, "tiny.json"), None, "schedule.yaml")
        except ScheduleInvalid as exc:
            assert all(error.file.startswith(("tiny.json", "schedule.yaml")) for error in exc.errors), (path, new)
        tried += 1
    assert tried == len(list(_paths(original))) * len(_wrong_values())


def test_every_value_of_an_api_answer_replaced_by_one_of_another_type_is_read_or_refused_located():
    event = {"slug": "tiny", "name": {"en": "Tiny"}, "date_from": "2026-07-13", "date_to": "2026-07-13",
             "timezone": "Europe/Prague"}
    slot = {"start": "2026-07-13T10:00:00+02:00", "end": "2026-07-13T10:30:00+02:00", "is_visible": True,
            "room": {"name": {"en": "Main"}, "position": 1},
            "submission": {"code": "AAA111", "title": "Opening", "state": "confirmed", "abstract": "Hi",
                           "speakers": [{"code": "P1", "name": "Ada"}], "submission_type": {"name": {"en": "Talk"}}}}
    original = {"event": event, "slots": [slot]}
    for path, new in itertools.product(list(_paths(original))[1:], _wrong_values()):
        data = _replaced(original, path, new)
        try:
            slots = data["slots"] if isinstance(data["slots"], list) else [data["slots"]]
            merge(parse_pretalx_api(data["event"], {"version": "1"}, slots, "https://x.example/api/events/tiny/"),
                  None, "schedule.yaml")
        except ScheduleInvalid:
            pass


# --------------------------------------------------------------------------- podium import: the fetch


class Dribbler:
    """A TCP server that answers every connection with an HTTP status line and then one byte a
    second, for as long as the connection stays: a server that never finishes its answer."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._dribble, args=(connection,), daemon=True).start()

    def _dribble(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
                while not self.stopping.wait(1.0):
                    connection.sendall(b" ")
            except OSError:
                pass  # the client gave up

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.listener.close()


@pytest.fixture
def dribbler() -> Iterator[Dribbler]:
    server = Dribbler()
    yield server
    server.close()


def test_a_server_that_sends_a_byte_a_second_is_given_up_at_the_deadline(tmp_path, capsys, dribbler):
    url = f"http://127.0.0.1:{dribbler.port}/tiny/schedule/export/schedule.json"
    code, output = run(capsys, "import", url, "--into", str(tmp_path / "s.yaml"), "--timeout", "2")
    assert code == 1
    assert url in output and "no complete answer within 2 s" in output and "--timeout" in output
    assert dribbler.connections == 1
    assert not (tmp_path / "s.yaml").exists()


def test_the_deadline_is_said_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    assert "--timeout SECONDS" in capsys.readouterr().out


@pytest.mark.parametrize("url", [
    "http://ada:PASSWORD-7f3@127.0.0.1:{port}/tiny/schedule.json",
    "http://127.0.0.1:{port}/tiny/schedule.json?token=PASSWORD-7f3&page=2",
    "http://127.0.0.1:{port}/tiny/schedule.json?api_key=PASSWORD-7f3",
    "http://ada:PASSWORD-7f3@127.0.0.1:{port}/api/events/tiny/",
    "http://ada:PASSWORD-7f3@127.0.0.1:notaport/tiny/schedule.json",
])
def test_credentials_in_a_url_are_never_printed(tmp_path, capsys, url):
    from bot.ports import free_port

    url = url.format(port=free_port())  # nothing listens: the error names the URL
    code, output = run(capsys, "import", url, "--into", str(tmp_path / "s.yaml"))
    assert code == 1
    assert "PASSWORD-7f3" not in output and "127.0.0.1" in output
    assert "podium: error:" in output


# --------------------------------------------------------------------------- files that are too large or no files


def test_a_60_mb_one_line_ticket_file_is_refused_naming_the_cap(conference, capsys):
    codes = conference / "codes.txt"
    with codes.open("wb") as out:
        out.truncate(60 * 2**20)  # sparse: 60 MB of NUL bytes on one line
    code, output = run(capsys, "tickets", str(codes), "--schedule", str(conference / "schedule.yaml"),
                       "--data-dir", str(conference / "data"))
    assert code == 1
    assert str(codes) in output and f"{LIST_LIMIT // 2**20} MB" in output


def test_a_ticket_line_longer_than_csv_takes_is_located(conference, capsys):
    codes = conference / "codes.csv"
    codes.write_text("Secret,Name\n" + "A" * 200_000 + ",Ada\n")
    code, output = run(capsys, "tickets", str(codes), "--schedule", str(conference / "schedule.yaml"),
                       "--data-dir", str(conference / "data"))
    assert code == 1
    assert f"{codes}:2:" in output


@pytest.mark.parametrize("argv", [
    ("tickets", "{special}"),
    ("invite", "{special}", "--homeserver", "http://127.0.0.1:9", "--user-id", "@podium:localhost"),
    ("swag", "load", "snakeworks", "{special}"),
    ("import", "{special}", "--into", "imported.yaml"),
    ("validate", "--schedule", "{special}"),
    ("import", "programme.json", "--into", "{special}"),
])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_a_fifo_or_device_is_refused_at_once(conference, argv, kind):
    special = kind
    if kind == "fifo":
        special = str(conference / "codes.fifo")
        os.mkfifo(special)
    code, output = run_child(*(a.format(special=special) for a in argv), cwd=conference)
    assert code == 1
    assert f"{special}: not a regular file" in output


def test_a_schedule_over_the_cap_is_refused_naming_it(conference, capsys):
    schedule = conference / "schedule.yaml"
    with schedule.open("ab") as out:
        out.write(b"# " + b"x" * SCHEDULE_LIMIT + b"\n")
    code, output = run(capsys, "validate", "--schedule", str(schedule))
    assert code == 1
    assert str(schedule) in output and f"{SCHEDULE_LIMIT // 2**20} MB" in output


# --------------------------------------------------------------------------- podium export


def test_an_export_under_a_path_whose_parent_is_a_file_is_refused(conference, capsys):
    (conference / "afile").write_text("not a folder")
    target = conference / "afile" / "programme.ics"
    code, output = run(capsys, "export", "ical", "--schedule", str(conference / "schedule.yaml"),
                       "--user-id", "@podium:example.org", "--data-dir", str(conference / "data"),
                       "-o", str(target))
    assert code == 1
    assert str(target) in output and "nothing was written" in output
    assert (conference / "afile").read_text() == "not a folder"


def test_every_value_of_a_schedule_v2_export_replaced_by_one_of_another_type_is_read_or_refused_located():
    """c3voc's schedule v2 JSON (the CCC hub's export), cut to one talk: every variant is read or
    refused with a located ScheduleInvalid, never anything else."""
    whole = json.loads((Path(__file__).parents[1] / "fixtures/programmes/38c3-hub-v2.json").read_text())["schedule"]
    conference = {key: whole["conference"][key] for key in ("acronym", "title", "start", "end", "time_zone_name")}
    conference["tracks"] = whole["conference"]["tracks"][:1]
    conference["rooms"] = whole["conference"]["rooms"][:1]
    event = {key: whole["events"][0][key] for key in ("guid", "code", "start", "end", "room", "title", "subtitle",
                                                        "language", "track", "abstract", "participants", "links")}
    original = {"schedule": {"version": whole["version"], "conference": conference, "events": [event]}}
    assert is_schedule_v2(original) and parse_schedule_v2(original, "tiny.json").talks
    tried = 0
    for path, new in itertools.product(list(_paths(original))[1:], _wrong_values()):
        data = _replaced(original, path, new)
        tried += 1
        if not is_schedule_v2(data):
            continue  # podium import says it is no format it reads
        try:
            merge(parse_schedule_v2(data, "tiny.json"), None, "schedule.yaml")
        except ScheduleInvalid as exc:
            assert all(error.file.startswith(("tiny.json", "schedule.yaml")) for error in exc.errors), (path, new)
    assert tried > 500
