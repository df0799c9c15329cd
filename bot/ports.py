"""Local TCP ports: probed before a server starts, so that a port already in use is named at once,
with a free one to pass instead, rather than found after a long set-up (or, worse, answered by
whatever program holds it)."""

from __future__ import annotations

import errno
import socket

#: How many ports above a taken one are tried when suggesting a free one nearby.
NEARBY = 50


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the system picks it)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host:port`` now (in words), or None when it could.

    Binds the way servers do (``SO_REUSEADDR``), so a port that only lingers after a server
    stopped counts as free, as it is for the server that binds it next."""
    try:
        addresses = {info[4][:2]: info[0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        return f"{host} is not an address of this machine"
    for address, family in addresses.items():
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return "already in use by another program"
                if exc.errno == errno.EACCES:
                    return "not allowed for this user (ports below 1024 need root)"
                if exc.errno == errno.EADDRNOTAVAIL:
                    return f"{host} is not an address of this machine"
                return exc.strerror or str(exc)
    return None


def free_port_near(host: str, port: int, *, avoid: frozenset[int] = frozenset()) -> int:
    """The first free port above ``port`` (people remember 8009 after 8008 better than 43117),
    skipping ``avoid``; any free port if none of the next few is."""
    for candidate in range(port + 1, min(port + 1 + NEARBY, 65536)):
        if candidate not in avoid and port_problem(host, candidate) is None:
            return candidate
    return free_port(host)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
