"""The conference clock against a real Synapse, watched from attendee, speaker and moderator
clients, on a compressed day: talks of a minute, a clock running ten times as fast.

One sequence runs from the speakers' reminder to the last talk's end: the check-in with
``!here`` and the alert for the speaker who did not, the topic, the notice and the speaker's
power at the start, the plenary announcement, the open questions handed to the breakout and the
pointer to it at the end. The bot is stopped in the middle and started again: nothing is said
twice and nothing is missed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import sqlite_utils
import yaml

from bot.conference.roles import PRESENTER_POWER
from bot.conference.transitions import TALK_KINDS
from bot.day.runner import DayOptions
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build
from bot.roomstate.state import POWER_LEVELS
from bot.store.database import Store
from bot.store.transitions import TransitionStore
from tests.support.clock import DAY, ClockBot, FastClock
from tests.support.live import BotRunner, LiveSetup, by_bot, live_bot
from tests.support.waiting import eventually


def programme(ids: dict[str, str]) -> dict:
    """Two tracks, a plenary among them, and talks of a minute; Al is the second talk's speaker."""
    return {
        "tracks": [{"id": "forum", "name": "Forum Hall", "stream": "https://example.org/live.m3u8"},
                   {"id": "main", "name": "Main stage", "kind": "plenary"}],
        "talks": [
            {"id": "t1", "track": "forum", "title": "Talk <one>", "start": "2026-07-13 10:00", "duration": 1,
             "speakers": [{"name": "Sam", "matrix_id": ids["sam"]}]},
            {"id": "t2", "track": "forum", "title": "Talk two", "start": "2026-07-13 10:01", "duration": 1,
             "speakers": [{"name": "Absent Al", "matrix_id": ids["al"]}]},
            {"id": "k1", "track": "main", "title": "Keynote", "start": "2026-07-13 10:01", "duration": 1},
        ],
    }


#: Each test runs the bot with its clock itself, on a data directory of its own; rooms are joined
#: by the tests. Al, the second talk's speaker, never checks in.
LIVE = LiveSetup(people=(("ann", "Ann"), ("al", "Al")), speaker=True, extra=programme, rooms={},
                 bot_running=False)
OPTIONS = DayOptions(remind_before=timedelta(seconds=30), pass_at_most=0.2)


