"""Setting a conference up: ``podium init`` (the sample to start from), ``podium import`` (the
programme from pretalx or frab) and ``podium validate``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from bridges.fetch import DEFAULT_TIMEOUT

from .. import SAMPLE_SCHEDULE
from ..conference.inputfile import IMPORT_LIMIT, size_text
from ..config import ConfigProblem, secret, secret_file
from ..provisioning.desired import Settings
from ..provisioning.pipeline import DEFAULT_PUBLIC_URL, DEFAULT_TEMPLATES, build
from ..wording import counted
from .options import DEFAULT_SCHEDULE, EXIT_CHANGES, EXIT_ERROR, EXIT_OK, schedule_options, templates_option


def add_commands(commands: argparse._SubParsersAction) -> None:
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
                                        "a flag, and a URL with a user name and password is refused. A URL is read "
                                        f"within --timeout ({DEFAULT_TIMEOUT:g} s unless given), every page of it "
                                        "together; a file is read only when it is a regular file of at most "
                                        f"{size_text(IMPORT_LIMIT)}. "
                                        "The file is written only when the result is valid, in one rename. "
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
    p.add_argument("--timezone", metavar="ZONE",
                   help="the conference's IANA time zone (like Europe/Brussels), for a source that names none; "
                        "without it, one taken from the talks' UTC offsets when they all carry the same")
    p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"give up reading a URL after this long, all its requests and pages together (default: "
                        f"{DEFAULT_TIMEOUT:g} s)")
    p.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    p.add_argument("--prune", action="store_true",
                   help="remove the talks the programme no longer has (default: report them and keep them)")
    p.set_defaults(run=_import, checks_before_writing=True,
                   stopped="the schedule file is only ever replaced whole: run `podium import` again to import")

    p = commands.add_parser("validate", help="check schedule.yaml and report every mistake",
                            description="Check schedule.yaml; every mistake is reported with file, line and field. "
                                        "Every room the templates make from it is built and measured too, so "
                                        "what the homeserver could not store is found here (alias lengths count "
                                        "the server of PODIUM_USER_ID when it is set). Exit 0 when valid, 1 "
                                        "when not. Needs no homeserver.")
    schedule_options(p)
    templates_option(p)
    p.set_defaults(run=_validate)


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


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86_400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 86400, like 60")
    return seconds


def _import(args: argparse.Namespace) -> int:
    from bridges.fetch import is_url, shown
    from bridges.importer import ImportOptions, import_into, read_programme

    if args.token_file is not None:
        token = secret_file(args.token_file, f"--token-file {args.token_file}") or None
        if token is None:
            raise ConfigProblem(f"--token-file {args.token_file}: the file is empty; put the pretalx API token in it")
    else:
        token = secret("PODIUM_PRETALX_TOKEN", dict(os.environ))
    options = ImportOptions(token=token, matrix_question=args.matrix_question, timezone=args.timezone,
                            timeout=args.timeout)
    programme, notes = read_programme(args.source, options)
    source = shown(args.source) if is_url(args.source) else args.source
    result = import_into(programme, args.into, prune=args.prune, dry_run=args.dry_run)
    for line in summary_lines(result):
        print(line)
    for note in notes + result.notes:
        print(f"note: {note}")
    version = f" {programme.version}" if programme.version else ""
    counts = (f"{counted(result.added, 'talk')} added, {result.changed} changed, {result.withdrawn} no longer in "
              f"the programme" + (f" ({result.removed} removed)" if result.removed else ""))
    if args.dry_run:
        print(f"Dry run: {programme.format}{version} from {source}: {counts}; {args.into} "
              f"{'would change' if result.changes else 'is up to date'}. Nothing was written.")
        return EXIT_CHANGES if result.changes else EXIT_OK
    if not result.changes:
        print(f"{args.into} is up to date with {programme.format}{version} ({counted(len(programme.talks), 'talk')}).")
        return EXIT_OK
    print(f"Wrote {args.into}: {programme.format}{version} from {source}: {counts}. "
          f"Next: `podium validate --schedule {args.into}`, then `podium plan`.")
    return EXIT_OK


#: How many talks of one kind of change the summary names; the rest are counted.
SHOWN_PER_KIND = 5


def summary_lines(result) -> list[str]:
    """What an import did, by kind of change, each with how many and the first few talks."""
    from bridges.merge import KIND_PHRASES

    groups: dict[str, list[str]] = {}
    for line in result.changes:
        subject = "track" if line[2:].startswith("track") else "conference day" if line[2:].startswith("conference") \
            else "speaker" if line[2:].startswith("speaker") else "talk"
        what = {"+": "added", "~": "changed", "-": "removed", "!": "no longer in the programme, kept"}[line[0]]
        groups.setdefault(f"{subject}|{what}", []).append(line)
    for kind, lines in result.kinds.items():
        groups.setdefault(kind, []).extend(lines)
    out = []
    for kind, lines in groups.items():
        if kind in KIND_PHRASES:
            phrase = KIND_PHRASES[kind][len(lines) != 1]
        else:
            subject, what = kind.split("|")
            phrase = f"{subject}{'' if len(lines) == 1 else 's'} {what}"
        out.append(f"{len(lines)} {phrase}:")
        out += [f"  {line}" for line in lines[:SHOWN_PER_KIND]]
        if len(lines) > SHOWN_PER_KIND:
            out.append(f"  … and {len(lines) - SHOWN_PER_KIND} more")
    return out


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
