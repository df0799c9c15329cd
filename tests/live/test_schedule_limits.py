"""What the homeserver cannot store, and the ends of the calendar, are located errors: per field
in `validate`, per rendered room before plan and apply send anything, and never a traceback."""

from __future__ import annotations

import asyncio
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.conference.schedule import (
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    ScheduleError,
    ScheduleInvalid,
    load_schedule,
    parse_schedule,
)
from bot.matrix import MatrixAdapter, MatrixError
from bot.provisioning.desired import Settings
from bot.provisioning.limits import ENVELOPE_ALLOWANCE, EVENT_BUDGET, MAX_EVENT_BYTES, event_size
from bot.provisioning.pipeline import DEFAULT_TEMPLATES, build
from bot.provisioning.templates import TemplateProblem
from tests.support.provisioning import podium

SETTINGS = Settings(server_name="localhost", bot_user_id="@podium:localhost", public_url="http://localhost:8080")

HEAD = """\
conference:
  id: ep2026
  name: EuroPython 2026
  timezone: {tz}
  start: {start}
  end: {end}
tracks:
  - {{id: forum, name: Forum Hall}}
"""


def head(tz: str = "Europe/Prague", start: str = "2026-07-13", end: str = "2026-07-15") -> str:
    return HEAD.format(tz=tz, start=start, end=end)


def talk(start: str = "2026-07-13 09:00", **fields: str) -> str:
    extra = "".join(f"\n    {k}: {v}" for k, v in fields.items())
    return f"talks:\n  - id: a\n    track: forum\n    title: A\n    start: {start}\n    duration: 30{extra}\n"


def only_error(text: str) -> ScheduleError:
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(text)
    assert len(info.value.errors) == 1, str(info.value)
    return info.value.errors[0]


# --------------------------------------------------------------------------- the calendar's ends

TALK_START_LINE = 13


@pytest.mark.parametrize(("text", "line", "path", "fragment"), [
    (head(end="9999-12-31"), 6, "conference.end", "'9999-12-31' is in the year 9999"),
    (head(tz="Asia/Tokyo", start="0001-01-01"), 5, "conference.start", "'0001-01-01' is in the year 1;"),
    (head(tz="Asia/Tokyo") + talk("0001-01-01 00:30"), TALK_START_LINE, "talks[0].start", "in the year 1;"),
    (head(tz="America/New_York") + talk("9999-12-31 23:00"), TALK_START_LINE, "talks[0].start", "year 9999"),
    (head(tz="UTC") + talk("'9999-12-31T23:59-23:59'"), TALK_START_LINE, "talks[0].start", "year 9999"),
    (head(tz="UTC") + talk("1969-12-31T23:59+14:00"), TALK_START_LINE, "talks[0].start", "year 1969"),
], ids=["end-9999", "start-0001-tokyo", "talk-0001-tokyo", "talk-9999-new-york", "offset-9999", "talk-1969"])
def test_dates_at_the_ends_of_the_calendar_are_located_errors(text: str, line: int, path: str,
                                                              fragment: str) -> None:
    err = only_error(text)
    assert (err.line, err.path) == (line, path), str(err)
    assert fragment in err.message and "from 1970 to 9998" in err.message


def test_the_last_day_podium_takes_works_in_the_furthest_timezones() -> None:
    for tz in ("Pacific/Kiritimati", "Etc/GMT+12"):
        text = head(tz=tz, start="9998-12-31", end="9998-12-31") + talk("9998-12-31 23:30")
        conference = build(write(text), SETTINGS)
        assert conference.schedule.talks[0].end.year == 9999 or tz == "Etc/GMT+12"


# --------------------------------------------------------------------------- bytes YAML refuses

@pytest.mark.parametrize(("raw", "code"), [(b"\x00", "U+0000"), (b"\x1b", "U+001B"), (b"\x7f", "U+007F")])
def test_a_control_byte_in_the_file_is_a_located_error(tmp_path: Path, raw: bytes, code: str) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_bytes(head().encode() + b"talks:\r\n  - id: a\r\n    title: Bad" + raw + b"\r\n")
    with pytest.raises(ScheduleInvalid) as info:
        load_schedule(path)
    [err] = info.value.errors
    assert (err.file, err.line) == (str(path), 11)
    assert f"column 15 holds the control character {code}" in err.message