async def test_a_compressed_day_runs_start_to_end_once_across_a_restart(live):
    bot, conf_id, mod, sam, ann = live.connection, live.conf.conf_id, live.mod, live.sam, live.ann
    ids = {"speaker": live.conf.speaker, "absent": live.al.user_id}
    alias = lambda local: f"#{conf_id}-{local}:localhost"
    track = await ann.join(alias("track-forum"))
    breakout = await ann.join(alias("talk-t1"))
    announcements = await ann.join(alias("announcements"))
    backstage = await mod.join(alias("backstage-forum"))
    await sam.join(alias("backstage-forum"))

    # The clock starts 40 conference seconds before the first talk: 10 before its reminder.
    clock = FastClock(DAY - timedelta(seconds=40))
    runner = ClockBot(live.homeserver, bot, live.conf.conference, live.directory / "data", clock=clock,
                      day=OPTIONS)
    await runner.start()
    try:
        reminder = await mod.wait_for(backstage, by_bot(bot.user_id, "Speakers, please check in"))
        assert reminder["content"]["body"].startswith("Starting at 10:00: “Talk <one>” — Sam.")
        assert "&lt;one&gt;" in reminder["content"]["formatted_body"]
        assert reminder["content"]["m.mentions"] == {"user_ids": [ids["speaker"]]}
        await sam.say(backstage, "!here")
        await sam.wait_for(backstage, by_bot(bot.user_id, "you are checked in for “Talk <one>” at 10:00"))

        now = await ann.wait_for(track, by_bot(bot.user_id, "Now: Talk <one> — Sam."))
        assert now["content"]["msgtype"] == "m.notice"
        await ann.say(track, "!ask Will the slides be online?")
        await ann.wait_for(track, by_bot(bot.user_id, "Will the slides be online?"))
        # What every member sees: the topic says what is on and next, the speaker may present.
        topic = await ann.wait_for(track, lambda e: e.get("type") == "m.room.topic"
                                   and e["content"].get("topic", "").startswith("Now: Talk <one>"))
        assert topic["content"]["topic"].startswith(
            "Now: Talk <one> — Sam · Next at 10:01: Talk two — Absent Al · Stream: http")
        await ann.wait_for(track, lambda e: e.get("type") == POWER_LEVELS
                           and e["content"].get("users", {}).get(ids["speaker"]) == PRESENTER_POWER)
        # Sam checked in: no alert for the first talk.

        # Stopped in the middle of the first talk, and back before it ends: nothing repeated.
        await runner.stop()
        await runner.start()

        alert = await mod.wait_for(backstage, by_bot(bot.user_id, "Not checked in for “Talk two”"))
        assert ids["absent"] in alert["content"]["body"]
        handed = await ann.wait_for(breakout, by_bot(bot.user_id, "Questions still open for “Talk <one>”"))
        assert "Will the slides be online?" in handed["content"]["body"]
        ended = await ann.wait_for(track, by_bot(bot.user_id, "“Talk <one>” has ended"))
        assert "Up next at 10:01: Talk two — Absent Al." in ended["content"]["body"]
        # At the change of talks one power write hands over (Sam's power goes, Al's comes: two
        # writes would each start from the levels last synced), and the topic goes from the first
        # talk to the second with no "nothing on" written in between.
        handover = await ann.wait_for(track, lambda e: e.get("type") == POWER_LEVELS
                                      and e["content"].get("users", {}).get(ids["absent"]) == PRESENTER_POWER)
        assert ids["speaker"] not in handover["content"]["users"]
        await ann.wait_for(track, lambda e: e.get("type") == "m.room.topic"
                           and e["content"].get("topic", "").startswith("Now: Talk two"))
        topics = [e["content"].get("topic", "") for e in ann.timeline[track] if e.get("type") == "m.room.topic"]
        first = max(i for i, topic in enumerate(topics) if topic.startswith("Now: Talk <one>"))
        assert topics[first + 1].startswith("Now: Talk two"), topics[first:]
        await ann.wait_for(announcements, by_bot(bot.user_id, "Now in the plenary: Keynote."))
        await ann.wait_for(track, by_bot(bot.user_id, "“Talk two” has ended"))
        await ann.wait_for(track, lambda e: e.get("type") == POWER_LEVELS and e["origin_server_ts"] > ended[
            "origin_server_ts"] - 5000 and not {ids["speaker"], ids["absent"]} & set(e["content"].get("users", {})))
        # Every transition of the three talks ran (none skipped), each recorded once.
        store = TransitionStore(sqlite_utils.Database(live.directory / "data" / "podium.db"))
        outcomes = await eventually(lambda: len(store.outcomes(conf_id)) == 3 * len(TALK_KINDS) and store.outcomes(conf_id))
        assert {outcome for _, outcome in outcomes} == {"ran"}
    finally:
        await runner.stop()

    # Each message exactly once, across the restart.
    for room, text in ((backstage, "Starting at 10:00: “Talk <one>”"), (backstage, "Starting at 10:01: “Talk two”"),
                       (track, "Now: Talk <one>"),
                       (track, "Now: Talk two"), (breakout, "Questions still open"),
                       (track, "“Talk <one>” has ended"), (backstage, "Not checked in for “Talk two”")):
        seen = [e for e in (mod if room == backstage else ann).timeline.get(room, []) if by_bot(bot.user_id, text)(e)]
        assert len(seen) == 1, (text, len(seen))


