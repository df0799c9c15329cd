"""The bot as an application service, without a homeserver: its settings, its registration and
how a pushed transaction becomes the batch the runtime handles."""

from __future__ import annotations

import re

import pytest

from bot.cli import main
from bot.cli.appservice import registration
from bot.config import ConfigProblem, connection_from
from bot.runtime import as_sync_batch

BOT = "@podium:example.org"


def _event(room_id: str, event_type: str = "m.room.message", **fields) -> dict:
    return {"room_id": room_id, "type": event_type, "sender": "@ada:example.org", "content": {}, **fields}


def test_a_transaction_becomes_the_rooms_of_one_sync_batch_in_the_order_pushed():
    said, later = _event("!a", event_id="$1"), _event("!a", event_id="$3")
    elsewhere = _event("!b", event_id="$2")
    invited = _event("!c", "m.room.member", state_key=BOT, content={"membership": "invite", "is_direct": True},
                     unsigned={"invite_room_state": [{"type": "m.room.name", "state_key": "", "content": {}}]})
    left = _event("!d", "m.room.member", state_key=BOT, content={"membership": "leave"})
    someone_left = _event("!a", "m.room.member", state_key="@ada:example.org", content={"membership": "leave"})
    rooms = as_sync_batch([said, elsewhere, later, invited, left, someone_left, "not an event", {"no": "room"}],
                          BOT)["rooms"]
    assert rooms["join"] == {"!a": {"timeline": {"events": [said, later, someone_left]}},
                             "!b": {"timeline": {"events": [elsewhere]}}}
    assert rooms["invite"]["!c"]["invite_state"]["events"][-1] == invited
    assert list(rooms["leave"]) == ["!d"]


def test_the_registration_claims_the_bot_and_the_conference_aliases_alone():
    made = registration(BOT, "ep2026", ["#ep2026:example.org", "#ep2026-track-forum:example.org",
                                        "#custom-room:example.org"], "http://127.0.0.1:8080", "as", "hs")
    assert made["rate_limited"] is False and made["sender_localpart"] != "podium"
    users = [n["regex"] for n in made["namespaces"]["users"]]
    assert [bool(re.match(r, BOT)) for r in users] == [True]
    assert not any(re.match(r, "@podium2:example.org") or re.match(r, "@podium:example.org.evil") for r in users)
    aliases = [n["regex"] for n in made["namespaces"]["aliases"]]
    for alias in ("#ep2026:example.org", "#ep2026-track-forum:example.org", "#custom-room:example.org"):
        assert any(re.match(r, alias) for r in aliases), alias
    for alias in ("#ep20266-x:example.org", "#other:example.org", "#ep2026-x:example.org.evil"):
        assert not any(re.match(r, alias) for r in aliases), alias


def test_appservice_mode_without_tokens_says_to_run_podium_appservice(tmp_path):
    with pytest.raises(ConfigProblem, match=r"run `podium appservice` with the same --data-dir first"):
        connection_from("http://localhost:8008", BOT, {}, appservice=tmp_path / "appservice")


def test_appservice_tokens_come_from_the_environment_before_the_files(tmp_path):
    token_file = tmp_path / "hs"
    token_file.write_text("from-a-file\n")
    connection = connection_from("http://localhost:8008", BOT, {"PODIUM_AS_TOKEN": "as-env",
                                                                 "PODIUM_HS_TOKEN_FILE": str(token_file)},
                                 appservice=tmp_path / "missing")
    assert connection.access_token == "as-env" and connection.appservice.hs_token == "from-a-file"
    assert "as-env" not in repr(connection) and "from-a-file" not in repr(connection)


def test_the_command_needs_the_bots_id_and_a_url(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PODIUM_USER_ID", raising=False)
    assert main(["appservice", "--data-dir", str(tmp_path)]) == 1
    assert "--user-id or PODIUM_USER_ID" in capsys.readouterr().err
    assert main(["appservice", "--user-id", BOT, "--url", "127.0.0.1:8080", "--data-dir", str(tmp_path)]) == 1
    assert "must be a URL" in capsys.readouterr().err
    assert not (tmp_path / "appservice").exists()


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("0", False), ("", False), ("no", False)])
def test_podium_appservice_in_the_environment_turns_the_mode_on_only_when_it_says_so(monkeypatch, value, on):
    from bot.cli import build_parser

    monkeypatch.setenv("PODIUM_APPSERVICE", value)
    assert build_parser().parse_args(["apply"]).appservice is on


async def _pushed(body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """What a receiver with no runtime yet answers a push (refusals need none)."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.config import AppService
    from bot.web.transactions import TransactionReceiver

    app = web.Application()
    TransactionReceiver(AppService("podium-test", "the-hs-token")).install(app)
    async with TestClient(TestServer(app)) as client:
        response = await client.put("/_matrix/app/v1/transactions/1", data=body, headers=headers)
        return response.status, await response.json()


@pytest.mark.parametrize(("headers", "status", "errcode"), [
    ({}, 401, "M_UNAUTHORIZED"),
    ({"Authorization": "Basic the-hs-token"}, 401, "M_UNAUTHORIZED"),
    ({"Authorization": "Bearer the-hs-token-not"}, 403, "M_FORBIDDEN"),
])
async def test_a_push_without_the_hs_token_is_refused(headers, status, errcode):
    code, answer = await _pushed(b'{"events": []}', headers)
    assert (code, answer["errcode"]) == (status, errcode)


@pytest.mark.parametrize(("body", "status", "errcode"), [
    (b"not json", 400, "M_NOT_JSON"),
    (b'{"events": {}}', 400, "M_BAD_JSON"),
    (b"[" * (16 * 1024 * 1024 + 1), 413, "M_TOO_LARGE"),
])
async def test_a_push_that_is_no_transaction_is_refused_with_why(body, status, errcode):
    code, answer = await _pushed(body, {"Authorization": "Bearer the-hs-token"})
    assert (code, answer["errcode"]) == (status, errcode)
