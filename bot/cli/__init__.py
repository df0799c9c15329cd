"""The ``podium`` command line: init, import, validate, plan, apply, run, transitions, export, swag, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

from bridges.fetch import FetchProblem

from .. import SAMPLE_SCHEDULE, __version__
from ..conference.clock import shifted_clock, utc_now
from ..conference.schedule import ScheduleInvalid
from ..conference.transitions import REHEARSAL_LEAD, rehearsal_moment
from ..conference.userinput import UsageError, read_number
from ..config import ConfigProblem, connection_from, secret
from ..day.reload import ReloadOptions
from ..day.runner import DayOptions
from ..matrix import MatrixError
from ..provisioning.apply import ApplyReport
from ..provisioning.desired import Settings
from ..provisioning.pipeline import DEFAULT_PUBLIC_URL, DEFAULT_TEMPLATES, build, connect
from ..provisioning.planner import Plan
from ..provisioning.reconcile import reconcile
from ..provisioning.report import plan_lines, summary_line
from ..provisioning.templates import TemplateProblem
from ..serve import DEFAULT_LISTEN, Listen, ListenProblem
from ..store.database import Store
from ..wording import counted

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

DESCRIPTION = """\
Run an online conference inside Matrix. `podium init` writes the sample schedule.yaml to start
from (or `podium import SOURCE` takes the programme from pretalx or a frab schedule); check it with `podium validate`, see what would change with `podium plan`, make it so with
`podium apply`, and keep the bot answering during the event with `podium run`. `podium invite FILE`
invites the attendees of a list to the conference space; `podium tickets FILE` loads ticket codes
that admit attendees who send one to the bot. `podium demo`
brings up the sample conference on an embedded Synapse, with no settings at all. `podium export
ical` writes the programme as a calendar file; `podium export archive DIR` the questions and polls.
`podium swag load SPONSOR FILE` adds a sponsor's digital swag codes for `!swag`.

Connection settings (plan, apply, run, invite): --homeserver / PODIUM_HOMESERVER, --user-id /
PODIUM_USER_ID, and a secret from the environment only: PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD
(or PODIUM_ACCESS_TOKEN_FILE / PODIUM_PASSWORD_FILE naming a file that holds it).
`podium run` and `podium demo` also serve the widget pages: --listen / PODIUM_LISTEN,
--public-url / PODIUM_PUBLIC_URL; `podium demo` runs its homeserver on --port.

