"""The web server's guards against one client, without a server: the caps' defaults and options,
who the client is, and the throttled log of bad requests (the served side: tests/live/test_web_guard.py)."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from aiohttp.http_exceptions import BadHttpMessage, BadStatusLine, LineTooLong

from bot.cli import build_parser
from bot.cli.options import web_caps
from bot.serve import WebCaps
from bot.web.limits import DEFAULT_CONNECTIONS_PER_CLIENT, DEFAULT_HEADER_SECONDS, WebLimits, proxy_networks
from bot.web.requestlog import BadRequestLog, LogThrottle, describe

# ----------------------------------------------------------------------------- the caps


@pytest.mark.parametrize("open_files", [256, 1024, 4096, 65536])
def test_no_one_address_may_hold_more_than_a_quarter_of_the_connections(open_files):
    limits = WebLimits.within(open_files)
    assert limits.connections_per_client <= min(DEFAULT_CONNECTIONS_PER_CLIENT, limits.connections // 4)
    assert limits.connections_per_client >= 16, "a few browsers behind one address still get their pages"
    assert limits.header_seconds == DEFAULT_HEADER_SECONDS
    assert limits.trusted_proxies == ()


def test_asked_for_per_client_caps_are_kept_within_all_connections():
    assert WebLimits.within(1024, connections_per_client=40, header_seconds=3).connections_per_client == 40
    assert WebLimits.within(1024, header_seconds=3).header_seconds == 3
    everyone = WebLimits.within(1024).connections
    assert WebLimits.within(1024, connections_per_client=10**6).connections_per_client == everyone


def test_only_a_named_proxy_is_trusted():
    limits = WebLimits.within(1024, trusted_proxies=proxy_networks("10.0.0.0/8, ::1"))
    assert [limits.is_trusted_proxy(a) for a in ("10.20.30.40", "::1", "::ffff:10.0.0.7")] == [True] * 3
    assert [limits.is_trusted_proxy(a) for a in ("127.0.0.1", "11.0.0.1", "unknown", None)] == [False] * 4
    assert limits.client("10.1.1.1", "192.0.2.1, 198.51.100.7") == "198.51.100.7"
    assert limits.client("127.0.0.1", "198.51.100.7") == "127.0.0.1", "a sender's own header names no one"
    with pytest.raises(ValueError, match=r"'10\.0\.0\.x' is not an IP address or network"):
        proxy_networks("127.0.0.1,10.0.0.x")


def test_the_options_reach_the_web_server(monkeypatch):
    monkeypatch.setenv("PODIUM_TRUSTED_PROXIES", "127.0.0.1")
    args = build_parser().parse_args(["run", "--max-connections-per-client", "50", "--header-timeout", "2.5"])
    assert web_caps(args) == WebCaps(connections_per_client=50, header_seconds=2.5,
                                     trusted_proxies=(ipaddress.ip_network("127.0.0.1"),))
    monkeypatch.delenv("PODIUM_TRUSTED_PROXIES")
    assert web_caps(build_parser().parse_args(["run"])) == WebCaps()


@pytest.mark.parametrize("argv, says", [
    (["--header-timeout", "0"], "is not a number of seconds"),
    (["--header-timeout", "soon"], "is not a number of seconds"),
    (["--trusted-proxy", "proxy.example.org"], "is not an IP address or network"),
    (["--max-connections-per-client", "0"], "is not a count"),
])
def test_bad_option_values_say_what_to_give(argv, says, capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["run", *argv])
    assert stopped.value.code == 2
    assert says in capsys.readouterr().err


# ----------------------------------------------------------------------------- the log


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_throttle_logs_so_many_lines_a_window_then_counts_the_rest(caplog):
    caplog.set_level(logging.INFO)
    clock = Clock()
    throttle = LogThrottle(logging.getLogger("bot.web.test"), "bad requests", per_window=3, window=60, clock=clock)
    for n in range(25):
        throttle.line(logging.INFO, "bad request %d", n)
    assert [r.getMessage() for r in caplog.records] == ["bad request 0", "bad request 1", "bad request 2"]
    caplog.clear()
    clock.now += 61  # the next window: first the count, then the line
    throttle.line(logging.INFO, "bad request %d", 25)
    assert [r.getMessage() for r in caplog.records] == ["22 more bad requests suppressed", "bad request 25"]
    caplog.clear()
    throttle.flush()
    assert caplog.records == [], "nothing held back, nothing to tell"


def test_a_bad_request_is_one_line_and_anything_else_keeps_its_traceback(caplog):
    caplog.set_level(logging.DEBUG)
    adapter = BadRequestLog()
    # How aiohttp's request handler reports them (web_protocol.RequestHandler.handle_error).
    adapter.exception("Error handling request from %s", "203.0.113.9",
                      exc_info=BadStatusLine("GET\x1b[31m / HTTP/1.1\nHost: forged\n"))
    adapter.debug("Error handling request from %s", "203.0.113.9",
                  exc_info=BadHttpMessage("Invalid header value \x1b[31mred\nINFO forged line"))
    try:
        raise RuntimeError("a bug in a page")
    except RuntimeError as exc:
        adapter.exception("Error handling request from %s", "203.0.113.9", exc_info=exc)
    bad = [r for r in caplog.records if r.name == "bot.web.requestlog"]
    assert [r.getMessage() for r in bad] == [
        "bad request from 203.0.113.9: Bad status line 'GET\\x1b[31m / HTTP/1.1\\nHost: forged\\n' (400)",
        "bad request from 203.0.113.9: Invalid header value ?[31mred (400)",
    ]
    assert not [r for r in bad if r.exc_info]
    bug = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(bug) == 1 and bug[0].exc_info and bug[0].levelno == logging.ERROR


def test_a_long_reason_is_cut_short():
    line = describe(LineTooLong(b"x" * 5000, 8190))
    assert len(line) < 200 and "\n" not in line and line.endswith("(400)")
