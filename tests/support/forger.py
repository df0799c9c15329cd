"""A sender that dates its events as it likes, standing in for a federated homeserver.

Any homeserver sets ``origin_server_ts`` on the events its users send, and a hostile one sets
whatever it wants. The test Synapse has no federation, so an application service plays that
server: an application service may send as the users of its namespace (``@forger-…``) with a
``ts`` query parameter, and Synapse writes that ``ts`` as the event's ``origin_server_ts``.

``registration`` writes the service's registration file, which the session's Synapse loads
(``EmbeddedSynapse(app_services=...)`` in tests/conftest.py); ``Forger`` is one such user.
"""

from __future__ import annotations

import secrets
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml

CLIENT = "/_matrix/client/v3"
#: The users the service may send as; nothing else on the test homeserver matches.
NAMESPACE = "forger-"


def registration(directory: Path) -> tuple[Path, str]:
    """Write the application service's registration into ``directory``: (its path, the service's
    token). No ``url``: the homeserver pushes nothing to it, the service only sends."""
    token = secrets.token_urlsafe(24)
    path = directory / "forger-appservice.yaml"
    path.write_text(yaml.safe_dump({
        "id": "podium-tests-forger",
        "url": None,
        "as_token": token,
        "hs_token": secrets.token_urlsafe(24),
        "sender_localpart": f"{NAMESPACE}service",
        "rate_limited": False,
        "namespaces": {"users": [{"exclusive": True, "regex": f"@{NAMESPACE}.*"}], "aliases": [], "rooms": []},
    }))
    return path, token


class Forger:
    """One user of the application service's namespace, sending events dated as the test says."""

    def __init__(self, homeserver: str, token: str, user_id: str, session: aiohttp.ClientSession):
        self.homeserver, self.token, self.user_id, self.session = homeserver, token, user_id, session

    @classmethod
    async def register(cls, homeserver: str, token: str, name: str = "user") -> "Forger":
        session = aiohttp.ClientSession()
        forger = cls(homeserver, token, "", session)
        localpart = f"{NAMESPACE}{name}-{uuid.uuid4().hex[:8]}"
        answer = await forger._request("POST", f"{CLIENT}/register", {"type": "m.login.application_service",
                                                                       "username": localpart}, as_user=False)
        forger.user_id = answer["user_id"]
        return forger

    async def close(self) -> None:
        await self.session.close()

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None, *, as_user: bool = True,
                       **params: Any) -> dict[str, Any]:
        if as_user:
            params["user_id"] = self.user_id
        query = "&".join(f"{key}={quote(str(value), safe='')}" for key, value in params.items())
        url = f"{self.homeserver}{path}{'?' + query if query else ''}"
        async with self.session.request(method, url, json=body if body is not None else None,
                                        headers={"Authorization": f"Bearer {self.token}"}) as response:
            answer = await response.json()
            assert response.status == 200, (method, path, response.status, answer)
            return answer

    async def join(self, room: str) -> str:
        return (await self._request("POST", f"{CLIENT}/join/{quote(room, safe='')}", {}))["room_id"]

    async def direct_chat_with(self, user_id: str) -> str:
        """A direct chat with ``user_id``, made as Element makes one."""
        answer = await self._request("POST", f"{CLIENT}/createRoom", {"is_direct": True, "invite": [user_id],
                                                                       "preset": "trusted_private_chat"})
        return answer["room_id"]

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], *, dated: float) -> str:
        """Send an event whose ``origin_server_ts`` says ``dated`` (unix seconds); its event id."""
        txn = uuid.uuid4().hex
        path = f"{CLIENT}/rooms/{quote(room_id, safe='')}/send/{quote(event_type, safe='')}/{txn}"
        return (await self._request("PUT", path, content, ts=int(dated * 1000)))["event_id"]

    async def say(self, room_id: str, body: str, *, dated: float) -> str:
        return await self.send(room_id, "m.room.message", {"msgtype": "m.text", "body": body}, dated=dated)

    async def replies(self, room_id: str, sender: str) -> dict[str, list[dict[str, Any]]]:
        """The messages ``sender`` sent in ``room_id`` in reply to others (or referring to them
        without quoting them, as an answer to a ticket code does), by the event they answer."""
        page = await self._request("GET", f"{CLIENT}/rooms/{quote(room_id, safe='')}/messages", dir="b", limit=1000)
        replies: dict[str, list[dict[str, Any]]] = {}
        for event in page["chunk"]:
            relates = (event.get("content") or {}).get("m.relates_to") or {}
            referred = relates.get("event_id") if relates.get("rel_type") == "m.reference" else None
            target = (relates.get("m.in_reply_to") or {}).get("event_id") or referred
            if event.get("sender") == sender and target:
                replies.setdefault(target, []).append(event)
        return replies


def hours_ago(hours: float) -> float:
    """Unix seconds ``hours`` before now: a date a forged event claims."""
    return time.time() - hours * 3600


#: When a test's receive clock stands (unix seconds): any fixed time serves, the forged dates are
#: hours away from it either way.
RECEIVED = 1_900_000_000.0


class StillClock:
    """A receive clock standing at ``at`` until the test moves it."""

    def __init__(self, at: float):
        self.at = at

    def __call__(self) -> float:
        return self.at


async def forged(forger: Forger, room_id: str, bodies: list[str], apart_hours: float) -> list[str]:
    """Send ``bodies`` in order, dated ``apart_hours`` apart, the last one now; their event ids."""
    return [await forger.say(room_id, text, dated=hours_ago((len(bodies) - 1 - n) * apart_hours))
            for n, text in enumerate(bodies)]
