"""Letting attendees in: ``podium invite`` (a list of Matrix IDs invited to the space) and
``podium tickets`` (ticket codes the running bot admits attendees with)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..conference.inputfile import LIST_LIMIT, InputRefused, read_input
from ..conference.roomkeys import SPACE
from ..config import ConfigProblem
from ..provisioning.desired import Settings
from ..provisioning.pipeline import DEFAULT_PUBLIC_URL, build, connect
from ..store.database import Store
from ..wording import counted
from .options import (
    EXIT_ERROR,
    EXIT_OK,
    connection_of,
    connection_options,
    data_dir_option,
    schedule_options,
    templates_option,
)
from .interrupt import Headway, run_interruptible
from .progress import progress_bar


def add_commands(commands: argparse._SubParsersAction) -> None:
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
                                        "are kept, keyed with the secret --data-dir keeps in ticket-codes.key; "
                                        "codes too short to resist guessing are named in a warning. Loading a file "
                                        "again adds only codes not loaded yet. Needs no homeserver. Exit 0 when "
                                        "loaded, 1 on errors (nothing loaded).")
    p.add_argument("file", type=Path, metavar="FILE", help="the codes: a CSV export, or one code a line (UTF-8)")
    p.add_argument("--column", metavar="NAME",
                   help="the column of codes (default: Secret, else Order code, when the first line names it)")
    schedule_options(p)
    data_dir_option(p, "the ticket codes and who used them")
    p.set_defaults(run=_tickets)


def _read_list(path: Path) -> bytes:
    try:
        return read_input(path, LIST_LIMIT, "a list (a CSV export, or one entry a line)")
    except InputRefused as exc:
        raise ConfigProblem(str(exc)) from None
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
    connection = connection_of(args)
    # Only the space's alias is wanted from the rooms, which no widget URL changes.
    settings = Settings(connection.server_name, connection.user_id, DEFAULT_PUBLIC_URL)
    conference = build(args.schedule, settings, args.templates)
    for line, user_id, first in attendees.duplicates:
        print(f"note: {args.file}:{line}: {user_id} is on line {first} too; invited once")
    if attendees.blank:
        print(f"note: {args.file}: {counted(attendees.blank, 'row')} without a Matrix ID, skipped")
    space = next(room for room in conference.rooms if room.key == SPACE)
    store = Store(args.data_dir)
    try:
        headway = Headway("attendee", "handled", planned=len(attendees.matrix_ids))
        return run_interruptible(_invite_all(conference, connection, store, attendees.matrix_ids,
                                             f"#{space.alias}:{connection.server_name}", quiet=args.quiet,
                                             headway=headway),
                                 headway=headway, rerun=f"podium invite {args.file}")
    finally:
        store.close()


async def _invite_all(conference, connection, store: Store, matrix_ids: list[str], space_alias: str, *,
                      quiet: bool, headway: Headway) -> int:
    from .invite import invite_attendees

    started = time.monotonic()
    adapter = await connect(connection)
    try:
        space_id = await adapter.resolve_alias(space_alias)
        if space_id is None:
            raise ConfigProblem(f"the conference space {space_alias} does not exist yet: run `podium apply` first")
        with progress_bar(quiet) as bar:
            task = bar.add_task("inviting", total=len(matrix_ids))

            def on_progress(user_id: str, outcome: str) -> None:
                headway.done += 1
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
    from ..conference.attendees import read_ticket_codes
    from ..conference.schedule import load_schedule
    from ..store.ticketcodes import TicketCodeStore

    schedule = load_schedule(args.schedule)
    _not_public(schedule, args.schedule, "nothing a ticket code could admit anyone to")
    codes = read_ticket_codes(_read_list(args.file), str(args.file), args.column)
    for line, first in codes.duplicates:
        print(f"note: {args.file}:{line}: the same code as line {first}; loaded once")
    if codes.weak:
        print(f"warning: {args.file}: {_weak_codes(codes.weak, len(codes.codes))}")
    store = Store(args.data_dir)
    try:
        ticket_codes = TicketCodeStore(store.db)
        loaded = ticket_codes.load(schedule.conference.id, codes.codes, time.time())
        total, used = ticket_codes.count(schedule.conference.id)
        unkeyed = ticket_codes.unkeyed(schedule.conference.id)
    finally:
        store.close()
    source = f"the {codes.column!r} column of {args.file}" if codes.column else args.file
    earlier = len(codes.codes) - loaded.added
    print(f"Loaded {counted(loaded.added, 'new ticket code')} from {source}"
          + (f" ({earlier} loaded before)" if earlier else "")
          + f"; {args.data_dir} holds {total} for {schedule.conference.name}, {used} used. Attendees send their "
            "code to the bot in a direct chat while `podium run` runs.")
    if loaded.rekeyed:
        print(f"note: re-keyed {counted(loaded.rekeyed, 'code')} an older Podium stored "
              f"{_as_bare_digests(loaded.rekeyed)}: podium.db no longer gives {_them(loaded.rekeyed)} back")
    if unkeyed:
        print(f"warning: {args.data_dir} holds {counted(unkeyed, 'ticket code')} an older Podium stored "
              f"{_as_bare_digests(unkeyed)}, which anyone with podium.db can guess back: load the file they came "
              f"from again with `podium tickets` to re-key {_them(unkeyed)}")
    return EXIT_OK


def _weak_codes(lines: list[int], loaded: int, shown: int = 10) -> str:
    """Which codes are short enough to be guessed, by line (the first ``shown`` of them)."""
    from ..conference.attendees import STRONG_CODE_BITS, code_bits

    where = ", ".join(map(str, lines[:shown])) + (f" and {len(lines) - shown} more" if len(lines) > shown else "")
    are = "is" if len(lines) == 1 else "are"
    return (f"{len(lines)} of {counted(loaded, 'code')} {are} too short to resist guessing (under {STRONG_CODE_BITS} "
            "bits, estimated from their length and the letters, digits and signs they use; 5 letters and digits "
            f"are {code_bits('AAA00'):.0f} bits): {'line' if len(lines) == 1 else 'lines'} {where}. They are loaded; "
            "longer codes (pretix: the Secret column) keep guessers out")


def _as_bare_digests(n: int) -> str:
    return "as a bare SHA-256 digest" if n == 1 else "as bare SHA-256 digests"


def _them(n: int) -> str:
    return "it" if n == 1 else "them"
