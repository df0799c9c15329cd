"""The conference's rooms on the homeserver: ``podium plan`` (what would change) and ``podium
apply`` (make it so, with a progress bar and a summary; the demo applies through it too)."""

from __future__ import annotations

import argparse
import asyncio
import time

from ..provisioning.apply import ApplyReport
from ..provisioning.desired import Settings
from ..provisioning.pipeline import build, connect
from ..provisioning.planner import Plan
from ..provisioning.reconcile import reconcile
from ..provisioning.report import plan_lines, summary_line
from ..store.database import Store
from .interrupt import Headway, run_interruptible
from .options import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, connection_of, room_options
from .progress import progress_bar


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("plan", help="show what apply would change (exit 0: nothing, 2: changes)",
                            description="Compare the schedule with the homeserver and print what `podium apply` "
                                        "would do, and how long it will take under the homeserver's rate limits "
                                        "(Synapse's defaults until `apply` has met this homeserver's own) and what "
                                        "lifts them. Exit 0 when nothing would change, 2 when something would, "
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


def _settings(args: argparse.Namespace, server_name: str, user_id: str) -> Settings:
    return Settings(server_name=server_name, bot_user_id=user_id, public_url=args.public_url)


def _plan(args: argparse.Namespace) -> int:
    connection = connection_of(args)
    conference = build(args.schedule, _settings(args, connection.server_name, connection.user_id), args.templates)

    async def run() -> tuple[Plan, list[str]]:
        from ..provisioning.apply import observe
        from ..provisioning.planner import plan

        adapter = await connect(connection)
        store = _store(args, connection)
        try:
            observed = await observe(adapter, conference.rooms, conference.schedule.conference.id, store)
            version = await adapter.default_room_version()
            the_plan = plan(conference.rooms, observed, bot_user_id=connection.user_id, room_version=version,
                            prune=args.prune)
            return the_plan, _preflight(the_plan, store.load_limits(Store.account(adapter.user_id,
                                                                                  adapter.client.homeserver)),
                                        appservice=adapter.appservice)
        finally:
            store.close()
            await adapter.close()

    the_plan, preflight = asyncio.run(run())
    for line in plan_lines(the_plan, connection.server_name) + preflight:
        print(line)
    if the_plan.changes:
        print("Run `podium apply` to make these changes.")
    return EXIT_CHANGES if the_plan.changes else EXIT_OK


def _preflight(the_plan: Plan, known: tuple[dict[str, tuple[float, int]], float | None], *,
               appservice: bool) -> list[str]:
    """How long the plan's writes will take under the homeserver's limits (provisioning/preflight.py)."""
    from ..provisioning.preflight import Limit, preflight_lines

    limits, at = known
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at is not None else None
    return preflight_lines(the_plan.counts(), {kind: Limit(*value) for kind, value in limits.items()},
                           measured_at=when, appservice=appservice)


def _apply(args: argparse.Namespace) -> int:
    connection = connection_of(args)
    conference = build(args.schedule, _settings(args, connection.server_name, connection.user_id), args.templates)
    store = _store(args, connection)
    try:
        headway = Headway("write request", "made")
        return run_interruptible(apply_conference(conference, connection, store, prune=args.prune, quiet=args.quiet,
                                                  headway=headway), headway=headway, rerun="podium apply")
    finally:
        store.close()


def _store(args: argparse.Namespace, connection) -> Store:
    store = Store(args.data_dir)
    if args.fresh:
        store.forget_snapshot(Store.account(connection.user_id, connection.homeserver))
    return store


async def apply_conference(conference, connection, store: Store | None = None, *, prune: bool = False,
                           quiet: bool = False, headway: Headway | None = None) -> int:
    """Converge the homeserver on ``conference`` with a progress bar and a summary; the exit code."""
    report = await apply_with_report(conference, connection, store, prune=prune, quiet=quiet, headway=headway)
    return EXIT_OK if report.ok else EXIT_ERROR


async def apply_with_report(conference, connection, store: Store | None = None, *, prune: bool = False,
                            quiet: bool = False, rerun: str = "podium apply",
                            headway: Headway | None = None) -> ApplyReport:
    """What :func:`apply_conference` does, returning the report; ``rerun`` is the command the
    summary tells organisers to run again after a failure; ``headway`` counts the writes made."""
    headway = headway or Headway("write request", "made")
    with progress_bar(quiet) as bar:
        task = bar.add_task("applying", total=0)

        def on_plan(the_plan: Plan) -> None:
            print(summary_line(the_plan), flush=True)
            headway.planned = len(the_plan.actions)
            bar.update(task, total=len(the_plan.actions), completed=0)

        def on_progress(action, error) -> None:
            headway.done += 1
            bar.update(task, advance=1, description=f"{action.key[:40]:40}")

        done = await reconcile(conference, connection, store, prune=prune, on_plan=on_plan, progress=on_progress)
    for line in done.lines(rerun=rerun):
        print(line)
    return done.report
