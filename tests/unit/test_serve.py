"""`podium run`'s command line: where the pages are served, and clear errors when that fails."""

from __future__ import annotations

import re
import socket

import pytest

from bot import SAMPLE_SCHEDULE
from bot.cli import main
from bot.serve import Listen, ListenProblem


@pytest.mark.parametrize("text,expected", [("127.0.0.1:8080", Listen("127.0.0.1", 8080)),
                                           ("0.0.0.0:80", Listen("0.0.0.0", 80)),
                                           ("[::1]:9000", Listen("::1", 9000)),
                                           ("8081", Listen("127.0.0.1", 8081))])
def test_listen_addresses(text, expected):
    assert Listen.parse(text) == expected


@pytest.mark.parametrize("text", ["localhost:http", "127.0.0.1:0", "127.0.0.1:70000", ":"])
def test_bad_listen_addresses_are_refused(text):
    with pytest.raises(ListenProblem, match="HOST:PORT"):
        Listen.parse(text)


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


@pytest.mark.parametrize("flag", ["--max-streams", "--max-streams-per-client"])
@pytest.mark.parametrize("value", ["0", "-3", "many", "²", "١٢", "9" * 30])
def test_stream_caps_must_be_counts(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--schedule", str(SAMPLE_SCHEDULE), flag, value])
    assert exit_.value.code == 2
    assert f"argument {flag}: '{value}' is not a count" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "65536", "²", "８０８０"])
def test_ports_must_be_ascii_numbers_in_range(value, capsys):
    """Read like every number Podium takes: "²" is a digit to str.isdigit, but no port."""
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--port", value])
    assert exit_.value.code == 2
    assert f"argument --port: '{value}' is not a port" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--schedule", str(SAMPLE_SCHEDULE), "--listen", f"127.0.0.1:{value}"])
    assert exit_.value.code == 2
    assert f"--listen '127.0.0.1:{value}': expected HOST:PORT" in capsys.readouterr().err
