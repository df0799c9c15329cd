"""What several ``podium`` commands share: exit codes, the default schedule, the options they
take alike (schedule, templates, connection, data directory, widget pages) and the types that
read option values."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..conference.userinput import UsageError, read_number
from ..config import APPSERVICE_FOLDER, Connection, connection_from
from ..provisioning.pipeline import DEFAULT_PUBLIC_URL, DEFAULT_TEMPLATES
from ..serve import DEFAULT_LISTEN, Listen, ListenProblem, WebCaps

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

#: Where validate, plan, apply and run look for the schedule when --schedule is not given.
DEFAULT_SCHEDULE = Path("schedule.yaml")


def schedule_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schedule", type=Path, default=DEFAULT_SCHEDULE, metavar="FILE",
                   help="the conference description (default: ./schedule.yaml; `podium init` writes one)")


def connection_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "connection settings", "The bot's secret comes from the environment only: PODIUM_ACCESS_TOKEN or "
                               "PODIUM_PASSWORD, or PODIUM_ACCESS_TOKEN_FILE / PODIUM_PASSWORD_FILE naming a "
                               "file that holds it.")
    group.add_argument("--homeserver", metavar="URL", help="homeserver base URL (PODIUM_HOMESERVER)")
    group.add_argument("--user-id", metavar="MXID", help="the bot's Matrix ID (PODIUM_USER_ID)")
    group.add_argument("--appservice", action="store_true", default=os.environ.get("PODIUM_APPSERVICE", "").strip().lower() in ("1", "true", "yes"),
                       help="act as the application service `podium appservice` registered, with its token from "
                            "--data-dir (or PODIUM_AS_TOKEN / PODIUM_HS_TOKEN, or their *_FILE): no rate limits, "
                            "no password or access token (PODIUM_APPSERVICE=1)")


def connection_of(args: argparse.Namespace) -> Connection:
    """The connection the command's options and the environment describe (see connection_options)."""
    folder = args.data_dir / APPSERVICE_FOLDER if args.appservice else None
    return connection_from(args.homeserver, args.user_id, appservice=folder)


def templates_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--templates", type=Path, default=DEFAULT_TEMPLATES, metavar="DIR",
                   help="room templates, one YAML file per room kind (default: the bundled ones; "
                        "`podium init --templates` copies them for editing)")


def public_url_option(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument("--public-url", default=os.environ.get("PODIUM_PUBLIC_URL", default), metavar="URL",
                   help="where browsers reach Podium's web server, for widget URLs (PODIUM_PUBLIC_URL; "
                        + (f"default {default})" if default else "default: http://localhost:PORT of --listen)"))


def listen_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--listen", type=listen_address, default=os.environ.get("PODIUM_LISTEN", DEFAULT_LISTEN),
                   metavar="HOST:PORT", help="where the web server for the widget pages listens "
                                             f"(PODIUM_LISTEN; default {DEFAULT_LISTEN})")
    p.add_argument("--max-streams", type=positive_count, default=os.environ.get("PODIUM_MAX_STREAMS"), metavar="N",
                   help="live pages (Q&A boards, poll bars) open at once, from everyone; more get "
                        "'busy, retrying' (PODIUM_MAX_STREAMS; default: sized from the limit on open files)")
    p.add_argument("--max-streams-per-client", type=positive_count, metavar="N",
                   default=os.environ.get("PODIUM_MAX_STREAMS_PER_CLIENT"),
                   help="live pages open at once from one address, or from one address a trusted proxy "
                        "forwards (PODIUM_MAX_STREAMS_PER_CLIENT; default 16)")
    p.add_argument("--max-connections-per-client", type=positive_count, metavar="N",
                   default=os.environ.get("PODIUM_MAX_CONNECTIONS_PER_CLIENT"),
                   help="connections one address may hold open, a trusted proxy excepted; more get 'busy' "
                        "(PODIUM_MAX_CONNECTIONS_PER_CLIENT; default 128, at most a quarter of all)")
    p.add_argument("--header-timeout", type=positive_seconds, metavar="SECONDS",
                   default=os.environ.get("PODIUM_HEADER_TIMEOUT"),
                   help="a new connection that has not sent its request headers by then is closed "
                        "(PODIUM_HEADER_TIMEOUT; default 10)")
    p.add_argument("--trusted-proxy", type=proxy_addresses, metavar="ADDRESS[,ADDRESS…]",
                   default=os.environ.get("PODIUM_TRUSTED_PROXIES"),
                   help="reverse proxies in front of the web server (addresses or networks, e.g. 127.0.0.1 or "
                        "10.0.0.0/8): the last X-Forwarded-For address they append names the client, and they "
                        "are not held to one client's connections (PODIUM_TRUSTED_PROXIES; default: none)")


def web_caps(args: argparse.Namespace) -> WebCaps:
    """What the options above ask of the web server."""
    return WebCaps(streams=args.max_streams, streams_per_client=args.max_streams_per_client,
                   connections_per_client=args.max_connections_per_client, header_seconds=args.header_timeout,
                   trusted_proxies=args.trusted_proxy or ())


def data_dir_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("PODIUM_DATA_DIR", ".podium")),
                   metavar="DIR", help=f"local state: {what} (PODIUM_DATA_DIR; default: ./.podium)")


def room_options(p: argparse.ArgumentParser) -> None:
    schedule_options(p)
    templates_option(p)
    public_url_option(p, DEFAULT_PUBLIC_URL)
    connection_options(p)
    data_dir_option(p, "what the last run saw, so the next one reads only changes")
    p.add_argument("--fresh", action="store_true",
                   help="ignore what earlier runs saw and read every room from the homeserver")
    p.set_defaults(checks_before_writing=True)


def utc_moment(text: str):
    """``HH:MM`` (today) or ``YYYY-MM-DD HH:MM``, in UTC, for --rehearse-at."""
    from datetime import datetime, timezone

    for layout in ("%Y-%m-%d %H:%M", "%H:%M"):
        try:
            parsed = datetime.strptime(text.strip(), layout)
        except ValueError:
            continue
        if layout == "%H:%M":
            today = datetime.now(timezone.utc)
            parsed = today.replace(hour=parsed.hour, minute=parsed.minute, second=0, microsecond=0)
        return parsed.replace(tzinfo=timezone.utc)
    raise argparse.ArgumentTypeError(f"{text!r} is not a time: give HH:MM or YYYY-MM-DD HH:MM (UTC)")


def listen_address(text: str) -> Listen:
    try:
        return Listen.parse(text)
    except ListenProblem as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_count(text: str) -> int:
    try:
        return read_number(text.strip(), "a count")
    except UsageError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count; expected a whole number from 1, e.g. 100") from None


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = 0.0
    if not 0.1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; expected a number from 0.1 "
                                         "to 3600, e.g. 10")
    return seconds


def proxy_addresses(text: str):
    from ..web.limits import proxy_networks  # the web server's, imported only when named

    try:
        return proxy_networks(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port_number(text: str) -> int:
    try:
        return read_number(text, "a port", high=65535)
    except UsageError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; expected a number from 1 to 65535, e.g. 8008") \
            from None


def pages_url(args: argparse.Namespace) -> str:
    """--public-url, or where --listen makes the pages reachable from this machine."""
    if args.public_url:
        return args.public_url.rstrip("/")
    host = "localhost" if args.listen.host in ("127.0.0.1", "0.0.0.0", "::1", "::", "localhost") else args.listen.host
    return f"http://{host}:{args.listen.port}"
