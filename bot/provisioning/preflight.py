"""How long building the conference will take under the homeserver's rate limits, said before
anything is sent (``podium plan``), and what lifts them. Pure: counts and limits in, figures and
lines out.

Synapse limits each account with token buckets: a burst of requests passes, then one more each
1/rate seconds. Each kind of write Podium makes has its own bucket (room creation, invitations,
other events such as state), so the build takes as long as its slowest bucket needs: for ``n``
requests of a kind, ``max(0, n - burst) / rate`` seconds. The buckets are the homeserver's own
where ``podium apply`` has met them (it records what it measured in the data directory), else
Synapse's defaults.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..matrix import Throttle
from ..wording import age


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int


#: The kinds of write a plan makes, each throttled by one of the homeserver's buckets.
KINDS = {"create": "room creation lets", "invite": "invitations let", "state": "state events let"}

#: Synapse's defaults (docs: rc_room_creation, rc_invites.per_issuer, rc_message).
SYNAPSE_DEFAULTS: dict[str, Limit] = {
    "create": Limit(0.016, 10),
    "invite": Limit(0.3, 10),
    "state": Limit(0.2, 10),
}

LIFTING = ("run Podium as an application service (`podium appservice`, then `--appservice`: Synapse "
           "throttles none of its requests), or have a Synapse admin lift the bot's limits "
           "(the admin API's override_ratelimit)")


def measured(throttles: Sequence[Throttle]) -> dict[str, Limit]:
    """The buckets a run of ``podium apply`` met: for each kind throttled, the burst it let pass
    before its first 429 and the rate its waits imply (one request per median wait)."""
    limits: dict[str, Limit] = {}
    for kind in KINDS:
        seen = [t for t in throttles if t.kind == kind]
        waits = [t.wait for t in seen if t.wait > 0]
        if seen and waits:
            limits[kind] = Limit(1 / statistics.median(waits), seen[0].passed_before)
    return limits


def _bucket_seconds(n: int, limit: Limit) -> float:
    """How long ``n`` writes wait for one bucket: those past its burst, one per 1/rate seconds."""
    return max(0, n - limit.burst) / limit.per_second if limit.per_second > 0 else 0.0


def seconds_needed(counts: Mapping[str, int], limits: Mapping[str, Limit]) -> float:
    """The least time ``counts`` writes take under ``limits``: the slowest bucket's."""
    return max((_bucket_seconds(counts.get(kind, 0), limit) for kind, limit in limits.items()), default=0.0)


def preflight_lines(counts: Mapping[str, int], limits: Mapping[str, Limit] | None, *, measured_at: str | None,
                    appservice: bool) -> list[str]:
    """What ``podium plan`` says of the time the writes in ``counts`` will take."""
    writes = sum(counts.get(kind, 0) for kind in KINDS)
    if not writes:
        return []
    if appservice:
        return ["Time: no waiting for rate limits: Podium acts as an application service, which Synapse "
                "does not throttle."]
    known = dict(limits) if limits else {}
    source = (f"this homeserver's limits, as `podium apply` measured them on {measured_at}" if known
              else "Synapse's default limits (`podium apply` measures this homeserver's own when it meets them)")
    buckets = {**SYNAPSE_DEFAULTS, **known}
    seconds = seconds_needed(counts, buckets)
    if seconds < 60:
        return [f"Time: under a minute of waiting for rate limits at {source}."]
    slowest = max(KINDS, key=lambda kind: _bucket_seconds(counts.get(kind, 0), buckets[kind]))
    limit = buckets[slowest]
    return [f"Time: at least {age(seconds)} at {source}: {KINDS[slowest]} {limit.burst} through, then one "
            f"every {1 / limit.per_second:.1f} s, and this plan makes {counts.get(slowest, 0)}.",
            f"To build without waiting, {LIFTING}."]
