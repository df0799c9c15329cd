"""What the service manager is told: the states, on the socket ``NOTIFY_SOCKET`` names (a path or
an abstract name), nothing without it, and a warning rather than a failure when it cannot be
reached. Each check listens on a real Unix datagram socket, as systemd does."""

from __future__ import annotations

import logging
import socket
import uuid

from bot.service_manager import READY, STOPPING, notify


def _listening(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_the_states_reach_the_socket_named(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    with _listening(path) as manager:
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert notify(READY) is True
        assert manager.recv(4096) == b"READY=1"
        assert notify(STOPPING, "STATUS=stopping") is True
        assert manager.recv(4096) == b"STOPPING=1\nSTATUS=stopping"


def test_an_abstract_socket_is_reached_by_its_name(monkeypatch):
    name = f"podium-test-{uuid.uuid4().hex}"
    with _listening("\0" + name) as manager:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify(READY) is True
        assert manager.recv(4096) == b"READY=1"


def test_nothing_is_sent_without_a_service_manager(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify(READY) is False


def test_a_socket_gone_is_a_warning_not_a_failure(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    with caplog.at_level(logging.WARNING, logger="bot.service_manager"):
        assert notify(READY) is False
    assert "could not tell the service manager READY=1" in caplog.text
