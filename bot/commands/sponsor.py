"""A sponsor's booth room: ``!job`` posts a job offer to the jobs room and the booth page, and
lists or takes down the sponsor's jobs; ``!swag`` gives an attendee one of the sponsor's digital
swag codes, in a direct message, and tells the sponsor's staff how many are left.

The sponsor's staff (the schedule's ``staff`` of the sponsor) moderate their booth room, so they
post and remove jobs there; so may the conference's moderators and organisers. Sends derive
their transaction ids from the event being handled and are made in the same order every time,
so a command handled again after a crash posts nothing twice.
"""

from __future__ import annotations

import logging

from ..conference.display import place_name
from ..conference.roles import Role
from ..conference.schedule import Sponsor
from ..conference.sponsors import (
    JOBS_ROOM,
    SPONSOR_KIND,
    Job,
    http_url,
    parse_job,
    sponsor_of,
)
from ..conference.userinput import UsageError, quoted, read_number
from ..matrix import MatrixError
from ..store.jobs import JobStore
from ..store.swag import SwagStore
from ..wording import counted
from . import Context, command
from .message import Message, Part, bold, code, link, message, user

log = logging.getLogger(__name__)

#: At most this many jobs in one ``!job`` answer; the rest are counted.
LIST_MAX = 20
STAFF = Role.MODERATOR


def _sponsor(ctx: Context) -> Sponsor:
    sponsor = sponsor_of(ctx.schedule, ctx.room.key)
    if sponsor is None:  # a sponsor taken off the schedule
        raise UsageError("this sponsor is no longer in the schedule")
    return sponsor


async def _refuse(ctx: Context, what: str, *instead: Part) -> None:
    await ctx.reply(message(f"Sorry, only the sponsor's staff {what}. ", *instead))


# ---- !job --------------------------------------------------------------------------------


@command("job", help="the sponsor's jobs; its staff post one to the jobs room with !job <title> <url> and take "
                     "one down with !job remove <n>",
         usage="!job [<title> <url> | remove <n>]", kinds=(SPONSOR_KIND,))
async def job(ctx: Context) -> None:
    sponsor = _sponsor(ctx)
    first, _, rest = ctx.args.partition(" ")
    if not ctx.args:
        await _list_jobs(ctx, sponsor)
    elif ctx.role < STAFF:
        await _refuse(ctx, "post and take down jobs", "Send ", code("!job"), " alone to see the jobs.")
    elif first.lower() == "remove":
        await _remove_job(ctx, sponsor, rest.strip())
    else:
        await _post_job(ctx, sponsor)


async def _post_job(ctx: Context, sponsor: Sponsor) -> None:
    title, url = parse_job(ctx.args)
    store = ctx.store(JobStore)
    posted = store.post(ctx.room.conference, sponsor.id, title=title, url=url, posted_by=ctx.sender,
                        posted_at=ctx.received_at, source_event_id=ctx.event_id)
    jobs_room = ctx.room_of(JOBS_ROOM)
    where: tuple[Part, ...] = (" on the booth page.",)
    if jobs_room is not None:
        announced = await ctx.send("m.room.message", message(user(sponsor.name), " is hiring: ", _job(posted))
                                   .content(notice=False), room_id=jobs_room.room_id)
        store.announced(ctx.event_id, announced)
        where = (" in the ", user(place_name(ctx.schedule, JOBS_ROOM)), " room and on the booth page.")
    await ctx.reply(message(f"Posted job {posted.label}, “", user(posted.title), "”,", *where)
                    .line("Take it down with ", code(f"!job remove {posted.number}"), "."))


async def _remove_job(ctx: Context, sponsor: Sponsor, args: str) -> None:
    words = args.split()
    if not words:
        raise UsageError("say which job to take down, e.g. !job remove 2")
    if len(words) > 1:
        raise UsageError(f"unexpected {quoted(words[1])}; name one job")
    number = read_number(words[0], "say which job, e.g. 2 or #2", prefix="#")
    removed = ctx.store(JobStore).remove(ctx.room.conference, sponsor.id, number, event_id=ctx.event_id)
    if removed is None:
        await ctx.reply(message(user(sponsor.name), f" has no job #{number} posted here. ", code("!job"),
                                " lists them; the jobs schedule.yaml lists change there."))
        return
    jobs_room = ctx.room_of(JOBS_ROOM)
    if removed.removal_event_id == ctx.event_id and removed.announced_event_id and jobs_room is not None:
        await ctx.remove(removed.announced_event_id, "the job was taken down", room_id=jobs_room.room_id)
    await ctx.reply(message(f"Job {removed.label}, “", user(removed.title), "”, is taken down."))


