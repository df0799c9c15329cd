"""The embedded Synapse used by ``podium demo`` and the test-suite, exercised for real."""

from __future__ import annotations

import json
import socket
import stat
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.homeserver import EmbeddedSynapse, HomeserverError

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _opener.open(req, timeout=10) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def _whoami(server: EmbeddedSynapse, token: str) -> str | None:
    status, body = _get(server.base_url + "/_matrix/client/v3/account/whoami", token)
    return body["user_id"] if status == 200 else None


def _quote(user_id: str) -> str:
    return urllib.parse.quote(user_id, safe="")


# ----------------------------------------------------------------------------- shared server


def test_health_answers(synapse: EmbeddedSynapse) -> None:
    assert synapse.running
    assert synapse.base_url == f"http://127.0.0.1:{synapse.port}"
    assert _get(synapse.base_url + "/health") == (200, "OK")


def test_registered_token_works(synapse: EmbeddedSynapse, make_user) -> None:
    user_id, token = make_user("alice", displayname="Alice Example")
    assert user_id.startswith("@alice-") and user_id.endswith(":localhost")
    assert _whoami(synapse, token) == user_id
    status, profile = _get(f"{synapse.base_url}/_matrix/client/v3/profile/{_quote(user_id)}")
    assert status == 200 and profile["displayname"] == "Alice Example"


def test_registering_twice_logs_in(synapse: EmbeddedSynapse) -> None:
    first_id, first = synapse.register_user("twice", "secret-1")
    again_id, again = synapse.register_user("twice", "secret-1")
    assert again_id == first_id == "@twice:localhost"
    assert again != first
    assert _whoami(synapse, first) == _whoami(synapse, again) == first_id
    assert _whoami(synapse, synapse.login("@twice:localhost", "secret-1")) == first_id


def test_wrong_password_is_a_clear_error(synapse: EmbeddedSynapse) -> None:
    synapse.register_user("guarded", "right")
    with pytest.raises(HomeserverError, match="M_FORBIDDEN"):
        synapse.register_user("guarded", "wrong")


def test_admin_flag(synapse: EmbeddedSynapse, make_user) -> None:
    admin_id, admin_token = make_user("admin", admin=True)
    _, user_token = make_user("plain")
    url = f"{synapse.base_url}/_synapse/admin/v2/users/{_quote(admin_id)}"
    status, body = _get(url, admin_token)
    assert status == 200 and body["admin"] is True
    assert _get(url, user_token)[0] == 403


def test_override_ratelimit(synapse: EmbeddedSynapse, make_user) -> None:
    user_id, _ = make_user("bot")
    _, admin_token = make_user("checker", admin=True)
    url = f"{synapse.base_url}/_synapse/admin/v1/users/{_quote(user_id)}/override_ratelimit"
    assert _get(url, admin_token) == (200, {})
    synapse.override_ratelimit(user_id)
    assert _get(url, admin_token) == (200, {"messages_per_second": 0, "burst_count": 0})


def test_default_room_version(synapse: EmbeddedSynapse, make_user) -> None:
    version = synapse.default_room_version
    assert isinstance(version, str) and version
    _, token = make_user("caps")
    status, caps = _get(synapse.base_url + "/_matrix/client/v3/capabilities", token)
    assert status == 200
    assert version in caps["capabilities"]["m.room_versions"]["available"]


def test_config_keeps_secrets_private(synapse: EmbeddedSynapse) -> None:
    secret_file = synapse.data_dir / "registration_shared_secret"
    secret = secret_file.read_text()
    assert len(secret) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((synapse.data_dir / "signing.key").stat().st_mode) == 0o600
    config = synapse.config_path.read_text()
    assert secret not in config
    assert "rc_room_creation" in config and "rc_message" in config
    for log in ("homeserver.log", "synapse-console.log"):
        path = synapse.data_dir / log
        assert not path.exists() or secret not in path.read_text()


# ----------------------------------------------------------------------------- second server


@pytest.fixture(scope="module")
def stock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSynapse]:
    """A second homeserver with Synapse's stock rate limits, for restart and failure tests."""
    server = EmbeddedSynapse(tmp_path_factory.mktemp("stock-synapse"), lift_limits=False)
    try:
        yield server
    finally:
        server.stop()


def test_restart_keeps_users(stock_server: EmbeddedSynapse) -> None:
    server = stock_server
    server.start()
    assert "rc_" not in server.config_path.read_text()
    user_id, _ = server.register_user("keeper", "pw-keeper", displayname="Keeper")
    url = server.base_url

    server.stop()
    server.stop()  # idempotent
    assert not server.running
    assert not _port_open(server.port)

    with server:  # context manager starts again on the same data dir and port
        assert server.base_url == url
        assert _whoami(server, server.login("keeper", "pw-keeper")) == user_id
        again_id, token = server.register_user("keeper", "pw-keeper")
        assert again_id == user_id and _whoami(server, token) == user_id
    assert not server.running


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_start_failure_reports_the_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "broken"
    data_dir.mkdir()
    (data_dir / "signing.key").write_text("ed25519 a_bad not-base64!\n")  # kept: the key is never rewritten
    server = EmbeddedSynapse(data_dir, lift_limits=False)
    with pytest.raises(HomeserverError) as excinfo:
        server.start(timeout=60)
    message = str(excinfo.value)
    assert "exited with code" in message
    assert "homeserver.log" in message
    assert "signing_key" in message  # Synapse's own words about what is wrong
    assert not server.running
    server.stop()  # still harmless


def test_a_taken_port_is_refused_before_synapse_starts(synapse: EmbeddedSynapse, tmp_path: Path) -> None:
    """Another homeserver on the port would answer /health in this one's place, and every admin
    request after it (signed with this server's secret) would fail there: refuse at once."""
    server = EmbeddedSynapse(tmp_path / "second", port=synapse.port)
    with pytest.raises(HomeserverError, match=f"127.0.0.1:{synapse.port}: that port is already in use"):
        server.start()
    assert not server.running
    assert not (tmp_path / "second" / "homeserver.yaml").exists()  # refused before anything was written
