"""The space invitations ``podium invite`` sends, in SQLite (podium.db): one row per attendee.

A row is written *before* its invite is sent (``sending``) and updated once the homeserver
answered (``invited``, or why not). A run stopped at any point is finished by the next one: a
``sending`` row is sent again, which the homeserver treats as the same invite (an invite that
changes nothing is not a new event), and a row that is ``invited`` or ``member`` is done and
costs no request at all.
"""

from __future__ import annotations

import sqlite_utils

INVITATIONS = "space_invitations"
SENDING, INVITED, MEMBER = "sending", "invited", "member"
#: Outcomes that are final: the attendee is invited or in the space already.
DONE = (INVITED, MEMBER)


class InvitationStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def done(self, conference: str) -> set[str]:
        """Who is invited (or was in the space already) for ``conference``."""
        rows = self.db.execute(f"SELECT user_id FROM {INVITATIONS} WHERE conference = ? AND state IN (?, ?)",
                               [conference, *DONE]).fetchall()
        return {row[0] for row in rows}

    def record(self, conference: str, user_id: str, state: str, at: float, reason: str | None = None) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR REPLACE INTO {INVITATIONS} (conference, user_id, state, reason, at) "
                            "VALUES (?, ?, ?, ?, ?)", [conference, user_id, state, reason, at])

    def state(self, conference: str, user_id: str) -> str | None:
        row = self.db.execute(f"SELECT state FROM {INVITATIONS} WHERE conference = ? AND user_id = ?",
                              [conference, user_id]).fetchone()
        return None if row is None else row[0]
