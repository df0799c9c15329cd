"""`podium run`'s command line: where the pages are served, and clear errors when that fails."""

from __future__ import annotations

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
    assert bot.access_token not in err
