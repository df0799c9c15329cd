"""A person's consent to one of the bot's widgets reaches their client again: on a homeserver that
loads ``bot.synapse_consent`` (as the demo's does), the consent Element writes to the room's
account data is written once more a moment later, and again after that, so an Element that missed
the first echo (it listens only once its write has been answered) sees a later one and loads the
tile. Consents to other people's widgets are left alone, and a consent withdrawn stays withdrawn."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from urllib.parse import quote

import aiohttp
import pytest
from nio import AsyncClient, RoomCreateResponse, RoomPutStateResponse

from bot.homeserver import EmbeddedSynapse
from tests.support.accounts import TEST_PASSWORD
from tests.support.waiting import settled

CONSENT = "im.vector.setting.allowed_widgets"
WIDGET = "im.vector.modular.widgets"


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory):
    bot = f"bot{uuid.uuid4().hex[:6]}"
    synapse = EmbeddedSynapse(tmp_path_factory.mktemp("consent-synapse"), widget_consent_from=f"@{bot}:localhost")
    synapse.start()
    try:
        accounts = {name: synapse.register_user(name, TEST_PASSWORD) for name in (bot, "other")}
        yield synapse, {("bot" if name == bot else name): SimpleNamespace(user_id=user_id, token=token)
                        for name, (user_id, token) in accounts.items()}
    finally:
        synapse.stop()


async def room_with_widget(synapse, owner, guest) -> tuple[str, str]:
    """A room ``owner`` made with a widget pinned in it, ``guest`` joined: (room id, the widget's event id)."""
    client = AsyncClient(synapse.base_url, owner.user_id)
    client.access_token, client.user_id = owner.token, owner.user_id
    try:
        created = await client.room_create(invite=[guest.user_id])
        assert isinstance(created, RoomCreateResponse), created
        pinned = await client.room_put_state(created.room_id, WIDGET, {
            "type": "m.custom", "url": "https://pages.example.org/stream", "name": "Stream"}, state_key="stream")
        assert isinstance(pinned, RoomPutStateResponse), pinned
    finally:
        await client.close()
    guest_client = AsyncClient(synapse.base_url, guest.user_id)
    guest_client.access_token, guest_client.user_id = guest.token, guest.user_id
    try:
        await guest_client.join(created.room_id)
    finally:
        await guest_client.close()
    return created.room_id, pinned.event_id


def new_attendee(synapse) -> SimpleNamespace:
    """An account of its own for each test: Synapse answers a repeated /sync request from its cache."""
    user_id, token = synapse.register_user(f"attendee{uuid.uuid4().hex[:6]}", TEST_PASSWORD)
    return SimpleNamespace(user_id=user_id, token=token)


class ConsentEchoes:
    """What a client's /sync brings of ``person``'s widget consents, room by room, in order."""

    def __init__(self, synapse, person):
        self._base = synapse.base_url
        self._person = person
        self._since: str | None = None
        self.seen: dict[str, list[dict]] = {}

    async def __aenter__(self):
        self._http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self._person.token}"})
        await self.sync()  # the position the echoes are counted from
        self.seen.clear()
        return self

    async def __aexit__(self, *_):
        await self._http.close()

    async def consent(self, room_id: str, content: dict) -> None:
        url = (f"{self._base}/_matrix/client/v3/user/{quote(self._person.user_id)}/rooms/{quote(room_id)}"
               f"/account_data/{CONSENT}")
        async with self._http.put(url, json=content) as response:
            assert response.status == 200, await response.text()

    async def sync(self) -> None:
        params = {"timeout": "0"} | ({"since": self._since} if self._since else {})
        async with self._http.get(f"{self._base}/_matrix/client/v3/sync", params=params) as response:
            body = await response.json()
        self._since = body["next_batch"]
        for room_id, room in body.get("rooms", {}).get("join", {}).items():
            for event in room.get("account_data", {}).get("events", []):
                if event["type"] == CONSENT:
                    self.seen.setdefault(room_id, []).append(event["content"])

    async def until(self, room_id: str, copies: int, timeout: float = 30) -> list[dict]:
        """What was seen in ``room_id`` once it is ``copies`` consents, or when ``timeout`` is up."""
        async def enough() -> bool:
            await self.sync()
            return len(self.seen.get(room_id, [])) >= copies

        await settled(enough, timeout=timeout, interval=0.5)
        return self.seen.get(room_id, [])


async def test_a_consent_to_the_bots_widget_is_echoed_again_and_others_are_not(homeserver):
    synapse, people = homeserver
    attendee = new_attendee(synapse)
    bots_room, bots_widget = await room_with_widget(synapse, people["bot"], attendee)
    others_room, others_widget = await room_with_widget(synapse, people["other"], attendee)
    async with ConsentEchoes(synapse, attendee) as echoes:
        await echoes.consent(bots_room, {bots_widget: True})
        await echoes.consent(others_room, {others_widget: True})

        await echoes.until(bots_room, 3)
        await echoes.sync()
        assert echoes.seen[bots_room] == [{bots_widget: True}] * 3
        assert echoes.seen[others_room] == [{others_widget: True}], "another's widget: the person's write only"


async def test_a_withdrawn_consent_stays_withdrawn(homeserver):
    synapse, people = homeserver
    attendee = new_attendee(synapse)
    room, widget = await room_with_widget(synapse, people["bot"], attendee)
    async with ConsentEchoes(synapse, attendee) as echoes:
        await echoes.consent(room, {widget: True})
        await echoes.consent(room, {widget: False})

        assert len(await echoes.until(room, 3)) >= 3, echoes.seen
        assert echoes.seen[room][-1] == {widget: False}
        assert all(copy == {widget: False} for copy in echoes.seen[room][1:]), echoes.seen[room]
