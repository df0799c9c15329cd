"""Q&A rules as pure functions: the question record, ranking, near-duplicates and limits.

Storing questions is ``bot.store.questions``; talking to attendees is ``bot.commands.ask``. Everything
here is plain data in, plain data out, so the rules are unit- and property-tested.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .userinput import text_problem

OPEN, ANSWERED, HIDDEN = "open", "answered", "hidden"
STATES = (OPEN, ANSWERED, HIDDEN)

#: Longer than a tweet is a talk of its own; the speaker reads the question aloud.
MAX_LENGTH = 500
MIN_LENGTH = 3
#: At most RATE_COUNT questions per user per RATE_WINDOW seconds: enough for a real follow-up,
#: too few to flood the list.
RATE_COUNT = 3
RATE_WINDOW = 60.0

#: Two questions whose normalised texts are at least this similar are the same question.
#: Similarity compares words, not characters: the larger of difflib's ratio over the word
#: sequences and the Jaccard index of the word sets (which forgives reordering). Characters
#: would call "Will slides be shared?" and "Will videos be shared?" 90 % alike; by words they
#: are 75 %. At 0.85 the same question retyped (case, punctuation, "what's" for "what is") or
#: with one word changed in seven ("How do/can I install it on Windows?") is a duplicate; one
#: word changed in four, or a question with a qualifier added ("... in Django?"), is not.
DUPLICATE_THRESHOLD = 0.85


#: The reaction that is a vote, shown in the bot's messages.
UPVOTE = "👍"
#: 👍 in any of the forms clients send it: with a skin tone (U+1F3FB to U+1F3FF), with the emoji or
#: text variation selector (U+FE0F, U+FE0E) or without, and the shortcodes of clients and bridges
#: that send the name rather than the emoji.
_UPVOTE_KEY = re.compile("\U0001F44D[\uFE0E\uFE0F]?[\U0001F3FB-\U0001F3FF]?[\uFE0E\uFE0F]?")
_UPVOTE_NAMES = frozenset((":+1:", ":thumbsup:"))


def is_upvote(key: object) -> bool:
    """Whether a reaction with ``key`` is a vote. Every form counts as the same vote, so a
    person's 👍 and 👍🏽 on one question are one vote, kept while either of them stays."""
    if not isinstance(key, str):
        return False
    return _UPVOTE_KEY.fullmatch(key) is not None or key.casefold() in _UPVOTE_NAMES


@dataclass(frozen=True)
class Question:
    number: int  # the N in "QN"
    room_id: str
    track_id: str | None
    talk_id: str | None
    asker: str  # Matrix ID (never shown on public pages)
    asker_name: str  # display name
    text: str
    asked_at: float  # unix seconds
    votes: int
    state: str  # "open" | "answered" | "hidden"
    pinned: bool
    event_id: str | None  # the bot's post that attendees react to

    @property
    def label(self) -> str:
        return f"Q{self.number}"


def rank(questions: Iterable[Question]) -> list[Question]:
    """Pinned first, then most votes, then oldest (then lowest number, so ties are stable)."""
    return sorted(questions, key=lambda q: (not q.pinned, -q.votes, q.asked_at, q.number))


# ---- near-duplicates ---------------------------------------------------------------------

_CONTRACTIONS = {"what's": "what is", "how's": "how is", "it's": "it is", "isn't": "is not",
                 "don't": "do not", "doesn't": "does not", "can't": "can not", "won't": "will not",
                 "aren't": "are not", "there's": "there is", "i'm": "i am", "you're": "you are"}


def normalise(text: str) -> str:
    """Case, accents' forms, punctuation and spacing removed: what is left is the wording."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    words = []
    for word in text.split():
        word = word.strip(".,;:!?¿¡\"()[]{}<>*_`~")
        words.append(_CONTRACTIONS.get(word, word))
    text = " ".join(words)
    text = re.sub(r"[^\w\s]", " ", text)  # "free-threading" is "free threading"
    return " ".join(text.split())


def similarity(a: str, b: str) -> float:
    """How alike two questions are, 0 to 1, after ``normalise``; symmetric."""
    return _wording(a).similarity(_wording(b))


class _Wording:
    """A question's words after ``normalise``, kept for comparing it with many others."""

    def __init__(self, text: str):
        self.text = normalise(text)
        self.words = self.text.split()
        self.bag = Counter(self.words)
        self.distinct = frozenset(self.bag)

    def similarity(self, other: _Wording, floor: float = 0.0) -> float:
        """``similarity`` of the two texts; when it is certainly below ``floor``, some value
        below ``floor`` instead, found without the costly word-order comparison."""
        if self.text == other.text:
            return 1.0 if self.text else 0.0
        if not self.text or not other.text:
            return 0.0
        shared = self.distinct & other.distinct
        overlap = len(shared) / len(self.distinct | other.distinct)
        # The word-order ratio never exceeds the share of words the two have in common (what
        # difflib's quick_ratio computes), so below the floor on both counts means below it.
        common = sum(min(self.bag[w], other.bag[w]) for w in shared)
        if max(overlap, 2.0 * common / (len(self.words) + len(other.words))) < floor:
            return overlap
        # SequenceMatcher is not quite symmetric (it picks matching blocks greedily): take both ways.
        order = max(difflib.SequenceMatcher(None, self.words, other.words, autojunk=False).ratio(),
                    difflib.SequenceMatcher(None, other.words, self.words, autojunk=False).ratio())
        return max(order, overlap)


@lru_cache(maxsize=4096)
def _wording(text: str) -> _Wording:
    """Each question is compared with every later one in its talk: normalise its text once."""
    return _Wording(text)


def duplicate_of(text: str, earlier: Iterable[Question], threshold: float = DUPLICATE_THRESHOLD) -> Question | None:
    """The earlier question (not hidden) that ``text`` repeats, the most similar one; ties go to
    the older question."""
    wording = _wording(text)
    best: tuple[float, float, int] | None = None
    match: Question | None = None
    for question in earlier:
        if question.state == HIDDEN:
            continue
        score = wording.similarity(_wording(question.text), floor=threshold)
        if score < threshold:
            continue
        key = (score, -question.asked_at, -question.number)
        if best is None or key > best:
            best, match = key, question
    return match


# ---- limits ------------------------------------------------------------------------------


def check_text(text: str) -> str | None:
    """Why ``text`` cannot be a question, or None when it can. The minimum counts what a reader
    sees (zero-width and control characters are not a question); the maximum counts the text as
    the bot stores and shows it, on one line."""
    return text_problem(text, least=MIN_LENGTH, most=MAX_LENGTH, missing="write the question after !ask",
                        what="questions")


def rate_limited(previous: Sequence[float], now: float, count: int = RATE_COUNT, window: float = RATE_WINDOW) -> float:
    """Seconds to wait before the next question, given when the user asked before (0: may ask)."""
    recent = sorted(t for t in previous if now - window < t <= now)
    if len(recent) < count:
        return 0.0
    return recent[-count] + window - now


def is_open(live_talk_id: str | None, override: tuple[str, str | None] | None) -> bool:
    """Whether Q&A takes questions: open while a talk is live unless a moderator closed it for
    that talk, and between talks only when a moderator opened it.

    ``override`` is the moderator's last ``(state, talk_id)`` for the room; a decision taken
    for one talk does not carry over to the next.
    """
    if override is not None and override[1] == live_talk_id:
        return override[0] == OPEN
    return live_talk_id is not None
