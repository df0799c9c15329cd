"""Polls and their responses in Podium's SQLite store, with results kept for export.

Every response event is recorded as it arrives (keyed by event id, so a replayed event is stored
once) and the tally is recomputed from them with ``bot.conference.polls.tally``: the rules live there, this
module only remembers. When a poll closes its results are written next to it, so an export does
not depend on the rules or the responses staying around.

Timestamps are when the bot received the events (``bot.store.received``), in milliseconds, as the
tally rules need them: never the ``origin_server_ts`` a sender's server writes.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import sqlite_utils

from ..conference import polls
from ..conference.polls import Poll, PollView, Response, Tally

POLLS = "polls"
RESPONSES = "poll_responses"


class PollStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    # ---- writes ----------------------------------------------------------------------

    def add_poll(
        self,
        poll_id: str,
        room_id: str,
        creator: str,
        content: dict,
        started_at: int,
        *,
        conference: str | None = None,
        track_id: str | None = None,
        talk_id: str | None = None,
    ) -> None:
        """Record a poll from its start event (idempotent: the first record stays)."""
        if polls.read_start(content) is None:
            raise ValueError(f"{poll_id} is not a usable poll start event")
        self.db[POLLS].insert(
            {
                "poll_id": poll_id,
                "room_id": room_id,
                "conference": conference,
                "track_id": track_id,
                "talk_id": talk_id,
                "creator": creator,
                "content": json.dumps(content),
                "started_at": started_at,
                "ended_at": None,
                "end_event_id": None,
                "results": None,
            },
            ignore=True,
        )

    def add_response(self, event_id: str, poll_id: str, sender: str, ts: int, answers: list) -> bool:
        """Record one response event; False when it was already recorded."""
        before = self.db[RESPONSES].count_where("event_id = ?", [event_id])
        if before:
            return False
        self.db[RESPONSES].insert(
            {"event_id": event_id, "poll_id": poll_id, "sender": sender, "ts": ts, "answers": json.dumps(answers)},
            ignore=True,
        )
        self._refresh_results(poll_id)
        return True

    def remove_response(self, event_id: str) -> bool:
        """Forget a redacted response: MSC3381 says the sender's vote reverts to its previous state."""
        rows = list(self.db[RESPONSES].rows_where("event_id = ?", [event_id], select="poll_id"))
        self.db[RESPONSES].delete_where("event_id = ?", [event_id])
        for row in rows:
            self._refresh_results(row["poll_id"])
        return bool(rows)

    def close(self, poll_id: str, ended_at: int, end_event_id: str | None = None) -> Tally:
        """Close a poll at a valid end event's timestamp and store its results.

        Only the earliest valid end counts, so a later end event leaves an earlier close alone.
        The caller checks validity (creator or someone with power to redact).
        """
        row = self._row(poll_id)
        if row["ended_at"] is None or ended_at < row["ended_at"]:
            self.db[POLLS].update(poll_id, {"ended_at": ended_at, "end_event_id": end_event_id})
        result = self._refresh_results(poll_id)
        assert result is not None  # the poll exists and is closed now
        return result

    # ---- reads -----------------------------------------------------------------------

    def poll(self, poll_id: str) -> Poll | None:
        try:
            return _poll(self._row(poll_id))
        except KeyError:
            return None

    def creator(self, poll_id: str) -> str | None:
        try:
            return self._row(poll_id)["creator"]
        except KeyError:
            return None

    def tally(self, poll_id: str) -> Tally:
        row = self._row(poll_id)
        return self._tally(poll_id, _poll(row), row["ended_at"])

    def in_room(self, room_id: str, *, open_only: bool = False) -> list[str]:
        """Poll ids in a room, oldest first (so ``!poll close <n>`` can number them)."""
        where = "room_id = ?" + (" and ended_at is null" if open_only else "")
        return [r["poll_id"] for r in self.db[POLLS].rows_where(where, [room_id], order_by="started_at, rowid")]

    def view(self, poll_id: str) -> PollView:
        return self._view(self._row(poll_id))

    def for_track(self, conference: str, track_id: str) -> list[PollView]:
        """Every poll in one conference's track, newest first, as the web server shows them."""
        rows = self.db[POLLS].rows_where("conference = ? AND track_id = ?", [conference, track_id],
                                         order_by="started_at desc, rowid desc")
        return [self._view(row) for row in rows]

    def in_conference(self, conference: str) -> list[PollView]:
        """Every poll of one conference, oldest first, with its counts so far (final once closed)."""
        rows = self.db[POLLS].rows_where("conference = ?", [conference], order_by="started_at, rowid")
        return [self._view(row) for row in rows]

    def export(self) -> list[dict]:
        """Every poll with its question, answers and (for closed polls) stored results, oldest first."""
        out = []
        for row in self.db[POLLS].rows_where(order_by="started_at, rowid"):
            poll = _poll(row)
            out.append(
                {
                    "poll_id": row["poll_id"],
                    "room_id": row["room_id"],
                    "track_id": row["track_id"],
                    "talk_id": row["talk_id"],
                    "creator": row["creator"],
                    "started_at": row["started_at"],
                    "ended_at": row["ended_at"],
                    **{k: v for k, v in asdict(poll).items()},
                    "results": json.loads(row["results"]) if row["results"] else None,
                }
            )
        return out

    # ---- helpers ---------------------------------------------------------------------

    def _row(self, poll_id: str) -> dict:
        try:
            return self.db[POLLS].get(poll_id)
        except sqlite_utils.db.NotFoundError:
            raise KeyError(poll_id) from None

    def _responses(self, poll_id: str) -> list[Response]:
        rows = self.db.query(f"select rowid, sender, ts, answers from {RESPONSES} where poll_id = ?", [poll_id])
        return [Response(r["sender"], r["ts"], json.loads(r["answers"]), order=r["rowid"]) for r in rows]

    def _refresh_results(self, poll_id: str) -> Tally | None:
        """Write a closed poll's results next to it. Also after the close: a response sent just
        before the end event can be read after it, and still counts."""
        try:
            row = self._row(poll_id)
        except KeyError:
            return None  # a response to a poll not recorded (yet)
        if row["ended_at"] is None:
            return None
        poll = _poll(row)
        result = self._tally(poll_id, poll, row["ended_at"])
        results = {
            "counts": result.counts,
            "voters": result.voters,
            "spoiled": result.spoiled,
            "text": polls.results_text(poll, result),
        }
        self.db[POLLS].update(poll_id, {"results": json.dumps(results)})
        return result

    def _tally(self, poll_id: str, poll: Poll, ended_at: int | None) -> Tally:
        return polls.tally(poll, self._responses(poll_id), ended_at)

    def _view(self, row: dict) -> PollView:
        poll = _poll(row)
        result = self._tally(row["poll_id"], poll, row["ended_at"])
        return PollView(
            poll_id=row["poll_id"],
            room_id=row["room_id"],
            track_id=row["track_id"],
            question=poll.question,
            answers=list(poll.answers),
            counts=result.counts,
            voters=result.voters,
            disclosed=poll.disclosed,
            closed=row["ended_at"] is not None,
            max_selections=poll.max_selections,
            started_at=row["started_at"] / 1000,
            talk_id=row["talk_id"],
            ended_at=None if row["ended_at"] is None else row["ended_at"] / 1000,
        )


def _poll(row: dict) -> Poll:
    poll = polls.read_start(json.loads(row["content"]))
    assert poll is not None  # add_poll stores only readable polls
    return poll
