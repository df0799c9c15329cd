"""Q&A: ``!ask``, ``!questions``, the moderators' ``!qa`` and 👍 votes on the bot's posts.

A question belongs to the talk live in its track (a breakout's questions to its own talk); a
moderator's ``!qa open`` between talks opens the track's Q&A on its own. The bot posts each
question as its own message; a 👍 reaction on that post (any skin tone: ``qa.is_upvote``) is a
vote, and redacting the reaction withdraws it. Someone who reacted with two kinds of 👍 votes
once, for as long as either reaction stays. Only these posts count: a 👍 on anything else is
just a reaction.

The post takes the place of the ``!ask`` line: once it is up, the command is removed, so the
room shows each question once, in the post people vote on.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from ..conference import qa
from ..conference.qa import ANSWERED, HIDDEN, OPEN, UPVOTE, Question
from ..conference.userinput import one_line, quoted, read_number
from ..store.questions import QuestionStore
from . import Context, Role, UsageError, command, listener
from .message import Message, bold, code, italic, message, user

KINDS = ("track", "breakout")
#: Chairs also read and run the list from the track's backstage, next to its Q&A board.
LIST_KINDS = (*KINDS, "backstage")
TOP_DEFAULT, TOP_MAX = 5, 20
QA_USAGE = "!qa open | close | top [n] | answered <n> | hide <n> | pin <n> | unpin <n>"


def questions(ctx: Context) -> QuestionStore:
    return ctx.store(QuestionStore)


def _scope(ctx: Context) -> tuple[str, str | None, tuple]:
    """(track id, talk id or None, what to call it: message parts) this room's questions go to now."""
    if ctx.room.track_id is None:
        raise UsageError("questions are asked in a track room or a talk's breakout room")
    talk = ctx.live_talk
    return ctx.room.track_id, (talk.id if talk else None), (("“", user(talk.title), "”") if talk else ("this track",))


def _closed(ctx: Context, live: tuple | None) -> Message:
    """Why a question is refused, and when this room takes questions again: ``live`` names the
    talk on now, whose Q&A a moderator closed."""
    if live is not None:
        return message("Q&A for ", *live, " is closed: a moderator opens it again with ", code("!qa open"), ".")
    upcoming = ctx.upcoming_talk
    if upcoming is None:
        return message("Q&A is closed here right now: a moderator opens it with ", code("!qa open"), ".")
    zone = ZoneInfo(ctx.schedule.conference.timezone)
    starts = upcoming.start.astimezone(zone)
    day = "" if starts.date() == ctx.now.astimezone(zone).date() else f"{starts:%A} "
    return message("Q&A is closed here right now: no talk is on. It opens with “", user(upcoming.title), "” at ",
                   f"{day}{starts:%H:%M}, or when a moderator sends ", code("!qa open"), ".")


def _line(q: Question) -> tuple:
    mark = {ANSWERED: " ✓ answered", HIDDEN: " (hidden)"}.get(q.state, "")
    pin = "📌 " if q.pinned else ""
    return (pin, bold(q.label), f" · {q.votes} {UPVOTE} · ", user(q.asker_name), ": ", user(q.text), mark)


def _heading(open_questions: int, shown: int) -> str:
    """The list's heading: "Top 5 questions for" over a list cut short, "Open questions for" over all."""
    return f"Top {shown} questions for " if open_questions > shown else "Open questions for "


async def _post_list(ctx: Context, title: tuple, listed: list[Question], empty: str) -> None:
    if not listed:
        await ctx.reply(message(*title, f": {empty}"))
        return
    await ctx.reply(message(*title).items(_line(q) for q in listed))


# ---- !ask --------------------------------------------------------------------------------


@command("ask", help="ask the speaker a question (others upvote it with 👍)", usage="!ask <question>", kinds=KINDS)
async def ask(ctx: Context) -> None:
    store = questions(ctx)
    conference = ctx.room.conference
    again = store.by_source(ctx.event_id)
    if again is not None:  # handled before a crash: finish posting it
        await _post_question(ctx, store, again[1])
        return
    problem = qa.check_text(ctx.args)
    if problem:
        raise UsageError(problem)
    # Stored as shown: one line, nothing invisible, so the board and the bot's posts agree.
    text = one_line(ctx.args)
    track_id, talk_id, what = _scope(ctx)
    if not qa.is_open(talk_id, store.session(conference, track_id)):
        await ctx.reply(_closed(ctx, what if talk_id else None))
        return
    asked_at = ctx.received_at
    wait = qa.rate_limited(store.asked_times(conference, ctx.sender, asked_at - qa.RATE_WINDOW), asked_at)
    if wait:
        await ctx.reply(message(f"You have asked {qa.RATE_COUNT} questions in the last minute; please wait "
                                f"{max(1, round(wait))} s and ask again."))
        return
    earlier = qa.duplicate_of(text, store.for_talk(conference, track_id, talk_id))
    if earlier is not None:
        # Votes are the 👍 on a question's post, the count Element shows there: asking again is
        # pointed at that post rather than counted where nobody sees it.
        state = " (already answered)" if earlier.state == ANSWERED else ""
        await ctx.reply(message("That looks like ", bold(earlier.label), f"{state}: “", user(earlier.text),
                                f"” ({earlier.votes} {UPVOTE}). Instead of a new question, put a {UPVOTE} on it."))
        return
    question = store.add(conference=conference, room_id=ctx.room.room_id, track_id=track_id, talk_id=talk_id,
                         asker=ctx.sender, asker_name=one_line(ctx.sender_name), text=text, asked_at=asked_at,
                         source_event_id=ctx.event_id)
    await _post_question(ctx, store, question)


