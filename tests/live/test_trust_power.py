"""What a speaker may do in the track room while their talk runs, and that it ends with the talk.

The conference clock gives a talk's speakers the presenter level while it runs: enough to present
(post, run a poll of their own), none of a moderator's rights: no widget, no room state, no
redacting others, no kick, no ban, no moderator command. The level follows the schedule in force:
a talk deleted or moved away by an edit put in force while it runs takes it back at once.
Against the real Synapse, with the clock and the reloader of ``podium run``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from datetime import timedelta
from urllib.parse import quote

import yaml

from bot.day.reload import ReloadOptions, ScheduleReloader
from bot.day.runner import DayOptions
from bot.matrix import MatrixAdapter, MatrixError
from bot.roomstate.state import POWER_LEVELS, WIDGET
from tests.support.clock import DAY
from tests.support.live import LiveSetup, SetClock
from tests.support.waiting import eventually

POLL_START = "org.matrix.msc3381.poll.start"
#: The conference's time, set by each test; the clock is woken after each change.
CLOCK = SetClock(DAY - timedelta(minutes=1))


def talks(ids: dict[str, str]) -> dict:
    """Sam speaks twice in the Forum: at 10:00 for 45 minutes and at 11:00 for 30."""
    sam = [{"name": "Sam", "matrix_id": ids["sam"]}]
    return {"talks": [
        {"id": "t1", "track": "forum", "title": "First", "start": "2026-07-13 10:00", "duration": 45, "speakers": sam},
        {"id": "t2", "track": "forum", "title": "Second", "start": "2026-07-13 11:00", "duration": 30, "speakers": sam},
    ]}


#: Ann and Vic are attendees; everyone (Sam the speaker too) is in the track room.
LIVE = LiveSetup(people=(("ann", "Ann"), ("vic", "Vic")), speaker=True, extra=talks, clock=CLOCK,
                 day=DayOptions(pass_at_most=5.0))


def as_person(live, name: str) -> MatrixAdapter:
    return MatrixAdapter(live.homeserver, getattr(live, name).user_id, live.tokens[name])


async def levels(live) -> dict:
    async with as_person(live, "mod") as mod:
        return (await mod.room_state(live.track)).state[(POWER_LEVELS, "")]


async def power(live, user_id: str) -> int:
    return (await levels(live)).get("users", {}).get(user_id, 0)


async def at(live, moment) -> None:
    CLOCK.at = moment
    live.runner.day_runner.wake()


async def refused(attempt: Awaitable) -> bool:
    try:
        await attempt
    except MatrixError as exc:
        assert exc.status == 403, exc
        return True
    return False


@contextlib.asynccontextmanager
async def edited(live, edit):
    """schedule.yaml edited by ``edit`` (a function of its data) and put in force by the reloader;
    as applied again afterwards."""
    path = live.conf.schedule_path
    as_applied = path.read_text()
    reloader = ScheduleReloader(live.runner.runtime, ReloadOptions(path, live.conf.conference.settings,
                                                                   live.connection))
    data = yaml.safe_load(as_applied)
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        report = await reloader.reload(announce=False)
        assert "reloaded" in report.body, report.body
        yield
    finally:
        path.write_text(as_applied)
        await reloader.reload(announce=False)


async def test_a_speaker_presents_during_the_talk_but_does_not_moderate(live, make_user):
    sam = live.conf.speaker
    await at(live, DAY + timedelta(minutes=1))
    await eventually(lambda: power(live, sam), what="the speaker's power at the start of the talk")

    said = await live.ann.say(live.track, "a question from the floor")
    outsider, _ = make_user("outsider")
    async with as_person(live, "mod") as mod:
        widget = (await mod.room_state(live.track)).state
    widget_id = next(key for (event_type, key), content in widget.items() if event_type == WIDGET and content)
    async with as_person(live, "sam") as speaker:
        attempts = {
            "swap the widget": speaker.put_state(live.track, WIDGET, widget_id,
                                                 {**widget[(WIDGET, widget_id)], "url": "https://elsewhere.example/"},
                                                 what="swap the widget"),
            "rename the room": speaker.put_state(live.track, "m.room.name", "", {"name": "Sam's room"},
                                                 what="rename the room"),
            "redact another's message": speaker.redact(live.track, said, "", "sam-redacts", what="redact"),
            "kick": speaker.request("POST", f"/_matrix/client/v3/rooms/{quote(live.track)}/kick",
                                    {"user_id": live.vic.user_id}, what="kick"),
            "ban": speaker.request("POST", f"/_matrix/client/v3/rooms/{quote(live.track)}/ban",
                                   {"user_id": outsider}, what="ban"),
        }
        could = [what for what, attempt in attempts.items() if not await refused(attempt)]
        for command in ("!delay 0", "!qa top", "!poll list"):
            reply = await live.sam.ask(live.track, command, live.bot)
            if "is for moderators" not in reply["body"]:
                could.append(command)
        assert could == [], f"the speaker could {len(could)} of 8 moderator things during the talk: {could}"

        # What presenting needs: posting, and a poll of their own, which attendees cannot start.
        poll = {POLL_START: {"question": {"org.matrix.msc1767.text": "Tabs or spaces?"},
                             "kind": "org.matrix.msc3381.poll.disclosed", "max_selections": 1,
                             "answers": [{"id": "a", "org.matrix.msc1767.text": "Tabs"},
                                         {"id": "b", "org.matrix.msc1767.text": "Spaces"}]},
                "org.matrix.msc1767.text": "Tabs or spaces?"}
        await speaker.send_event(live.track, POLL_START, poll, "sam-poll", what="start a poll")
        await live.sam.say(live.track, "Slides: https://example.org/slides")
    async with as_person(live, "ann") as attendee:
        assert await refused(attendee.send_event(live.track, POLL_START, poll, "ann-poll", what="start a poll"))


async def test_a_talk_deleted_while_it_runs_takes_the_presenter_level_back(live):
    sam = live.conf.speaker
    await at(live, DAY + timedelta(minutes=2))
    await eventually(lambda: power(live, sam), what="the speaker presenting the first talk")

    def delete_first(data):
        data["talks"] = [talk for talk in data["talks"] if talk["id"] != "t1"]

    async with edited(live, delete_first):
        async def gone():
            return await power(live, sam) == 0
        await eventually(gone, what="the speaker's power gone once their talk is deleted")


async def test_a_talk_moved_away_while_it_runs_takes_the_presenter_level_back(live):
    sam = live.conf.speaker
    await at(live, DAY + timedelta(hours=1, minutes=1))
    await eventually(lambda: power(live, sam), what="the speaker presenting the second talk")

    def move_second(data):
        next(talk for talk in data["talks"] if talk["id"] == "t2")["start"] = "2026-07-13 15:00"

    async with edited(live, move_second):
        async def gone():
            return await power(live, sam) == 0
        await eventually(gone, what="the speaker's power gone once their talk is moved to the afternoon")
