"""A poster's sessions run by the conference clock against the real Synapse: its presenter is
reminded in the poster's room (a text that notifies them), and everyone there sees the session
start and end, on a compressed clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

import yaml

from bot.day.runner import DayOptions
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build
from tests.support.accounts import TEST_PASSWORD
from tests.support.clock import DAY, ClockBot, FastClock
from tests.support.live import Person, by_bot, live_bot


async def test_a_posters_session_is_announced_in_its_room_and_its_presenter_reminded(synapse, make_user, tmp_path):
    from bot.cli import apply_conference

    bot = live_bot(synapse, make_user)
    presenter, _ = make_user("bo", displayname="Bo")
    visitor, _ = make_user("vi", displayname="Vi")
    conf_id = f"posters{uuid.uuid4().hex[:8]}"
    path = tmp_path / "schedule.yaml"
    path.write_text(yaml.safe_dump({
        "conference": {"id": conf_id, "name": "Posters", "timezone": "UTC", "start": "2026-07-13",
                       "end": "2026-07-13", "access": "public"},
        "posters": [{"id": "energy", "title": "Energy <use>", "presenters": [{"name": "Bo", "matrix_id": presenter}],
                     "sessions": [{"start": "2026-07-13 10:00", "duration": 1}]}],
    }))
    conference = build(path, Settings("localhost", bot.user_id, DEFAULT_PUBLIC_URL))
    assert await apply_conference(conference, bot, None, quiet=True) == 0
    bo = await Person.login(synapse.base_url, presenter, TEST_PASSWORD)
    vi = await Person.login(synapse.base_url, visitor, TEST_PASSWORD)
    room_alias = f"#{conf_id}-poster-room-energy:localhost"
    room = await bo.join(room_alias)
    await vi.join(room_alias)
    runner = ClockBot(synapse.base_url, bot, conference, tmp_path / "data", clock=FastClock(DAY - timedelta(seconds=20)),
                      day=DayOptions(remind_before=timedelta(seconds=10), pass_at_most=0.2))
    await runner.start()
    try:
        reminder = await bo.wait_for(room, by_bot(bot.user_id, "Presenters: the poster session for"))
        assert reminder["content"]["body"] == ("Presenters: the poster session for Energy <use> starts here at 10:00 "
                                               "(until 10:01). Join the video call at the top of the room.")
        assert reminder["content"]["msgtype"] == "m.text", "a text, so the mention notifies"
        assert reminder["content"]["m.mentions"] == {"user_ids": [presenter]}
        started = await vi.wait_for(room, by_bot(bot.user_id, "Now here: the poster session"))
        assert started["content"]["body"] == ("Now here: the poster session for Energy <use> — with Bo, until 10:01. "
                                              "Join the video call at the top of this room to meet the presenters.")
        assert "&lt;use&gt;" in started["content"]["formatted_body"]
        await vi.wait_for(room, by_bot(bot.user_id, "The poster session for Energy <use> has ended."))
    finally:
        await runner.stop()
        await bo.close()
        await vi.close()
    assert len([e for e in vi.timeline[room] if by_bot(bot.user_id, "Now here:")(e)]) == 1
