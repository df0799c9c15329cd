"""Native polls end to end: the running bot, a real Synapse and real matrix-nio attendees.

One conference with one track whose talk is live; a moderator (staff in the schedule, power 50
in every room) starts and closes polls, attendees vote from their own clients. The tally is
checked twice: against the rules worked out by hand for the votes sent, and against an
independent recount of every response the homeserver holds (``/relations``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from nio import AsyncClient, AsyncClientConfig, JoinResponse, RoomSendResponse, SyncResponse

from bot.conference import polls
from bot.matrix import MatrixAdapter
from bot.provisioning.apply import converge
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, build
from tests.support.waiting import PATIENCE

TIMEOUT = PATIENCE  # bounds a hang only


# ----------------------------------------------------------------------------- clients


class Member:
    """A matrix-nio client in the track room that keeps every event it has seen there."""

    def __init__(self, base_url: str, user_id: str, token: str, room_id: str):
        self.client = AsyncClient(base_url, user_id, config=AsyncClientConfig(request_timeout=30))
        self.client.access_token, self.client.user_id = token, user_id
        self.user_id, self.room_id = user_id, room_id
        self.events: list[dict[str, Any]] = []
        self._since: str | None = None

    async def join(self) -> None:
        response = await self.client.join(self.room_id)
        assert isinstance(response, JoinResponse), response
        first = await self.client.sync(timeout=0, sync_filter=self._filter())
        assert isinstance(first, SyncResponse), first
        self._since = first.next_batch

    def _filter(self) -> dict:
        return {"presence": {"types": []}, "account_data": {"types": []},
                "room": {"rooms": [self.room_id], "timeline": {"limit": 100}, "state": {"types": []},
                         "ephemeral": {"types": []}, "account_data": {"types": []}}}

    async def send(self, event_type: str, content: dict) -> str:
        response = await self.client.room_send(self.room_id, event_type, content)
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    async def say(self, body: str) -> str:
        return await self.send("m.room.message", {"msgtype": "m.text", "body": body})

    async def vote(self, poll_id: str, answers: list) -> str:
        return await self.send(polls.RESPONSE, polls.response_content(poll_id, answers))

    async def wait_for(self, predicate: Callable[[dict], bool], timeout: float = TIMEOUT) -> dict:
        """The first event seen (now or later) that matches ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.user_id} saw no matching event in {timeout} s; saw "
                                     f"{[(e['type'], e.get('content', {}).get('body')) for e in self.events[-10:]]}")
            response = await self.client.sync(timeout=int(min(left, 5) * 1000), sync_filter=self._filter(),
                                              since=self._since)
            assert isinstance(response, SyncResponse), response
            self._since = response.next_batch
            room = response.rooms.join.get(self.room_id)
            for event in room.timeline.events if room else []:
                self.events.append(event.source)

    async def close(self) -> None:
        await self.client.close()


def reply_to(bot_id: str, text: str) -> Callable[[dict], bool]:
    return lambda e: (e["sender"] == bot_id and e["type"] == "m.room.message"
                      and text in e["content"].get("body", ""))


# ----------------------------------------------------------------------------- the conference


