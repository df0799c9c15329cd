"""Native Matrix polls (MSC3381, unstable ``org.matrix.msc3381.*`` names): pure functions only.

Parsing ``!poll`` arguments, building the start and end event contents, and tallying responses
are plain functions over plain data, so the rules can be tested without a homeserver. Sending and
storing live in ``bot.commands.poll`` and ``bot.store.polls``.

Tally rules, as MSC3381 (proposals/3381-polls.md in matrix-org/matrix-spec-proposals) states them:

- "Only a user's most recent vote (by ``origin_server_ts``) is accepted, even if that event is
  invalid." Podium reads "most recent" by when the bot received the vote (``bot.store.received``),
  not by ``origin_server_ts``, which the voter's server writes as it likes; ties (none, as the
  runtime stamps them) are broken by the order the events arrived in.
- "Clients must truncate this array to ``max_selections`` during processing." So a response with
  too many selections is not spoiled: its first ``max_selections`` entries count.
- "If *any* of the supplied answers is unknown, the sender's vote is spoiled (as if they didn't
  make a selection)." Checked on the truncated list, since truncation happens first.
- "If an entry is repeated after truncation, only one of those entries counts."
- An empty selection list unvotes.
- "If the poll is closed, only votes sent on or before that timestamp are considered, even if those
  votes are from before the start event." The timestamps are again the bot's receive times: a
  vote the bot received after the close does not count, however early it claims to be. (Element
  counts by ``origin_server_ts``; with honest servers the two agree.)
- An end event "from someone other than the poll creator or user with permission to redact
  other's messages in the room ... must be ignored"; "only the first (valid) closure event by
  ``origin_server_ts`` is counted" (by receive time here too). ``first_valid_end`` applies both; the caller supplies who
  may redact, because that depends on the room's power levels.
- A redacted response loses its relation, which "reverts" the vote to its previous state: callers
  drop redacted responses before tallying and the earlier response wins again.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .userinput import UsageError, one_line, quoted, read_number

START = "org.matrix.msc3381.poll.start"
RESPONSE = "org.matrix.msc3381.poll.response"
END = "org.matrix.msc3381.poll.end"
TEXT = "org.matrix.msc1767.text"
DISCLOSED = "org.matrix.msc3381.poll.disclosed"
UNDISCLOSED = "org.matrix.msc3381.poll.undisclosed"

MIN_OPTIONS = 2
#: MSC3381: "The array is truncated to 20 maximum options." Refusing more is kinder than
#: silently dropping the moderator's 21st option.
MAX_OPTIONS = 20
MAX_QUESTION = 500
MAX_OPTION = 200

SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"'})

USAGE = '!poll "Question?" "Option A" "Option B" ... [--multi N] [--secret]'


class PollError(UsageError):
    """Arguments that do not make a poll; the message is meant for the person who typed them."""


@dataclass(frozen=True)
class PollSpec:
    """What a moderator asked for: the question, the options in order, and how to vote."""

    question: str
    options: tuple[str, ...]
    max_selections: int = 1
    disclosed: bool = True


def parse_poll(args: str) -> PollSpec:
    """Parse the text after ``!poll``: quoted question and options, ``--multi N``, ``--secret``."""
    # Phones and some clients turn straight double quotes into typographic ones; accept both.
    # Typographic single quotes stay literal, so "What’s next?" keeps its apostrophe.
    args = args.translate(SMART_QUOTES)
    try:
        words = shlex.split(args)
    except ValueError as exc:  # an unclosed quote
        raise PollError(f"could not read the arguments ({exc}); usage: {USAGE}") from None
    texts: list[str] = []
    multi: int | None = None
    secret = False
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--secret":
            secret = True
        elif word == "--multi" or word.startswith("--multi="):
            if word == "--multi":
                i += 1
                if i >= len(words):
                    raise PollError("--multi needs a number: how many options each person may pick")
                value = words[i]
            else:
                value = word.split("=", 1)[1]
            try:
                multi = read_number(value, "--multi says how many options each person may pick", low=None)
            except UsageError as exc:
                raise PollError(str(exc)) from None
        elif word.startswith("--") and len(word) > 2:
            raise PollError(f"unknown option {quoted(word)}; usage: {USAGE}")
        else:
            texts.append(one_line(word))  # line breaks, runs of spaces and invisible characters go
        i += 1
    if not texts or not texts[0]:
        raise PollError(f"a poll needs a question; usage: {USAGE}")
    question, options = texts[0], texts[1:]
    if len(question) > MAX_QUESTION:
        raise PollError(f"the question is longer than {MAX_QUESTION} characters")
    if any(not option for option in options):
        raise PollError("an option is empty")
    if len(options) < MIN_OPTIONS:
        raise PollError(f"a poll needs at least {MIN_OPTIONS} options, got {len(options)}; usage: {USAGE}")
    if len(options) > MAX_OPTIONS:
        raise PollError(f"a poll can have at most {MAX_OPTIONS} options, got {len(options)}")
    for option in options:
        if len(option) > MAX_OPTION:
            raise PollError(f"an option is longer than {MAX_OPTION} characters")
    seen: set[str] = set()
    for option in options:
        key = option.casefold()
        if key in seen:
            raise PollError(f"the option {quoted(option)} is given twice")
        seen.add(key)
    if multi is not None and not 1 <= multi <= len(options):
        raise PollError(f"--multi must be between 1 and {len(options)} (the number of options), not {multi}")
    return PollSpec(question, tuple(options), multi or 1, not secret)


def answer_ids(count: int) -> list[str]:
    """Stable answer ids by position, so the same poll always gets the same ids."""
    return [f"a{n}" for n in range(1, count + 1)]


def fallback_text(question: str, options: Sequence[str]) -> str:
    return "\n".join([question, *(f"{n}. {option}" for n, option in enumerate(options, 1))])


def start_content(spec: PollSpec) -> dict:
    """The content of an ``org.matrix.msc3381.poll.start`` event for ``spec``."""
    return {
        TEXT: fallback_text(spec.question, spec.options),
        START: {
            "kind": DISCLOSED if spec.disclosed else UNDISCLOSED,
            "max_selections": spec.max_selections,
            "question": {TEXT: spec.question},
            "answers": [
                {"id": answer_id, TEXT: option}
                for answer_id, option in zip(answer_ids(len(spec.options)), spec.options)
            ],
        },
    }


@dataclass(frozen=True)
class Poll:
    """A poll as read back from its start event content (which may come from any client)."""

    question: str
    answers: tuple[tuple[str, str], ...]  # (answer id, text) in order
    max_selections: int
    disclosed: bool


def read_start(content: dict) -> Poll | None:
    """The poll in a start event's content, or None when it is not a usable poll. Its texts come
    from whoever started it, in any client: they are read as one line each (``one_line``), as
    everything the bot and the pages show of them."""
    body = content.get(START)
    if not isinstance(body, dict):
        return None
    question = body.get("question")
    question_text = (question.get(TEXT) or question.get("body")) if isinstance(question, dict) else None
    answers: list[tuple[str, str]] = []
    seen: set[str] = set()
    listed = body.get("answers")
    for answer in listed if isinstance(listed, list) else []:
        if not isinstance(answer, dict):
            continue
        answer_id, text = answer.get("id"), answer.get(TEXT) or answer.get("body")
        if isinstance(answer_id, str) and isinstance(text, str) and answer_id not in seen:
            answers.append((answer_id, one_line(text)))
            seen.add(answer_id)
    answers = answers[:MAX_OPTIONS]  # MSC3381: truncated to 20 options
    if not isinstance(question_text, str) or not answers:
        return None
    max_sel = body.get("max_selections", 1)
    if not isinstance(max_sel, int) or isinstance(max_sel, bool) or max_sel < 1:
        max_sel = 1  # "Must be greater than or equal to 1, and defaults to 1."
    # Unknown kinds are treated as undisclosed, as MSC3381 asks.
    return Poll(one_line(question_text), tuple(answers), max_sel, body.get("kind") == DISCLOSED)


def response_content(poll_id: str, answers: Sequence[str]) -> dict:
    """A response to ``poll_id`` (what a client sends; used by tests and benchmarks)."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_id},
        RESPONSE: {"answers": list(answers)},
    }


