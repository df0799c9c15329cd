"""Questions and votes in SQLite (podium.db), shared by the bot and the web server.

Every write is its own short transaction, committed at once: the web server opens the same file
with its own connection and notices changes through ``PRAGMA data_version``.

Idempotence is built into the keys, because after a crash the bot may handle an event again:
a question is keyed by the ``!ask`` event that made it, and a vote by the reaction event that
cast it, so handling an event twice changes nothing, and a redaction of the reaction finds the
vote it withdraws.

A question's votes are the people who put a 👍 on its post: the number Element shows under it.
Asking is no vote (data directories from before, where it was, keep those rows as ``ask:<event
id>``; they are not counted). A person may hold several votes for one question (👍 and 👍🏽); the
question counts people, not votes, so each counts once for as long as any of their votes stays.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from ..conference.qa import HIDDEN, STATES, Question, rank
from .records import insert_numbered

QUESTIONS, VOTES, SESSIONS = "qa_questions", "qa_votes", "qa_sessions"

_SELECT = f"""
    SELECT q.*, (SELECT COUNT(DISTINCT v.user) FROM {VOTES} v
                 WHERE v.conference = q.conference AND v.number = q.number AND v.key NOT LIKE 'ask:%') AS votes
    FROM {QUESTIONS} q
"""


class QuestionStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    # ---- reads (the web server uses for_track) -------------------------------------------

    def for_track(self, conference: str, track_id: str, *, include_hidden: bool = False) -> list[Question]:
        """Every question asked in one conference's track (all its talks), ranked."""
        return rank(self._select("WHERE q.conference = ? AND q.track_id = ?", [conference, track_id], include_hidden))

    def for_talk(self, conference: str, track_id: str | None, talk_id: str | None, *,
                 include_hidden: bool = False) -> list[Question]:
        """The questions of one talk (or of a track's Q&A between talks: ``talk_id`` None), ranked."""
        return rank(self._select("WHERE q.conference = ? AND q.track_id IS ? AND q.talk_id IS ?",
                                 [conference, track_id, talk_id], include_hidden))

    def in_conference(self, conference: str) -> list[Question]:
        """Every question of one conference, hidden ones too, by number (the order they were asked in)."""
        return sorted(self._select("WHERE q.conference = ?", [conference], True), key=lambda q: q.number)

    def get(self, conference: str, number: int) -> Question | None:
        found = self._select("WHERE q.conference = ? AND q.number = ?", [conference, number], True)
        return found[0] if found else None

    def by_source(self, source_event_id: str) -> tuple[str, Question] | None:
        """(conference, question) made by the ``!ask`` event ``source_event_id``."""
        return self._one("WHERE q.source_event_id = ?", source_event_id)

    def by_post(self, event_id: str) -> tuple[str, Question] | None:
        """(conference, question) whose bot post is ``event_id``."""
        return self._one("WHERE q.event_id = ?", event_id)

    def asked_times(self, conference: str, asker: str, since: float) -> list[float]:
        rows = self.db.execute(f"SELECT asked_at FROM {QUESTIONS} WHERE conference = ? AND asker = ? AND asked_at > ?",
                               [conference, asker, since]).fetchall()
        return [row[0] for row in rows]

    def session(self, conference: str, track_id: str) -> tuple[str, str | None] | None:
        row = self.db.execute(f"SELECT state, talk_id FROM {SESSIONS} WHERE conference = ? AND track_id = ?",
                              [conference, track_id]).fetchone()
        return None if row is None else (row[0], row[1])

    def _one(self, where: str, value: str) -> tuple[str, Question] | None:
        cursor = self.db.execute(f"{_SELECT} {where}", [value])
        row = cursor.fetchone()
        if row is None:
            return None
        record = dict(zip((d[0] for d in cursor.description), row))
        return record["conference"], _question(record)

    def _select(self, where: str, params: list[Any], include_hidden: bool) -> list[Question]:
        sql = f"{_SELECT} {where}" + ("" if include_hidden else f" AND q.state != '{HIDDEN}'")
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [_question(dict(zip(names, row))) for row in cursor.fetchall()]

    # ---- writes ------------------------------------------------------------------------

    def add(self, *, conference: str, room_id: str, track_id: str | None, talk_id: str | None, asker: str,
            asker_name: str, text: str, asked_at: float, source_event_id: str) -> Question:
        """Store a question under the next number of its conference, with no votes yet.
        Adding the same ``source_event_id`` again returns the question stored the first time."""
        with self.db.conn:
            insert_numbered(self.db, QUESTIONS, {
                "conference": conference, "room_id": room_id, "track_id": track_id, "talk_id": talk_id,
                "asker": asker, "asker_name": asker_name, "text": text, "asked_at": asked_at,
                "source_event_id": source_event_id}, numbered_within=("conference",))
            number = self.db.execute(f"SELECT number FROM {QUESTIONS} WHERE source_event_id = ?",
                                     [source_event_id]).fetchone()[0]
        question = self.get(conference, number)
        assert question is not None
        return question

    def set_post(self, conference: str, number: int, event_id: str) -> None:
        with self.db.conn:
            self.db.execute(f"UPDATE {QUESTIONS} SET event_id = ? WHERE conference = ? AND number = ?",
                            [event_id, conference, number])

    def vote(self, key: str, conference: str, number: int, user: str, at: float) -> bool:
        """Record ``user``'s vote cast by event ``key``; False if they had voted already (the
        vote is recorded all the same, and keeps theirs counted if the other one goes)."""
        with self.db.conn:
            had = self.db.execute(f"SELECT 1 FROM {VOTES} WHERE conference = ? AND number = ? AND user = ? "
                                  "AND key NOT LIKE 'ask:%' LIMIT 1", [conference, number, user]).fetchone() is not None
            return self._insert_vote(key, conference, number, user, at) and not had

    def _insert_vote(self, key: str, conference: str, number: int, user: str, at: float) -> bool:
        cursor = self.db.execute(f"INSERT OR IGNORE INTO {VOTES} (key, conference, number, user, at) VALUES (?, ?, ?, ?, ?)",
                                 [key, conference, number, user, at])
        return cursor.rowcount == 1

    def withdraw(self, key: str) -> tuple[str, int] | None:
        """Remove the vote cast by event ``key``; (conference, number) it was for, if any."""
        with self.db.conn:
            row = self.db.execute(f"SELECT conference, number FROM {VOTES} WHERE key = ?", [key]).fetchone()
            if row is None:
                return None
            self.db.execute(f"DELETE FROM {VOTES} WHERE key = ?", [key])
        return row[0], row[1]

    def set_state(self, conference: str, number: int, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown question state {state!r}")
        with self.db.conn:
            self.db.execute(f"UPDATE {QUESTIONS} SET state = ? WHERE conference = ? AND number = ?",
                            [state, conference, number])

    def set_pinned(self, conference: str, number: int, pinned: bool) -> None:
        with self.db.conn:
            # One pinned question per talk: pinning is "this one now", so it replaces the last.
            if pinned:
                self.db.execute(
                    f"""UPDATE {QUESTIONS} SET pinned = 0 WHERE conference = ? AND pinned = 1 AND
                        (track_id, talk_id) IS (SELECT track_id, talk_id FROM {QUESTIONS}
                                                WHERE conference = ? AND number = ?)""",
                    [conference, conference, number])
            self.db.execute(f"UPDATE {QUESTIONS} SET pinned = ? WHERE conference = ? AND number = ?",
                            [int(pinned), conference, number])

    def set_session(self, conference: str, track_id: str, state: str, talk_id: str | None) -> None:
        with self.db.conn:
            self.db.execute(f"INSERT OR REPLACE INTO {SESSIONS} (conference, track_id, state, talk_id) VALUES (?, ?, ?, ?)",
                            [conference, track_id, state, talk_id])


def _question(row: dict[str, Any]) -> Question:
    return Question(
        number=row["number"], room_id=row["room_id"], track_id=row["track_id"], talk_id=row["talk_id"],
        asker=row["asker"], asker_name=row["asker_name"], text=row["text"], asked_at=row["asked_at"],
        votes=row["votes"], state=row["state"], pinned=bool(row["pinned"]), event_id=row["event_id"],
    )