def test_bytes_that_are_not_utf8_are_located(tmp_path: Path) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_bytes(head().encode() + b"talks:\n  - title: Caf\xe9\n")
    with pytest.raises(ScheduleInvalid) as info:
        load_schedule(path)
    [err] = info.value.errors
    assert err.line == 10 and "not UTF-8 text" in err.message and "column 15" in err.message


# --------------------------------------------------------------------------- per-field limits


def test_a_70_kb_title_is_refused_at_its_line() -> None:
    err = only_error(head() + talk().replace("title: A", "title: " + "Long" * 17_500))
    assert (err.line, err.path) == (12, "talks[0].title")
    assert "has 70,000 characters" in err.message and f"at most {MAX_NAME_LENGTH}" in err.message


def field(path: str, value: str) -> str:
    """A schedule whose entry at ``path`` (a section and a field) is ``value``, quoted as JSON."""
    quoted = yaml.safe_dump(value, default_style='"', width=10**9).strip()
    sections = {
        "title": head() + talk().replace("title: A", f"title: {quoted}"),
        "abstract": head() + talk(abstract=quoted),
        "stream": head().replace("name: Forum Hall}", f"name: Forum Hall, stream: {quoted}}}"),
        "chairs": head().replace("name: Forum Hall}", f"name: Forum Hall, chairs: [{quoted}]}}"),
        "jitsi_domain": head().replace("tracks:", f"  video: {{jitsi_domain: {quoted}}}\ntracks:"),
        "level": head() + f"sponsors:\n  - {{id: s, name: S, level: {quoted}}}\n",
        "id": head().replace("{id: forum,", f"{{id: {quoted},"),
    }
    return sections[path]


@pytest.mark.parametrize(("name", "ok", "bad", "fragment"), [
    ("title", "é" * MAX_NAME_LENGTH, "é" * (MAX_NAME_LENGTH + 1), "has 256 characters"),
    ("abstract", "é" * MAX_TEXT_LENGTH, "é" * (MAX_TEXT_LENGTH + 1), "has 10,001 characters"),
    ("stream", "https://e.org/" + "p" * (MAX_URL_LENGTH - 14), "https://e.org/" + "p" * (MAX_URL_LENGTH - 13),
     "has 8,001 characters"),
    ("chairs", "@" + "a" * 248 + ":e.org", "@" + "a" * 249 + ":e.org", "Matrix IDs have at most 255"),
    ("jitsi_domain", "h" * 253, "h" * 254, "is not a host name"),
    ("level", "Gold", "Gold\nor silver", "must be one line"),
    ("title", "Tabs\u00a0and\u2028breaks are not controls", "Opening \x1b[2J", "control character U+001B"),
    ("title", "A title", "Two\nlines", "must be one line"),
    ("abstract", "Two\nlines\tand a tab", "Carriage\rreturn", "control character U+000D"),
    ("abstract", "Fine", "Bell \x07", "control character U+0007"),
    ("id", "forum", "forum\n", "is not a valid id"),
])
def test_each_field_takes_what_matrix_can_store(name: str, ok: str, bad: str, fragment: str) -> None:
    parse_schedule(field(name, ok))
    err = only_error(field(name, bad))
    assert fragment in err.message, str(err)
    assert err.line is not None and name in err.path, str(err)


# --------------------------------------------------------------------------- rendered rooms


def write(text: str, name: str = "schedule.yaml") -> Path:
    directory = Path(__import__("tempfile").mkdtemp())
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def schedule_with(**sections: object) -> Path:
    data = yaml.safe_load(head() + talk())
    data["conference"]["start"] = data["conference"]["end"] = "2026-07-13"
    data.update(sections)
    return write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**9))


def room_errors(path: Path, settings: Settings = SETTINGS, templates: Path = DEFAULT_TEMPLATES) -> list[ScheduleError]:
    load_schedule(path)  # valid as far as validate can tell
    with pytest.raises(ScheduleInvalid) as info:
        build(path, settings, templates)
    return info.value.errors


def line_of(path: Path, fragment: str) -> int:
    return next(i for i, row in enumerate(path.read_text().splitlines(), 1) if fragment in row)


