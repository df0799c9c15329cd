"""Telling the service manager how the process stands (systemd's ``sd_notify`` protocol): a unit
declared ``Type=notify`` then counts as started once Podium answers (its pages serve, its bot has
caught up), not when the process merely exists, and as stopping as soon as it begins to stop.

The service manager names its socket in ``NOTIFY_SOCKET``; without it (started by hand, or by a
unit of another type) nothing is sent. A message that cannot be sent is logged and the process
goes on: a service manager's bookkeeping never stops a conference."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

READY = "READY=1"
STOPPING = "STOPPING=1"


def notify(*states: str) -> bool:
    """Send ``states`` (``READY=1``, ``STOPPING=1``, ``STATUS=…``) to the service manager, if one
    asked for them; whether they were sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket (Linux), as systemd may name it
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(states).encode())
    except OSError as exc:
        log.warning("could not tell the service manager %s: %s", ", ".join(states), exc)
        return False
    return True