def schedule_data(moderator: str) -> dict:
    """One public track whose only talk is live for hours around now."""
    start = (datetime.now(timezone.utc) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    return {
        "conference": {"id": f"poll-{uuid.uuid4().hex[:6]}", "name": "Poll conference", "timezone": "UTC",
                       "start": start.date().isoformat(), "end": (start + timedelta(days=1)).date().isoformat(),
                       "access": "public"},
        "staff": {"moderators": [moderator]},
        "tracks": [{"id": "main", "name": "Main"}],
        "talks": [{"id": "keynote", "track": "main", "title": "Keynote", "start": start.strftime("%Y-%m-%dT%H:%MZ"),
                   "duration": "6h", "speakers": [{"name": "Speaker"}]}],
    }


class Live:
    def __init__(self, bot_id: str, conf_id: str, room_id: str, data_dir: Path, moderator: Member,
                 attendees: list[Member]):
        self.bot_id, self.conf_id, self.room_id, self.data_dir = bot_id, conf_id, room_id, data_dir
        self.moderator, self.attendees = moderator, attendees

    def store(self):
        """The bot's poll store, read from its database as the web server would."""
        import sqlite_utils

        from bot.store.database import DATABASE
        from bot.store.polls import PollStore

        return PollStore(sqlite_utils.Database(self.data_dir / DATABASE))

    async def start_poll(self, args: str) -> dict:
        """The moderator sends ``!poll args``; the bot's poll start event."""
        seen = len(self.moderator.events)  # events arrive only while waiting: all later ones are new
        await self.moderator.say(f"!poll {args}")
        return await self.moderator.wait_for(
            lambda e: e["sender"] == self.bot_id and e["type"] == polls.START and self.moderator.events.index(e) >= seen)


@pytest.fixture(scope="module")
async def live(synapse, make_user, bot, tmp_path_factory):
    from bot.conference.schedule import load_schedule
    from bot.serve import run_bot

    moderator_id, moderator_token = make_user("moderator")
    attendees = [make_user(name) for name in ("alice", "bob", "carol", "dave", "erin")]
    work = tmp_path_factory.mktemp("poll-live")
    schedule_path = work / "schedule.yaml"
    schedule_path.write_text(yaml.safe_dump(schedule_data(moderator_id)), encoding="utf-8")
    conference = build(schedule_path, Settings(server_name="localhost", bot_user_id=bot.user_id,
                                               public_url=DEFAULT_PUBLIC_URL))
    conf_id = conference.schedule.conference.id
    async with MatrixAdapter(bot.homeserver, bot.user_id, bot.access_token) as adapter:
        _plan, report = await converge(adapter, conference.rooms, conference_id=conf_id,
                                       room_version=await adapter.default_room_version())
        assert report.ok
        room_id = await adapter.resolve_alias(f"#{conf_id}-track-main:localhost")
    assert room_id

    data_dir = work / "bot"
    ready = asyncio.Event()
    task = asyncio.create_task(run_bot(bot, load_schedule(schedule_path), data_dir, ready=ready))
    await asyncio.wait_for(ready.wait(), TIMEOUT)
    members = [Member(synapse.base_url, user_id, token, room_id)
               for user_id, token in [(moderator_id, moderator_token), *attendees]]
    for member in members:
        await member.join()
    try:
        yield Live(bot.user_id, conf_id, room_id, data_dir, members[0], members[1:])
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for member in members:
            await member.close()


# ----------------------------------------------------------------------------- tests


async def recount(live: Live, poll_id: str, poll: polls.Poll, ended_at: int) -> polls.Tally:
    """Every response the homeserver holds for ``poll_id`` (``/relations``), tallied by the rules."""
    client = live.moderator.client
    path = f"/_matrix/client/v1/rooms/{live.room_id}/relations/{poll_id}/m.reference/{polls.RESPONSE}?limit=100"
    response = await client.send("GET", path, headers={"Authorization": f"Bearer {client.access_token}"})
    chunk = (await response.json())["chunk"]
    responses = [polls.Response(e["sender"], e["origin_server_ts"], polls.read_response(e["content"])[1], order=i)
                 for i, e in enumerate(sorted(chunk, key=lambda e: e["origin_server_ts"]))]
    return polls.tally(poll, responses, ended_at)


async def test_poll_voted_changed_spoiled_and_late(live: Live):
    alice, bob, carol, dave, erin = live.attendees
    start = await live.start_poll('"Where do we eat?" "Pizza" "Soup" "Salad"')
    poll_id = start["event_id"]
    poll = polls.read_start(start["content"])
    assert poll is not None and poll.max_selections == 1 and poll.disclosed
    pizza, soup, salad = (answer_id for answer_id, _ in poll.answers)

    await alice.vote(poll_id, [pizza])
    await alice.vote(poll_id, [soup])            # changed vote: soup counts
    await bob.vote(poll_id, [salad])
    await bob.vote(poll_id, ["no-such-answer"])  # spoiled: replaces salad, counts nothing
    await carol.vote(poll_id, [salad])
    await carol.vote(poll_id, [])                # unvoted
    await dave.vote(poll_id, [pizza, salad])     # one selection allowed: truncated to pizza
    await erin.vote(poll_id, [soup, "bogus"])    # truncated to soup, so not spoiled

    await live.moderator.say("!poll close")
    end = await live.moderator.wait_for(lambda e: e["sender"] == live.bot_id and e["type"] == polls.END)
    assert end["content"]["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll_id}
    text = end["content"][polls.TEXT]
    assert text == ("The poll has ended: Where do we eat?\n"
                    "Pizza: 1 vote\nSoup: 2 votes ✓\nSalad: 0 votes\n3 people voted.")

    await bob.vote(poll_id, [pizza])  # after the close: ignored
    await live.moderator.say("!poll close")  # nothing open any more; answered after the late vote
    await live.moderator.wait_for(reply_to(live.bot_id, "There is no open poll in this room."))

    store = live.store()
    stored = store.tally(poll_id)
    assert stored.counts == {pizza: 1, soup: 2, salad: 0}
    assert stored.voters == 3 and stored.spoiled == 1
    view = store.for_track(live.conf_id, "main")[0]
    assert view.poll_id == poll_id and view.closed and view.visible_counts() == stored.counts
    [exported] = [p for p in store.export() if p["poll_id"] == poll_id]
    assert exported["ended_at"] == end["origin_server_ts"]  # closed at the end event, as MSC3381 says
    # The homeserver's own record of every response, recounted independently, agrees.
    recounted = await recount(live, poll_id, poll, end["origin_server_ts"])
    assert recounted.counts == stored.counts and recounted.voters == stored.voters
    assert exported["results"]["text"] == text


async def test_secret_multi_poll_hidden_until_closed(live: Live):
    alice, bob, *_ = live.attendees
    start = await live.start_poll('"Which topics next?" "Typing" "Packaging" "Async" --multi 2 --secret')
    poll_id = start["event_id"]
    poll = polls.read_start(start["content"])
    assert poll is not None and poll.max_selections == 2 and not poll.disclosed
    typing_, packaging, async_ = (answer_id for answer_id, _ in poll.answers)
    await alice.vote(poll_id, [typing_, async_])
    await bob.vote(poll_id, [async_, async_])  # a repeat counts once
    await live.moderator.say("!poll list")
    listing = await live.moderator.wait_for(reply_to(live.bot_id, "Which topics next?"))
    assert "results hidden until it closes" in listing["content"]["body"]
    view = next(v for v in live.store().for_track(live.conf_id, "main") if v.poll_id == poll_id)
    assert not view.closed and view.visible_counts() is None
    number = listing["content"]["body"].splitlines().index(
        next(line for line in listing["content"]["body"].splitlines() if "Which topics next?" in line))
    await live.moderator.say(f"!poll close {number}")
    end = await live.moderator.wait_for(
        lambda e: e["sender"] == live.bot_id and e["type"] == polls.END
        and e["content"]["m.relates_to"]["event_id"] == poll_id)
    assert "Async: 2 votes ✓" in end["content"][polls.TEXT]
    assert live.store().tally(poll_id).counts == {typing_: 1, packaging: 0, async_: 2}


async def test_poll_refused_for_an_attendee(live: Live):
    alice = live.attendees[0]
    await alice.say('!poll "Shall we skip the break?" "Yes" "No"')
    refusal = await alice.wait_for(reply_to(live.bot_id, "!poll is for moderators"))
    assert refusal["content"]["formatted_body"].startswith("Sorry, <code>!poll</code> is for moderators")
    await alice.say("!poll close")
    await alice.wait_for(lambda e: e["sender"] == live.bot_id and e["type"] == "m.room.message"
                         and e["origin_server_ts"] > refusal["origin_server_ts"] and "moderators" in e["content"]["body"])
    assert not any(e["type"] == polls.START and "skip the break" in e["content"].get(polls.TEXT, "")
                   for e in alice.events)


async def test_poll_text_with_html_comes_back_escaped(live: Live):
    start = await live.start_poll('"<script>alert(1)</script> **bold**?" "<b>Yes</b>" "No"')
    poll = polls.read_start(start["content"])
    assert poll is not None
    # The poll carries the text exactly as typed: clients render it as text, never as HTML.
    assert poll.question == "<script>alert(1)</script> **bold**?"
    assert poll.answers[0][1] == "<b>Yes</b>"
    await live.moderator.say("!poll list")
    listing = await live.moderator.wait_for(reply_to(live.bot_id, "<script>alert(1)</script>"))
    formatted = listing["content"]["formatted_body"]
    assert "<script>" not in formatted and "<b>Yes</b>" not in formatted
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**?" in formatted
    # An error that quotes the moderator's text escapes it too.
    await live.moderator.say('!poll "Q" "<i>x</i>" "<I>X</I>"')
    error = await live.moderator.wait_for(reply_to(live.bot_id, "is given twice"))
    assert "&lt;I&gt;X&lt;/I&gt;" in error["content"]["formatted_body"]
    assert "<I>" not in error["content"]["formatted_body"]


async def test_withdrawn_vote_reverts_and_a_moderator_ends_the_poll_from_their_client(live: Live):
    alice, bob, *_ = live.attendees
    start = await live.start_poll('"Coffee or tea?" "Coffee" "Tea"')
    poll_id = start["event_id"]
    poll = polls.read_start(start["content"])
    assert poll is not None
    coffee, tea = (answer_id for answer_id, _ in poll.answers)
    await alice.vote(poll_id, [coffee])
    second = await alice.vote(poll_id, [tea])
    redacted = await alice.client.room_redact(live.room_id, second)  # MSC3381: back to coffee
    assert not hasattr(redacted, "status_code"), redacted
    await bob.vote(poll_id, [tea])
    # Element's "End poll": the end event comes from the moderator, not the bot.
    end_id = await live.moderator.send(polls.END, polls.end_content(poll_id, poll, polls.tally(poll, [])))
    await live.moderator.say("!poll list")  # answered once everything before it is handled
    listing = await live.moderator.wait_for(
        lambda e: reply_to(live.bot_id, "Coffee or tea?")(e) and "(closed)" in e["content"]["body"].split(
            "Coffee or tea?")[1].split("\n")[0])
    assert "Coffee: 1, Tea: 1" in listing["content"]["body"]
    [exported] = [p for p in live.store().export() if p["poll_id"] == poll_id]
    assert exported["results"]["counts"] == {coffee: 1, tea: 1}
    end = next(e for e in live.moderator.events if e["event_id"] == end_id)  # their own, through /sync
    assert exported["ended_at"] == end["origin_server_ts"]


async def test_the_poll_command_is_removed_once_the_poll_is_posted(live: Live):
    """The poll shows the question and answers with vote buttons: the ``!poll`` line above it is
    redacted by the bot, after the poll is in the room."""
    seen = len(live.moderator.events)
    command_id = await live.moderator.say('!poll "Tea or coffee?" "Tea" "Coffee"')
    start = await live.moderator.wait_for(
        lambda e: e["sender"] == live.bot_id and e["type"] == polls.START and live.moderator.events.index(e) >= seen)
    redaction = await live.moderator.wait_for(
        lambda e: e["type"] == "m.room.redaction" and command_id in (e.get("redacts"), e["content"].get("redacts")))
    assert redaction["sender"] == live.bot_id
    assert redaction["origin_server_ts"] >= start["origin_server_ts"]
    assert redaction["content"].get("reason") == "the poll is posted"
