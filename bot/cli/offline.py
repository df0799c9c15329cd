"""The commands that read the schedule and the data directory and need no homeserver:
``podium transitions`` (the clock's timetable), ``podium export`` (iCalendar, the archive of
questions and polls) and ``podium swag load``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..provisioning.pipeline import DEFAULT_PUBLIC_URL, build
from ..wording import counted
from .options import EXIT_ERROR, EXIT_OK, data_dir_option, public_url_option, schedule_options, templates_option


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("transitions", help="print what the bot will do during the day, and when",
                            description="Print the conference clock's timetable: for each track, every "
                                        "transition (the speakers' reminder, the check-in, a talk's start and "
                                        "end) at its time in the conference's time zone, with the delays "
                                        "moderators set with !delay (kept in --data-dir) applied. Reads only; "
                                        "needs no homeserver.")
    schedule_options(p)
    data_dir_option(p, "the delays set with !delay")
    p.add_argument("--track", action="append", metavar="ID",
                   help="only this track (repeat for more); default: every track")
    p.set_defaults(run=_transitions)

    p = commands.add_parser("export", help="the programme as an iCalendar file; the questions and polls as files",
                            description="Export the conference for other systems: `podium export ical` writes the "
                                        "programme as an iCalendar file, `podium export archive DIR` the questions "
                                        "and poll results as JSON and CSV. Both read only; neither needs a "
                                        "homeserver.")
    exports = p.add_subparsers(title="exports", metavar="EXPORT", required=True)
    p = exports.add_parser("ical", help="the programme as an iCalendar file, one event per talk",
                           description="Write the programme as an iCalendar (.ics) file: one event per talk, in UTC, "
                                       "with its speakers, abstract, stream page and links to its track and breakout "
                                       "rooms, at its time with the delays set with !delay (kept in --data-dir) "
                                       "applied. Each event keeps its UID from export to export, so importing the "
                                       "file again updates the events rather than adding them twice. `podium run` "
                                       "serves the same file at <public URL>/schedule.ics, to subscribe to.")
    schedule_options(p)
    templates_option(p)
    public_url_option(p, DEFAULT_PUBLIC_URL)
    p.add_argument("--user-id", metavar="MXID",
                   help="the bot's Matrix ID, whose homeserver the room links point to (PODIUM_USER_ID)")
    data_dir_option(p, "the delays set with !delay")
    p.add_argument("--track", action="append", metavar="ID",
                   help="only this track's talks (repeat for more); default: every track")
    p.add_argument("--output", "-o", type=Path, metavar="FILE",
                   help="write the calendar to FILE, replacing it (default: standard output)")
    p.set_defaults(run=_export_ical)
    p = exports.add_parser("archive", help="every talk's questions and the poll results, as JSON and CSV",
                           description="Write the organisers' record of the event into DIR: questions.json and "
                                       "questions.csv (each talk's questions: text, votes, answered, hidden, when "
                                       "asked), polls.json and polls.csv (each poll's question, options, votes, and "
                                       "whether it closed), from the data directory of the bot that ran the "
                                       "conference. Who asked is left out unless --with-askers. Reads only; "
                                       "creates DIR; replaces no file unless --force.")
    p.add_argument("directory", type=Path, metavar="DIR", help="where to write the files (created if missing)")
    schedule_options(p)
    data_dir_option(p, "the questions and polls the bot kept")
    p.add_argument("--with-askers", action="store_true",
                   help="also each question's asker (Matrix ID and display name): personal data, so only "
                        "when your privacy policy allows it")
    p.add_argument("--force", action="store_true", help="replace the files if DIR already holds an archive")
    p.set_defaults(run=_export_archive)

    p = commands.add_parser("swag", help="load a sponsor's digital swag codes, which attendees get with !swag",
                            description="Sponsors' digital swag: `podium swag load SPONSOR FILE` adds the codes in "
                                        "FILE to what the bot gives out in the sponsor's room (`!swag`: one code "
                                        "per attendee, by direct message). Works on the data directory alone; "
                                        "needs no homeserver, and may run while `podium run` does.")
    swags = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    p = swags.add_parser("load", help="add a file of codes for one sponsor",
                         description="Add the swag codes in FILE for SPONSOR (its id under 'sponsors:' in the "
                                     "schedule). FILE is plain text with one code per line, or, when its name ends "
                                     "in .csv, a CSV file with a 'code' column. Blank lines and codes repeated in "
                                     "the file are skipped and listed; codes loaded before are not added again, so "
                                     "loading the same file twice adds nothing. Every line is checked first: a bad "
                                     "one is reported with its line number and nothing is loaded. Prints how many "
                                     "codes were added and how many are left.")
    p.add_argument("sponsor", metavar="SPONSOR", help="the sponsor's id in the schedule, like snakeworks")
    p.add_argument("file", type=Path, metavar="FILE", help="the codes: one per line, or a .csv file with a 'code' column")
    schedule_options(p)
    data_dir_option(p, "where the bot keeps the codes and who got which")
    p.set_defaults(run=_swag_load, checks_before_writing=True)


def _transitions(args: argparse.Namespace) -> int:
    from ..conference.schedule import load_schedule
    from .export import unknown_track
    from ..store.database import DATABASE
    from ..store.bookings import bookings_in
    from ..store.delays import delays_in
    from .timetable import timetable_lines

    schedule = load_schedule(args.schedule)
    problem = unknown_track(schedule, args.track, args.schedule)
    if problem:
        print(f"podium: error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    delays = delays_in(args.data_dir / DATABASE, schedule.conference.id)
    bookings = bookings_in(args.data_dir / DATABASE, schedule.conference.id)
    for line in timetable_lines(schedule, delays, args.track, bookings):
        print(line)
    return EXIT_OK


def _export_ical(args: argparse.Namespace) -> int:
    from .export import (
        ExportProblem,
        calendar_of,
        export_settings,
        unknown_track,
        write_calendar,
    )

    settings = export_settings(args.user_id or os.environ.get("PODIUM_USER_ID"), args.public_url)
    conference = build(args.schedule, settings, args.templates)
    problem = unknown_track(conference.schedule, args.track, args.schedule)
    if problem:
        raise ExportProblem(problem)
    write_calendar(calendar_of(conference, args.data_dir, args.track), args.output)
    return EXIT_OK


def _export_archive(args: argparse.Namespace) -> int:
    from ..conference.schedule import load_schedule
    from .export import export_archive

    schedule = load_schedule(args.schedule)
    report = export_archive(schedule, args.data_dir, args.directory, with_askers=args.with_askers, force=args.force)
    print(f"Wrote the archive of {schedule.conference.name} into {args.directory}: "
          f"{counted(report.questions, 'question')}, {counted(report.polls, 'poll')}"
          f"{' (with who asked)' if args.with_askers else ''}.")
    for path in report.written:
        print(f"  {path}")
    return EXIT_OK


def _swag_load(args: argparse.Namespace) -> int:
    from ..conference.schedule import load_schedule
    from .swag import load_swag, report_lines

    schedule = load_schedule(args.schedule)
    for line in report_lines(load_swag(schedule, args.schedule, args.sponsor, args.file, args.data_dir), args.file):
        print(line)
    return EXIT_OK
