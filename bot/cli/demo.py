"""``podium demo``: the sample conference on an embedded Synapse, ready to open in Element."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .. import SAMPLE_SCHEDULE
from ..conference.clock import Clock, busiest_moment, longest_running, shifted_clock, talk_end, utc_now
from ..conference.roomkeys import track_key
from ..config import Connection
from ..homeserver import EmbeddedSynapse, HomeserverError
from ..matrix import MatrixAdapter
from ..ports import free_port_near, port_problem
from ..provisioning.apply import ApplyReport
from ..provisioning.desired import Settings
from ..provisioning.pipeline import Conference, build
from ..serve import Listen, WebCaps, serve
from ..store.database import Store
from ..wording import counted
from .interrupt import Headway, run_interruptible
from .options import listen_option, pages_url, port_number, public_url_option, web_caps
from .provision import apply_with_report  # the same apply an organiser runs

SERVER_NAME = "localhost"
#: The demo's homeserver listens on loopback only: its accounts share a printed password.
HOST = "127.0.0.1"
BOT = "podium"
#: Demo accounts (localpart, role). They share one password, printed for signing in.
ACCOUNTS = (
    ("organiser", "organiser"),
    ("moderator", "moderator"),
    ("alice", "attendee"),
    ("bob", "attendee"),
    ("carol", "attendee"),
)
DEMO_PASSWORD = "podium-demo"


def run_demo(schedule_path: Path, data_dir: Path, *, port: int, public_url: str, listen: Listen,
             wait: bool = True, caps: WebCaps = WebCaps()) -> int:
    from ..day.runner import DayOptions

    bot_id = f"@{BOT}:{SERVER_NAME}"
    settings = Settings(server_name=SERVER_NAME, bot_user_id=bot_id, public_url=public_url)
    conference = build(schedule_path, settings)  # a bad schedule stops us before Synapse starts
    problems = _port_problems(port, listen if wait else None)
    if problems:
        for problem in problems:
            print(f"podium: error: {problem}", file=sys.stderr)
        return 1

    data_dir.mkdir(parents=True, exist_ok=True)
    # Staff and speakers find their rooms joined: one invitation to accept, the conference's. A tile
    # loads after its one "Continue" even when Element misses its own consent's echo.
    server = EmbeddedSynapse(data_dir / "synapse", server_name=SERVER_NAME, host=HOST, port=port,
                             join_invitations_from=bot_id, widget_consent_from=bot_id)
    print(f"Starting Synapse on {server.base_url} (data in {data_dir / 'synapse'}) …", flush=True)
    try:
        server.start()
        _, bot_token = server.register_user(BOT, _bot_password(data_dir), displayname="Podium")
        server.override_ratelimit(bot_id)
        people = dict(ACCOUNTS)
        for user in sorted(_local_people(conference.schedule)):
            people.setdefault(user.split(":")[0][1:], "speaker / staff")
        for localpart in people:
            server.register_user(localpart, DEMO_PASSWORD, displayname=localpart.replace("-", " ").title())
    except HomeserverError as exc:
        print(f"podium: error: the embedded homeserver did not come up: {exc}", file=sys.stderr)
        server.stop()
        return 1
    except KeyboardInterrupt:  # Ctrl-C while Synapse starts: it must not outlive the demo
        server.stop()
        raise
    try:
        connection = Connection(server.base_url, bot_id, bot_token)
        store = Store(data_dir)
        try:
            headway = Headway("write request", "made")
            report = run_interruptible(apply_with_report(conference, connection, store, rerun="podium demo",
                                                         headway=headway), headway=headway, rerun="podium demo")
        finally:
            store.close()
        if not report.ok:
            _print_unfinished(report, data_dir)
            return 1
        attendees = [f"@{localpart}:{SERVER_NAME}" for localpart, role in ACCOUNTS if role == "attendee"]
        asyncio.run(_admit_attendees(connection, conference.schedule.conference, attendees))
        _print_welcome(server, conference.schedule.conference, people)
        if wait:
            clock = _demo_clock(conference.schedule)
            zone = conference.schedule.conference.timezone
            print(f"  Web pages:   {public_url}/   (schedule, posters, now/next; listening on {listen})")
            print(f"  Clock:       the demo plays {clock().astimezone(ZoneInfo(zone)):%A %d %B %H:%M} ({zone})"
                  " onwards, in real time, so talks are live.")
            _print_where_to_try(conference, clock(), zone)
            asyncio.run(serve(connection, conference, data_dir, listen=listen, clock=clock,
                              on_ready=lambda: print("The bot is answering. Press Ctrl-C to stop.", flush=True),
                              caps=caps, day=DayOptions()))  # the clock an organiser runs
        return 0
    finally:
        print("Stopping Synapse …", flush=True)
        server.stop()


def _port_problems(port: int, listen: Listen | None) -> list[str]:
    """What stands in the way of the homeserver's port and the widget pages' address (when the
    pages are served), each with a free port to pass instead. Checked before anything starts:
    a second demo would otherwise find its port taken only after the whole set-up, or talk to
    the first demo's homeserver."""
    problems = []
    taken = {port} | ({listen.port} if listen else set())
    why = port_problem(HOST, port)
    if why:
        problems.append(f"port {port} for the demo's homeserver is {why} (another `podium demo` may be running): "
                        f"pass --port {free_port_near(HOST, port, avoid=frozenset(taken))}")
    if listen is None:
        return problems
    why = port_problem(listen.host, listen.port)
    if why is None and listen.port == port and listen.host in (HOST, "0.0.0.0", "localhost"):
        why = "the homeserver's port as well"
    if why:
        suggestion = Listen(listen.host, free_port_near(listen.host, listen.port, avoid=frozenset(taken)))
        problems.append(f"{listen} for the widget pages is {why}: pass --listen {suggestion}")
    return problems


