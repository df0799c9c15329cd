"""The ``podium`` command line: validate, plan, apply, run, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from . import SAMPLE_SCHEDULE, __version__
from .conference.schedule import ScheduleInvalid, load_schedule
from .config import ConfigProblem, connection_from
from .matrix import MatrixError
from .provisioning.desired import Settings
from .provisioning.pipeline import DEFAULT_PUBLIC_URL, DEFAULT_TEMPLATES, build, connect
from .provisioning.planner import Plan
from .provisioning.report import apply_lines, plan_lines, summary_line
from .provisioning.templates import TemplateProblem
from .serve import DEFAULT_LISTEN, Listen, ListenProblem
from .store.database import Store

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

DESCRIPTION = """\
Run an online conference inside Matrix. Describe the event in schedule.yaml, check it with
`podium validate`, see what would change with `podium plan`, make it so with `podium apply`.
`podium demo` brings up a whole sample conference on an embedded Synapse.

Connection settings (plan, apply): --homeserver / PODIUM_HOMESERVER, --user-id / PODIUM_USER_ID,
and a secret from the environment only: PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD (or
PODIUM_ACCESS_TOKEN_FILE / PODIUM_PASSWORD_FILE naming a file that holds it)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except ScheduleInvalid as exc:
        print(exc, file=sys.stderr)
        print("Nothing was changed.", file=sys.stderr)
        return EXIT_ERROR
    except (ConfigProblem, TemplateProblem, MatrixError, ListenProblem) as exc:
        print(f"podium: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("podium: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"podium {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def schedule_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--schedule", type=Path, default=Path("schedule.yaml"), metavar="FILE",
                       help="the conference description (default: ./schedule.yaml)")

    def connection_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--homeserver", metavar="URL", help="homeserver base URL (PODIUM_HOMESERVER)")
        p.add_argument("--user-id", metavar="MXID", help="the bot's Matrix ID (PODIUM_USER_ID)")

    def templates_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--templates", type=Path, default=DEFAULT_TEMPLATES, metavar="DIR",
                       help=f"room templates, one YAML file per room kind (default: {DEFAULT_TEMPLATES})")

    def public_url_option(p: argparse.ArgumentParser, default: str | None) -> None:
        p.add_argument("--public-url", default=os.environ.get("PODIUM_PUBLIC_URL", default), metavar="URL",
                       help="where browsers reach Podium's web server, for widget URLs (PODIUM_PUBLIC_URL; "
                            + (f"default {default})" if default else "default: http://localhost:PORT of --listen)"))

    def listen_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--listen", type=_listen, default=os.environ.get("PODIUM_LISTEN", DEFAULT_LISTEN),
                       metavar="HOST:PORT", help="where the web server for the widgets listens "
                                                 f"(PODIUM_LISTEN; default {DEFAULT_LISTEN})")

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

    p = commands.add_parser("validate", help="check schedule.yaml and report every mistake",
                            description="Check schedule.yaml; every mistake is reported with file, line and field. "
                                        "Exit 0 when valid, 1 when not.")
    schedule_options(p)
    p.set_defaults(run=_validate)

    p = commands.add_parser("plan", help="show what apply would change (exit 0: nothing, 2: changes)",
                            description="Compare the schedule with the homeserver and print what `podium apply` "
                                        "would do. Exit 0 when nothing would change, 2 when something would, "
                                        "1 on errors. Reads only; changes nothing.")
    room_options(p)
    p.add_argument("--prune", action="store_true", help="also show the archiving of rooms no longer in the schedule")
    p.set_defaults(run=_plan)

    p = commands.add_parser("apply", help="create and repair the conference's rooms to match the schedule",
                            description="Create missing rooms, repair rooms that drifted (name, topic, widgets, "
                                        "power levels, space links) and invite speakers and staff. Re-running "
                                        "changes only what differs. Exit 0 when everything succeeded.")
    room_options(p)
    p.add_argument("--prune", action="store_true",
                   help="archive rooms whose talk (or track, poster, ...) left the schedule: unlink them from "
                        "the space and mark them archived; their history stays")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_apply)

    p = commands.add_parser("run", help="keep the bot online during the conference: Q&A, polls, widgets",
                            description="Connect as the bot and answer commands (!ask, !qa, !poll, !help, ...) in "
                                        "every room of the conference, and serve the widget pages the rooms embed, "
                                        "until stopped with Ctrl-C. Where it got to is kept in --data-dir, so a "
                                        "restart neither repeats nor misses a command.")
    schedule_options(p)
    templates_option(p)
    connection_options(p)
    data_dir_option(p, "questions, polls, where the bot got to")
    listen_option(p)
    public_url_option(p, None)
    p.set_defaults(run=_run)

    p = commands.add_parser("demo", help="bring up the sample conference on an embedded Synapse",
                            description="Start an embedded Synapse on this machine, create demo accounts, apply "
                                        "the sample schedule and print how to open it in Element. Ctrl-C stops it.")
    p.add_argument("--schedule", type=Path, default=SAMPLE_SCHEDULE, metavar="FILE",
                   help="the conference to bring up (default: the bundled sample conference)")
    p.add_argument("--data-dir", type=Path, default=Path(".podium/demo"), metavar="DIR",
                   help="where the homeserver keeps its data; reused on the next run (default: ./.podium/demo)")
    p.add_argument("--port", type=int, default=8008, help="homeserver port on 127.0.0.1 (default 8008)")
    listen_option(p)
    public_url_option(p, None)
    p.add_argument("--no-wait", action="store_true", help="stop right after provisioning (for scripts)")
    p.set_defaults(run=_demo)
    return parser


