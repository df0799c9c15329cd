"""The organisers' record of the event: every talk's questions and every poll's results, as JSON
and CSV files for a report or a spreadsheet.

Pure: the schedule and the rows the stores return in, the files' names and texts out;
``podium export archive`` reads the store and writes them. Who asked a question (Matrix ID and
display name) is personal data: it is in the files only when the organisers ask for it.

Times are ISO 8601 in UTC. In the CSV files yes/no values are ``true`` / ``false``, as in the JSON,
and a text that a spreadsheet would run as a formula (one starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return: anyone can ``!ask`` "=HYPERLINK(...)") starts with a ``'``, which
spreadsheets read as "this is text"; the JSON files keep every text exactly as stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.conference.polls import PollView
from bot.conference.qa import ANSWERED, HIDDEN, Question
from bot.conference.schedule import Schedule

QUESTIONS_JSON, QUESTIONS_CSV = "questions.json", "questions.csv"
POLLS_JSON, POLLS_CSV = "polls.json", "polls.csv"
#: Every file an archive is made of, in the order they are written and listed.
FILES = (QUESTIONS_JSON, QUESTIONS_CSV, POLLS_JSON, POLLS_CSV)

QUESTION_COLUMNS = ("track", "talk", "talk_title", "number", "text", "votes", "answered", "hidden", "pinned",
                    "asked_at")
ASKER_COLUMNS = ("asker", "asker_name")
POLL_COLUMNS = ("poll", "track", "talk", "question", "secret", "max_selections", "closed", "started_at",
                "ended_at", "voters", "option", "option_text", "votes")


def moment(seconds: float | None) -> str | None:
    """Unix seconds as ISO 8601 in UTC (``2026-07-13T08:12:05Z``), to the second."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def question_record(schedule: Schedule, question: Question, *, with_askers: bool) -> dict[str, Any]:
    """One question as both files show it."""
    titles = {talk.id: talk.title for talk in schedule.talks}
    record: dict[str, Any] = {
        "track": question.track_id,
        "talk": question.talk_id,
        "talk_title": titles.get(question.talk_id or ""),
        "number": question.number,
        "text": question.text,
        "votes": question.votes,
        "answered": question.state == ANSWERED,
        "hidden": question.state == HIDDEN,
        "pinned": question.pinned,
        "asked_at": moment(question.asked_at),
    }
    if with_askers:
        record |= {"asker": question.asker, "asker_name": question.asker_name}
    return record


def talk_order(schedule: Schedule, questions: Iterable[Question]) -> list[Question]:
    """The questions by talk, in the programme's order (a track's questions between talks after
    its talks; talks no longer in the schedule last), and within a talk by votes, then as asked."""
    starts = {talk.id: (talk.start, talk.id) for talk in schedule.talks}
    tracks = {track.id: i for i, track in enumerate(schedule.tracks)}
    last = (datetime.max.replace(tzinfo=UTC), "")

    def key(q: Question) -> tuple:
        return (q.talk_id not in starts, starts.get(q.talk_id or "", last), tracks.get(q.track_id or "", len(tracks)),
                q.track_id or "", q.talk_id or "", -q.votes, q.number)

    return sorted(questions, key=key)


def questions_json(schedule: Schedule, questions: Sequence[Question], *, with_askers: bool) -> dict[str, Any]:
    """``{"conference": ..., "talks": [{"track", "talk", "title", "start", "questions": [...]}]}``:
    one entry per talk that had questions (``talk`` null for a track's questions between talks)."""
    starts = {talk.id: talk.start for talk in schedule.talks}
    groups: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for question in talk_order(schedule, questions):
        record = question_record(schedule, question, with_askers=with_askers)
        group = groups.get((question.track_id, question.talk_id))
        if group is None:
            start = starts.get(question.talk_id or "")
            group = groups[(question.track_id, question.talk_id)] = {
                "track": question.track_id,
                "talk": question.talk_id,
                "title": record["talk_title"],
                "start": None if start is None else moment(start.timestamp()),
                "questions": [],
            }
        group["questions"].append({k: v for k, v in record.items() if k not in ("track", "talk", "talk_title")})
    return {"conference": _conference(schedule), "talks": list(groups.values())}


def poll_record(poll: PollView) -> dict[str, Any]:
    """One poll with every option's votes. The counts are the organisers' to see, a secret
    poll's included, even while it is still open (``closed`` says whether they are final)."""
    return {
        "poll": poll.poll_id,
        "track": poll.track_id,
        "talk": poll.talk_id,
        "question": poll.question,
        "secret": not poll.disclosed,
        "max_selections": poll.max_selections,
        "closed": poll.closed,
        "started_at": moment(poll.started_at),
        "ended_at": moment(poll.ended_at),
        "voters": poll.voters,
        "options": [{"option": answer_id, "text": text, "votes": int(poll.counts.get(answer_id, 0))}
                    for answer_id, text in poll.answers],
    }


def archive_files(schedule: Schedule, questions: Sequence[Question], polls: Sequence[PollView], *,
                  with_askers: bool = False) -> dict[str, str]:
    """File name -> text, for every file in :data:`FILES`."""
    questions_doc = questions_json(schedule, questions, with_askers=with_askers)
    question_rows = [question_record(schedule, q, with_askers=with_askers) for q in talk_order(schedule, questions)]
    poll_records = [poll_record(poll) for poll in polls]
    poll_rows = [{**{k: v for k, v in record.items() if k != "options"}, "option": option["option"],
                  "option_text": option["text"], "votes": option["votes"]}
                 for record in poll_records for option in record["options"]]
    return {
        QUESTIONS_JSON: _json(questions_doc),
        QUESTIONS_CSV: _csv(QUESTION_COLUMNS + (ASKER_COLUMNS if with_askers else ()), question_rows),
        POLLS_JSON: _json({"conference": _conference(schedule), "polls": poll_records}),
        POLLS_CSV: _csv(POLL_COLUMNS, poll_rows),
    }


def _conference(schedule: Schedule) -> dict[str, str]:
    return {"id": schedule.conference.id, "name": schedule.conference.name}


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row[column]) for column in columns})
    return out.getvalue()


#: What makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A text as a CSV cell holds it: as it is, unless a spreadsheet would run it."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> str:
    """A CSV cell: yes/no as ``true``/``false`` (as in the JSON), nothing for a missing value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return csv_text(value) if isinstance(value, str) else str(value)