`podium COMMAND --help` lists the options of each command."""

#: Where validate, plan, apply and run look for the schedule when --schedule is not given.
DEFAULT_SCHEDULE = Path("schedule.yaml")
#: Shown after an error stopped plan or apply before they reached the homeserver's rooms.
NOTHING_CHANGED = "Nothing was changed."


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        _check_default_schedule(args)
        return args.run(args)
    except ScheduleInvalid as exc:
        print(exc, file=sys.stderr)
        _note_nothing_changed(args)
        return EXIT_ERROR
    except (ConfigProblem, TemplateProblem, FetchProblem) as exc:
        print(f"podium: error: {exc}", file=sys.stderr)
        _note_nothing_changed(args)
        return EXIT_ERROR
    except (MatrixError, ListenProblem) as exc:
        print(f"podium: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("podium: interrupted", file=sys.stderr)
        return 130


def _note_nothing_changed(args: argparse.Namespace) -> None:
    """plan and apply check everything before their first write: after such an error, say so."""
    if getattr(args, "checks_before_writing", False):
        print(NOTHING_CHANGED, file=sys.stderr)


def _check_default_schedule(args: argparse.Namespace) -> None:
    """Without --schedule a command reads ./schedule.yaml; in a directory without one, say how to get one."""
    if getattr(args, "schedule", None) == DEFAULT_SCHEDULE and not DEFAULT_SCHEDULE.exists():
        raise ConfigProblem(f"there is no schedule.yaml in {Path.cwd()}: run `podium init` to start from the "
                            "sample conference, or pass --schedule FILE")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"podium {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

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

    def templates_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--templates", type=Path, default=DEFAULT_TEMPLATES, metavar="DIR",
                       help="room templates, one YAML file per room kind (default: the bundled ones; "
                            "`podium init --templates` copies them for editing)")

    def public_url_option(p: argparse.ArgumentParser, default: str | None) -> None:
        p.add_argument("--public-url", default=os.environ.get("PODIUM_PUBLIC_URL", default), metavar="URL",
                       help="where browsers reach Podium's web server, for widget URLs (PODIUM_PUBLIC_URL; "
                            + (f"default {default})" if default else "default: http://localhost:PORT of --listen)"))

    def listen_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--listen", type=_listen, default=os.environ.get("PODIUM_LISTEN", DEFAULT_LISTEN),
                       metavar="HOST:PORT", help="where the web server for the widget pages listens "
                                                 f"(PODIUM_LISTEN; default {DEFAULT_LISTEN})")
        p.add_argument("--max-streams", type=_count, default=os.environ.get("PODIUM_MAX_STREAMS"), metavar="N",
                       help="live pages (Q&A boards, poll bars) open at once, from everyone; more get "
                            "'busy, retrying' (PODIUM_MAX_STREAMS; default: sized from the limit on open files)")
        p.add_argument("--max-streams-per-client", type=_count, metavar="N",
                       default=os.environ.get("PODIUM_MAX_STREAMS_PER_CLIENT"),
                       help="live pages open at once from one address, or from one address a reverse proxy on this "
                            "machine forwards (PODIUM_MAX_STREAMS_PER_CLIENT)")

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

    p = commands.add_parser("init", help="write the sample schedule.yaml to start a conference from",
                            description="Write the sample conference's schedule.yaml into DIR (and, with "
                                        "--templates, a copy of the room templates in DIR/room-templates) to "
                                        "edit into your own. Never overwrites a file: if one exists, nothing is "
                                        "written and the exit code is 1.")
    p.add_argument("directory", nargs="?", type=Path, default=Path("."), metavar="DIR",
                   help="where to write (default: the current directory; created if missing)")
    p.add_argument("--templates", action="store_true",
                   help="also copy the room templates, to change what the rooms look like")
    p.set_defaults(run=_init)

    p = commands.add_parser("import", help="take the programme from pretalx or a frab schedule into schedule.yaml",
                            description="Read the programme from SOURCE and merge it into schedule.yaml: rooms become "
                                        "tracks, talks keep the ids (and so the rooms) they were first given, and "
                                        "everything the file adds (streams, chairs, Matrix IDs, posters, sponsors, "
                                        "staff, comments) stays. SOURCE is a file or URL of pretalx's schedule JSON "
                                        "export (/<event>/schedule/export/schedule.json), of frab schedule XML "
                                        "(schedule.xml), or pretalx's API (https://…/api/events/<event>/); the "
                                        "format is recognised from the content. The API token comes from "
                                        "PODIUM_PRETALX_TOKEN (or PODIUM_PRETALX_TOKEN_FILE) or --token-file, never "
                                        "a flag. The file is written only when the result is valid, in one rename. "
                                        "Exit 0 when written (or nothing changed), 1 on errors; with --dry-run 2 "
                                        "when something would change.")
    p.add_argument("source", metavar="SOURCE", help="a file path or URL: schedule.json, schedule.xml or "
                                                    "https://…/api/events/<event>/")
    p.add_argument("--into", type=Path, default=DEFAULT_SCHEDULE, metavar="FILE",
                   help="the schedule to merge into, created when missing (default: ./schedule.yaml)")
    p.add_argument("--token-file", type=Path, metavar="FILE",
                   help="a file holding the pretalx API token (default: PODIUM_PRETALX_TOKEN, or the file "
                        "PODIUM_PRETALX_TOKEN_FILE names); without one, the API shows what the public sees")
    p.add_argument("--matrix-question", metavar="QUESTION",
                   help="the pretalx speaker question whose answers are Matrix IDs (its text, like \"Your Matrix "
                        "ID\", or its id); API only, needs a token")
    p.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    p.add_argument("--prune", action="store_true",
                   help="remove the talks the programme no longer has (default: report them and keep them)")
    p.set_defaults(run=_import, checks_before_writing=True)

    p = commands.add_parser("validate", help="check schedule.yaml and report every mistake",
                            description="Check schedule.yaml; every mistake is reported with file, line and field. "
                                        "Every room the templates make from it is built and measured too, so "
                                        "what the homeserver could not store is found here (alias lengths count "
                                        "the server of PODIUM_USER_ID when it is set). Exit 0 when valid, 1 "
                                        "when not. Needs no homeserver.")
    schedule_options(p)
    templates_option(p)
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
                                        "restart neither repeats nor misses a command. While the homeserver "
                                        "cannot be reached it says so and keeps trying.")
    schedule_options(p)
    templates_option(p)
    connection_options(p)
    data_dir_option(p, "questions, polls, where the bot got to")
    listen_option(p)
    public_url_option(p, None)
    p.add_argument("--rehearse", action="store_true",
                   help="dry-run the day: shift the conference so its first talk starts two minutes from now")
    p.add_argument("--rehearse-at", type=_moment, metavar="TIME",
                   help="dry-run the day with the first talk at TIME (HH:MM today, or YYYY-MM-DD HH:MM; UTC)")
    p.set_defaults(run=_run)

    p = commands.add_parser("invite", help="invite the attendees of a CSV file to the conference space",
                            description="Invite everyone in FILE to the conference space (access space-members or "
                                        "invite; a public conference needs no invitations). FILE is a CSV whose "
                                        "first line names the columns: one named matrix_id, or the one --column "
                                        "names (such as a pretix export's \"Matrix ID\" question). Every row is "
                                        "checked first: a value that is no Matrix ID is reported with its line and "
                                        "nothing is sent; empty values are skipped, duplicates invited once. Each "
                                        "invite is recorded in --data-dir, so a run stopped half-way is finished by "
                                        "the next one, which invites only those not yet invited. Rate limits are "
                                        "waited out. Exit 0 when everyone is invited (or in the space already), 1 "
                                        "when someone could not be (each is listed, with why) or on errors.")
    p.add_argument("file", type=Path, metavar="FILE", help="the attendee list (CSV, UTF-8)")
    p.add_argument("--column", metavar="NAME", help="the column of Matrix IDs (default: matrix_id)")
    schedule_options(p)
    templates_option(p)
    connection_options(p)
    data_dir_option(p, "who is invited already, so a rerun invites only the others")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_invite)

    p = commands.add_parser("tickets", help="load ticket codes that admit attendees who send one to the bot",
                            description="Load the ticket codes in FILE into --data-dir. An attendee without a known "
                                        "Matrix ID writes to the bot in a direct chat and sends their code; the "
                                        "running bot (`podium run`) invites them to the conference space. Each code "
                                        "admits one account once; five wrong codes in an hour make a sender wait. "
                                        "FILE is a pretix export (its Secret or Order code column, or the one "
                                        "--column names) or a plain list, one code a line. Only the codes' digests "
                                        "are kept. Loading a file again adds only codes not loaded yet. Needs no "
                                        "homeserver. Exit 0 when loaded, 1 on errors (nothing loaded).")
    p.add_argument("file", type=Path, metavar="FILE", help="the codes: a CSV export, or one code a line (UTF-8)")
    p.add_argument("--column", metavar="NAME",
                   help="the column of codes (default: Secret, else Order code, when the first line names it)")
    schedule_options(p)
    data_dir_option(p, "the ticket codes and who used them")
    p.set_defaults(run=_tickets)

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

    p = commands.add_parser("demo", help="bring up the sample conference on an embedded Synapse",
                            description="Start an embedded Synapse on this machine, create demo accounts, apply "
                                        "the sample schedule, print how to open it in Element, and run the bot and "
                                        "the widget pages until Ctrl-C. Needs no connection settings; both ports "
                                        "are checked before anything starts.")
    p.add_argument("--schedule", type=Path, default=SAMPLE_SCHEDULE, metavar="FILE",
                   help="the conference to bring up (default: the bundled sample conference)")
    p.add_argument("--data-dir", type=Path, default=Path(".podium/demo"), metavar="DIR",
                   help="where the homeserver keeps its data; reused on the next run (default: ./.podium/demo)")
    p.add_argument("--port", type=_port, default=8008,
                   help="the embedded homeserver's port on 127.0.0.1, the URL to give Element (default 8008)")
    listen_option(p)
    public_url_option(p, None)
    p.add_argument("--no-wait", action="store_true",
                   help="stop right after setting the conference up, without the bot and the pages (for scripts)")
    p.set_defaults(run=_demo)
    return parser


def _init(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    copies = {directory / DEFAULT_SCHEDULE.name: SAMPLE_SCHEDULE}
    # The sample's poster files, which its schedule names by path beside it.
    copies |= {directory / path.relative_to(SAMPLE_SCHEDULE.parent): path
               for path in sorted((SAMPLE_SCHEDULE.parent / "posters").glob("*.pdf"))}
    if args.templates:
        copies |= {directory / "room-templates" / source.name: source
                   for source in sorted(DEFAULT_TEMPLATES.glob("*.yaml"))}
    existing = [str(target) for target in copies if target.exists()]
    if existing:
        one = len(existing) == 1
        print(f"podium: error: {', '.join(existing)} already {'exists' if one else 'exist'}; nothing was written. "
              f"Move {'it' if one else 'them'} out of the way, or choose another directory (`podium init DIR`).",
              file=sys.stderr)
        return EXIT_ERROR
    written: list[Path] = []
    try:
        for target, source in copies.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as src, target.open("xb") as dst:  # "x": never replace a file
                written.append(target)
                shutil.copyfileobj(src, dst)
    except OSError as exc:
        for path in written:  # all or nothing
            path.unlink(missing_ok=True)
        print(f"podium: error: cannot write {exc.filename or directory}: {exc.strerror or exc}; nothing was "
              "written.", file=sys.stderr)
        return EXIT_ERROR
    for line in _init_lines(directory, args.templates):
        print(line)
    return EXIT_OK


def _init_lines(directory: Path, templates: bool) -> list[str]:
    """What ``podium init`` wrote and what to do next."""
    schedule = directory / DEFAULT_SCHEDULE.name
    lines = [f"Wrote {schedule}: the sample conference, to edit into yours (its comments explain every field),",
             f"  and {directory / 'posters'}/: the poster file it names."]
    if templates:
        lines.append(f"Wrote {directory / 'room-templates'}/: the room templates, to edit; plan, apply and run use "
                     "them when given --templates room-templates.")
    own = " --templates room-templates" if templates else ""
    trying = [
        ("podium validate", "check it: every mistake with its line and field"),
        ("podium demo --schedule schedule.yaml", "see it on an embedded Synapse (pip install 'podium[synapse]')"),
    ]
    running = [
        (f"podium plan{own}", "what apply would do on your homeserver"),
        (f"podium apply{own}", "create the rooms"),
        (f"podium run{own}", "the bot and the widget pages, during the conference"),
    ]
    width = max(len(command) for command, _ in trying + running)
    lines.append("Next:")
    if directory.resolve() != Path.cwd().resolve():
        lines.append(f"  cd {directory}")
    lines += [f"  {command:<{width}}  {why}" for command, why in trying]
    lines += [
        "Then, with an account for the bot on your homeserver:",
        "  export PODIUM_HOMESERVER=https://matrix.example.org PODIUM_USER_ID=@podium:example.org",
        "  export PODIUM_ACCESS_TOKEN_FILE=bot-token   (a file holding its access token; or PODIUM_PASSWORD)",
    ]
    lines += [f"  {command:<{width}}  {why}" for command, why in running]
    return lines


def _import(args: argparse.Namespace) -> int:
    from bridges.importer import ImportOptions, import_into, read_programme

    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigProblem(f"--token-file {args.token_file}: cannot read it ({exc.strerror or exc})") from None
        if token is None:
            raise ConfigProblem(f"--token-file {args.token_file}: the file is empty; put the pretalx API token in it")
    else:
        token = secret("PODIUM_PRETALX_TOKEN", dict(os.environ))
    programme, notes = read_programme(args.source, ImportOptions(token=token, matrix_question=args.matrix_question))
    result = import_into(programme, args.into, prune=args.prune, dry_run=args.dry_run)
    for line in result.changes:
        print(line)
    for note in notes + result.notes:
        print(f"note: {note}")
    version = f" {programme.version}" if programme.version else ""
    counts = (f"{counted(result.added, 'talk')} added, {result.changed} changed, {result.withdrawn} no longer in "
              f"the programme" + (f" ({result.removed} removed)" if result.removed else ""))
    if args.dry_run:
        print(f"Dry run: {programme.format}{version} from {args.source}: {counts}; {args.into} "
              f"{'would change' if result.changes else 'is up to date'}. Nothing was written.")
        return EXIT_CHANGES if result.changes else EXIT_OK
    if not result.changes:
        print(f"{args.into} is up to date with {programme.format}{version} ({counted(len(programme.talks), 'talk')}).")
        return EXIT_OK
    print(f"Wrote {args.into}: {programme.format}{version} from {args.source}: {counts}. "
          f"Next: `podium validate --schedule {args.into}`, then `podium plan`.")
    return EXIT_OK


#: The bot validate measures rooms for when PODIUM_USER_ID does not name the real one.
VALIDATE_BOT = "@podium:example.org"


def _validate(args: argparse.Namespace) -> int:
    bot = os.environ.get("PODIUM_USER_ID") or VALIDATE_BOT
    if not bot.startswith("@") or ":" not in bot:
        bot = VALIDATE_BOT
    settings = Settings(bot.split(":", 1)[1], bot, os.environ.get("PODIUM_PUBLIC_URL") or DEFAULT_PUBLIC_URL)
    conference = build(args.schedule, settings, args.templates)
    schedule = conference.schedule
    counts = [
        counted(len(schedule.tracks), "track"),
        counted(len(schedule.talks), "talk"),
        counted(len(schedule.posters), "poster"),
        counted(len(schedule.sponsors), "sponsor"),
        counted(len(schedule.helpdesks), "helpdesk"),
        counted(len(schedule.open_space.rooms), "open-space room"),
    ]
    print(f"{args.schedule}: valid — {schedule.conference.name}: {', '.join(counts)}; "
          f"{counted(len(conference.rooms), 'room')} the homeserver can store")
    return EXIT_OK


def _settings(args: argparse.Namespace, server_name: str, user_id: str) -> Settings:
    return Settings(server_name=server_name, bot_user_id=user_id, public_url=args.public_url)


def _plan(args: argparse.Namespace) -> int:
    connection = connection_from(args.homeserver, args.user_id)
    conference = build(args.schedule, _settings(args, connection.server_name, connection.user_id), args.templates)

    async def run() -> Plan:
        from ..provisioning.apply import observe
        from ..provisioning.planner import plan

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
    """Converge the homeserver on ``conference`` with a progress bar and a summary; the exit code."""
    report = await apply_with_report(conference, connection, store, prune=prune, quiet=quiet)
    return EXIT_OK if report.ok else EXIT_ERROR


def _progress_bar(quiet: bool):
    """The progress bar of long work (apply, invite) on standard error; none with --quiet or
    when standard error is no terminal (a log file gets the summary only)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, disable=quiet or not console.is_terminal, transient=True)


