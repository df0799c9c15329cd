"""``!now`` and ``!next``: what the bot says for a room and a moment (pure), and the commands
answering attendees in a track room, a breakout and a lobby room of a real Synapse, with a
``!delay`` applied."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import yaml

from bot.commands.now import Asked, next_reply, now_reply
from bot.conference.clock import apply_delays
from bot.conference.display import RoomLinks
from bot.conference.schedule import parse_schedule
from tests.support.live import BETWEEN_TALKS, FIRST_TALK_TITLE, LiveSetup

SCHEDULE = parse_schedule(yaml.safe_dump({
    "conference": {"id": "ep", "name": "EP", "timezone": "Europe/Prague", "start": "2026-07-13", "end": "2026-07-14"},
    "tracks": [{"id": "forum", "name": "Forum <Hall>"}, {"id": "south", "name": "South"}],
    "talks": [
        {"id": "f1", "track": "forum", "title": "Typing <b>in</b> practice", "start": "2026-07-13 10:00",
         "duration": 45, "speakers": [{"name": "Ann"}, {"name": "Bo & Co"}, {"name": "Cy"}]},
        {"id": "f2", "track": "forum", "title": "Second", "start": "2026-07-13 11:00", "duration": 30,
         "speakers": [{"name": "Dee"}]},
        {"id": "s1", "track": "south", "title": "Tomorrow's only talk", "start": "2026-07-14 09:30", "duration": 30},
    ],
}))
ROOMS = RoomLinks({"track/forum": "ep-track-forum", "track/south": "ep-track-south"}, "example.org")
FORUM_LINK = "https://matrix.to/#/#ep-track-forum:example.org?via=example.org"
SOUTH_LINK = "https://matrix.to/#/#ep-track-south:example.org?via=example.org"


def at(hh: int, mm: int, day: int = 13) -> datetime:
    """A moment on the conference's clock (Prague is UTC+2 in July)."""
    return datetime(2026, 7, day, hh - 2, mm, tzinfo=timezone.utc)


def asked(track: str | None, moment: datetime, delays: dict[str, int] | None = None) -> Asked:
    delays = delays or {}
    return Asked(apply_delays(SCHEDULE, delays), track, moment, ROOMS, delays)


def test_now_in_a_track_names_the_talk_its_speakers_its_times_and_the_room():
    reply = now_reply(asked("forum", at(10, 10)))
    assert reply.body == ("On now in Forum <Hall> (Europe/Prague time): “Typing <b>in</b> practice” by Ann, "
                          f"Bo & Co and Cy, 10:00–10:45.\nTrack room: Forum <Hall> ({FORUM_LINK})")
    assert reply.html == ("On now in <b>Forum &lt;Hall&gt;</b> (Europe/Prague time): “Typing &lt;b&gt;in&lt;/b&gt; "
                          "practice” by Ann, Bo &amp; Co and Cy, 10:00–10:45."
                          f'<br>Track room: <a href="{FORUM_LINK}">Forum &lt;Hall&gt;</a>')


def test_a_delay_keeps_a_talk_on_and_moves_the_next_one():
    # 10:50: on time the first talk is over; fifteen minutes late it runs until 11:00.
    assert now_reply(asked("forum", at(10, 50))).body.startswith(
        "On now in Forum <Hall> (Europe/Prague time): nothing on; next “Second” by Dee at 11:00, in 10 min.")
    late = asked("forum", at(10, 50), {"forum": 15})
    assert now_reply(late).body.startswith("On now in Forum <Hall> (Europe/Prague time): “Typing <b>in</b> "
                                           "practice” by Ann, Bo & Co and Cy, 10:15–11:00; the track runs 15 min late.")
    assert next_reply(late).body.startswith("Next in Forum <Hall> (Europe/Prague time): “Second” by Dee at 11:15, "
                                            "in 25 min; the track runs 15 min late.")
    early = asked("forum", at(10, 50), {"forum": -5})
    assert "at 10:55, in 5 min; the track runs 5 min early." in next_reply(early).body


def test_between_talks_the_next_start_is_rounded_up_to_the_minute():
    reply = now_reply(asked("forum", at(10, 59) + timedelta(seconds=30)))
    assert "nothing on; next “Second” by Dee at 11:00, in 1 min." in reply.body


def test_after_the_last_talk_nothing_more_is_on():
    assert now_reply(asked("forum", at(12, 0))).body == (
        f"On now in Forum <Hall> (Europe/Prague time): nothing on, and no more talks.\nTrack room: Forum <Hall> ({FORUM_LINK})")
    assert next_reply(asked("forum", at(12, 0))).body.startswith(
        "Next in Forum <Hall> (Europe/Prague time): no more talks.")


def test_a_talk_on_another_day_says_the_day_and_not_how_many_minutes():
    reply = next_reply(asked("south", at(10, 10)))
    assert reply.body.startswith("Next in South (Europe/Prague time): “Tomorrow's only talk” on Tue 14 Jul, 09:30.")
    assert " min" not in reply.body


