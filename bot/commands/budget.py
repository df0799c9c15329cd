"""How many commands the bot answers for one person: a token bucket, as pure functions.

Every command gets an answer, even a refusal or an unknown one, and the bot's own rate limits
are lifted (provisioning needs that), so without a bound anyone could make the bot post as fast
as they type or script. Each sender has a bucket of ``CAPACITY`` answers that refills by one every
``REFILL_SECONDS``; a command that finds it empty is not run. The first such command is told
once ("I'll answer again in N s"); the rest of that spell gets silence, until the sender has
paused long enough for the bucket to fill up again.

The bucket is per sender across all rooms, not per room: what a flood costs is bot messages, each
sent to everyone in its room, and per room the allowance would grow with the number of rooms a
conference has (dozens, all joinable).

Sizing: a moderator clearing the board sends "!qa answered 1" to "!qa answered 10" in a row,
after "!qa top" and before "!qa close"; twelve at once covers that. An attendee asks at most
``bot.conference.qa.RATE_COUNT`` questions a minute, and reads "!questions" now and then. After
a burst, one answer every five seconds (twelve a minute) is still more than anyone types, and a
script can never make the bot send more than that plus one notice.

Time is when the bot received each command (``bot.store.received``), never the event's
``origin_server_ts``, which the sender's server writes as it likes (dated minutes apart, a flood
would refill the bucket between every two commands). The receive time is recorded when the event
is first seen, so handling the same events again after a restart decides the same (see
``bot.store.budget``, which keeps the buckets and the decisions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

CAPACITY = 12
REFILL_SECONDS = 5.0


class Verdict(str, Enum):
    ANSWER = "answer"  # run the command
    WARN = "warn"  # not run; tell the sender, once, when they will be answered again
    QUIET = "quiet"  # not run, and nothing said (they have been told)


@dataclass(frozen=True)
class Bucket:
    tokens: float  # answers left, fractions included
    at: float  # when it was last charged (the latest command's receive time, seconds)
    warned: bool  # told already, in this spell


FULL = Bucket(float(CAPACITY), float("-inf"), False)


def charge(bucket: Bucket, at: float) -> tuple[Verdict, Bucket]:
    """The verdict on a command sent at ``at`` (unix seconds) by the bucket's owner, and the bucket
    after it. A time before the last one refills nothing."""
    elapsed = max(0.0, at - bucket.at)
    tokens = min(float(CAPACITY), bucket.tokens + elapsed / REFILL_SECONDS)
    at = max(at, bucket.at)
    # A full bucket ends a spell of silence: the sender has paused for long enough.
    warned = bucket.warned and tokens < CAPACITY
    if tokens >= 1.0:
        return Verdict.ANSWER, Bucket(tokens - 1.0, at, warned)
    if warned:
        return Verdict.QUIET, Bucket(tokens, at, True)
    return Verdict.WARN, Bucket(tokens, at, True)


def seconds_until_answer(bucket: Bucket) -> int:
    """Whole seconds until the bucket holds an answer again (at least 1)."""
    return max(1, math.ceil((1.0 - bucket.tokens) * REFILL_SECONDS))
