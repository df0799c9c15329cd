"""``podium plan`` says how long a build will take before anything is sent, and from the second
time on by the limits this homeserver showed ``podium apply``: against a Synapse whose room
creation lets 3 rooms through and then one every two seconds."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
import yaml

from bot.homeserver import EmbeddedSynapse
from tests.support.accounts import TEST_PASSWORD
from tests.support.provisioning import podium

#: Room creation: a burst of 3, then one every 2 s (Synapse's default is 10, then one a minute);
#: events (state among them): a burst of 3, then one a second (Synapse's: 10, then one every 5 s).
SLOW_ROOMS = {"rc_room_creation": {"per_second": 0.5, "burst_count": 3},
              "rc_message": {"per_second": 1, "burst_count": 3}}


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory):
    synapse = EmbeddedSynapse(tmp_path_factory.mktemp("slow-synapse"), rate_limits=SLOW_ROOMS)
    synapse.start()
    try:
        user_id, token = synapse.register_user(f"bot{uuid.uuid4().hex[:6]}", TEST_PASSWORD)
        yield synapse, SimpleNamespace(user_id=user_id, access_token=token)
    finally:
        synapse.stop()


def schedule(path, conf_id: str, talks: int):
    path.write_text(yaml.safe_dump({
        "conference": {"id": conf_id, "name": "Preflight", "timezone": "UTC", "start": "2026-07-13",
                       "end": "2026-07-13"},
        "tracks": [{"id": "forum", "name": "Forum"}],
        "talks": [{"id": f"t{n}", "track": "forum", "title": f"Talk {n}",
                   "start": f"{datetime(2026, 7, 13, 6) + timedelta(minutes=5 * n):%Y-%m-%d %H:%M}", "duration": 5}
                  for n in range(talks)],
        "lobby": [],
    }))
    return path


def test_plan_estimates_from_the_defaults_then_from_what_apply_met(homeserver, tmp_path, monkeypatch, capsys):
    synapse, bot = homeserver
    data = ["--data-dir", str(tmp_path / "data")]
    small = schedule(tmp_path / "small.yaml", f"pf{uuid.uuid4().hex[:6]}", 6)
    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(small), *data)
    assert code == 2
    assert "Time: under a minute of waiting for rate limits at Synapse's default limits" in out, out

    code, out, _ = podium(monkeypatch, capsys, bot, synapse.base_url, "apply", "--schedule", str(small), "--quiet",
                          *data)
    assert code == 0, out
    assert "rate-limited" in out, "the homeserver made apply wait"

    large = schedule(tmp_path / "large.yaml", f"pf{uuid.uuid4().hex[:6]}", 200)
    code, out, err = podium(monkeypatch, capsys, bot, synapse.base_url, "plan", "--schedule", str(large), *data)
    assert code == 2, out + err
    line = next(line for line in out.splitlines() if line.startswith("Time: "))
    said = re.match(r"Time: at least (\d+) min at this homeserver's limits, as `podium apply` measured them on "
                    r"[0-9-]+ [0-9:]+: room creation lets (\d+) through, then one every ([0-9.]+) s", line)
    assert said, line
    minutes, burst, every = int(said[1]), int(said[2]), float(said[3])
    rooms = int(re.search(r"(\d+) rooms to create", out)[1])
    assert burst <= 3 and 1.5 <= every <= 2.5, "what the homeserver showed, not Synapse's defaults"
    assert minutes == int((rooms - burst) * every // 60)
    assert "`podium appservice`" in out
