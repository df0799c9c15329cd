"""A newcomer who opens a conference room before accepting the conference's invitation: on a
homeserver that loads ``bot.synapse_joins`` (as the demo's does), joining a room restricted to
the space's members accepts the pending invitation to the space first, so the join goes through
instead of Synapse's "[403] You do not belong to any of the required rooms/spaces". The bot's
invitation and an organiser's count alike (in the bot's space only staff may invite); a stranger
is refused, and nobody is joined into a space the bot did not create."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import yaml
from nio import AsyncClient, JoinError, JoinResponse, RoomCreateResponse, RoomInviteResponse

from bot.matrix import MatrixAdapter
from tests.support.joining import joining_homeserver
from tests.support.provisioning import podium

PEOPLE = ("org", "newcomer", "stranger", "befriended", "outsider")


@pytest.fixture(scope="module")
def conference(tmp_path_factory):
    """A homeserver joining the bot's invitations, with a one-track conference applied on it
    (access space-members: the track room is restricted to the space's members)."""
    with joining_homeserver(tmp_path_factory.mktemp("restricted-synapse"), PEOPLE) as (synapse, bot, tokens):
        conf_id = f"r{uuid.uuid4().hex[:6]}"
        path = tmp_path_factory.mktemp("restricted-schedule") / "schedule.yaml"
        path.write_text(yaml.safe_dump({
            "conference": {"id": conf_id, "name": "Restricted", "timezone": "UTC",
                           "start": "2026-07-13", "end": "2026-07-13"},
            "staff": {"organisers": ["@org:localhost"]},
            "tracks": [{"id": "forum", "name": "Forum"}],
            "talks": [{"id": "t1", "track": "forum", "title": "Talk", "start": "2026-07-13 10:00", "duration": 30}],
        }))
        with pytest.MonkeyPatch.context() as monkeypatch:
            code, out, err = podium(monkeypatch, _Capture(), bot, synapse.base_url, "apply", "--schedule", str(path),
                                    "--quiet", "--data-dir", str(path.parent / "data"))
        assert code == 0, out + err
        yield SimpleNamespace(synapse=synapse, bot=bot, tokens=tokens, space=f"#{conf_id}:localhost",
                              track=f"#{conf_id}-track-forum:localhost")


class _Capture:
    """What ``podium`` needs of pytest's capsys in a module fixture: the command prints to the real
    streams, and its exit code is what the fixture checks."""

    def readouterr(self):
        return "", ""


def client(conference, name: str) -> AsyncClient:
    person = AsyncClient(conference.synapse.base_url, f"@{name}:localhost")
    person.access_token, person.user_id = conference.tokens[name], f"@{name}:localhost"
    return person


async def invite_to_space(conference, inviter: AsyncClient, user_id: str) -> str:
    space = (await inviter.room_resolve_alias(conference.space)).room_id
    invited = await inviter.room_invite(space, user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    return space


async def membership(conference, room_id: str, user_id: str) -> str | None:
    bot = conference.bot
    async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
        return await adapter.membership(room_id, user_id)


async def test_a_newcomer_invited_by_the_bot_joins_a_track_room_and_so_the_space(conference):
    as_bot = AsyncClient(conference.synapse.base_url, conference.bot.user_id)
    as_bot.access_token = conference.bot.access_token
    newcomer = client(conference, "newcomer")
    try:
        space = await invite_to_space(conference, as_bot, "@newcomer:localhost")
        assert await membership(conference, space, "@newcomer:localhost") == "invite"
        joined = await newcomer.join(conference.track)
        assert isinstance(joined, JoinResponse), joined
        assert await membership(conference, space, "@newcomer:localhost") == "join"
        assert set((await newcomer.joined_rooms()).rooms) >= {space, joined.room_id}
    finally:
        await as_bot.close()
        await newcomer.close()


async def test_a_stranger_with_no_invitation_is_still_refused(conference):
    stranger = client(conference, "stranger")
    try:
        refused = await stranger.join(conference.track)
        assert isinstance(refused, JoinError), refused
        assert refused.status_code == "M_FORBIDDEN", refused
        space = (await stranger.room_resolve_alias(conference.space)).room_id
        assert await membership(conference, space, "@stranger:localhost") is None
    finally:
        await stranger.close()


async def test_an_organisers_invitation_to_the_conference_counts_too(conference):
    org, befriended = client(conference, "org"), client(conference, "befriended")
    try:
        # The organiser may invite to the space (staff power) once in it.
        assert isinstance(await org.join(conference.space), JoinResponse)
        space = await invite_to_space(conference, org, "@befriended:localhost")
        joined = await befriended.join(conference.track)
        assert isinstance(joined, JoinResponse), joined
        assert await membership(conference, space, "@befriended:localhost") == "join"
    finally:
        await org.close()
        await befriended.close()


async def test_a_space_the_bot_did_not_create_is_not_entered(conference):
    org, outsider = client(conference, "org"), client(conference, "outsider")
    try:
        # The organiser's own space, and a room restricted to its members, as Podium builds them.
        space = await org.room_create(space=True, name="Side event")
        assert isinstance(space, RoomCreateResponse), space
        room = await org.room_create(name="Side room", initial_state=[{
            "type": "m.room.join_rules", "state_key": "",
            "content": {"join_rule": "restricted",
                        "allow": [{"type": "m.room_membership", "room_id": space.room_id}]}}])
        assert isinstance(room, RoomCreateResponse), room
        assert isinstance(await org.room_invite(space.room_id, "@outsider:localhost"), RoomInviteResponse)
        refused = await outsider.join(room.room_id)
        assert isinstance(refused, JoinError), refused
        assert refused.status_code == "M_FORBIDDEN", refused
        member = await org.room_get_state_event(space.room_id, "m.room.member", "@outsider:localhost")
        assert member.content["membership"] == "invite", member
    finally:
        await org.close()
        await outsider.close()
