"""How much of the process the web server may take: connections, event streams, and per client.

The bot and the web server share one process and so one limit on open files (RLIMIT_NOFILE):
every socket a browser holds open is one the bot cannot use for its ``/sync``, its replies or
SQLite. The web server therefore works inside a budget, the limit minus a reserve kept for the
bot, and within it caps the connections it accepts and, tighter, the event streams (a live page
holds its connection open for as long as it is shown). Past a cap it answers 503 at once,
rather than letting the next ``accept()`` or the bot's next request fail.

No one client may take the whole budget: each address holds at most its share of the
connections, and a connection must have sent its request headers within a few seconds. Who the
client is, is what the server saw (the connection's peer address); only a reverse proxy the
operator named as trusted may say otherwise, in the ``X-Forwarded-For`` it appends.
"""

from __future__ import annotations

import ipaddress
import logging
import resource
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Descriptors the web server leaves to the bot: its requests in flight (at most 32, see
#: bot.runtime), its long-poll, SQLite's database, journal and shared-memory files, the event
#: loop's own and the log files, with room to spare.
RESERVED_FOR_BOT = 128
#: However high the limit, the default stays below this many connections: each costs memory,
#: and each event stream a wake-up on every change.
DEFAULT_CONNECTIONS_CEILING = 4096
#: Connections kept for page loads, scripts and styles when event streams take the rest.
ROOM_FOR_PAGES = 32
#: One browser shows a few live pages; one address may also be a venue's shared connection.
DEFAULT_STREAMS_PER_CLIENT = 16
#: What an answer over a cap tells browsers: try again after this many seconds.
RETRY_AFTER_SECONDS = 5
#: Connections one address may hold: a browser opens six at most, but one address may be a
#: venue's shared connection; a quarter of all connections at most, so no one address fills them.
DEFAULT_CONNECTIONS_PER_CLIENT = 128
#: Seconds a new connection has to send its request headers (a few hundred bytes, sent at once by
#: any browser; the allowance is for a slow network), after which it is closed.
DEFAULT_HEADER_SECONDS = 10.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class LimitProblem(ValueError):
    """The caps asked for do not fit the process's limit on open files."""


@dataclass(frozen=True)
class WebLimits:
    connections: int  # open connections of any kind, pages and streams together
    streams: int  # event streams open at once, from everyone
    streams_per_client: int  # event streams open at once from one client address
    connections_per_client: int = DEFAULT_CONNECTIONS_PER_CLIENT  # open connections from one peer address
    header_seconds: float = DEFAULT_HEADER_SECONDS  # a new connection's time to send its request headers
    trusted_proxies: tuple[Network, ...] = ()  # peers whose X-Forwarded-For names the client

    @classmethod
    def within(cls, open_files: int, *, streams: int | None = None, streams_per_client: int | None = None,
               connections_per_client: int | None = None, header_seconds: float | None = None,
               trusted_proxies: tuple[Network, ...] = ()) -> "WebLimits":
        """The caps for a process allowed ``open_files`` descriptors: the defaults, or the
        streams asked for when they fit. Raises LimitProblem saying what to change."""
        budget = open_files - RESERVED_FOR_BOT
        if budget < 2 * ROOM_FOR_PAGES:
            raise LimitProblem(
                f"the limit on open files ({open_files}) leaves the web server too few "
                f"({max(budget, 0)}, after {RESERVED_FOR_BOT} kept for the bot); raise it, "
                f"e.g. `ulimit -n 4096` before starting Podium")
        connections = min(budget, DEFAULT_CONNECTIONS_CEILING)
        if streams is None:
            streams = connections - max(ROOM_FOR_PAGES, connections // 4)
        elif streams > budget - ROOM_FOR_PAGES:
            raise LimitProblem(
                f"--max-streams {streams}: the limit on open files ({open_files}) allows at most "
                f"{budget - ROOM_FOR_PAGES} (keeping {RESERVED_FOR_BOT} for the bot and "
                f"{ROOM_FOR_PAGES} for page loads); lower it or raise the limit (ulimit -n)")
        connections = max(connections, streams + ROOM_FOR_PAGES)
        per_client = DEFAULT_STREAMS_PER_CLIENT if streams_per_client is None else streams_per_client
        if connections_per_client is None:
            connections_per_client = min(DEFAULT_CONNECTIONS_PER_CLIENT, connections // 4)
        return cls(connections, streams, min(per_client, streams), min(connections_per_client, connections),
                   DEFAULT_HEADER_SECONDS if header_seconds is None else header_seconds, trusted_proxies)

    def is_trusted_proxy(self, peer: str | None) -> bool:
        return _in_networks(peer, self.trusted_proxies)

    def client(self, peer: str | None, forwarded_for: str | None) -> str:
        """Whom a request counts against (see client_address)."""
        return client_address(peer, forwarded_for, self.trusted_proxies)


def open_file_limit() -> int:
    """The process's current (soft) limit on open files."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard limit, where the system allows it, and
    return the limit in force. Distributions start processes at 1024 however high the hard
    limit, which a few hundred open pages would use up."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= soft:
        return soft  # nothing to lift to (an unlimited hard limit cannot be a soft one)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the limit on open files from %d to %d: %s", soft, hard, exc)
        return soft
    return hard


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: tuple[Network, ...] = ()) -> str:
    """Whom a request counts against: the peer address. A reverse proxy forwards every client
    from its own address, so for a peer among ``trusted_proxies`` (and only there: anywhere else
    the header is the sender's own word) the address the proxy appended to X-Forwarded-For, the
    last one, names the client."""
    if forwarded_for and _in_networks(peer, trusted_proxies):
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer or "unknown"


def proxy_networks(text: str) -> tuple[Network, ...]:
    """Trusted proxies as the operator writes them: addresses or networks, separated by commas
    (``127.0.0.1``, ``10.0.0.0/8, ::1``). Raises ValueError naming the one that is neither."""
    networks = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network; expected e.g. 127.0.0.1 or 10.0.0.0/8") \
                from None
    return tuple(networks)


def _in_networks(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # an IPv4 peer on a dual-stack socket
    return any(ip in network for network in networks)


class StreamSlots:
    """Counts the open event streams, in total and per client address."""

    def __init__(self, limits: WebLimits):
        self.limits = limits
        self.open = 0
        self._by_client: Counter[str] = Counter()

    def take(self, client: str) -> bool:
        """A slot for one more stream from ``client``, or False when a cap is reached."""
        if self.open >= self.limits.streams or self._by_client[client] >= self.limits.streams_per_client:
            return False
        self.open += 1
        self._by_client[client] += 1
        return True

    def give_back(self, client: str) -> None:
        self.open -= 1
        self._by_client[client] -= 1
        if not self._by_client[client]:
            del self._by_client[client]
