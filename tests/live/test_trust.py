"""Only what Podium created is trusted. A room's ``org.podium.locator`` is a claim anyone with
power in that room can write; a room is Podium's only if the bot created it. Against the real
Synapse, with a real attendee (Eve) doing what an attacker would."""

from __future__ import annotations

import logging

import yaml

from bot.cli import apply_conference
from bot.matrix import MatrixAdapter
from bot.provisioning.apply import observe
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build
from bot.provisioning.planner import SetState, plan
from bot.provisioning.report import plan_lines
from bot.roomstate.state import LOCATOR, SPACE_CHILD
from bot.store.delays import DelayStore
from bot.store.polls import PollStore
from tests.support.accounts import TEST_PASSWORD
from tests.support.live import BotRunner, LiveSetup, Person


#: Eve is an attendee in no room yet; the moderator is in the track. Tests that need the bot run it.
LIVE = LiveSetup(people=(("eve", "Eve"),), joins={"mod": ("track",)}, bot_running=False)


def locator(conf_id: str, key: str, kind: str) -> dict:
    return {"type": LOCATOR, "state_key": "", "content": {"conference": conf_id, "key": key, "kind": kind}}


async def eves_room(live, *, alias: str | None, key: str, kind: str, version: str = "10") -> str:
    """A public room Eve creates (so she holds all its power), claiming to be a conference room."""
    body = {"preset": "public_chat", "room_version": version,
            "initial_state": [locator(live.conf.conf_id, key, kind)]}
    if alias:
        body["room_alias_name"] = alias
    async with MatrixAdapter(live.homeserver, live.eve.user_id, live.tokens["eve"]) as eve:
        return await eve.create_room(body, what="create a room that claims to be the conference's")


def bot_adapter(live) -> MatrixAdapter:
    return MatrixAdapter(live.homeserver, live.connection.user_id, live.connection.access_token or "")


async def test_a_room_someone_else_made_under_a_conference_alias_is_refused_not_adopted(live, capsys):
    """Eve squats the alias of a talk the organisers are about to add, with a locator naming it."""
    conf_id = live.conf.conf_id
    squat = await eves_room(live, alias=f"{conf_id}-talk-t3", key="talk/t3", kind="breakout")
    data = yaml.safe_load((live.directory / f"{conf_id}.yaml").read_text())
    data["talks"].append({"id": "t3", "track": "forum", "title": "Added late", "start": "2026-07-13 12:00",
                          "duration": 30})
    path = live.directory / f"{conf_id}-more.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    conference = build(path, Settings("localhost", live.connection.user_id, DEFAULT_PUBLIC_URL))

    capsys.readouterr()
    assert await apply_conference(conference, live.connection, None, quiet=True) == 1
    out = capsys.readouterr().out
    assert f"#{conf_id}-talk-t3:localhost" in out
    assert "which the bot is not in, so it is not one of Podium's rooms" in out
    assert "remove the alias from that room" in out

    async with MatrixAdapter(live.homeserver, live.eve.user_id, live.tokens["eve"]) as eve:
        assert await eve.membership(squat, live.connection.user_id) is None, "the bot never joins her room"
    async with bot_adapter(live) as bot:
        space = await bot.resolve_alias(f"#{conf_id}:localhost")
        space_state = await bot.room_state(space)
        observed = await observe(bot, conference.rooms, conf_id)
    linked = {key for (event_type, key), content in space_state.state.items() if event_type == SPACE_CHILD and content}
    assert squat not in linked, "her room is not linked into the conference"
    assert "talk/t3" not in observed.rooms
    assert "talk/t2" in observed.rooms, "the rest of the conference is untouched"


