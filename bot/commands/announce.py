"""``!announce``: an organiser's announcement, posted in every public room at once.

Made in the announcements room; it goes to the lobby's rooms and the track rooms, or with
``--tracks`` / ``--lobby`` to those alone (``bot.conference.announcements``). Each room gets it
exactly once, also when the bot stops half-way: the rooms are recorded with the announcement,
each delivery before and after its request (``bot.store.announcements``), and every request's
transaction id comes from the announcement and the room, so a request repeated after a restart
is one the homeserver has seen and drops.

Attendees read the announcement once: the bot's post. The command is removed from the
announcements room once every room has it, and the organiser alone is told how it went (in
rooms, and where it could not be posted), in their direct chat with the bot.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from ..conference import announcements
from ..conference.announcements import ANNOUNCEMENTS_ROOM, USAGE, Announcement
from ..conference.display import place_name
from ..matrix import MatrixError
from ..store.announcements import SENT, AnnouncementStore, Delivery
from ..wording import counted
from . import Context, Role, UsageError, command, usage_answer
from .message import Message, bold, code, message, room, user

log = logging.getLogger(__name__)


@command("announce", help="organisers: post an announcement in every public room (--tracks or --lobby: only those)",
         usage=USAGE, role=Role.ORGANISER, kinds=("lobby",))
async def announce(ctx: Context) -> None:
    if ctx.room.key != ANNOUNCEMENTS_ROOM:
        where = ctx.room_of(ANNOUNCEMENTS_ROOM)
        await ctx.tell_sender(message("Announcements are made in the ",
                                      room(ctx.links, ANNOUNCEMENTS_ROOM, place_name(ctx.schedule, ANNOUNCEMENTS_ROOM)),
                                      " room" if where is not None else " room, which this conference does not have",
                                      ": send ", code("!announce"), " there."))
        return
    store = ctx.store(AnnouncementStore)
    try:
        said = announcements.parse(ctx.args)
    except UsageError as exc:  # for the organiser alone: attendees read this room too
        assert ctx.command is not None
        await ctx.tell_sender(usage_answer(exc, ctx.command))
        return
    rooms = announcements.targets(ctx.rooms(), said.selector)
    deliveries = store.start(ctx.event_id, conference=ctx.room.conference, sender=ctx.sender,
                             selector=said.selector, text="\n".join(said.lines), at=ctx.received_at,
                             rooms=[(room.key, room.room_id) for room in rooms])
    post = _post(said).content(notice=False)
    outcomes = await asyncio.gather(*(_deliver(ctx, store, delivery, post) for delivery in deliveries
                                      if delivery.state != SENT), return_exceptions=True)
    failed = [o for o in outcomes if _refusal(o)]
    retry = next((o for o in outcomes if isinstance(o, BaseException) and not _refusal(o)), None)
    if retry is not None:
        raise retry  # not handled: the rooms not reached yet get it once the homeserver is back
    reached = [d for d in store.deliveries(ctx.event_id) if d.state == SENT]
    if not deliveries:
        await ctx.tell_sender(message("There is no room to announce in yet."))
        return
    # Attendees read the post, wherever it went; the command line only says it again.
    await ctx.remove_command("the announcement is posted")
    reply = message("📣 Announced in ", counted(len(reached), "room"), ": ",
                    ", ".join(place_name(ctx.schedule, d.room_key) for d in reached) or "none", ".")
    if failed:
        reply = reply.line(f"Could not post in {counted(len(failed), 'room')}: ", user(str(failed[0]), 200))
    await ctx.tell_sender(reply)


def _post(said: Announcement) -> Message:
    post = message("📣 ", bold("Announcement"))
    for line in said.lines:
        post = post.line(user(line))
    return post


async def _deliver(ctx: Context, store: AnnouncementStore, delivery: Delivery, content: dict) -> MatrixError | None:
    """Post the announcement in one room, recorded before and after; a refusal is returned, a
    transient failure raised."""
    store.sending(ctx.event_id, delivery.room_key)
    try:
        posted = await ctx.transport.send(delivery.room_id, "m.room.message", dict(content),
                                          _txn_id(ctx.event_id, delivery.room_key))
    except MatrixError as exc:
        if exc.transient:
            raise
        log.warning("announcement %s not posted in %s: %s", ctx.event_id, delivery.room_key, exc)
        return exc
    store.sent(ctx.event_id, delivery.room_key, posted)
    return None


def _refusal(outcome: object) -> bool:
    """The homeserver said no for good (no power there, a room the bot left): nothing to retry."""
    return isinstance(outcome, MatrixError) and not outcome.transient


def _txn_id(event_id: str, room_key: str) -> str:
    """The same for one announcement in one room across restarts, different for every other."""
    digest = hashlib.sha256(f"{event_id}\n{room_key}".encode()).hexdigest()[:40]
    return f"podium.announce.{digest}"
