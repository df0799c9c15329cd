"""``podium run``: the bot and the widget pages during the conference, until Ctrl-C; ``podium web``:
the widget pages alone, beside a ``podium run --no-pages``, so they go on while the bot restarts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from ..conference.clock import Clock, shifted_clock, utc_now
from ..conference.schedule import Schedule
from ..conference.transitions import REHEARSAL_LEAD, rehearsal_moment
from ..config import ConfigProblem, check_user_id
from ..day.reload import ReloadOptions, ScheduleFile
from ..day.runner import DayOptions
from ..provisioning.desired import Settings
from ..provisioning.pipeline import build
from .options import (
    EXIT_OK,
    connection_of,
    connection_options,
    data_dir_option,
    listen_option,
    pages_url,
    public_url_option,
    schedule_options,
    templates_option,
    utc_moment,
    web_caps,
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("run", help="keep the bot online during the conference: Q&A, polls, widgets",
                            description="Connect as the bot and answer commands (!ask, !qa, !poll, !help, ...) in "
                                        "every room of the conference, and serve the widget pages the rooms embed, "
                                        "until stopped with Ctrl-C. Where it got to is kept in --data-dir, so a "
                                        "restart neither repeats nor misses a command. While the homeserver "
                                        "cannot be reached it says so and keeps trying, and the pages go on. With "
                                        "--appservice (see `podium appservice --help`) the homeserver pushes the "
                                        "rooms' events to the web server instead of the bot polling for them. "
                                        "With --no-pages the pages are left to `podium web` on the same --data-dir.")
    schedule_options(p)
    templates_option(p)
    connection_options(p)
    data_dir_option(p, "questions, polls, where the bot got to")
    listen_option(p)
    public_url_option(p, None)
    p.add_argument("--no-pages", dest="pages", action="store_false",
                   help="the bot alone: serve no widget pages (`podium web` serves them, and --public-url says "
                        "where); with --appservice --listen takes only the homeserver's transactions, without it "
                        "nothing listens")
    rehearsal_options(p)
    p.set_defaults(run=_run)

    p = commands.add_parser("web", help="serve the widget pages alone, beside `podium run --no-pages`",
                            description="Serve the widget pages the conference rooms embed, as a process of their "
                                        "own, until stopped with Ctrl-C: they go on answering while the bot "
                                        "restarts or the homeserver is away. No Matrix login: questions, polls, "
                                        "delays and jobs come from --data-dir, which `podium run --no-pages` "
                                        "writes; edits to the schedule are put in force as `podium run` puts them "
                                        "(a broken edit is logged and the last good schedule stays).")
    schedule_options(p)
    templates_option(p)
    p.add_argument("--user-id", metavar="MXID",
                   help="the bot's Matrix ID (PODIUM_USER_ID): its server names the rooms the pages link to")
    data_dir_option(p, "where `podium run` keeps questions, polls and delays")
    listen_option(p)
    public_url_option(p, None)
    rehearsal_options(p)
    p.set_defaults(run=_web)


def rehearsal_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rehearse", action="store_true",
                   help="dry-run the day: shift the conference so its first talk starts two minutes from now")
    p.add_argument("--rehearse-at", type=utc_moment, metavar="TIME",
                   help="dry-run the day with the first talk at TIME (HH:MM today, or YYYY-MM-DD HH:MM; UTC)")


def _run(args: argparse.Namespace) -> int:
    from ..serve import serve

    connection = connection_of(args)
    if not args.pages and not args.public_url:
        raise ConfigProblem("--no-pages: pass --public-url (or PODIUM_PUBLIC_URL), where `podium web` serves the "
                            "pages, so the rooms' widgets point there")
    public_url = pages_url(args)
    conference = build(args.schedule, Settings(connection.server_name, connection.user_id, public_url), args.templates)
    logging.getLogger("bot").setLevel(logging.INFO)
    print(f"Connecting to {connection.homeserver} as {connection.user_id} …", flush=True)

    def answering() -> None:
        where = (f"widget pages on {public_url}/ (listening on {args.listen})" if args.pages else
                 f"the widget pages are `podium web`'s, on {public_url}/")
        pushed = f"; the homeserver's transactions on {args.listen}" if not args.pages and args.appservice else ""
        print(f"Podium is answering in {conference.schedule.conference.name} as {connection.user_id}; {where}{pushed}. "
              "Ctrl-C stops it.", flush=True)

    asyncio.run(serve(connection, conference, args.data_dir, listen=args.listen,
                      clock=_clock(args, conference.schedule), on_ready=answering, caps=web_caps(args),
                      day=DayOptions(), pages=args.pages,
                      reload=ReloadOptions(args.schedule, conference.settings, connection, args.templates)))
    return EXIT_OK


def _web(args: argparse.Namespace) -> int:
    from ..serve import serve_pages

    user_id = args.user_id or os.environ.get("PODIUM_USER_ID")
    if not user_id:
        raise ConfigProblem("cannot serve the pages: missing the bot's Matrix ID (--user-id or PODIUM_USER_ID), "
                            "whose server names the rooms they link to")
    check_user_id(user_id)
    if not args.data_dir.is_dir():
        raise ConfigProblem(f"--data-dir {args.data_dir} does not exist: pass the data directory `podium run` "
                            "uses (PODIUM_DATA_DIR), where it keeps questions, polls and delays")
    public_url = pages_url(args)
    settings = Settings(user_id.split(":", 1)[1], user_id, public_url)
    conference = build(args.schedule, settings, args.templates)
    logging.getLogger("bot").setLevel(logging.INFO)

    def serving() -> None:
        print(f"Widget pages for {conference.schedule.conference.name} on {public_url}/ (listening on "
              f"{args.listen}), from {args.data_dir}. Ctrl-C stops them.", flush=True)

    asyncio.run(serve_pages(conference, args.data_dir, listen=args.listen, clock=_clock(args, conference.schedule),
                            on_ready=serving, caps=web_caps(args),
                            follow=ScheduleFile(args.schedule, settings, args.templates)))
    return EXIT_OK


def _clock(args: argparse.Namespace, schedule: Schedule) -> Clock:
    """The conference's clock: the real one, or a rehearsal's (--rehearse, --rehearse-at)."""
    if args.rehearse or args.rehearse_at:
        moment = rehearsal_moment(schedule, utc_now(), args.rehearse_at)
        if moment is not None:
            print(f"Rehearsal: the clock reads {moment:%a %d %b %H:%M} UTC now, so the first talk starts at "
                  f"{(args.rehearse_at or utc_now() + REHEARSAL_LEAD):%H:%M} UTC.", flush=True)
            return shifted_clock(moment)
    return utc_now