def _print_unfinished(report: ApplyReport, data_dir: Path) -> None:
    """Instead of the welcome: the demo conference is not (all) there, and what to do."""
    keys = sorted({action.key for action, _ in (*report.failed, *report.skipped)}
                  | {action.key for action in report.remaining})
    print(file=sys.stderr)
    print(f"podium: error: the demo is not up: {counted(len(keys), 'room')} could not be set up fully "
          f"({', '.join(keys)}), for the reasons above. Fix them and run `podium demo` again: it carries on "
          f"where this one stopped (delete {data_dir} to start afresh instead).", file=sys.stderr)


def _bot_password(data_dir: Path) -> str:
    """The bot's own password: random, kept in the data dir so a restarted demo can log in."""
    import secrets

    path = data_dir / "bot-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _local_people(schedule) -> set[str]:
    ids = set(schedule.staff.organisers) | set(schedule.staff.moderators)
    for track in schedule.tracks:
        ids |= set(track.chairs)
    for talk in schedule.talks:
        ids |= {p.matrix_id for p in talk.speakers if p.matrix_id}
    for poster in schedule.posters:
        ids |= {p.matrix_id for p in poster.presenters if p.matrix_id}
    for group in (*schedule.sponsors, *schedule.helpdesks):
        ids |= set(group.staff)
    return {i for i in ids if i.endswith(f":{SERVER_NAME}")}


async def _admit_attendees(connection: Connection, conference, attendees: list[str]) -> None:
    """Invite the demo attendees to the conference space, as an organiser would with tickets:
    with access space-members that one invite opens every room inside to them."""
    if conference.access == "public":
        return
    async with MatrixAdapter(connection.homeserver, connection.user_id, connection.access_token or "") as adapter:
        space = await adapter.resolve_alias(f"#{conference.id}:{SERVER_NAME}")
        if space is None:
            return
        for user in attendees:
            if await adapter.membership(space, user) is None:
                await adapter.invite(space, user, what=f"invite {user} to the conference space")


def _print_welcome(server: EmbeddedSynapse, conference, people: dict[str, str]) -> None:
    print()
    print(f"{conference.name} is up.")
    print(f"  Homeserver:  {server.base_url}   (server name {SERVER_NAME})")
    print(f"  Space:       #{conference.id}:{SERVER_NAME}")
    print("  Open it in Element: go to https://app.element.io (or your own Element), choose")
    print(f"  'Sign in', edit the homeserver to {server.base_url}, and sign in with one of:")
    for localpart, role in people.items():
        print(f"    {localpart:<20} {role:<16} password: {DEMO_PASSWORD}")
    print(f"  alice, bob and carol find an invitation to #{conference.id}:{SERVER_NAME}; accepting it opens")
    print("  every room of the conference to them.")


def _print_where_to_try(conference: Conference, now: datetime, zone: str) -> None:
    """Name the track room that takes questions for the longest from now: a track between talks
    refuses ``!ask``, and a newcomer's first question should not be refused."""
    entry = longest_running(conference.schedule, now)
    if entry is None:
        print("  Try:         !help in any track room.")
        return
    alias = next(room.alias for room in conference.rooms if room.key == track_key(entry.track_id))
    until = talk_end(entry.now).astimezone(ZoneInfo(zone))
    print(f"  Try:         in #{alias}:{SERVER_NAME}, “{entry.now.title}” is on until {until:%H:%M}:")
    print("               send !ask <your question> there, then !questions and !help.")


def _demo_clock(schedule) -> Clock:
    """The sample conference is dated; the demo replays its busiest moment from now on, so the
    navigator, the streams and ``!ask`` have live talks whatever the date."""
    moment = busiest_moment(schedule)
    return shifted_clock(moment) if moment else utc_now


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="bring up the sample conference on an embedded Synapse",
                            description="Start an embedded Synapse on this machine, create demo accounts, apply "
                                        "the sample schedule, print how to open it in Element, and run the bot and "
                                        "the widget pages until Ctrl-C. Needs no connection settings; both ports "
                                        "are checked before anything starts.")
    p.add_argument("--schedule", type=Path, default=SAMPLE_SCHEDULE, metavar="FILE",
                   help="the conference to bring up (default: the bundled sample conference)")
    p.add_argument("--data-dir", type=Path, default=Path(".podium/demo"), metavar="DIR",
                   help="where the homeserver keeps its data; reused on the next run (default: ./.podium/demo)")
    p.add_argument("--port", type=port_number, default=8008,
                   help="the embedded homeserver's port on 127.0.0.1, the URL to give Element (default 8008)")
    listen_option(p)
    public_url_option(p, None)
    p.add_argument("--no-wait", action="store_true",
                   help="stop right after setting the conference up, without the bot and the pages (for scripts)")
    p.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    return run_demo(args.schedule, args.data_dir, port=args.port, public_url=pages_url(args), listen=args.listen,
                    wait=not args.no_wait, caps=web_caps(args))
