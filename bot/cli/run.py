"""``podium run``: the bot and the widget pages during the conference, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging

from ..conference.clock import shifted_clock, utc_now
from ..conference.transitions import REHEARSAL_LEAD, rehearsal_moment
from ..day.reload import ReloadOptions
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
                                        "cannot be reached it says so and keeps trying. With --appservice (see `podium "
                                        "appservice --help`) the homeserver pushes the rooms' events to the web "
                                        "server instead of the bot polling for them.")
    schedule_options(p)
    templates_option(p)
    connection_options(p)
    data_dir_option(p, "questions, polls, where the bot got to")
    listen_option(p)
    public_url_option(p, None)
    p.add_argument("--rehearse", action="store_true",
                   help="dry-run the day: shift the conference so its first talk starts two minutes from now")
    p.add_argument("--rehearse-at", type=utc_moment, metavar="TIME",
                   help="dry-run the day with the first talk at TIME (HH:MM today, or YYYY-MM-DD HH:MM; UTC)")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from ..serve import serve

    connection = connection_of(args)
    public_url = pages_url(args)
    conference = build(args.schedule, Settings(connection.server_name, connection.user_id, public_url), args.templates)
    logging.getLogger("bot").setLevel(logging.INFO)
    print(f"Connecting to {connection.homeserver} as {connection.user_id} …", flush=True)

    def answering() -> None:
        print(f"Podium is answering in {conference.schedule.conference.name} as {connection.user_id}; widget pages "
              f"on {public_url}/ (listening on {args.listen}). Ctrl-C stops it.", flush=True)

    clock = utc_now
    if args.rehearse or args.rehearse_at:
        moment = rehearsal_moment(conference.schedule, utc_now(), args.rehearse_at)
        if moment is not None:
            clock = shifted_clock(moment)
            print(f"Rehearsal: the clock reads {moment:%a %d %b %H:%M} UTC now, so the first talk starts at "
                  f"{(args.rehearse_at or utc_now() + REHEARSAL_LEAD):%H:%M} UTC.", flush=True)
    asyncio.run(serve(connection, conference, args.data_dir, listen=args.listen,
                      clock=clock, on_ready=answering, caps=web_caps(args), day=DayOptions(),
                      reload=ReloadOptions(args.schedule, conference.settings, connection, args.templates)))
    return EXIT_OK