def read_response(content: dict) -> tuple[str, list] | None:
    """``(poll id, answers)`` from a response's content, or None when it refers to no poll.

    ``answers`` is returned as sent (possibly not a list of strings): the tally decides whether
    it spoils the vote, because even an invalid latest response replaces the earlier one.
    """
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != "m.reference":
        return None
    poll_id = relates.get("event_id")
    if not isinstance(poll_id, str):
        return None
    body = content.get(RESPONSE)
    answers = body.get("answers") if isinstance(body, dict) else None
    return poll_id, answers if isinstance(answers, list) else [None]  # [None] spoils


@dataclass(frozen=True)
class Response:
    sender: str
    ts: int  # when the bot received it (unix milliseconds), not the sender's origin_server_ts
    answers: Sequence  # as sent
    order: int = 0  # arrival order, breaks timestamp ties


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int]  # every answer id, in poll order, zero included
    voters: int  # users whose counted vote selects at least one answer
    spoiled: int  # users whose latest response was spoiled
    ballots: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sender -> counted answers


def counted_selection(answers: Sequence, known: set[str], max_selections: int) -> tuple[str, ...] | None:
    """What one response counts for: None when spoiled, () when empty."""
    truncated = list(answers)[:max_selections]
    if any(not isinstance(a, str) or a not in known for a in truncated):
        return None
    return tuple(dict.fromkeys(truncated))  # repeats count once, order kept


