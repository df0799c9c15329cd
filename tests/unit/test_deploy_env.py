"""deploy/podium/podium.env as the two units read it: each unit's ExecStart, parsed by Podium's own
parser with that file as its environment, gets the settings the guide relies on. The pages'
service takes the trusted proxy (nginx on loopback) from the environment as the bot's does, so
the X-Forwarded-For nginx appends names the client to the pages, and the rooms' widgets and the
pages agree on where the pages are."""

from __future__ import annotations

import configparser
import os
import ipaddress
import shlex
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.cli.options import web_caps

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def environment_file() -> dict[str, str]:
    """podium.env as systemd's EnvironmentFile reads it: KEY=VALUE lines, # comments."""
    settings = {}
    for line in (DEPLOY / "podium" / "podium.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings


def unit_arguments(name: str) -> list[str]:
    """The unit's ExecStart without the program: what `podium` is asked to do."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    command = shlex.split(parser["Service"]["ExecStart"])
    assert command[0] == "/opt/podium/bin/podium"
    assert parser["Service"]["EnvironmentFile"] == "/etc/podium/podium.env"
    return command[1:]


@pytest.fixture
def unit_environment(monkeypatch):
    for key in [key for key in os.environ if key.startswith("PODIUM_")]:
        monkeypatch.delenv(key)
    for key, value in environment_file().items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("unit", ["podium-bot.service", "podium-web.service"])
def test_each_service_trusts_nginx_on_loopback_from_the_environment(unit, unit_environment):
    args = build_parser().parse_args(unit_arguments(unit))
    assert web_caps(args).trusted_proxies == (ipaddress.ip_network("127.0.0.1"),)
    assert args.public_url == environment_file()["PODIUM_PUBLIC_URL"]


def test_the_bot_is_the_application_service_and_serves_no_page(unit_environment):
    args = build_parser().parse_args(unit_arguments("podium-bot.service"))
    assert args.appservice is True and args.pages is False
