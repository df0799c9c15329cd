"""``podium invite``: the attendees of a list invited to the conference space, one by one.

Resumable: each invite is recorded in the store before it is sent and once it is answered
(``bot.store.invitations``), so a run stopped anywhere is finished by the next, which invites
only those not yet invited. Rate limits are the adapter's to wait out (``Retry-After`` or
``retry_after_ms``, for every request at once). Someone who cannot be invited costs only their
own invite, and the report says why: an unknown user, already a member, banned, or what the
homeserver said.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from ..matrix import MatrixAdapter, MatrixError, Unreachable
from ..store.invitations import INVITED, MEMBER, SENDING, InvitationStore

FAILED = "failed"
UNKNOWN_USER = "unknown user: the homeserver has no such account"
BANNED = "banned from the conference space: unban them first (or take them off the list)"

#: Called after each attendee, with their Matrix ID and the outcome ("invited", "member" or a reason).
Progress = Callable[[str, str], Awaitable[None] | None]


@dataclass
class InviteReport:
    invited: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # in the space already
    failed: list[tuple[str, str]] = field(default_factory=list)  # (Matrix ID, why)
    earlier: int = 0  # invited by an earlier run: nothing sent

    @property
    def ok(self) -> bool:
        return not self.failed


async def invite_attendees(adapter: MatrixAdapter, db: sqlite_utils.Database, conference: str, space_id: str,
                           matrix_ids: Sequence[str], *, progress: Progress | None = None) -> InviteReport:
    """Invite everyone in ``matrix_ids`` not invited yet to ``space_id``. Raises MatrixError when
    the homeserver cannot be reached or keeps rate-limiting (what was done so far is recorded)."""
    store = InvitationStore(db)
    done = store.done(conference)
    report = InviteReport()
    for user_id in matrix_ids:
        if user_id in done:
            report.earlier += 1
            continue
        store.record(conference, user_id, SENDING, time.time())
        outcome = await _invite_one(adapter, space_id, user_id)
        if outcome in (INVITED, MEMBER):
            store.record(conference, user_id, outcome, time.time())
            (report.invited if outcome == INVITED else report.members).append(user_id)
        else:
            store.record(conference, user_id, FAILED, time.time(), outcome)
            report.failed.append((user_id, outcome))
        if progress is not None:
            result = progress(user_id, outcome)
            if result is not None:
                await result
    return report


async def _invite_one(adapter: MatrixAdapter, space_id: str, user_id: str) -> str:
    """``invited``, ``member``, or why ``user_id`` could not be invited."""
    try:
        if await adapter.profile(user_id) is None:
            return UNKNOWN_USER
    except MatrixError as exc:
        if isinstance(exc, Unreachable):
            raise
        # Another server's user whose server does not answer: the invite will say so.
    try:
        await adapter.invite(space_id, user_id, what=f"invite {user_id} to the conference space")
        return INVITED
    except MatrixError as exc:
        if isinstance(exc, Unreachable) or exc.errcode == "M_LIMIT_EXCEEDED":
            raise
        refused = exc
    try:
        membership = await adapter.membership(space_id, user_id)
    except MatrixError as exc:
        if isinstance(exc, Unreachable):
            raise
        membership = None
    if membership == "join":
        return MEMBER
    if membership == "ban" or refused.errcode == "M_BAD_STATE":
        return BANNED
    return f"the homeserver refused: {refused.errcode}: {refused.error}".rstrip(": ")
