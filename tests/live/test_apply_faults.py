"""What provisioning costs and how it copes: request counts, rate limits, lost responses,
taken aliases, bad schedules and missing settings — all against the real Synapse, with the
counting proxy in between."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.homeserver import EmbeddedSynapse
from bot.matrix import MatrixAdapter, MatrixError
from tests.support.provisioning import conference_for, observe_now, podium, small_schedule
from tests.support.proxy import Fault

INVALID = sorted((Path(__file__).parents[1] / "fixtures" / "invalid").glob("*.yaml"))


def test_each_room_costs_at_most_two_requests(tmp_path, bot, proxy, monkeypatch, capsys):
    path, _ = small_schedule(tmp_path, talks=12)
    code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    rooms = len(conference_for(path, bot).rooms)
    creates = proxy.count("POST", "/createRoom")
    writes = proxy.writes()
    assert creates == rooms
    assert len(writes) <= 2 * rooms
    # The conference space is the only room with no parent to be linked into.
    assert len(writes) == 2 * rooms - 1
    assert f"{rooms} rooms created" in out


def test_rooms_are_built_side_by_side_but_each_room_takes_one_write_at_a_time(tmp_path, bot, proxy, monkeypatch,
                                                                                capsys):
    """Requests overlap across rooms; writes into one room never do (that would fork its event
    graph, and an incremental /sync would then miss state that is there)."""
    path, _ = small_schedule(tmp_path, talks=16)
    code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    assert proxy.peak_in_flight > 1
    assert proxy.peak_writes_per_room == 1
    code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, "plan", "--schedule", str(path))
    assert code == 0, out + err


@pytest.mark.parametrize("bad", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_schedule_makes_no_request(bad, bot, proxy, monkeypatch, capsys):
    for command in ("apply", "plan"):
        code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, command, "--schedule", str(bad))
        assert code == 1
        assert f"{bad}:" in err or bad.name in err, err  # located: names the file
        assert "Nothing was changed" in err
    assert proxy.requests == [], "a bad schedule must not reach the homeserver"


def test_missing_secret_is_a_clear_error(tmp_path, bot, proxy, monkeypatch, capsys):
    path, _ = small_schedule(tmp_path, talks=1)
    monkeypatch.setenv("PODIUM_HOMESERVER", proxy.base_url)
    monkeypatch.setenv("PODIUM_USER_ID", bot.user_id)
    for name in ("PODIUM_ACCESS_TOKEN", "PODIUM_PASSWORD", "PODIUM_ACCESS_TOKEN_FILE", "PODIUM_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["plan", "--schedule", str(path)]) == 1
    err = capsys.readouterr().err
    assert "PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD" in err
    assert proxy.requests == []


def test_token_from_a_file_and_never_printed(tmp_path, bot, proxy, monkeypatch, capsys):
    path, _ = small_schedule(tmp_path, talks=1)
    secret = tmp_path / "token"
    secret.write_text(bot.access_token + "\n")
    monkeypatch.setenv("PODIUM_HOMESERVER", proxy.base_url)
    monkeypatch.setenv("PODIUM_USER_ID", bot.user_id)
    monkeypatch.delenv("PODIUM_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("PODIUM_ACCESS_TOKEN_FILE", str(secret))
    assert main(["apply", "--schedule", str(path), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert bot.access_token not in out + err


def test_rate_limits_are_waited_out(tmp_path, bot, proxy, monkeypatch, capsys):
    path, _ = small_schedule(tmp_path, talks=2)
    refusals = {"header": 2, "body": 1}

    def limit(method: str, path: str) -> Fault | None:
        if method == "POST" and "/createRoom" in path:
            if refusals["header"]:
                refusals["header"] -= 1
                return Fault(retry_after=0.3)
            if refusals["body"]:
                refusals["body"] -= 1
                return Fault(retry_after=None, retry_after_ms=400)
        return None

    proxy.faults.append(limit)
    code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    assert refusals == {"header": 0, "body": 0}
    rooms = len(conference_for(path, bot).rooms)
    assert proxy.count("POST", "/createRoom") == rooms + 3  # each refused create was retried once
    assert "rate-limited 3 requests; waited 1.0 s" in out
    assert "override_ratelimit" in out


def test_rate_limit_waits_are_bounded(synapse: EmbeddedSynapse, bot, proxy):
    proxy.faults.append(lambda method, path: Fault(retry_after=3600))

    async def run() -> MatrixError:
        async with MatrixAdapter(proxy.base_url, bot.user_id, bot.access_token, max_wait=60) as adapter:
            with pytest.raises(MatrixError) as raised:
                await adapter.create_room({}, what="create a room")
            assert adapter.stats.rate_limited == 1
            return raised.value

    error = asyncio.run(run())
    assert error.errcode == "M_LIMIT_EXCEEDED"
    assert "override_ratelimit" in str(error) and "rate_limited: false" in str(error)


def test_lost_create_response_does_not_duplicate_the_room(tmp_path, bot, proxy, monkeypatch, capsys):
    path, conf_id = small_schedule(tmp_path, talks=1)
    dropped = []

    def drop_first_track_create(method: str, path: str) -> Fault | None:
        if method == "POST" and "/createRoom" in path and not dropped:
            dropped.append(path)
            return Fault(drop_after_forwarding=True)
        return None

    proxy.faults.append(drop_first_track_create)
    code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 0, out + err
    assert dropped
    rooms = len(conference_for(path, bot).rooms)
    assert proxy.count("POST", "/createRoom") == rooms, "the lost create was found by its alias, not redone"
    assert proxy.count("GET", f"/directory/room/%23{conf_id}") >= 1
    observed = observe_now(bot, conference_for(path, bot))
    assert len(observed.rooms) == rooms
    assert podium(monkeypatch, capsys, bot, proxy.base_url, "plan", "--schedule", str(path))[0] == 0


def test_alias_taken_by_a_foreign_room_is_reported(tmp_path, bot, synapse, make_user, monkeypatch, capsys):
    path, conf_id = small_schedule(tmp_path, talks=1)
    squatter, token = make_user("squatter")

    async def squat() -> None:
        async with MatrixAdapter(synapse.base_url, squatter, token) as adapter:
            await adapter.create_room({"room_alias_name": f"{conf_id}-hallway", "preset": "public_chat"}, what="squat")

    asyncio.run(squat())
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 1
    assert f"#{conf_id}-hallway:localhost" in out
    assert "which the bot is not in, so it is not one of Podium's rooms" in out
    assert "remove the alias from that room" in out
    observed = observe_now(bot, conference_for(path, bot))
    assert "lobby/hallway" not in observed.rooms
    assert "lobby/jobs" in observed.rooms, "the other rooms were still created"


def test_refused_repair_is_reported_with_what_to_do(tmp_path, bot, synapse, proxy, monkeypatch, capsys):
    path, _ = small_schedule(tmp_path, talks=1)
    assert podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(path), "--quiet")[0] == 0
    rewrite_title = yaml.safe_load(path.read_text())
    rewrite_title["talks"][0]["title"] = "Renamed"
    path.write_text(yaml.safe_dump(rewrite_title, sort_keys=False))
    proxy.faults.append(lambda method, p: Fault(status=403, errcode="M_FORBIDDEN",
                                                error="You don't have permission to post that to the room.")
                        if method == "PUT" and "/state/m.room.name" in p else None)
    code, out, err = podium(monkeypatch, capsys, bot, proxy.base_url, "apply", "--schedule", str(path), "--quiet")
    assert code == 1
    assert "FAILED talk/talk0: set m.room.name" in out
    assert "HTTP 403 M_FORBIDDEN" in out and "the bot lacks the power" in out
    assert "run `podium apply` again" in out


def test_password_logins_reuse_one_device(tmp_path, synapse, make_user, monkeypatch, capsys):
    """An organiser running plan/apply with a password does not pile up devices on the bot's
    account, and never uses the running bot's device."""
    from bot.provisioning.pipeline import APPLY_DEVICE_ID
    from tests.support.accounts import TEST_PASSWORD

    user_id, token = make_user("pw-bot")
    path, _ = small_schedule(tmp_path, talks=1, tracks=1)
    monkeypatch.setenv("PODIUM_HOMESERVER", synapse.base_url)
    monkeypatch.setenv("PODIUM_USER_ID", user_id)
    monkeypatch.delenv("PODIUM_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("PODIUM_PASSWORD", TEST_PASSWORD)
    for _ in range(3):
        capsys.readouterr()
        assert main(["plan", "--schedule", str(path)]) == 2

    async def devices() -> list[str]:
        async with MatrixAdapter(synapse.base_url, user_id, token) as adapter:
            data = await adapter.request("GET", "/_matrix/client/v3/devices", what="list devices")
            return sorted(d["device_id"] for d in data["devices"])

    found = asyncio.run(devices())
    assert found.count(APPLY_DEVICE_ID) == 1
    assert len(found) == 2, found  # the registration's own device, and the one for plan/apply