def test_the_lobby_gets_a_line_per_track_each_with_its_room():
    now = now_reply(asked(None, at(10, 10), {"south": 5}))
    assert now.body.splitlines() == [
        "On now (Europe/Prague time):",
        f"Forum <Hall>: “Typing <b>in</b> practice” by Ann, Bo & Co and Cy, 10:00–10:45 · Forum <Hall> ({FORUM_LINK})",
        f"South: nothing on; next “Tomorrow's only talk” on Tue 14 Jul, 09:35; the track runs 5 min late · South "
        f"({SOUTH_LINK})",
    ]
    assert now.html.count("<li>") == 2 and f'<a href="{SOUTH_LINK}">South</a>' in now.html
    upcoming = next_reply(asked(None, at(10, 10)))
    assert upcoming.body.splitlines() == [
        "Next (Europe/Prague time):",
        f"Forum <Hall>: “Second” by Dee at 11:00, in 50 min · Forum <Hall> ({FORUM_LINK})",
        f"South: “Tomorrow's only talk” on Tue 14 Jul, 09:30 · South ({SOUTH_LINK})",
    ]
    over = now_reply(asked(None, at(23, 0, day=14)))
    assert [line.split(" · ")[0] for line in over.body.splitlines()[1:]] == [
        "Forum <Hall>: nothing on, and no more talks", "South: nothing on, and no more talks"]


def test_a_track_without_a_known_room_is_answered_without_a_link():
    bare = replace(asked("forum", at(10, 10)), rooms=RoomLinks({}, "example.org"))
    assert now_reply(bare).body.splitlines() == [
        "On now in Forum <Hall> (Europe/Prague time): “Typing <b>in</b> practice” by Ann, Bo & Co and Cy, 10:00–10:45."]
    assert "<a " not in next_reply(replace(bare, track_id=None)).html


# ---- live ----------------------------------------------------------------------------------


# 10:50: on time the first talk (10:00–10:45) is over and the second starts at 11:00.
LIVE = LiveSetup(people=(("alice", "Alice"),), rooms={"track": "track-forum", "lobby": "hallway", "breakout": "talk-t1"},
                 joins={"alice": ("track", "lobby", "breakout"), "mod": ("track",)}, clock=lambda: BETWEEN_TALKS)


@contextlib.asynccontextmanager
async def live_extras(live):
    live.link = f"https://matrix.to/#/{live.conf.track_alias}?via=localhost"
    yield


async def test_attendees_ask_what_is_on_in_a_track_and_in_the_lobby(live):
    now = await live.alice.ask(live.track, "!now", live.bot)
    assert now["body"] == ("On now in Forum Hall (UTC time): nothing on; next “Second talk” at 11:00, in 10 min.\n"
                           f"Track room: Forum Hall ({live.link})")
    assert f'<a href="{live.link}">Forum Hall</a>' in now["formatted_body"]
    upcoming = await live.alice.ask(live.breakout, "!next", live.bot)
    assert upcoming["body"].startswith("Next in Forum Hall (UTC time): “Second talk” at 11:00, in 10 min."), upcoming

    lobby = await live.alice.ask(live.lobby, "!now", live.bot)
    assert lobby["body"] == ("On now (UTC time):\nForum Hall: nothing on; next “Second talk” at 11:00, in 10 min · "
                             f"Forum Hall ({live.link})")
    assert "<ul><li><b>Forum Hall</b>: " in lobby["formatted_body"]
    assert f'· <a href="{live.link}">Forum Hall</a></li>' in lobby["formatted_body"]
    named = await live.alice.ask(live.lobby, "!next forum", live.bot)
    assert named["body"].startswith("Next in Forum Hall (UTC time): “Second talk”"), named

    refused = await live.alice.ask(live.lobby, "!now nowhere", live.bot)
    assert refused["body"] == "there is no track “nowhere”; the tracks are forum. Usage: !now [track]"
    listed = await live.alice.ask(live.lobby, "!help", live.bot)
    assert "!now [track] — what is on now" in listed["body"] and "!next [track] — what is on next" in listed["body"]


async def test_a_delay_is_followed_in_the_track_and_in_the_lobby(live):
    assert (await live.mod.ask(live.track, "!delay 15", live.bot))["body"].startswith("Forum Hall runs 15 minutes late")
    try:
        now = await live.alice.ask(live.track, "!now", live.bot)
        assert now["body"].startswith(f"On now in Forum Hall (UTC time): “{FIRST_TALK_TITLE}” by Sam, 10:15–11:00; "
                                      "the track runs 15 min late."), now
        assert "“Async &lt;b&gt;all&lt;/b&gt; the things”" in now["formatted_body"]
        lobby = await live.alice.ask(live.lobby, "!next", live.bot)
        assert lobby["body"].splitlines()[1] == ("Forum Hall: “Second talk” at 11:15, in 25 min; the track runs 15 min "
                                                 f"late · Forum Hall ({live.link})")
    finally:
        await live.mod.ask(live.track, "!delay 0", live.bot)