async def test_downtime_past_the_grace_window_is_summarised_once_and_a_first_run_stays_quiet(live):
    from dataclasses import replace

    bot, conf_id, mod = live.connection, live.conf.conf_id, live.mod
    backstage = await mod.join(f"#{conf_id}-backstage-forum:localhost")
    options = replace(OPTIONS, grace=timedelta(seconds=20))
    started = int(time.time() * 1000)

    # A bot that ran before (one transition on record), back at 10:00:40 after being away since
    # before 09:59:30: the first talk's reminder, check-in and start are more than 20 s past (the
    # start runs all the same, as the talk is still on).
    been_here = live.directory / "back-from-downtime"
    earlier = Store(been_here)
    TransitionStore(earlier.db).record(conf_id, "earlier|remind|2026-07-13T09:00:00Z", kind="remind",
                                       talk_id="earlier", due_at=0, done_at=0)
    earlier.close()
    runner = ClockBot(live.homeserver, bot, live.conf.conference, been_here,
                      clock=FastClock(DAY + timedelta(seconds=40)), day=options)
    await runner.start()
    try:
        summary = await mod.wait_for(backstage, lambda e: by_bot(bot.user_id, "The bot was away")(e)
                                     and e["origin_server_ts"] >= started)
        body = summary["content"]["body"]
        assert body.startswith("The bot was away: 2 of this track's transitions were not run"), body
        for line in ("Mon 09:59 remind: Talk <one>", "Mon 10:00 check-in: Talk <one>"):
            assert line in body, body
        # The second talk's reminder (10:00:30) is within the window: run, late (the homeserver
        # keeps the one message of the first test's run: same transition, same transaction id).
        store = TransitionStore(runner.store.db)
        outcomes = await eventually(lambda: dict(store.outcomes(conf_id)).get("t2|remind|2026-07-13T10:00:30Z")
                                    and dict(store.outcomes(conf_id)))
        assert outcomes["t2|remind|2026-07-13T10:00:30Z"] == "ran"
        assert sorted(k for k, o in outcomes.items() if o == "skipped") == [
            "t1|check-in|2026-07-13T10:00:00Z", "t1|remind|2026-07-13T09:59:30Z"]
    finally:
        await runner.stop()
    summaries = [e for e in mod.timeline[backstage] if by_bot(bot.user_id, "The bot was away")(e)
                 and e["origin_server_ts"] >= started]
    assert len(summaries) == 1

    # A bot whose clock never ran for this conference says nothing of what is past.
    fresh = ClockBot(live.homeserver, bot, live.conf.conference, live.directory / "first-run",
                     clock=FastClock(DAY + timedelta(seconds=40)), day=options)
    await fresh.start()
    try:
        store = TransitionStore(fresh.store.db)
        await eventually(lambda: len([o for _, o in store.outcomes(conf_id) if o == "skipped"]) == 2)
    finally:
        await fresh.stop()
    assert len([e for e in mod.timeline[backstage] if by_bot(bot.user_id, "The bot was away")(e)]) == 1


async def test_a_schedule_edit_while_running_is_put_in_force_and_a_broken_one_is_reported(live):
    from bot.day.reload import ReloadOptions, ScheduleReloader

    bot, conf_id, mod, ann = live.connection, live.conf.conf_id, live.mod, live.ann
    track = await ann.join(f"#{conf_id}-track-forum:localhost")
    backstage = await mod.join(f"#{conf_id}-backstage-forum:localhost")
    path = live.conf.schedule_path
    as_applied = path.read_text()
    options = ReloadOptions(path, live.conf.conference.settings, bot, every=0.2,
                            remind_before=OPTIONS.remind_before)
    runner = ClockBot(live.homeserver, bot, live.conf.conference, live.directory / "edits",
                      clock=FastClock(DAY + timedelta(minutes=3)), day=OPTIONS)
    await runner.start()
    watcher = asyncio.create_task(ScheduleReloader(runner.runtime, options).watch())
    started = int(time.time() * 1000)
    try:
        # A talk added at 10:04, a minute from now on the conference's clock.
        data = yaml.safe_load(path.read_text())
        data["talks"].append({"id": "t3", "track": "forum", "title": "Talk three", "start": "2026-07-13 10:04",
                              "duration": 1})
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        reloaded = await mod.wait_for(backstage, lambda e: by_bot(bot.user_id, f"{path.name} reloaded")(e)
                                      and e["origin_server_ts"] >= started)
        assert reloaded["content"]["body"] == f"{path.name} reloaded: 4 talks in 2 tracks; rooms up to date."
        await ann.join(f"#{conf_id}-talk-t3:localhost")  # its breakout room was made
        await ann.wait_for(track, lambda e: by_bot(bot.user_id, "Now: Talk three.")(e)
                           and e["origin_server_ts"] >= started)

        # A broken edit: reported with where, and the schedule in force stays.
        data["talks"][-1]["duration"] = "soon"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        refused = await mod.wait_for(backstage, lambda e: by_bot(bot.user_id, "changed but was not loaded")(e)
                                     and e["origin_server_ts"] >= started)
        body = refused["content"]["body"]
        assert body.startswith(f"{path.name} changed but was not loaded: 1 problem; the schedule in force stays.")
        assert f"{path}:" in body and "talks[3].duration" in body
        assert [t.id for t in runner.runtime.schedule.talks] == ["t1", "t2", "k1", "t3"]
        assert runner.runtime.schedule.talks[-1].duration == timedelta(minutes=1)

        # !reload is the organisers': a moderator is told so.
        await mod.say(backstage, "!reload")
        await mod.wait_for(backstage, by_bot(bot.user_id, "!reload is for organisers"))
    finally:
        if watcher.done() and not watcher.cancelled() and watcher.exception():
            raise watcher.exception()
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await runner.stop()
        path.write_text(as_applied)


