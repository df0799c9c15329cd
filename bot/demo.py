"""``podium demo``: the sample conference on an embedded Synapse, ready to open in Element."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from .conference.clock import Clock, busiest_moment, shifted_clock, utc_now
from .config import Connection
from .homeserver import EmbeddedSynapse, HomeserverError
from .matrix import MatrixAdapter
from .provisioning.desired import Settings
from .provisioning.pipeline import build
from .serve import Listen, serve
from .store.database import Store

SERVER_NAME = "localhost"
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
             wait: bool = True) -> int:
    from .cli import apply_conference  # the same apply an organiser runs

    data_dir.mkdir(parents=True, exist_ok=True)
    bot_id = f"@{BOT}:{SERVER_NAME}"
    settings = Settings(server_name=SERVER_NAME, bot_user_id=bot_id, public_url=public_url)
    conference = build(schedule_path, settings)  # a bad schedule stops us before Synapse starts

    server = EmbeddedSynapse(data_dir / "synapse", server_name=SERVER_NAME, port=port)
    print(f"Starting Synapse on {server.base_url} (data in {data_dir / 'synapse'}) …", flush=True)
    try:
        server.start()
    except HomeserverError as exc:
        print(f"podium: error: the embedded homeserver did not start: {exc}", file=sys.stderr)
        if "Address already in use" in str(exc):
            print(f"Port {port} is taken: pass --port with a free one.", file=sys.stderr)
        return 1
    try:
        _, bot_token = server.register_user(BOT, _bot_password(data_dir), displayname="Podium")
        server.override_ratelimit(bot_id)
        people = dict(ACCOUNTS)
        for user in sorted(_local_people(conference.schedule)):
            people.setdefault(user.split(":")[0][1:], "speaker / staff")
        for localpart in people:
            server.register_user(localpart, DEMO_PASSWORD, displayname=localpart.replace("-", " ").title())
        connection = Connection(server.base_url, bot_id, bot_token)
        store = Store(data_dir)
        try:
            status = asyncio.run(apply_conference(conference, connection, store))
        finally:
            store.close()
        attendees = [f"@{localpart}:{SERVER_NAME}" for localpart, role in ACCOUNTS if role == "attendee"]
        asyncio.run(_admit_attendees(connection, conference.schedule.conference, attendees))
        _print_welcome(server, conference.schedule.conference, people)
        if wait:
            clock = _demo_clock(conference.schedule)
            zone = conference.schedule.conference.timezone
            print(f"  Web pages:   {public_url}/   (schedule, posters, now/next; listening on {listen})")
            print(f"  Clock:       the demo plays {clock().astimezone(ZoneInfo(zone)):%A %d %B %H:%M} ({zone})"
                  " onwards, in real time,")
            print("               so talks are live: try !ask, !questions, !help in a track room.")
            asyncio.run(serve(connection, conference.schedule, settings, data_dir, listen=listen, clock=clock,
                              on_ready=lambda: print("The bot is answering. Press Ctrl-C to stop.", flush=True)))
        return status
    finally:
        print("Stopping Synapse …", flush=True)
        server.stop()


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


def _demo_clock(schedule) -> Clock:
    """The sample conference is dated; the demo replays its busiest moment from now on, so the
    navigator, the streams and ``!ask`` have live talks whatever the date."""
    moment = busiest_moment(schedule)
    return shifted_clock(moment) if moment else utc_now