def speakers(n: int) -> list[str]:
    return [f"Speaker {i} with a name that goes on" for i in range(n)]


def test_a_topic_too_large_for_matrix_names_the_speakers() -> None:
    data = yaml.safe_load(head() + talk())
    data["talks"][0]["speakers"] = speakers(3_000)
    path = write(yaml.safe_dump(data, sort_keys=False))
    [err] = room_errors(path)
    assert (err.file, err.line, err.path) == (str(path), line_of(path, "speakers:"), "talks[0].speakers")
    assert "room talk/a (room-templates/breakout.yaml) would get an m.room.topic event of" in err.message
    assert f"more than the {EVENT_BUDGET:,} bytes" in err.message and "list fewer entries" in err.message


def test_organisers_too_many_for_the_power_levels_are_one_error_for_all_rooms() -> None:
    path = schedule_with(staff={"organisers": [f"@organiser{i}:example.org" for i in range(3_000)]})
    [err] = room_errors(path)
    assert (err.line, err.path) == (line_of(path, "organisers:"), "staff.organisers")
    assert "m.room.power_levels event" in err.message
    assert "the same goes for 7 more rooms" in err.message  # every room but the space


def test_two_fields_together_too_large_are_both_named() -> None:
    many = [f"@person{i}:example.org" for i in range(2_500)]
    path = schedule_with(staff={"organisers": many, "moderators": [m.replace("person", "mod") for m in many]})
    [err] = room_errors(path)
    other = "staff.moderators" if err.path == "staff.organisers" else "staff.organisers"
    assert err.path in ("staff.organisers", "staff.moderators")
    assert f"that alone is not enough: shorten {other} (line {line_of(path, other.split('.')[1])}) too" \
        in err.message


def test_an_alias_too_long_for_the_server_names_the_id() -> None:
    path = schedule_with(tracks=[{"id": "x" * 48, "name": "Long"}],
                         talks=[{"id": "a", "track": "x" * 48, "title": "A", "start": "2026-07-13 09:00",
                                 "duration": 30}])
    server = "s" * 180 + ".example.org"
    errors = room_errors(path, Settings(server, f"@podium:{server}", "http://localhost:8080"))
    assert [(e.line, e.path) for e in errors] == [(line_of(path, "- id: xxx"), "tracks[0].id")]
    assert "would have the alias #ep2026-backstage-xxx" in errors[0].message
    assert "the server name takes 192 of them" in errors[0].message


def templates_with(tmp_path: Path, kind: str, old: str, new: str) -> Path:
    directory = tmp_path / "room-templates"
    shutil.copytree(DEFAULT_TEMPLATES, directory)
    template = directory / f"{kind}.yaml"
    assert old in template.read_text()
    template.write_text(template.read_text().replace(old, new))
    return directory


def test_a_template_that_copies_a_field_too_often_names_the_field(tmp_path: Path) -> None:
    templates = templates_with(tmp_path, "breakout", 'name: "{{ item.title }}"', 'name: "{{ item.title * 300 }}"')
    path = schedule_with(talks=[{"id": "a", "track": "forum", "title": "T" * 250, "start": "2026-07-13 09:00",
                                 "duration": 30}])
    [err] = room_errors(path, templates=templates)
    assert (err.line, err.path) == (line_of(path, "title:"), "talks[0].title")
    assert "(room-templates/breakout.yaml) would get an m.room.name event" in err.message


def test_a_widget_id_too_long_for_a_state_key_names_the_field(tmp_path: Path) -> None:
    templates = templates_with(tmp_path, "sponsor", "id: podium-booth", 'id: "booth-{{ sponsor.name }}"')
    path = schedule_with(sponsors=[{"id": "s", "name": "Ä" * 200}])
    [err] = room_errors(path, templates=templates)
    assert (err.line, err.path) == (line_of(path, "name: ÄÄÄ"), "sponsors[0].name")
    assert "a state key 'booth-ÄÄÄ" in err.message and "more than the 255 bytes Matrix allows" in err.message


