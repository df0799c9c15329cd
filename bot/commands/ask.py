"""Q&A: ``!ask``, ``!questions``, the moderators' ``!qa`` and 👍 votes on the bot's posts.

A question belongs to the talk live in its track (a breakout's questions to its own talk); a
moderator's ``!qa open`` between talks opens the track's Q&A on its own. The bot posts each
question as its own message; a 👍 reaction on that post is a vote, and redacting the reaction
withdraws it. Only these posts count: a 👍 on anything else is just a reaction.
"""

from __future__ import annotations

import html

from ..conference import qa
from ..conference.qa import ANSWERED, HIDDEN, OPEN, Question
from ..store.questions import QuestionStore
from . import Context, Role, UsageError, command, listener

KINDS = ("track", "breakout")
#: Chairs also read and run the list from the track's backstage, next to its Q&A board.
LIST_KINDS = (*KINDS, "backstage")
UPVOTE = "👍"
TOP_DEFAULT, TOP_MAX = 5, 20
QA_USAGE = "!qa open | close | top [n] | answered <n> | hide <n> | pin <n> | unpin <n>"


def questions(ctx: Context) -> QuestionStore:
    return ctx.store(QuestionStore)


def _scope(ctx: Context) -> tuple[str, str | None, str]:
    """(track id, talk id or None, what to call it) this room's questions go to now."""
    if ctx.room.track_id is None:
        raise UsageError("questions are asked in a track room or a talk's breakout room")
    talk = ctx.live_talk
    return ctx.room.track_id, (talk.id if talk else None), (f"“{talk.title}”" if talk else "this track")


def _line(q: Question) -> tuple[str, str]:
    mark = {ANSWERED: " ✓ answered", HIDDEN: " (hidden)"}.get(q.state, "")
    pin = "📌 " if q.pinned else ""
    body = f"{pin}Q{q.number} · {q.votes} {UPVOTE} · {q.asker_name}: {q.text}{mark}"
    formatted = (f"{pin}<b>Q{q.number}</b> · {q.votes} {UPVOTE} · {html.escape(q.asker_name)}: "
                 f"{html.escape(q.text)}{mark}")
    return body, formatted


async def _post_list(ctx: Context, title: str, listed: list[Question], empty: str) -> None:
    if not listed:
        await ctx.reply(f"{title}: {empty}", f"{html.escape(title)}: {html.escape(empty)}")
        return
    lines = [_line(q) for q in listed]
    await ctx.reply("\n".join([title, *(b for b, _ in lines)]),
                    f"<p>{html.escape(title)}</p><ul>" + "".join(f"<li>{f}</li>" for _, f in lines) + "</ul>")


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
    track_id, talk_id, what = _scope(ctx)
    if not qa.is_open(talk_id, store.session(conference, track_id)):
        await ctx.reply("Q&A is closed here right now: a moderator opens it with !qa open.",
                        "Q&amp;A is closed here right now: a moderator opens it with <code>!qa open</code>.")
        return
    asked_at = ctx.origin_server_ts
    wait = qa.rate_limited(store.asked_times(conference, ctx.sender, asked_at - qa.RATE_WINDOW), asked_at)
    if wait:
        await ctx.reply(f"You have asked {qa.RATE_COUNT} questions in the last minute; please wait "
                        f"{max(1, round(wait))} s and ask again.")
        return
    earlier = qa.duplicate_of(ctx.args, store.for_talk(conference, track_id, talk_id))
    if earlier is not None:
        added = store.vote(f"ask:{ctx.event_id}", conference, earlier.number, ctx.sender, asked_at)
        votes = earlier.votes + (1 if added else 0)
        state = " (already answered)" if earlier.state == ANSWERED else ""
        counted = "your vote is counted there" if added else "you had voted for it already"
        await ctx.reply(f"That looks like Q{earlier.number}{state}: “{earlier.text}”. Instead of a new question, "
                        f"{counted} ({votes} {UPVOTE}).",
                        f"That looks like <b>Q{earlier.number}</b>{state}: “{html.escape(earlier.text)}”. "
                        f"Instead of a new question, {counted} ({votes} {UPVOTE}).")
        return
    question = store.add(conference=conference, room_id=ctx.room.room_id, track_id=track_id, talk_id=talk_id,
                         asker=ctx.sender, asker_name=ctx.sender_name, text=ctx.args.strip(), asked_at=asked_at,
                         source_event_id=ctx.event_id)
    await _post_question(ctx, store, question)


async def _post_question(ctx: Context, store: QuestionStore, question: Question) -> None:
    body = f"Q{question.number} · {question.asker_name}: {question.text}"
    formatted = f"<b>Q{question.number}</b> · {html.escape(question.asker_name)}: {html.escape(question.text)}"
    event_id = await ctx.reply(f"{body}\n(👍 this message to upvote)", f"{formatted}<br><i>(👍 this message to upvote)</i>",
                               notice=False, thread=False)
    store.set_post(ctx.room.conference, question.number, event_id)


# ---- votes -------------------------------------------------------------------------------


@listener("m.reaction")
async def on_reaction(ctx: Context) -> None:
    relation = ctx.content.get("m.relates_to") or {}
    key = relation.get("key")
    if relation.get("rel_type") != "m.annotation" or not isinstance(key, str) or not key.startswith(UPVOTE):
        return
    found = questions(ctx).by_post(str(relation.get("event_id")))
    if found is not None:
        conference, question = found
        questions(ctx).vote(ctx.event_id, conference, question.number, ctx.sender, ctx.origin_server_ts)


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
    await _post_list(ctx, f"Top questions for {what}", listed[:TOP_DEFAULT],
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
            await ctx.reply(f"Q&A is open for {what}: ask with !ask <question>, upvote with 👍.",
                            f"Q&amp;A is open for {html.escape(what)}: ask with <code>!ask &lt;question&gt;</code>, "
                            f"upvote with 👍.")
        else:
            await ctx.reply(f"Q&A is closed for {what}.", f"Q&amp;A is closed for {html.escape(what)}.")
        return
    if action == "top":
        n = _number(rest, "how many", default=TOP_DEFAULT)
        listed = [q for q in store.for_talk(conference, track_id, talk_id) if q.state == OPEN]
        await _post_list(ctx, f"Top {min(n, TOP_MAX)} questions for {what}", listed[:min(n, TOP_MAX)],
                         "no open questions.")
        return
    if action not in ("answered", "hide", "pin", "unpin"):
        raise UsageError(f"there is no !qa {action}")
    number = _number(rest, "which question")
    question = store.get(conference, number)
    if question is None or question.track_id != track_id:
        await ctx.reply(f"There is no Q{number} in this track.")
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
    await ctx.reply(f"Q{number} {done}.")


def _no_more(rest: list[str]) -> None:
    if rest:
        raise UsageError(f"unexpected {rest[0]!r}")


def _number(rest: list[str], what: str, *, default: int | None = None) -> int:
    """A question number or a count: ``7`` or ``Q7``."""
    if not rest:
        if default is None:
            raise UsageError(f"say {what}, e.g. 7 or Q7")
        return default
    _no_more(rest[1:])
    text = rest[0].upper().removeprefix("Q")
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{rest[0]!r} is not a number (say {what}, e.g. 7 or Q7)")
    return int(text)