async def _list_jobs(ctx: Context, sponsor: Sponsor) -> None:
    rows: list[tuple[Part, ...]] = [(_listed(job.title, job.url),) for job in sponsor.jobs]
    rows += [(bold(posted.label), " ", _job(posted)) for posted in ctx.store(JobStore).listed(ctx.room.conference,
                                                                                               sponsor.id)]
    if not rows:
        reply = message(user(sponsor.name), " lists no jobs yet.")
    else:
        reply = message("Jobs at ", user(sponsor.name), f" ({len(rows)}):").items(rows[:LIST_MAX])
        if len(rows) > LIST_MAX:
            reply = reply.line(f"… and {len(rows) - LIST_MAX} more on the booth page.")
    if ctx.role >= STAFF:
        reply = reply.line("Post one with ", code("!job <title> <url>"), "; take one down with ",
                           code("!job remove <n>"), ".")
    await ctx.reply(reply)


def _job(posted: Job) -> Part:
    return _listed(posted.title, posted.url)


def _listed(title: str, url: str | None) -> Part:
    """A job as a line reads it: its title linked to its address (the plain body has the address
    after the title), or the title alone."""
    checked = http_url(url) if url else None
    return link(checked, user(title)) if checked else user(title)


# ---- !swag -------------------------------------------------------------------------------


@command("swag", help="get the sponsor's digital swag: a code, sent to you in a direct message; its staff see "
                      "how many are left", usage="!swag [count]", kinds=(SPONSOR_KIND,))
async def swag(ctx: Context) -> None:
    sponsor = _sponsor(ctx)
    if ctx.args and ctx.args.lower() != "count":
        raise UsageError(f"unexpected {quoted(ctx.args.split()[0])}; send !swag alone (staff: !swag count)")
    if ctx.role >= STAFF:
        await _count(ctx, sponsor)
    elif ctx.args:
        await _refuse(ctx, "see how many codes are left", "Send ", code("!swag"), " alone to get yours.")
    else:
        await _give(ctx, sponsor)


async def _count(ctx: Context, sponsor: Sponsor) -> None:
    left, total = ctx.store(SwagStore).counts(ctx.room.conference, sponsor.id)
    if not total:
        await ctx.reply(message("No swag codes are loaded for ", user(sponsor.name), ": an organiser loads them with ",
                                code(f"podium swag load {sponsor.id} FILE"), "."))
        return
    await ctx.reply(message(user(sponsor.name), f" swag: {counted(left, 'code')} of {total} left "
                                                f"({total - left} given out)."))


async def _give(ctx: Context, sponsor: Sponsor) -> None:
    store = ctx.store(SwagStore)
    held = store.claim(ctx.room.conference, sponsor.id, ctx.sender, event_id=ctx.event_id, at=ctx.received_at)
    if held is None:
        _left, total = store.counts(ctx.room.conference, sponsor.id)
        if total:
            await ctx.reply(message("Sorry, ", user(sponsor.name), "'s swag is all given out: no codes are left."))
        else:
            await ctx.reply(message(user(sponsor.name), " has no digital swag to give out here."))
        return
    if held.claim_event_id != ctx.event_id and held.delivered:
        await ctx.reply(message("You have your ", user(sponsor.name), " swag already: its code is in your direct "
                                "chat with me. It is one per person."))
        return
    # This command's code, or one claimed before whose message never went out: send it now.
    if ctx.direct_chat is None:
        raise UsageError("direct messages are not available here")
    try:
        room_id = await ctx.direct_chat(ctx.sender)
        await ctx.send("m.room.message", _swag_message(ctx, sponsor, held.code).content(notice=False), room_id=room_id)
    except MatrixError as exc:
        if exc.transient:
            raise  # handled again once the homeserver is back, with the same code
        log.warning("could not send %s their swag code: %s", ctx.sender, exc)
        await ctx.reply(message("Your ", user(sponsor.name), " swag code is kept for you, but I could not send you a "
                                "direct message: check that you accept invitations from me, then send ", code("!swag"),
                                " again."))
        return
    store.delivered(ctx.room.conference, sponsor.id, ctx.sender, ctx.received_at)
    await ctx.reply(message("I sent you a direct message with your ", user(sponsor.name), " swag code."))


def _swag_message(ctx: Context, sponsor: Sponsor, swag_code: str) -> Message:
    reply = message("🎁 Your swag from ", bold(user(sponsor.name)), ": ", code(user(swag_code)))
    booth = http_url(sponsor.booth_url) if sponsor.booth_url else None
    if booth:
        reply = reply.line("Their booth: ", link(booth))
    return reply.line("Thank you for visiting ", user(place_name(ctx.schedule, ctx.room.key)), "!")
