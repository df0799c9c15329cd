"""Conferences applied through Podium's own command line, for tests that provision."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import yaml

from bot import SAMPLE_SCHEDULE
from bot.cli import main
from bot.matrix import MatrixAdapter
from bot.provisioning.apply import observe
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, Conference, build
from bot.roomstate.state import Observed

#: The password of the sample schedule's local people (registered by the ``sample_people`` fixture).
SAMPLE_PEOPLE_PASSWORD = "speaker-password"
SAMPLE = SAMPLE_SCHEDULE


def write_schedule(tmp_path: Path, edit=None, *, source: Path = SAMPLE) -> tuple[Path, str]:
    """A copy of ``source`` under a fresh conference id (so tests never share rooms)."""
    data = yaml.safe_load(source.read_text())
    conf_id = f"t{uuid.uuid4().hex[:8]}"
    data["conference"]["id"] = conf_id
    if edit:
        edit(data)
    path = tmp_path / f"{conf_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    # Poster PDFs given as paths are found beside the schedule: the copy needs them too.
    if (source.parent / "posters").is_dir() and not (tmp_path / "posters").exists():
        shutil.copytree(source.parent / "posters", tmp_path / "posters")
    return path, conf_id


def podium(monkeypatch, capsys, bot, homeserver: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("PODIUM_HOMESERVER", homeserver)
    monkeypatch.setenv("PODIUM_USER_ID", bot.user_id)
    monkeypatch.setenv("PODIUM_ACCESS_TOKEN", bot.access_token)
    monkeypatch.delenv("PODIUM_PASSWORD", raising=False)
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def conference_for(path: Path, bot) -> Conference:
    return build(path, Settings(server_name="localhost", bot_user_id=bot.user_id, public_url=DEFAULT_PUBLIC_URL))


def observe_now(bot, conference: Conference) -> Observed:
    async def run() -> Observed:
        async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
            return await observe(adapter, conference.rooms, conference.schedule.conference.id)

    return asyncio.run(run())



def small_schedule(tmp_path: Path, talks: int, *, tracks: int = 2) -> tuple[Path, str]:
    """A conference of ``tracks`` tracks and ``talks`` talks, nobody to invite."""
    conf_id = f"f{uuid.uuid4().hex[:8]}"
    data = {
        "conference": {"id": conf_id, "name": "Fault Conf", "timezone": "UTC",
                       "start": "2026-03-01", "end": "2026-03-01"},
        "tracks": [{"id": f"tr{i}", "name": f"Track {i}", "stream": f"https://video.example.org/{i}"}
                   for i in range(tracks)],
        "talks": [{"id": f"talk{i}", "track": f"tr{i % tracks}", "title": f"Talk {i}",
                   "start": f"2026-03-01 {8 + i // tracks:02d}:00", "duration": 30}
                  for i in range(talks)],
    }
    path = tmp_path / f"{conf_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, conf_id

