"""Staff and speakers find their rooms joined: on a homeserver that loads ``bot.synapse_joins``
(as the demo's does), the bot's invitations into the conference's rooms are accepted for local
users, so a moderator has one invitation to accept (the conference's), not one per backstage and
helpdesk. Only the bot's invitations are joined, never into a space or a direct chat."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import yaml
from nio import AsyncClient, RoomCreateResponse, RoomInviteResponse

from bot.matrix import MatrixAdapter
from bot.provisioning.apply import observe
from tests.support.joining import joining_homeserver
from tests.support.provisioning import conference_for, podium
from tests.support.waiting import eventually, settled

PEOPLE = ("mod", "org", "helper", "speaker", "booth", "stranger")


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory):
    with joining_homeserver(tmp_path_factory.mktemp("joining-synapse"), PEOPLE) as found:
        yield found


def schedule(path, conf_id: str):
    path.write_text(yaml.safe_dump({
        "conference": {"id": conf_id, "name": "Joins", "timezone": "UTC", "start": "2026-07-13", "end": "2026-07-13"},
        "staff": {"moderators": ["@mod:localhost"], "organisers": ["@org:localhost"]},
        "speakers": [{"name": "Sam Speaker", "matrix_id": "@speaker:localhost"}],
        "tracks": [{"id": "forum", "name": "Forum"}, {"id": "hall", "name": "Hall"}],
        "talks": [{"id": "t1", "track": "forum", "title": "Talk", "start": "2026-07-13 10:00", "duration": 30,
                   "speakers": ["Sam Speaker"]}],
        "helpdesks": [{"id": "help", "name": "Helpdesk", "staff": ["@helper:localhost"]}],
        "sponsors": [{"id": "acme", "name": "Acme", "staff": ["@booth:localhost"]}],
    }))
    return path


async def memberships_once(bot, conference, done) -> dict[tuple[str, str], str]:
    """The memberships of everyone the conference invites, once ``done(memberships)`` or the wait is up."""
    seen: dict[tuple[str, str], str] = {}

    async def look() -> bool:
        async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
            observed = await observe(adapter, conference.rooms, conference.schedule.conference.id)
        seen.clear()
        seen.update(observed.memberships)
        return done(seen)

    await settled(look, interval=0.5)
    return seen


def test_staff_and_speakers_find_their_rooms_joined_and_only_the_space_to_accept(homeserver, tmp_path, monkeypatch,
                                                                                   capsys):
    synapse, bot, _ = homeserver
    path = schedule(tmp_path / "joins.yaml", f"j{uuid.uuid4().hex[:6]}")
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path),
                            "--quiet", "--data-dir", str(tmp_path / "data"))
    assert code == 0, out + err
    conference = conference_for(path, bot)
    invited = {(room.key, user) for room in conference.rooms for user in room.invites}
    people = {user for _, user in invited}
    assert {"@mod:localhost", "@org:localhost", "@helper:localhost", "@speaker:localhost",
            "@booth:localhost"} <= people, "the schedule invites every kind of staff and a speaker"
    rooms = {room.key: room for room in conference.rooms}

    def all_joined(seen):
        return all(seen.get(pair) == "join" for pair in invited if not rooms[pair[0]].is_space)

    seen = asyncio.run(memberships_once(bot, conference, all_joined))
    staying = sorted(f"{user} in {key}: {seen.get((key, user))}" for key, user in invited
                     if not rooms[key].is_space and seen.get((key, user)) != "join")
    assert not staying, staying
    # Per person: the moderator and the organiser are in every backstage and the helpdesk's staff room.
    for staff in ("@mod:localhost", "@org:localhost"):
        assert sum(1 for key, user in invited if user == staff) >= 3
    # The conference itself stays each person's own step.
    assert all(seen.get(pair) == "invite" for pair in invited if rooms[pair[0]].is_space)


def test_only_the_bots_invitations_are_joined_and_never_a_direct_chat(homeserver):
    synapse, bot, people = homeserver

    async def run():
        stranger = AsyncClient(synapse.base_url, "@stranger:localhost")
        stranger.access_token, stranger.user_id = people["stranger"], "@stranger:localhost"
        as_bot = AsyncClient(synapse.base_url, bot.user_id)
        as_bot.access_token = bot.access_token
        mod = AsyncClient(synapse.base_url, "@mod:localhost")
        mod.access_token, mod.user_id = people["mod"], "@mod:localhost"
        try:
            # Someone else's invitation, and the bot's direct chat: both stay invitations.
            theirs = await stranger.room_create(name="Not the conference's")
            assert isinstance(theirs, RoomCreateResponse), theirs
            assert isinstance(await stranger.room_invite(theirs.room_id, "@mod:localhost"), RoomInviteResponse)
            direct = await as_bot.room_create(is_direct=True, invite=["@mod:localhost"])
            assert isinstance(direct, RoomCreateResponse), direct
            # And a room of the bot's own, invited after: joined. It is the sign the two above
            # had their chance (the homeserver handles the invitations in order).
            own = await as_bot.room_create(name="The bot's")
            assert isinstance(await as_bot.room_invite(own.room_id, "@mod:localhost"), RoomInviteResponse)

            async def joined_with_the_bots():
                rooms = set((await mod.joined_rooms()).rooms)
                return rooms if own.room_id in rooms else None

            rooms = await eventually(joined_with_the_bots, interval=0.2, what="the bot's room joined")
            assert theirs.room_id not in rooms
            assert direct.room_id not in rooms
        finally:
            for client in (stranger, as_bot, mod):
                await client.close()

    asyncio.run(run())
