"""Any input to validate, plan and apply ends in a located error or in rooms a homeserver can
store: arbitrary text and bytes, and plausible schedules with extreme values in every field."""

from __future__ import annotations

import copy
import functools
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.conference.schedule import Schedule, ScheduleInvalid, load_schedule_source
from bot.provisioning.desired import Settings
from bot.provisioning.limits import EVENT_BUDGET, MAX_ID_BYTES, event_size
from bot.provisioning.pipeline import DEFAULT_TEMPLATES, conference_from
from bot.provisioning.templates import RoomTemplates

SETTINGS = Settings(server_name="localhost", bot_user_id="@podium:localhost", public_url="http://localhost:8080")
#: The bundled templates, read once: ``build`` is reading the two files and then this.
TEMPLATES = RoomTemplates.load(DEFAULT_TEMPLATES)

#: Deterministic and bounded: the same examples on every run, a few seconds in all.
FUZZ = settings(derandomize=True, max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(path: Path) -> Schedule | ScheduleInvalid:
    """What validate, and then plan or apply, make of the file, short of any request."""
    try:
        conference = conference_from(load_schedule_source(path), TEMPLATES, SETTINGS)
    except ScheduleInvalid as exc:
        return exc
    for room in conference.rooms:  # every one a room the homeserver can store
        assert len(f"#{room.alias}:{SETTINGS.server_name}".encode()) <= MAX_ID_BYTES
        for (event_type, state_key), content in room.state.items():
            assert event_size(event_type, state_key, content, SETTINGS.bot_user_id) <= EVENT_BUDGET, room.key
    return conference.schedule


def assert_located(result: Schedule | ScheduleInvalid, path: Path) -> None:
    if isinstance(result, ScheduleInvalid):
        assert result.errors
        for error in result.errors:
            assert error.file == str(path) and error.line is not None and error.line >= 1, str(error)
            assert error.message and "Traceback" not in error.message and "Input should" not in error.message


def check_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schedule.yaml"
        path.write_bytes(data)
        assert_located(outcome(path), path)


# --------------------------------------------------------------------------- any text at all

yaml_alphabet = st.sampled_from(list("abcz019 -:_.,[]{}#&*!|>'\"%@`?\n\t\r\\") +
                                ["\x00", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "\ufffe", "é", "🎤"])
HEADER = "conference: {id: c, name: C, timezone: UTC, start: 2026-03-01, end: 2026-03-01}\n"


@FUZZ
@given(st.one_of(st.text(max_size=200), st.text(yaml_alphabet, max_size=200)), st.booleans())
def test_any_text_is_a_located_error_or_a_schedule(text: str, with_header: bool) -> None:
    check_file(((HEADER if with_header else "") + text).encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_are_a_located_error_or_a_schedule(data: bytes) -> None:
    check_file(data)


# --------------------------------------------------------------------------- plausible schedules

EDGE_ZONES = ["UTC", "Asia/Tokyo", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12", "Etc/GMT-14",
              "Pacific/Chatham", "Australia/Lord_Howe", "Europe/Dublin", "America/St_Johns", "Asia/Kathmandu",
              "Africa/Casablanca", "Europe/Prague"]
#: Days a conference may start on: the first and last Podium takes, an ordinary one, and the
#: ends of Python's calendar (which Podium refuses).
FIRST_DAYS = ["1970-01-01", "2026-07-13", "9998-12-30", "0001-01-01", "9999-12-30"]


def longest(char: str, n: int) -> st.SearchStrategy:
    return st.just(n).map(lambda n: char * n)  # keeps the strategy's repr short


def now_and_then(usual: st.SearchStrategy, extreme: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` nine times in ten: extremes everywhere at once would make slow examples."""
    return st.integers(0, 9).flatmap(lambda i: extreme if i == 0 else usual)


#: Valid values, now and then the longest and oddest the schedule takes.
names = now_and_then(st.sampled_from(["Conf", "Ünïcødé 🎤", "{{ 7 * 7 }}", "<script>alert(1)</script>", "a:b #c"]),
                     st.one_of(longest("é", 255), longest("🎤", 255)))
long_text = now_and_then(st.sampled_from(["", "About\nthe talk\twith tabs"]), longest("é", 10_000))
matrix_ids = now_and_then(st.sampled_from(["@ada:example.org", "@b.c=d/e+f:localhost:8448"]),
                          longest("a", 248).map(lambda local: f"@{local}:e.org"))
urls = now_and_then(st.sampled_from(["https://example.org/live.m3u8", "https://www.youtube.com/watch?v=x",
                                     "http://[::1]:8080/s"]),
                    longest("p", 7_980).map(lambda path: f"https://example.org/{path}"))
people = now_and_then(
    st.lists(st.one_of(names, st.fixed_dictionaries({"name": names}, optional={"matrix_id": matrix_ids})),
             max_size=3),
    st.integers(150, 600).map(lambda n: [f"Speaker {i} " + "é" * 120 for i in range(n)]))


@st.composite
def valid_schedules(draw: st.DrawFn) -> dict:
    """A schedule that validates, unless its days are at the very ends of the calendar."""
    first = draw(st.sampled_from(FIRST_DAYS))
    day = first[:-2] + f"{int(first[-2:]) + draw(st.integers(0, 1)):02d}"
    track_ids = draw(st.lists(st.sampled_from(["t", "forum", "a.b_c-d", "x" * 48]), min_size=1, max_size=2,
                              unique_by=str.lower))
    hours = sorted(draw(st.lists(st.sampled_from([0, 9, 12, 23]), max_size=3, unique=True)))
    talks = [{"id": f"talk{i}", "track": track_ids[i % len(track_ids)], "title": draw(names),
              "start": f"{day} {hour:02d}:00", "duration": draw(st.sampled_from([1, 30, "1h", "45m"])),
              "speakers": draw(people), "abstract": draw(long_text),
              "kind": draw(st.sampled_from(["talk", "keynote", "PANEL"]))}
             for i, hour in enumerate(hours)]
    optional = lambda section: draw(st.booleans()) and section  # noqa: E731 - reads as a sentence
    data = {
        "conference": {"id": draw(st.sampled_from(["c", "x" * 24])), "name": draw(names),
                       "description": draw(long_text), "timezone": draw(st.sampled_from(EDGE_ZONES)),
                       "start": first, "end": day, "access": draw(st.sampled_from(["public", "invite", "space-members"])),
                       "video": {"jitsi_domain": "meet.jit.si", "jitsi_wrapper_url": draw(urls)}},
        "staff": {"organisers": draw(st.lists(matrix_ids, max_size=2, unique=True)),
                  "moderators": draw(st.lists(matrix_ids, max_size=2, unique=True))},
        "tracks": [{"id": t, "name": draw(names), "stream": draw(st.none() | urls), "topic": draw(long_text),
                    "chairs": draw(st.lists(matrix_ids, max_size=2))} for t in track_ids],
        "talks": talks,
        "posters": optional([{"id": "p", "title": draw(names), "presenters": draw(people), "pdf": draw(urls)}]),
        "sponsors": optional([{"id": "s", "name": draw(names), "level": "gold", "description": draw(long_text),
                               "staff": draw(st.lists(matrix_ids, max_size=2)), "booth_url": draw(urls),
                               "jobs": [{"title": draw(names), "url": draw(urls)}]}]),
        "helpdesks": optional([{"id": "h", "name": draw(names), "video": True, "topic": draw(long_text)}]),
        "open_space": optional({"rooms": [{"id": "o", "name": draw(names), "video": draw(st.booleans())}],
                                "slots": [{"start": f"{day} 23:00", "duration": 60}]}),
    }
    return {k: v for k, v in data.items() if v is not False}


days = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.sampled_from([1, 2, 1969, 9999, 10_000]),
                 st.sampled_from([1, 2, 12, 13]), st.sampled_from([1, 29, 31, 32]))
moments = st.builds(lambda d, h, m, o: f"{d}T{h:02d}:{m:02d}{o}" if o else f"{d} {h:02d}:{m:02d}",
                    st.sampled_from(["0001-01-01", "9999-12-31", "1969-12-31", "2026-03-29", "2026-13-01"]),
                    st.sampled_from([0, 2, 23, 24]), st.sampled_from([0, 30, 59, 60]),
                    st.sampled_from(["", "Z", "+14:00", "-12:00", "+23:59", "-23:59", "+24:00", " UTC"]))
#: What an organiser, an importer or an attacker might put anywhere instead.
wrong = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(), st.just([]), st.just({}),
    st.sampled_from(["a\nb", "a\x1bb", "a\x00b", "\x7f", "\x85", "\u2028", "  ", "", "forum\n", "Mars/Olympus",
                     "25h", "PT1H", "-5", "@Ada:example.org"]),
    st.text(max_size=12), days, moments,
    st.sampled_from([256, 10_001, 70_000]).map(lambda n: "é" * n),
    st.just(250).map(lambda n: "@" + "a" * n + ":e.org"),
    st.just(110).map(lambda depth: functools.reduce(lambda inner, _: [inner], range(depth), "deep")),
    st.fixed_dictionaries({"unknown": st.integers()}),
)


def places(value: object, path: tuple = ()):
    """Every place in plain data that a value could be put or a key removed."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from places(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from places(v, (*path, i))


@st.composite
def schedules(draw: st.DrawFn) -> dict:
    """A valid schedule with up to three of its values replaced by something wrong or extreme."""
    data = copy.deepcopy(draw(valid_schedules()))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        path = draw(st.sampled_from(list(places(data))[1:]))
        parent = functools.reduce(lambda v, k: v[k], path[:-1], data)
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(wrong)
    return data


@FUZZ
@given(schedules())
def test_any_schedule_is_a_located_error_or_rooms_the_homeserver_can_store(data: dict) -> None:
    # The dumper writes control characters as escapes in double quotes: the schedule gets them.
    check_file(yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                         sort_keys=False, width=200).encode())


@pytest.mark.parametrize("tz", EDGE_ZONES)
@pytest.mark.parametrize("year", [1970, 9998])
def test_the_first_and_last_years_work_in_every_timezone(tz: str, year: int) -> None:
    """The calendar's edges as far as Podium takes them: talks at the very start and end."""
    day = f"{year}-01-01" if year == 1970 else f"{year}-12-31"
    talks = [{"id": "first", "track": "t", "title": "First", "start": f"{day} 00:00", "duration": 30},
             {"id": "last", "track": "t", "title": "Last", "start": f"{day} 23:30", "duration": "30m"}]
    data = {"conference": {"id": "c", "name": "C", "timezone": tz, "start": day, "end": day},
            "tracks": [{"id": "t", "name": "T"}], "talks": talks,
            "open_space": {"rooms": [{"id": "o", "name": "O"}],
                           "slots": [{"start": f"{day}T12:00Z", "duration": 60}]}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schedule.yaml"
        path.write_text(yaml.safe_dump(data))
        result = outcome(path)
    if isinstance(result, ScheduleInvalid):
        # Only a slot given in UTC may fall outside a far-off timezone's day; nothing else.
        assert [e.path for e in result.errors] == ["open_space.slots[0].start"], str(result)
