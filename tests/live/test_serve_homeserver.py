"""`podium run` against a homeserver: it stops with a clear error, and no traceback, when it
cannot serve its pages."""

from __future__ import annotations

import re
import socket

from bot import SAMPLE_SCHEDULE
from bot.cli import main


def test_run_says_when_its_port_is_taken(bot, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PODIUM_HOMESERVER", bot.homeserver)
    monkeypatch.setenv("PODIUM_USER_ID", bot.user_id)
    monkeypatch.setenv("PODIUM_ACCESS_TOKEN", bot.access_token)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["run", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path),
                     "--listen", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--listen" in err, err
    free = re.search(r"pass --listen 127\.0\.0\.1:(\d+)", err)
    assert free and int(free[1]) != port, err  # a port that was free a moment ago, to pass instead
    assert bot.access_token not in err


def test_run_refuses_more_live_pages_than_its_file_limit_can_hold(bot, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PODIUM_HOMESERVER", bot.homeserver)
    monkeypatch.setenv("PODIUM_USER_ID", bot.user_id)
    monkeypatch.setenv("PODIUM_ACCESS_TOKEN", bot.access_token)
    code = main(["run", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path),
                 "--listen", "127.0.0.1:1", "--max-streams", "100000000"])
    err = capsys.readouterr().err
    assert code == 1
    assert "--max-streams 100000000: the limit on open files" in err and "ulimit -n" in err, err
    assert "Traceback" not in err

