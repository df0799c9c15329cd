"""``!poll``: native Matrix polls (MSC3381) that Element shows with its own voting UI.

- ``!poll "Question?" "A" "B" ... [--multi N] [--secret]`` (moderators) sends a poll start event.
- ``!poll list`` numbers the room's polls; ``!poll close [n]`` ends the latest open poll (or poll
  ``n``) with an end event carrying the results as text.
- Listeners record every response, end and redaction, so the tally in ``bot.store.polls`` follows
  the rules in ``bot.conference.polls`` whoever voted or ended the poll, in whatever client.
"""

from __future__ import annotations

from ..conference import polls
from ..conference.roles import Role, power_of
from ..conference.userinput import read_number
from ..store.polls import PollStore
from . import Context, UsageError, command, listener
from .message import italic, message, user

USAGE = f"{polls.USAGE}  ·  !poll list  ·  !poll close [n]"


#: Rooms whose polls show on the track's public widget; a backstage poll stays backstage.
PUBLIC_KINDS = ("track", "breakout")


def _where(ctx: Context) -> dict[str, str | None]:
    """What a poll is filed under: its conference and, in a public room, the track and live talk."""
    public = ctx.room.kind in PUBLIC_KINDS
    talk = ctx.live_talk if public else None
    return {"conference": ctx.room.conference, "track_id": ctx.room.track_id if public else None,
            "talk_id": talk.id if talk is not None else None}


@command("poll", help="start a poll Element shows natively, list or close polls", usage=USAGE,
         role=Role.MODERATOR)
async def poll(ctx: Context) -> None:
    words = ctx.args.split()
    if words[:1] == ["close"]:
        await _close(ctx, words[1:])
    elif words == ["list"]:
        await _list(ctx)
    else:
        await _start(ctx)


async def _start(ctx: Context) -> None:
    spec = polls.parse_poll(ctx.args)  # a PollError is a UsageError: the registry answers it
    content = polls.start_content(spec)
    poll_id = await ctx.send(polls.START, content)
    # The bot's own events never reach the listeners, so the poll is recorded here. Keyed on the
    # start event id: a re-run after a crash gets the same id back and records nothing new.
    ctx.store(PollStore).add_poll(poll_id, ctx.room.room_id, ctx.bot_user_id, content, ctx.received_ms,
                               **_where(ctx))
    # The poll repeats the command's question and answers, with vote buttons: the command line
    # above it is only clutter in the timeline.
    await ctx.remove_command("the poll is posted")


async def _close(ctx: Context, rest: list[str]) -> None:
    store = ctx.store(PollStore)
    want = "say which poll to close by its number from !poll list, or nothing for the latest"
    if len(rest) > 1:
        raise UsageError(want)
    if rest:
        every = store.in_room(ctx.room.room_id)
        n = read_number(rest[0], want)
        if n > len(every):
            raise UsageError(f"there is no poll {n} here; this room has {len(every)}")
        poll_id = every[n - 1]
        if store.view(poll_id).closed:
            await ctx.reply(message(f"Poll {n} is already closed."))
            return
    else:
        open_polls = store.in_room(ctx.room.room_id, open_only=True)
        if not open_polls:
            await ctx.reply(message("There is no open poll in this room."))
            return
        poll_id = open_polls[-1]
    poll_ = store.poll(poll_id)
    assert poll_ is not None
    # The poll closes when the bot received this command: a vote received after it does not
    # count, whatever date its sender's server wrote on it. The text counts what has arrived so
    # far; a vote received just before the command but stored after it still counts in the
    # stored result.
    result = store.tally(poll_id)
    end_id = await ctx.send(polls.END, polls.end_content(poll_id, poll_, result))
    store.close(poll_id, ctx.received_ms, end_id)


async def _list(ctx: Context) -> None:
    store = ctx.store(PollStore)
    ids = store.in_room(ctx.room.room_id)
    if not ids:
        await ctx.reply(message("No polls in this room yet."))
        return
    rows = []
    for poll_id in ids:
        view = store.view(poll_id)
        counts = view.visible_counts()
        if counts is None:
            detail: tuple = (f"{view.voters} voted, results hidden until it closes",)
        else:
            detail = tuple(part for n, (aid, text) in enumerate(view.answers)
                           for part in ((", " if n else ""), user(text), f": {counts[aid]}"))
        rows.append((user(view.question), " ", italic(f"({'closed' if view.closed else 'open'})"), " — ", *detail))
    await ctx.reply(message("Polls in this room:").items(rows, numbered=True))


# ----------------------------------------------------------------------------- listeners


@listener(polls.START)
async def on_start(ctx: Context) -> None:
    """A poll someone started from their own client (Element's poll button) is tallied too."""
    if polls.read_start(ctx.content) is not None:
        ctx.store(PollStore).add_poll(ctx.event_id, ctx.room.room_id, ctx.sender, ctx.content, ctx.received_ms,
                                   **_where(ctx))


@listener(polls.RESPONSE)
async def on_response(ctx: Context) -> None:
    parsed = polls.read_response(ctx.content)
    if parsed is not None:
        poll_id, answers = parsed
        ctx.store(PollStore).add_response(ctx.event_id, poll_id, ctx.sender, ctx.received_ms, answers)


@listener(polls.END)
async def on_end(ctx: Context) -> None:
    """An end event from a client closes the poll if its sender may (see ``may_end``)."""
    relates = ctx.content.get("m.relates_to")
    is_reference = isinstance(relates, dict) and relates.get("rel_type") == "m.reference"
    poll_id = relates.get("event_id") if is_reference else None
    store = ctx.store(PollStore)
    creator = store.creator(poll_id) if isinstance(poll_id, str) else None
    if creator is not None and may_end(ctx, creator):
        store.close(poll_id, ctx.received_ms, ctx.event_id)


def may_end(ctx: Context, creator: str) -> bool:
    """MSC3381: only the poll's creator or someone with power to redact others' events may end it.

    Organisers count through their role: room creators have unbounded power from room version 12
    on, and organisers named in the schedule get power 100 in every room Podium builds.
    """
    if ctx.sender == creator or ctx.role_of(ctx.sender) >= Role.ORGANISER:
        return True
    redact = ctx.power_levels.get("redact", 50)
    return power_of(ctx.sender, ctx.power_levels) >= (redact if isinstance(redact, int) else 50)


@listener("m.room.redaction")
async def on_redaction(ctx: Context) -> None:
    """A redacted response loses its relation: the sender's vote reverts to the one before."""
    redacts = ctx.event.get("redacts") or ctx.content.get("redacts")
    if isinstance(redacts, str):
        ctx.store(PollStore).remove_response(redacts)