def _validate(args: argparse.Namespace) -> int:
    schedule = load_schedule(args.schedule)
    counts = {
        "tracks": len(schedule.tracks),
        "talks": len(schedule.talks),
        "posters": len(schedule.posters),
        "sponsors": len(schedule.sponsors),
        "helpdesks": len(schedule.helpdesks),
        "open-space rooms": len(schedule.open_space.rooms),
    }
    print(f"{args.schedule}: valid — {schedule.conference.name}: "
          + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return EXIT_OK


def _settings(args: argparse.Namespace, server_name: str, user_id: str) -> Settings:
    return Settings(server_name=server_name, bot_user_id=user_id, public_url=args.public_url)


def _plan(args: argparse.Namespace) -> int:
    connection = connection_from(args.homeserver, args.user_id)
    conference = build(args.schedule, _settings(args, connection.server_name, connection.user_id), args.templates)

    async def run() -> Plan:
        from .provisioning.apply import observe
        from .provisioning.planner import plan

        adapter = await connect(connection)
        store = _store(args, connection)
        try:
            observed = await observe(adapter, conference.rooms, conference.schedule.conference.id, store)
            version = await adapter.default_room_version()
            return plan(conference.rooms, observed, bot_user_id=connection.user_id, room_version=version,
                        prune=args.prune)
        finally:
            store.close()
            await adapter.close()

    the_plan = asyncio.run(run())
    for line in plan_lines(the_plan, connection.server_name):
        print(line)
    if the_plan.changes:
        print("Run `podium apply` to make these changes.")
    return EXIT_CHANGES if the_plan.changes else EXIT_OK


def _apply(args: argparse.Namespace) -> int:
    connection = connection_from(args.homeserver, args.user_id)
    conference = build(args.schedule, _settings(args, connection.server_name, connection.user_id), args.templates)
    store = _store(args, connection)
    try:
        return asyncio.run(apply_conference(conference, connection, store, prune=args.prune, quiet=args.quiet))
    finally:
        store.close()


def _store(args: argparse.Namespace, connection) -> Store:
    store = Store(args.data_dir)
    if args.fresh:
        store.forget_snapshot(Store.account(connection.user_id, connection.homeserver))
    return store


async def apply_conference(conference, connection, store: Store | None = None, *, prune: bool = False,
                           quiet: bool = False) -> int:
    """Converge the homeserver on ``conference`` with a progress bar and a summary."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .provisioning.apply import converge

    console = Console(stderr=True)
    started = time.monotonic()
    adapter = await connect(connection)
    try:
        version = await adapter.default_room_version()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, disable=quiet or not console.is_terminal, transient=True) as bar:
            task = bar.add_task("applying", total=0)

            def on_plan(the_plan: Plan) -> None:
                print(summary_line(the_plan), flush=True)
                bar.update(task, total=len(the_plan.actions), completed=0)

            def on_progress(action, error) -> None:
                bar.update(task, advance=1, description=f"{action.key[:40]:40}")

            first_plan, report = await converge(
                adapter, conference.rooms, conference_id=conference.schedule.conference.id, room_version=version,
                prune=prune, progress=on_progress, on_plan=on_plan, store=store)
        stats = adapter.stats
    finally:
        await adapter.close()
    for line in apply_lines(report, time.monotonic() - started, stats, first_plan.aliases, connection.server_name):
        print(line)
    return EXIT_OK if report.ok else EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from .serve import serve

    connection = connection_from(args.homeserver, args.user_id)
    public_url = _public_url(args)
    conference = build(args.schedule, Settings(connection.server_name, connection.user_id, public_url), args.templates)
    logging.getLogger("bot").setLevel(logging.INFO)
    print(f"Podium is answering in {conference.schedule.conference.name} as {connection.user_id}; widget pages on "
          f"{public_url}/ (listening on {args.listen}). Ctrl-C stops it.", flush=True)
    asyncio.run(serve(connection, conference.schedule, conference.settings, args.data_dir, listen=args.listen,
                      templates_dir=args.templates))
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.schedule, args.data_dir, port=args.port, public_url=_public_url(args), listen=args.listen,
                    wait=not args.no_wait)


def _listen(text: str) -> Listen:
    try:
        return Listen.parse(text)
    except ListenProblem as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _public_url(args: argparse.Namespace) -> str:
    """--public-url, or where --listen makes the pages reachable from this machine."""
    if args.public_url:
        return args.public_url.rstrip("/")
    host = "localhost" if args.listen.host in ("127.0.0.1", "0.0.0.0", "::1", "::", "localhost") else args.listen.host
    return f"http://{host}:{args.listen.port}"


if __name__ == "__main__":
    sys.exit(main())
