"""Human-readable text for plans and apply results (pure: returns lines, prints nothing)."""

from __future__ import annotations

from collections import defaultdict

from ..matrix import RATE_LIMIT_HINT, RequestStats
from ..roomstate.state import RoomRef, UntrustedRoom
from ..wording import counted
from .apply import ApplyReport
from .planner import CreateRoom, Plan, SetState


def plan_lines(the_plan: Plan, server_name: str) -> list[str]:
    """The plan grouped by room, in the order it would run, then the orphans and a summary."""
    def alias(key: str) -> str:
        return room_label(key, the_plan.aliases, server_name)

    def show_ref(value: object) -> str:
        return alias(value.key) if isinstance(value, RoomRef) else str(value)

    grouped: dict[str, list[str]] = defaultdict(list)
    order: list[str] = []
    created = {a.key for a in the_plan.actions if isinstance(a, CreateRoom)}
    for action in the_plan.actions:
        if action.key not in grouped:
            order.append(action.key)
        if isinstance(action, SetState) and isinstance(action.state_key, RoomRef):
            text = f"set {action.event_type} → {show_ref(action.state_key)}: {action.reason}"
        else:
            text = action.describe()
        grouped[action.key].append(text)
    lines = []
    for key in order:
        mark = "+" if key in created else "~"
        lines.append(f"{mark} {alias(key)}  [{key}]")
        lines += [f"    {text}" for text in grouped[key]]
    for orphan in the_plan.orphans:
        lines.append(f"! {orphan.room_id} {orphan.name!r} [{orphan.key}]: no longer in the schedule"
                     + ("" if any(a.key == orphan.key for a in the_plan.actions) else " (--prune archives it)"))
    lines += encrypted_lines(the_plan.encrypted, the_plan.aliases, server_name)
    lines += untrusted_lines(the_plan.untrusted, the_plan.aliases, server_name)
    lines.append(summary_line(the_plan))
    return lines


def room_label(key: str, aliases: dict[str, str], server_name: str) -> str:
    """A room as organisers know it: its alias, or its key when it has none."""
    local = aliases.get(key)
    return f"#{local}:{server_name}" if local else key


def encrypted_lines(keys: list[str], aliases: dict[str, str], server_name: str) -> list[str]:
    """A warning for each room the homeserver made end-to-end encrypted, and what to do about it."""
    if not keys:
        return []
    lines = [f"! {room_label(key, aliases, server_name)}  [{key}]: end-to-end encrypted: the bot cannot read "
             "commands or votes there" for key in keys]
    lines.append("  Encryption cannot be turned off in a room. The homeserver encrypts new rooms on its own when "
                 "encryption_enabled_by_default_for_room_type is 'all'; set it to 'invite' or 'off' before "
                 "Podium creates the conference's rooms.")
    return lines


def untrusted_lines(rooms: list[UntrustedRoom], aliases: dict[str, str], server_name: str) -> list[str]:
    """A warning for each room that claims to be a conference room but that the bot did not create."""
    return [f"! {room.room_id} claims to be {room_label(room.key, aliases, server_name)}  [{room.key}] but was "
            f"created by {room.creator or 'someone else'}, not by the bot: Podium ignores it (no roles, commands or "
            "page data come from it, and no space lists it)" for room in rooms]


def summary_line(the_plan: Plan) -> str:
    counts = the_plan.counts()
    if not the_plan.changes:
        extra = f"; {counted(len(the_plan.orphans), 'room')} no longer in the schedule" if the_plan.orphans else ""
        return f"No changes: the homeserver matches the schedule{extra}."
    withdrawn = f", {counted(counts['withdraw'], 'invitation')} to withdraw" if counts["withdraw"] else ""
    return (
        f"Plan: {counted(counts['create'], 'room')} to create, {counted(counts['state'], 'state event')} to set, "
        f"{counted(counts['invite'], 'invite')}{withdrawn}; {counted(len(the_plan.actions), 'write request')}."
    )


def apply_lines(report: ApplyReport, seconds: float, stats: RequestStats, aliases: dict[str, str],
                server_name: str, *, rerun: str = "podium apply") -> list[str]:
    """The apply summary; ``rerun`` is the command to run again once the causes of failures are fixed."""
    lines = [
        f"Applied {counted(report.done, 'action')} in {seconds:.1f} s: {counted(len(report.created), 'room')} created, "
        f"{counted(stats.writes, 'write request')}, {counted(stats.reads, 'read request')}."
    ]
    if stats.rate_limited:
        lines.append(f"  the homeserver rate-limited {counted(stats.rate_limited, 'request')}; "
                     f"waited {stats.waited:.1f} s in all. {RATE_LIMIT_HINT[0].upper()}{RATE_LIMIT_HINT[1:]}.")
    for key in report.finished:
        lines.append(f"  finished setting up the room for {key}: an earlier run was interrupted after creating it")
    for key in report.adopted:
        if key not in report.finished:
            lines.append(f"  adopted the existing room for {key} (its alias was already taken by it)")
    for action, error in report.failed:
        lines.append(f"  FAILED {action.key}: {action.describe()}: {error}")
    for action, why in report.skipped:
        lines.append(f"  skipped {action.key}: {action.describe()}: {why}")
    if report.remaining and not (report.failed or report.skipped):
        lines.append(f"  read back after applying, {counted(len(report.remaining), 'change')} not in place yet:")
        lines += [f"    {a.key}: {a.describe()}" for a in report.remaining[:20]]
    lines += encrypted_lines(report.encrypted, aliases, server_name)
    lines += untrusted_lines(report.untrusted, aliases, server_name)
    if not report.ok:
        lines.append(f"Some actions did not succeed; fix the causes above and run `{rerun}` again.")
    return lines