async def apply_with_report(conference, connection, store: Store | None = None, *, prune: bool = False,
                            quiet: bool = False, rerun: str = "podium apply") -> ApplyReport:
    """What :func:`apply_conference` does, returning the report; ``rerun`` is the command the
    summary tells organisers to run again after a failure."""
    with _progress_bar(quiet) as bar:
        task = bar.add_task("applying", total=0)

        def on_plan(the_plan: Plan) -> None:
            print(summary_line(the_plan), flush=True)
            bar.update(task, total=len(the_plan.actions), completed=0)

        def on_progress(action, error) -> None:
            bar.update(task, advance=1, description=f"{action.key[:40]:40}")

        done = await reconcile(conference, connection, store, prune=prune, on_plan=on_plan, progress=on_progress)
    for line in done.lines(rerun=rerun):
        print(line)
    return done.report


def _run(args: argparse.Namespace) -> int:
    from ..serve import serve

    connection = connection_from(args.homeserver, args.user_id)
    public_url = _public_url(args)
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
                      clock=clock, on_ready=answering, max_streams=args.max_streams,
                      max_streams_per_client=args.max_streams_per_client, day=DayOptions(),
                      reload=ReloadOptions(args.schedule, conference.settings, connection, args.templates)))
    return EXIT_OK


