"""The ``podium`` command line: init, import, validate, plan, apply, run, web, transitions, export, swag, demo.

One module per group of commands, each adding its own to the parser: setup (init, import,
validate), provision (plan, apply), run (run, web), onboarding (invite, tickets), offline (transitions,
export, swag) and demo; options.py holds what they share. Here: the parser they make up together
and ``main``, which turns the errors users can fix into a message and an exit code.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Sequence

from bridges.fetch import FetchProblem

from .. import __version__
from ..conference.schedule import ScheduleInvalid
from ..config import ConfigProblem
from ..matrix import MatrixError
from ..provisioning.templates import TemplateProblem
from ..serve import ListenProblem
from ..store.codesecret import SecretProblem
from ..store.schema import NewerDatabase
from . import appservice, demo, offline, onboarding, provision, run, setup
from .interrupt import Interrupted
from .options import DEFAULT_SCHEDULE, EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from .provision import apply_conference, apply_with_report

__all__ = ["DESCRIPTION", "EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "apply_conference", "apply_with_report",
           "build_parser", "main"]

DESCRIPTION = """\
Run an online conference inside Matrix. `podium init` writes the sample schedule.yaml to start
from (or `podium import SOURCE` takes the programme from pretalx or a frab schedule); check it with `podium validate`, see what would change with `podium plan`, make it so with
`podium apply`, and keep the bot answering during the event with `podium run`. `podium invite FILE`
invites the attendees of a list to the conference space; `podium tickets FILE` loads ticket codes
that admit attendees who send one to the bot. `podium demo`
brings up the sample conference on an embedded Synapse, with no settings at all. `podium export
ical` writes the programme as a calendar file; `podium export archive DIR` the questions and polls.
`podium swag load SPONSOR FILE` adds a sponsor's digital swag codes for `!swag`. `podium appservice`
registers the bot as a Synapse application service: no rate limits, events pushed to `podium run`.

Connection settings (plan, apply, run, invite): --homeserver / PODIUM_HOMESERVER, --user-id /
PODIUM_USER_ID, and a secret from the environment only: PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD
(or PODIUM_ACCESS_TOKEN_FILE / PODIUM_PASSWORD_FILE naming a file that holds it), or --appservice
for the application service's token.
`podium run`, `podium web` and `podium demo` also serve the widget pages: --listen / PODIUM_LISTEN,
--public-url / PODIUM_PUBLIC_URL; `podium demo` runs its homeserver on --port. `podium web` serves
them alone, beside `podium run --no-pages`, so they go on while the bot restarts.

`podium COMMAND --help` lists the options of each command."""

#: Shown after an error stopped plan or apply before they reached the homeserver's rooms.
NOTHING_CHANGED = "Nothing was changed."


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Ctrl-C (SIGINT) always stops Podium, also where a shell started it with SIGINT ignored, as it
    # does a background job in a script (`podium apply &`): Python would then never interrupt.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        _check_default_schedule(args)
        return args.run(args)
    except ScheduleInvalid as exc:
        print(exc, file=sys.stderr)
        _note_nothing_changed(args)
        return EXIT_ERROR
    except (ConfigProblem, TemplateProblem, FetchProblem, NewerDatabase, SecretProblem) as exc:
        print(f"podium: error: {exc}", file=sys.stderr)
        _note_nothing_changed(args)
        return EXIT_ERROR
    except (MatrixError, ListenProblem) as exc:
        print(f"podium: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Interrupted as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"podium: stopped by Ctrl-C{'; ' + args.stopped if getattr(args, 'stopped', None) else ''}",
              file=sys.stderr)
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


def build_parser() -> argparse.ArgumentParser:
    """The ``podium`` parser: every command, its options and help, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(
        prog="podium", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"podium {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for group in (setup, provision, run, appservice, onboarding, offline, demo):
        group.add_commands(commands)
    return parser