def test_a_template_too_large_by_itself_is_a_template_error(tmp_path: Path) -> None:
    templates = templates_with(tmp_path, "track", 'topic: "', 'topic: "' + "Welcome! " * 8_000)
    with pytest.raises(TemplateProblem) as info:
        build(schedule_with(), SETTINGS, templates)
    message = str(info.value)
    assert message.startswith(f"{templates / 'track.yaml'}: room track/forum would get an m.room.topic event")
    assert "even with every schedule text left empty" in message


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize(("content", "line", "fragment"), [
    (head(end="9999-12-31").encode(), 6, "conference.end: '9999-12-31' is in the year 9999"),
    (head().encode() + b"talks:\n  - {id: a, title: \x00}\n", 10, "column 20 holds the control character U+0000"),
    ((head() + talk().replace("title: A", "title: " + "x" * 70_000)).encode(), 12, "talks[0].title: this name"),
])
def test_validate_reports_located_errors_and_no_traceback(tmp_path: Path, capsys, content: bytes, line: int,
                                                          fragment: str) -> None:
    path = tmp_path / "schedule.yaml"
    path.write_bytes(content)
    assert main(["validate", "--schedule", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"{path}:{line}: {fragment}" in err, err
    assert "Traceback" not in out + err and "Error:" not in out + err


def test_rooms_the_homeserver_cannot_store_stop_plan_and_apply_before_any_request(bot, proxy, monkeypatch,
                                                                                   capsys) -> None:
    """Before: apply created every other room and the homeserver refused this one (M_TOO_LARGE)."""
    data = yaml.safe_load(head() + talk())
    data["talks"][0]["speakers"] = speakers(3_000)
    path = write(yaml.safe_dump(data, sort_keys=False))
    for command in ("plan", "apply"):
        code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, command, "--schedule", str(path))
        assert code == 1, out + err
        assert f"{path}:{line_of(path, 'speakers:')}: talks[0].speakers: room talk/a" in err
        assert "Nothing was changed" in err and "Traceback" not in out + err
    assert proxy.requests == []


def test_the_largest_event_podium_allows_is_one_synapse_stores(bot) -> None:
    """The allowance for what the homeserver adds is honest: an event Podium measures at exactly
    its budget is stored; one whose content alone is over the Matrix limit is refused."""
    assert EVENT_BUDGET + ENVELOPE_ALLOWANCE == MAX_EVENT_BYTES

    def content_of_size(size: int) -> dict[str, str]:
        empty = event_size("org.podium.test", "", {"pad": ""}, bot.user_id)
        return {"pad": "é" * ((size - empty) // 2) + "x" * ((size - empty) % 2)}

    largest = content_of_size(EVENT_BUDGET)
    assert event_size("org.podium.test", "", largest, bot.user_id) == EVENT_BUDGET

    async def run() -> MatrixError:
        async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
            room_id = await adapter.create_room({"preset": "private_chat"}, what="create a room")
            await adapter.put_state(room_id, "org.podium.test", "", largest, what="store the largest event")
            with pytest.raises(MatrixError) as refused:
                await adapter.put_state(room_id, "org.podium.test", "", content_of_size(MAX_EVENT_BYTES + 1),
                                        what="store an event that is too large")
            return refused.value

    assert asyncio.run(run()).errcode == "M_TOO_LARGE"


def test_validate_finds_a_room_the_homeserver_could_not_store(capsys, monkeypatch) -> None:
    """Every field fits on its own, but the templates put 3,000 organisers into every room's
    power levels: validate builds the rooms too, and names the field at its line."""
    monkeypatch.delenv("PODIUM_USER_ID", raising=False)
    path = schedule_with(staff={"organisers": [f"@organiser{i}:example.org" for i in range(3_000)]})
    load_schedule(path)  # the schedule alone is valid
    assert main(["validate", "--schedule", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"{path}:{line_of(path, 'organisers:')}: staff.organisers: room " in err, err
    assert out == "" and "Traceback" not in err


def test_validate_measures_aliases_with_the_bots_server(capsys, monkeypatch) -> None:
    path = schedule_with()
    monkeypatch.setenv("PODIUM_USER_ID", "@podium:" + "long-server-name." * 14 + "example.org")
    assert main(["validate", "--schedule", str(path)]) == 1
    assert "more than the 255 Matrix allows" in capsys.readouterr().err
    monkeypatch.delenv("PODIUM_USER_ID")
    assert main(["validate", "--schedule", str(path)]) == 0
    assert "rooms the homeserver can store" in capsys.readouterr().out
