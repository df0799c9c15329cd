"""Jobs sponsors' staff post with ``!job``, in SQLite (podium.db).

A job is keyed by the ``!job`` event that posted it, so the event handled again after a crash
finds its job instead of posting another. Numbers are per conference and sponsor and never given
twice: a job taken down stays, marked with the command that took it down, and the next number is taken in the same statement
that stores the job.
"""

from __future__ import annotations


import sqlite_utils

from ..conference.sponsors import Job
from .records import Records, insert_numbered

JOBS = "sponsor_jobs"


class JobStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self._rows = Records(db, JOBS, Job)

    def post(self, conference: str, sponsor: str, *, title: str, url: str, posted_by: str, posted_at: float,
             source_event_id: str) -> Job:
        """The job ``source_event_id`` posts: a new one with the sponsor's next number, or the one
        it posted already."""
        with self.db.conn:
            insert_numbered(self.db, JOBS, {
                "conference": conference, "sponsor": sponsor, "title": title, "url": url, "posted_by": posted_by,
                "posted_at": posted_at, "source_event_id": source_event_id}, numbered_within=("conference", "sponsor"))
        found = self._rows.one("WHERE source_event_id = ?", [source_event_id])
        assert found is not None
        return found

    def announced(self, source_event_id: str, event_id: str) -> None:
        """Note the job's post in the jobs room, so that removing the job can take the post down."""
        with self.db.conn:
            self.db.execute(f"UPDATE {JOBS} SET announced_event_id = ? WHERE source_event_id = ?",
                            [event_id, source_event_id])

    def remove(self, conference: str, sponsor: str, number: int, *, event_id: str) -> Job | None:
        """Job ``number`` after ``event_id`` tried to take it down (None: the sponsor has no such
        job); it did when the job's ``removal_event_id`` says so afterwards."""
        with self.db.conn:
            self.db.execute(f"""UPDATE {JOBS} SET removal_event_id = ?
                                WHERE conference = ? AND sponsor = ? AND number = ? AND removal_event_id IS NULL""",
                            [event_id, conference, sponsor, number])
        return self._rows.one("WHERE conference = ? AND sponsor = ? AND number = ?", [conference, sponsor, number])

    def listed(self, conference: str, sponsor: str) -> list[Job]:
        """The sponsor's jobs that were not removed, oldest first."""
        return self._rows.many("WHERE conference = ? AND sponsor = ? AND removal_event_id IS NULL ORDER BY number",
                          [conference, sponsor])
