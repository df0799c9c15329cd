"""`podium demo` end to end: it brings the sample conference up on its own Synapse, and a demo
attendee, as a real matrix-nio client, gets in through the space invite."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

from nio import AsyncClient, JoinError, JoinResponse, LoginResponse

from bot import PROJECT_ROOT
from bot.demo import DEMO_PASSWORD
from bot.homeserver import EmbeddedSynapse


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_brings_up_the_conference_and_attendees_get_in(tmp_path):
    port = _free_port()
    data_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--data-dir", str(data_dir), "--port", str(port), "--no-wait"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "EuroPython 2026 is up." in run.stdout
    assert f"http://127.0.0.1:{port}" in run.stdout
    assert "room(s) created" in run.stdout

    # The demo stopped its homeserver; start the same data dir again to visit as an attendee.
    with EmbeddedSynapse(data_dir / "synapse", port=port) as server:
        asyncio.run(_visit_as_alice(server.base_url))


async def _visit_as_alice(base_url: str) -> None:
    client = AsyncClient(base_url, "@alice:localhost")
    try:
        assert isinstance(await client.login(DEMO_PASSWORD), LoginResponse)
        space = await client.join("#ep2026:localhost")  # accepts the invitation
        assert isinstance(space, JoinResponse), space
        track = await client.join("#ep2026-track-forum:localhost")  # restricted: space members may join
        assert isinstance(track, JoinResponse), track
        hallway = await client.join("#ep2026-hallway:localhost")
        assert isinstance(hallway, JoinResponse), hallway
        backstage = await client.join("#ep2026-backstage-forum:localhost")  # invite-only
        assert isinstance(backstage, JoinError) and backstage.status_code == "M_FORBIDDEN"
    finally:
        await client.close()
