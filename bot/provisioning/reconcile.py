"""One reconcile of a built conference with its homeserver: connect as the bot, converge the rooms
(observe, plan, execute, read back) and keep what it took. What ``podium apply``, the demo and the
running bot's schedule reloader all do; it prints nothing, so each of them says it in its own
place (a progress bar and summary on the terminal, a notice in a room, the log)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..config import Connection
from ..matrix import RequestStats
from ..store.database import Store
from .apply import ApplyReport, Progress, converge
from .pipeline import Conference, connect
from .planner import Plan
from .preflight import measured
from .report import apply_lines


@dataclass(frozen=True)
class Reconciled:
    """A finished reconcile: its first plan, the apply report, the requests it took and how long."""

    plan: Plan
    report: ApplyReport
    stats: RequestStats
    seconds: float
    server_name: str

    def lines(self, *, rerun: str = "podium apply") -> list[str]:
        """The apply summary (provisioning/report.py); ``rerun`` is what to run again after failures."""
        return apply_lines(self.report, self.seconds, self.stats, self.plan.aliases, self.server_name, rerun=rerun)


async def reconcile(conference: Conference, connection: Connection, store: Store | None = None, *,
                    prune: bool = False, on_plan: Callable[[Plan], None] | None = None,
                    progress: Progress | None = None) -> Reconciled:
    """Converge the homeserver on ``conference``; ``on_plan`` hears the first plan before any
    write, ``progress`` each action as it finishes."""
    started = time.monotonic()
    adapter = await connect(connection)
    try:
        version = await adapter.default_room_version()
        first_plan, report = await converge(
            adapter, conference.rooms, conference_id=conference.schedule.conference.id, room_version=version,
            prune=prune, progress=progress, on_plan=on_plan, store=store)
        stats = adapter.stats
        if store is not None and stats.throttles:
            # What this homeserver let through and made wait: `podium plan` estimates from it.
            limits = measured(stats.throttles)
            store.save_limits(Store.account(adapter.user_id, adapter.client.homeserver),
                              {kind: (limit.per_second, limit.burst) for kind, limit in limits.items()}, time.time())
    finally:
        await adapter.close()
    return Reconciled(first_plan, report, stats, time.monotonic() - started, connection.server_name)