def _read_list(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigProblem(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _not_public(schedule, path: Path, what: str) -> None:
    """Invitations and codes let attendees into a space only they may join."""
    if schedule.conference.access == "public":
        raise ConfigProblem(f"{path}: conference.access is public: anyone on the homeserver may join the conference "
                            f"space, so there is {what}. To let only attendees in, set access to space-members (or "
                            "invite) and run `podium apply`")


def _invite(args: argparse.Namespace) -> int:
    from ..conference.attendees import read_attendees
    from ..conference.schedule import load_schedule

    _not_public(load_schedule(args.schedule), args.schedule, "no one to invite")
    attendees = read_attendees(_read_list(args.file), str(args.file), args.column)
    connection = connection_from(args.homeserver, args.user_id)
    # Only the space's alias is wanted from the rooms, which no widget URL changes.
    settings = Settings(connection.server_name, connection.user_id, DEFAULT_PUBLIC_URL)
    conference = build(args.schedule, settings, args.templates)
    for line, user_id, first in attendees.duplicates:
        print(f"note: {args.file}:{line}: {user_id} is on line {first} too; invited once")
    if attendees.blank:
        print(f"note: {args.file}: {counted(attendees.blank, 'row')} without a Matrix ID, skipped")
    space = next(room for room in conference.rooms if room.key == "space")
    store = Store(args.data_dir)
    try:
        return asyncio.run(_invite_all(conference, connection, store, attendees.matrix_ids, f"#{space.alias}:"
                                       f"{connection.server_name}", quiet=args.quiet))
    finally:
        store.close()


async def _invite_all(conference, connection, store: Store, matrix_ids: list[str], space_alias: str, *,
                      quiet: bool) -> int:
    from .invite import invite_attendees

    started = time.monotonic()
    adapter = await connect(connection)
    try:
        space_id = await adapter.resolve_alias(space_alias)
        if space_id is None:
            raise ConfigProblem(f"the conference space {space_alias} does not exist yet: run `podium apply` first")
        with _progress_bar(quiet) as bar:
            task = bar.add_task("inviting", total=len(matrix_ids))

            def on_progress(user_id: str, outcome: str) -> None:
                bar.update(task, advance=1, description=f"{user_id[:40]:40}")

            report = await invite_attendees(adapter, store.db, conference.schedule.conference.id, space_id,
                                            matrix_ids, progress=on_progress)
        stats = adapter.stats
    finally:
        await adapter.close()
    parts = [f"{counted(len(report.invited), 'attendee')} invited to {space_alias}"]
    if report.earlier:
        parts.append(f"{report.earlier} invited by an earlier run")
    if report.members:
        parts.append(f"{len(report.members)} in the space already")
    if report.failed:
        parts.append(f"{len(report.failed)} could not be invited")
    waited = f"; waited {stats.waited:.0f} s for the homeserver's rate limits" if stats.rate_limited else ""
    print(f"{', '.join(parts)} ({time.monotonic() - started:.1f} s{waited}).")
    for user_id in report.members:
        print(f"  = {user_id}: already a member")
    for user_id, why in report.failed:
        print(f"  ! {user_id}: {why}")
    if report.failed:
        print("Fix what is listed and run `podium invite` again: it invites only those not invited yet.")
    return EXIT_OK if report.ok else EXIT_ERROR


def _tickets(args: argparse.Namespace) -> int:
    from ..conference.attendees import code_key, read_ticket_codes
    from ..conference.schedule import load_schedule
    from ..store.ticketcodes import TicketCodeStore

    schedule = load_schedule(args.schedule)
    _not_public(schedule, args.schedule, "nothing a ticket code could admit anyone to")
    codes = read_ticket_codes(_read_list(args.file), str(args.file), args.column)
    for line, first in codes.duplicates:
        print(f"note: {args.file}:{line}: the same code as line {first}; loaded once")
    store = Store(args.data_dir)
    try:
        ticket_codes = TicketCodeStore(store.db)
        added = ticket_codes.load(schedule.conference.id, [code_key(c) for c in codes.codes], time.time())
        total, used = ticket_codes.count(schedule.conference.id)
    finally:
        store.close()
    source = f"the {codes.column!r} column of {args.file}" if codes.column else args.file
    earlier = len(codes.codes) - added
    print(f"Loaded {counted(added, 'new ticket code')} from {source}"
          + (f" ({earlier} loaded before)" if earlier else "")
          + f"; {args.data_dir} holds {total} for {schedule.conference.name}, {used} used. Attendees send their "
            "code to the bot in a direct chat while `podium run` runs.")
    return EXIT_OK


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


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.schedule, args.data_dir, port=args.port, public_url=_public_url(args), listen=args.listen,
                    wait=not args.no_wait, max_streams=args.max_streams,
                    max_streams_per_client=args.max_streams_per_client)


def _moment(text: str):
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


def _listen(text: str) -> Listen:
    try:
        return Listen.parse(text)
    except ListenProblem as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    try:
        return read_number(text.strip(), "a count")
    except UsageError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count; expected a whole number from 1, e.g. 100") from None


def _port(text: str) -> int:
    try:
        return read_number(text, "a port", high=65535)
    except UsageError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; expected a number from 1 to 65535, e.g. 8008") \
            from None


def _public_url(args: argparse.Namespace) -> str:
    """--public-url, or where --listen makes the pages reachable from this machine."""
    if args.public_url:
        return args.public_url.rstrip("/")
    host = "localhost" if args.listen.host in ("127.0.0.1", "0.0.0.0", "::1", "::", "localhost") else args.listen.host
    return f"http://{host}:{args.listen.port}"

