"""`podium run`'s command line: where the pages are served, and clear errors when that fails."""

from __future__ import annotations

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