async def test_a_delay_moves_the_tracks_remaining_transitions(live):
    bot, conf_id, mod = live.connection, live.conf.conf_id, live.mod
    track = await mod.join(f"#{conf_id}-track-forum:localhost")
    runner = ClockBot(live.homeserver, bot, live.conf.conference, live.directory / "delayed",
                      clock=FastClock(DAY - timedelta(seconds=50)), day=OPTIONS)
    await runner.start()
    try:
        await mod.say(track, "!delay 1")
        await mod.wait_for(track, by_bot(bot.user_id, "runs 1 minute late"))
        store = TransitionStore(runner.store.db)
        wanted = {"t1|start|2026-07-13T10:01:00Z", "k1|start|2026-07-13T10:01:00Z"}
        outcomes = await eventually(lambda: wanted <= set(dict(store.outcomes(conf_id)))
                                    and dict(store.outcomes(conf_id)))
        assert outcomes["t1|start|2026-07-13T10:01:00Z"] == "ran"
        assert "t1|start|2026-07-13T10:00:00Z" not in outcomes, "the old time is not run"
        assert "t1|remind|2026-07-13T10:00:30Z" in outcomes  # reminded again, for the new time
        assert "k1|start|2026-07-13T10:01:00Z" in outcomes  # the plenary track keeps its time
    finally:
        await runner.stop()


async def test_a_delay_is_acted_on_at_once_not_at_the_clocks_next_look(live):
    """The clock sleeps until its next transition; a ``!delay`` that brings a talk forward wakes it.
    Here its next look would be two minutes away (the reminder, on its old time, is further): the
    talk, moved ten minutes early to start now, starts within seconds."""
    bot, conf_id, mod = live.connection, live.conf.conf_id, live.mod
    track = await mod.join(f"#{conf_id}-track-forum:localhost")
    sleepy = DayOptions(remind_before=OPTIONS.remind_before, pass_at_most=120)
    runner = ClockBot(live.homeserver, bot, live.conf.conference, live.directory / "woken",
                      clock=FastClock(DAY - timedelta(minutes=10)), day=sleepy)
    await runner.start()
    try:
        # Its first pass has begun: after it the clock sleeps its longest, 120 s (a wake that comes
        # during the pass brings the next one forward all the same).
        await eventually(lambda: runner.day_runner.passes >= 1, what="the clock's first pass")
        asked = int(time.time() * 1000)
        await mod.say(track, "!delay -10")
        await mod.wait_for(track, by_bot(bot.user_id, "runs 10 minutes early"))
        started = await mod.wait_for(track, lambda e: by_bot(bot.user_id, "Now: Talk <one>")(e)
                                     and e["origin_server_ts"] >= asked, timeout=60)
        # Well before the clock's own next look, 120 s away: woken, not waited for.
        assert (started["origin_server_ts"] - asked) / 1000 < 60
    finally:
        await runner.stop()


async def test_a_conference_without_tracks_reloads_and_reports_to_the_log_only(synapse, make_user, tmp_path, caplog):
    """No track, no backstage: the edit is put in force and the report, with nowhere for the
    organisers to read it, goes to the log; the lobby stays the attendees'."""
    from bot.cli import apply_conference
    from bot.day.reload import ReloadOptions, ScheduleReloader

    bot = live_bot(synapse, make_user)
    conf_id = f"notracks{uuid.uuid4().hex[:8]}"
    data = {"conference": {"id": conf_id, "name": "No tracks", "timezone": "UTC", "start": "2026-07-13",
                           "end": "2026-07-13", "access": "public"},
            "lobby": [{"id": "hallway", "name": "Hallway"}]}
    path = tmp_path / "schedule.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    conference = build(path, Settings("localhost", bot.user_id, DEFAULT_PUBLIC_URL))
    assert await apply_conference(conference, bot, None, quiet=True) == 0
    runner = BotRunner(synapse.base_url, bot, conference, tmp_path / "data")
    runtime = await runner.start()
    try:
        data["lobby"].append({"id": "cafe", "name": "Café"})
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        with caplog.at_level("INFO", logger="bot.day.reload"):
            report = await ScheduleReloader(runtime, ReloadOptions(path, conference.settings, bot)).reload()
        assert report.body == "schedule.yaml reloaded: 0 talks in 0 tracks; rooms up to date."
        assert [room.id for room in runtime.schedule.lobby] == ["hallway", "cafe"]
        assert report.body in caplog.messages
    finally:
        await runner.stop()