async def test_a_room_the_bot_did_not_create_is_never_a_source_of_roles_or_data(live, tmp_path, caplog):
    """Even with the bot inside it, Eve's room claiming to be the track room grants her nothing:
    her moderator commands go unanswered, no delay or poll of hers reaches the pages, and plan
    names her room and takes it out of the conference space."""
    conf_id = live.conf.conf_id
    impostor = await eves_room(live, alias=None, key="track/forum", kind="track")
    async with bot_adapter(live) as bot:
        await bot.join(impostor, what="be brought into her room")  # as an earlier Podium could be
        space = await bot.resolve_alias(f"#{conf_id}:localhost")
        await bot.put_state(space, SPACE_CHILD, impostor, {"via": ["localhost"]}, what="link her room")

    caplog.set_level(logging.WARNING, logger="bot.runtime")
    runner = BotRunner(live.homeserver, live.connection, live.conf.conference, tmp_path)
    await runner.start()
    try:
        eve_room = impostor
        await live.eve.sync()
        for command in ("!delay 200", '!poll "Whose room is this?" "Mine" "Yours"', "!qa open", "!help"):
            await live.eve.say(eve_room, command)
        # The real track room still answers: once its reply is in, Eve's earlier commands are handled.
        reply = await live.mod.ask(live.track, "!delay", live.connection.user_id)
        assert reply["body"] == "Forum Hall runs on time."
        await live.eve.sync()
        from_bot = [e for e in live.eve.timeline.get(eve_room, [])
                    if e.get("sender") == live.connection.user_id and e.get("type") != "m.room.member"]
        assert from_bot == [], f"the bot answered in a room it did not create: {from_bot}"
        db = runner.store.db
        assert DelayStore(db).all(conf_id) == {}, "her !delay moved nothing"
        assert PollStore(db).in_room(eve_room) == []
    finally:
        await runner.stop()
    warnings = [r.getMessage() for r in caplog.records if eve_room in r.getMessage()]
    assert warnings == [f"{eve_room} claims to be the conference's track/forum but was created by "
                        f"{live.eve.user_id}, not by the bot: ignored"]

    async with bot_adapter(live) as bot:
        observed = await observe(bot, live.conf.conference.rooms, conf_id)
        the_plan = plan(live.conf.conference.rooms, observed, bot_user_id=live.connection.user_id,
                        room_version=await bot.default_room_version())
    assert observed.rooms["track/forum"].room_id != impostor
    assert [u.room_id for u in the_plan.untrusted] == [impostor]
    unlink = [a for a in the_plan.actions if isinstance(a, SetState) and a.state_key == impostor]
    assert [(a.key, a.event_type, a.content) for a in unlink] == [("space", SPACE_CHILD, {})]
    text = "\n".join(plan_lines(the_plan, "localhost"))
    assert f"{impostor} claims to be #{conf_id}-track-forum:localhost  [track/forum] but was created by " \
           f"{live.eve.user_id}" in text


async def test_creators_of_the_bots_own_rooms_have_the_power_the_homeserver_gives_them(live, make_user, tmp_path):
    """Room version 12 gives every creator unbounded power, so in a room the bot created with
    additional creators, Podium counts them as organisers; in an older room version the field
    grants nothing, and Podium counts nothing for it either."""
    conf_id = live.conf.conf_id
    carol_id, _ = make_user("carol", displayname="Carol")
    carol = await Person.login(live.homeserver, carol_id, TEST_PASSWORD)
    rooms = {}
    async with bot_adapter(live) as bot:
        for version in ("12", "10"):
            rooms[version] = await bot.create_room(
                {"preset": "public_chat", "room_version": version,
                 "creation_content": {"additional_creators": [carol_id]},
                 "initial_state": [locator(conf_id, f"lobby/extra-v{version}", "lobby")]},
                what=f"create a v{version} room with an additional creator")
    runner = BotRunner(live.homeserver, live.connection, live.conf.conference, tmp_path)
    await runner.start()
    try:
        for room_id in rooms.values():
            await carol.join(room_id)
        await carol.say(rooms["12"], '!poll "Lunch?" "Yes" "No"')
        poll = await carol.wait_for(rooms["12"], lambda e: e.get("sender") == live.connection.user_id
                                    and e.get("type") == "org.matrix.msc3381.poll.start", why="her poll")
        assert poll["content"]["org.matrix.msc3381.poll.start"]["question"]["org.matrix.msc1767.text"] == "Lunch?"
        refused = await carol.ask(rooms["10"], '!poll "Lunch?" "Yes" "No"', live.connection.user_id)
        assert "!poll is for moderators" in refused["body"]
    finally:
        await runner.stop()
        await carol.close()