async def _post_question(ctx: Context, store: QuestionStore, question: Question) -> None:
    post = (message(bold(question.label), " · ", user(question.asker_name), ": ", user(question.text))
            .line(italic(f"({UPVOTE} this message to upvote)")))
    event_id = await ctx.reply(post, notice=False, thread=False)
    store.set_post(ctx.room.conference, question.number, event_id)
    await ctx.remove_command("the question is posted")


# ---- votes -------------------------------------------------------------------------------


@listener("m.reaction")
async def on_reaction(ctx: Context) -> None:
    relation = ctx.content.get("m.relates_to")
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.annotation":
        return
    post = relation.get("event_id")
    if not isinstance(post, str) or not qa.is_upvote(relation.get("key")):
        return
    found = questions(ctx).by_post(post)
    if found is not None:
        conference, question = found
        questions(ctx).vote(ctx.event_id, conference, question.number, ctx.sender, ctx.received_at)


@listener("m.room.redaction")
async def on_redaction(ctx: Context) -> None:
    # Room versions up to 10 carry ``redacts`` at the top level, 11 and later in the content.
    redacts = ctx.content.get("redacts") or ctx.event.get("redacts")
    if isinstance(redacts, str):
        questions(ctx).withdraw(redacts)


# ---- reading the list --------------------------------------------------------------------


@command("questions", help="the top questions for the talk on now", usage="!questions", kinds=LIST_KINDS)
async def list_questions(ctx: Context) -> None:
    track_id, talk_id, what = _scope(ctx)
    listed = [q for q in questions(ctx).for_talk(ctx.room.conference, track_id, talk_id) if q.state == OPEN]
    await _post_list(ctx, (_heading(len(listed), TOP_DEFAULT), *what), listed[:TOP_DEFAULT],
                     "none yet. Ask one with !ask <question>.")


# ---- moderators --------------------------------------------------------------------------


@command("qa", help="run the Q&A: open, close, top [n], answered/hide/pin/unpin <n>", usage=QA_USAGE,
         role=Role.MODERATOR, kinds=LIST_KINDS)
async def moderate(ctx: Context) -> None:
    argv = ctx.argv
    if not argv:
        raise UsageError("say what to do")
    action, rest = argv[0].lower(), argv[1:]
    store = questions(ctx)
    conference = ctx.room.conference
    track_id, talk_id, what = _scope(ctx)
    if action in ("open", "close"):
        _no_more(rest)
        store.set_session(conference, track_id, OPEN if action == "open" else "closed", talk_id)
        if action == "open":
            await ctx.reply(message("Q&A is open for ", *what, ": ask with ", code("!ask <question>"),
                                    f", upvote with {UPVOTE}."))
        else:
            await ctx.reply(message("Q&A is closed for ", *what, "."))
        return
    if action == "top":
        n = min(_number(rest, "say how many, e.g. 5", default=TOP_DEFAULT), TOP_MAX)
        listed = [q for q in store.for_talk(conference, track_id, talk_id) if q.state == OPEN]
        await _post_list(ctx, (_heading(len(listed), n), *what), listed[:n], "no open questions.")
        return
    if action not in ("answered", "hide", "pin", "unpin"):
        raise UsageError(f"there is no !qa {quoted(action)}")
    number = _number(rest, "say which question, e.g. 7 or Q7")
    question = store.get(conference, number)
    if question is None or question.track_id != track_id:
        await ctx.reply(message(f"There is no Q{number} in this track."))
        return
    if action == "answered":
        store.set_state(conference, number, ANSWERED)
        done = "marked answered"
    elif action == "hide":
        store.set_state(conference, number, HIDDEN)
        done = "hidden from the lists"
    else:
        store.set_pinned(conference, number, action == "pin")
        done = "pinned to the top" if action == "pin" else "unpinned"
    await ctx.reply(message(f"Q{number} {done}."))


def _no_more(rest: list[str]) -> None:
    if rest:
        raise UsageError(f"unexpected {quoted(rest[0])}")


def _number(rest: list[str], want: str, *, default: int | None = None) -> int:
    """A question number or a count: ``7`` or ``Q7``."""
    if not rest:
        if default is None:
            raise UsageError(want)
        return default
    _no_more(rest[1:])
    return read_number(rest[0], want, prefix="Q")
