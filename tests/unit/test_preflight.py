"""``podium plan``'s preflight: how long the plan's writes take under the homeserver's rate limits
(Synapse's defaults, or those ``podium apply`` measured), and what lifts them."""

from __future__ import annotations

from bot.matrix import Throttle, write_kind
from bot.provisioning.preflight import SYNAPSE_DEFAULTS, Limit, measured, preflight_lines, seconds_needed

FOSDEM = {"create": 1_000, "state": 0, "invite": 300, "withdraw": 0}


def test_each_write_draws_on_its_own_bucket():
    assert write_kind("POST", "/_matrix/client/v3/createRoom") == "create"
    assert write_kind("POST", "/_matrix/client/v3/rooms/!r:x/invite") == "invite"
    assert write_kind("PUT", "/_matrix/client/v3/rooms/!r:x/state/m.room.topic/") == "state"
    assert write_kind("PUT", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/t1?user_id=%40b%3Ax") == "state"
    assert write_kind("GET", "/_matrix/client/v3/sync") is None
    assert write_kind("POST", "/_matrix/client/v3/join/%23a%3Ax") is None


def test_a_fosdem_size_build_at_synapses_defaults_takes_most_of_a_day():
    seconds = seconds_needed(FOSDEM, SYNAPSE_DEFAULTS)
    assert seconds == (1_000 - 10) / 0.016  # room creation is the slowest bucket: 17 h 11 min
    lines = preflight_lines(FOSDEM, None, measured_at=None, appservice=False)
    assert lines[0] == ("Time: at least 17 h 11 min at Synapse's default limits (`podium apply` measures this "
                        "homeserver's own when it meets them): room creation lets 10 through, then one every 62.5 s, "
                        "and this plan makes 1000.")
    assert "application service" in lines[1] and "override_ratelimit" in lines[1]


def test_measured_limits_replace_the_defaults_and_say_when():
    throttles = [Throttle("create", 3, 2.0), Throttle("create", 3, 1.9), Throttle("create", 4, 2.1),
                 Throttle("invite", 10, 0.5)]
    limits = measured(throttles)
    assert limits == {"create": Limit(0.5, 3), "invite": Limit(2.0, 10)}
    [line, _] = preflight_lines({"create": 123}, limits, measured_at="2026-12-05 18:00", appservice=False)
    assert line.startswith("Time: at least 4 min at this homeserver's limits, as `podium apply` measured them on "
                           "2026-12-05 18:00: room creation lets 3 through, then one every 2.0 s")


def test_little_to_do_or_an_application_service_needs_no_waiting():
    assert preflight_lines({"create": 5, "invite": 3}, None, measured_at=None, appservice=False) == [
        "Time: under a minute of waiting for rate limits at Synapse's default limits (`podium apply` measures this "
        "homeserver's own when it meets them)."]
    assert preflight_lines(FOSDEM, None, measured_at=None, appservice=True)[0].startswith(
        "Time: no waiting for rate limits")
    assert preflight_lines({"create": 0}, None, measured_at=None, appservice=False) == []