def tally(poll: Poll, responses: Iterable[Response], ended_at: int | None = None) -> Tally:
    """Count ``responses`` for ``poll``; ``ended_at`` is the valid end event's timestamp, if any."""
    latest: dict[str, Response] = {}
    for response in responses:
        if ended_at is not None and response.ts > ended_at:
            continue  # "Votes with timestamps after the poll has closed are ignored"
        current = latest.get(response.sender)
        if current is None or (response.ts, response.order) >= (current.ts, current.order):
            latest[response.sender] = response
    known = {answer_id for answer_id, _ in poll.answers}
    counts = {answer_id: 0 for answer_id, _ in poll.answers}
    ballots: dict[str, tuple[str, ...]] = {}
    voters = spoiled = 0
    for sender, response in latest.items():
        selection = counted_selection(response.answers, known, poll.max_selections)
        if selection is None:
            spoiled += 1
            continue
        if selection:
            voters += 1
            ballots[sender] = selection
            for answer_id in selection:
                counts[answer_id] += 1
    return Tally(counts, voters, spoiled, ballots)


@dataclass(frozen=True)
class EndCandidate:
    sender: str
    ts: int
    order: int = 0


def first_valid_end(creator: str, ends: Iterable[EndCandidate], may_redact: Callable[[str], bool]) -> EndCandidate | None:
    """The end event that closes the poll: the earliest from its creator or someone who may redact."""
    valid = [end for end in ends if end.sender == creator or may_redact(end.sender)]
    return min(valid, key=lambda end: (end.ts, end.order), default=None)


def results_text(poll: Poll, result: Tally) -> str:
    """Plain-text results for the end event and for export, answers in poll order."""
    lines = [f"The poll has ended: {poll.question}"]
    top = max(result.counts.values(), default=0)
    for answer_id, text in poll.answers:
        count = result.counts.get(answer_id, 0)
        mark = " ✓" if top and count == top else ""
        lines.append(f"{text}: {count} vote{'' if count == 1 else 's'}{mark}")
    lines.append(f"{result.voters} {'person' if result.voters == 1 else 'people'} voted.")
    return "\n".join(lines)


def end_content(poll_id: str, poll: Poll, result: Tally) -> dict:
    """The content of an ``org.matrix.msc3381.poll.end`` event closing ``poll_id``."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_id},
        TEXT: results_text(poll, result),
        END: {},
    }


@dataclass(frozen=True)
class PollView:
    """One poll as the web server shows it."""

    poll_id: str  # start event id
    room_id: str
    track_id: str | None
    question: str
    answers: list[tuple[str, str]]  # (answer id, text) in order
    counts: dict[str, int]  # answer id -> votes; hidden while an undisclosed poll is open
    voters: int
    disclosed: bool
    closed: bool
    max_selections: int
    started_at: float  # unix seconds
    talk_id: str | None = None  # the talk on in the track when the poll started
    ended_at: float | None = None  # unix seconds; None while open

    def visible_counts(self) -> dict[str, int] | None:
        """The counts a page may show: None while an undisclosed poll is still open."""
        if not self.disclosed and not self.closed:
            return None
        return dict(self.counts)
