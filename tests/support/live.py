"""Helpers for tests that run the bot against the session's Synapse with real attendee clients.

``live_conference`` applies a small conference (one track, two talks, a moderator and a speaker)
with access ``public``, so attendees join its rooms directly. ``Person`` is a real matrix-nio
client; ``BotRunner`` runs ``bot.runtime.Runtime`` as a task that tests stop and restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from nio import AsyncClient, JoinResponse, RoomRedactResponse, RoomSendResponse, SyncResponse

from bot.config import Connection
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import DEFAULT_PUBLIC_URL, Conference, build
from bot.provisioning.programme import Programme
from bot.runtime import Runtime, answering_adapter
from bot.store.database import Store
from tests.support.accounts import TEST_PASSWORD
from tests.support.waiting import PATIENCE, eventually

#: Inside the first talk of ``live_conference``.
DURING_FIRST_TALK = datetime(2026, 7, 13, 10, 10, tzinfo=timezone.utc)
BETWEEN_TALKS = datetime(2026, 7, 13, 10, 50, tzinfo=timezone.utc)
FIRST_TALK_TITLE = "Async <b>all</b> the things"


@dataclass
class LiveConference:
    conference: Conference
    conf_id: str
    track_alias: str  # full alias of the track room
    breakout_alias: str  # the first talk's breakout
    lobby_alias: str
    moderator: str  # Matrix ID of the schedule's moderator (display name "Mo")
    speaker: str  # Matrix ID of the first talk's speaker (display name "Sam")
    schedule_path: Path  # the schedule.yaml it was built from (a test may edit it, as an organiser would)


def write_live_schedule(directory: Path, *, moderator: str, speaker: str,
                        extra: dict[str, Any] | None = None) -> tuple[Path, str]:
    """The schedule of ``live_conference``; ``extra`` adds top-level sections (a mapping is merged
    into the one there, like more ``staff``; a list replaces it)."""
    conf_id = f"live{uuid.uuid4().hex[:8]}"
    data = {
        "conference": {"id": conf_id, "name": "Live <Test>", "timezone": "UTC", "start": "2026-07-13",
                       "end": "2026-07-13", "access": "public"},
        "staff": {"moderators": [moderator]},
        "tracks": [{"id": "forum", "name": "Forum Hall"}],
        "talks": [
            {"id": "t1", "track": "forum", "title": FIRST_TALK_TITLE, "start": "2026-07-13 10:00", "duration": 45,
             "speakers": [{"name": "Sam", "matrix_id": speaker}]},
            {"id": "t2", "track": "forum", "title": "Second talk", "start": "2026-07-13 11:00", "duration": 30},
        ],
    }
    for section, value in (extra or {}).items():
        merge = isinstance(value, dict) and isinstance(data.get(section), dict)
        data[section] = {**data[section], **value} if merge else value
    path = directory / f"{conf_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, conf_id


def live_bot(synapse, make_user) -> Connection:
    """A bot account of its own (limits lifted): its runtime sees only the rooms it created, not
    every conference the rest of the suite applies, so it starts fast and answers nowhere else."""
    user_id, token = make_user("live-bot", displayname="Podium")
    synapse.override_ratelimit(user_id)
    return Connection(synapse.base_url, user_id, token)


async def live_conference(directory: Path, bot: Connection, make_user,
                          extra: dict[str, Any] | None = None, *, moderator: str | None = None,
                          speaker: str | None = None) -> LiveConference:
    """The conference applied, with a moderator and a speaker registered for it (or the ones given;
    ``extra``: more schedule sections, as ``write_live_schedule`` takes them)."""
    from bot.cli import apply_conference

    moderator = moderator or make_user("mod", displayname="Mo")[0]
    speaker = speaker or make_user("sam", displayname="Sam")[0]

    path, conf_id = write_live_schedule(directory, moderator=moderator, speaker=speaker, extra=extra)
    conference = build(path, Settings(server_name="localhost", bot_user_id=bot.user_id, public_url=DEFAULT_PUBLIC_URL))
    assert await apply_conference(conference, bot, None, quiet=True) == 0
    return LiveConference(conference, conf_id, f"#{conf_id}-track-forum:localhost", f"#{conf_id}-talk-t1:localhost",
                          f"#{conf_id}-hallway:localhost", moderator, speaker, path)


class Person:
    """One attendee (or moderator) in Element's place: a logged-in matrix-nio client."""

    def __init__(self, client: AsyncClient):
        self.client = client
        self.user_id = client.user_id
        self.timeline: dict[str, list[dict[str, Any]]] = {}

    @classmethod
    async def login(cls, homeserver: str, user_id: str, password: str) -> "Person":
        client = AsyncClient(homeserver, user_id)
        response = await client.login(password)
        assert client.access_token, response
        person = cls(client)
        await person.sync(0)
        return person

    async def close(self) -> None:
        await self.client.close()

    async def join(self, alias: str) -> str:
        response = await self.client.join(alias)
        assert isinstance(response, JoinResponse), response
        return response.room_id

    async def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(room_id, event_type, content)
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    async def say(self, room_id: str, body: str) -> str:
        return await self.send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})

    async def react(self, room_id: str, event_id: str, key: str = "👍") -> str:
        return await self.send(room_id, "m.reaction",
                               {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}})

    async def redact(self, room_id: str, event_id: str) -> None:
        response = await self.client.room_redact(room_id, event_id)
        assert isinstance(response, RoomRedactResponse), response

    async def sync(self, timeout_ms: int = 500) -> None:
        # Synapse's default timeline limit (10) would skip events in a busy room.
        response = await self.client.sync(timeout=timeout_ms, sync_filter={"room": {"timeline": {"limit": 200}}})
        assert isinstance(response, SyncResponse), response
        for room_id, room in response.rooms.join.items():
            self.timeline.setdefault(room_id, []).extend(event.source for event in room.timeline.events)

    async def wait_for(self, room_id: str, predicate: Callable[[dict[str, Any]], bool], *,
                       timeout: float = PATIENCE, why: str = "") -> dict[str, Any]:
        async def seen() -> dict[str, Any] | None:
            found = next((e for e in self.timeline.get(room_id, []) if predicate(e)), None)
            if found is None:
                await self.sync()  # waits up to half a second for what comes next
            return found

        return await eventually(seen, timeout=timeout, interval=0,
                                what=f"{self.user_id} seeing something matching {why} in {room_id}")

    def replies_to(self, room_id: str, event_id: str, sender: str) -> list[dict[str, Any]]:
        return [e for e in self.timeline.get(room_id, [])
                if e.get("sender") == sender and reply_target(e) == event_id]

    async def reply_to(self, room_id: str, event_id: str, sender: str, *, timeout: float = PATIENCE,
                       why: str = "") -> dict[str, Any]:
        """The (first) message ``sender`` sent in reply to ``event_id``."""
        return await self.wait_for(room_id, lambda e: e.get("sender") == sender and reply_target(e) == event_id,
                                   timeout=timeout, why=why or f"a reply to {event_id}")

    async def ask(self, room_id: str, command: str, bot: str, *, timeout: float = PATIENCE) -> dict[str, Any]:
        """Send a command, return the content of the bot's reply."""
        event_id = await self.say(room_id, command)
        return (await self.reply_to(room_id, event_id, bot, timeout=timeout))["content"]

    async def said_back(self, room_id: str, text: str, bot: str) -> dict[str, Any]:
        """Say ``text``, return the content of the bot's next message in the room: for answers
        that are not replies (one to a ticket code never quotes it)."""
        sent = await self.say(room_id, text)

        def after(event: dict[str, Any]) -> bool:
            ids = [e["event_id"] for e in self.timeline.get(room_id, [])]
            return event.get("sender") == bot and sent in ids and ids.index(event["event_id"]) > ids.index(sent)

        return (await self.wait_for(room_id, after, why=f"the bot's answer to {text!r}"))["content"]


def reply_target(event: dict[str, Any]) -> str | None:
    relates = (event.get("content") or {}).get("m.relates_to") or {}
    return (relates.get("m.in_reply_to") or {}).get("event_id")


class BotRunner:
    """The bot as a task: started, stopped (cancelled: as sudden as a kill for the bot's state,
    since nothing is written on the way out) and started again on the same data directory."""

    def __init__(self, homeserver: str, bot: Connection, conference: Conference, data_dir: Path, *,
                 clock: Callable[[], datetime] = lambda: DURING_FIRST_TALK, **options: Any):
        self.homeserver, self.bot, self.conference, self.data_dir = homeserver, bot, conference, data_dir
        self.clock, self.options = clock, options
        self.task: asyncio.Task | None = None
        self.runtime: Runtime | None = None

    async def start(self, **options: Any) -> Runtime:
        self.adapter = answering_adapter(self.homeserver, self.bot.user_id, self.bot.access_token or "")
        self.store = Store(self.data_dir)
        self.runtime = Runtime(self.adapter, Programme(self.conference), self.store, clock=self.clock,
                               poll_timeout_ms=5000, **{**self.options, **options})
        self.task = asyncio.create_task(self.runtime.run())
        ready = asyncio.create_task(self.runtime.ready.wait())
        await asyncio.wait([ready, self.task], timeout=PATIENCE, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()  # raises what stopped it
        assert self.runtime.ready.is_set(), "the bot did not get going"
        return self.runtime

    async def until_handled(self, event_ids: Iterable[str]) -> None:
        """Wait until the bot has handled every one of ``event_ids`` (and sent what it answers)."""
        event_ids = list(event_ids)
        await eventually(lambda: all(self.store.is_handled(e) for e in event_ids), what="every command handled")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            self.task = None
            await self.adapter.close()
            self.store.close()


def hang_at(stage: str, body: str, reached: asyncio.Event):
    """A hook that stops the bot (forever) at ``stage`` of handling the message ``body``."""

    async def hook(at: str, event: dict) -> None:
        if at == stage and (event.get("content") or {}).get("body") == body:
            reached.set()
            await asyncio.Future()

    return hook


class SetClock:
    """A conference clock that reads what the test sets (``clock.at = ...``)."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def body(event: dict[str, Any]) -> str:
    """A message's plain body."""
    return event["content"].get("body", "")


async def bot_messages(person: Person, bot: str, text: str) -> list[tuple[str, dict]]:
    """(room, event) of every message of the bot holding ``text`` that ``person`` can read, after
    accepting every invitation they have (a direct chat the bot opened with them, say)."""
    for room_id in list(person.client.invited_rooms):
        await person.join(room_id)
    await person.sync(300)
    return [(room_id, event) for room_id, events in person.timeline.items() for event in events
            if event.get("sender") == bot and text in body(event)]


def by_bot(bot_id: str, text: str) -> Callable[[dict[str, Any]], bool]:
    """A message from the bot whose body holds ``text`` (for ``Person.wait_for``)."""
    return lambda e: e.get("sender") == bot_id and text in (e.get("content") or {}).get("body", "")


# ----------------------------------------------------------------------------- a module's live conference


@dataclass(frozen=True)
class LiveSetup:
    """What the ``live`` fixture builds for a test module (the module's ``LIVE``; see conftest).

    ``people``: (name, display name) of each attendee registered and logged in, each then an
    attribute of ``live`` by name, as is the schedule's moderator (``mod``); ``speaker``: log in the
    first talk's speaker too (``sam``). ``extra``: more schedule sections, or a function of the
    Matrix IDs by name (the people's, ``mod``'s and ``sam``'s) giving them. ``rooms``: the
    attribute each room's id goes under, by its alias without the conference id (``track-forum``,
    ``talk-t1``, ``hallway``...); ``joins``: who joins which of those (by default everyone joins
    them all). ``clock``: the conference's time; ``day``: run its clock too. ``bot_running``: False
    for a module whose tests each run the bot themselves (on a data directory of their own, killed
    and restarted at will): the conference is applied and its people are in, but no bot answers.
    """

    people: tuple[tuple[str, str], ...] = ()
    extra: dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]] | None = None
    rooms: dict[str, str] = field(default_factory=lambda: {"track": "track-forum"})
    joins: dict[str, tuple[str, ...]] | None = None
    clock: Callable[[], datetime] = lambda: DURING_FIRST_TALK
    day: Any = None  # DayOptions: the bot runs with its conference clock (``ClockBot``)
    speaker: bool = False
    bot_running: bool = True


@contextlib.asynccontextmanager
async def open_live(setup: LiveSetup, directory: Path, synapse, make_user):
    """A conference applied for a bot account of its own, the bot running on ``directory/data``
    (unless ``setup.bot_running`` is False), and its people logged in and in their rooms; all
    stopped and logged off at the end."""
    bot = live_bot(synapse, make_user)
    accounts = {name: make_user(name, displayname=display) for name, display in setup.people}
    accounts["mod"] = make_user("mod", displayname="Mo")
    accounts["sam"] = make_user("sam", displayname="Sam")
    ids = {name: user_id for name, (user_id, _token) in accounts.items()}
    extra = setup.extra(ids) if callable(setup.extra) else setup.extra
    conf = await live_conference(directory, bot, make_user, extra=extra, moderator=ids["mod"], speaker=ids["sam"])
    runner: BotRunner | None = None
    if setup.bot_running:
        if setup.day is not None:
            from tests.support.clock import ClockBot

            runner = ClockBot(synapse.base_url, bot, conf.conference, directory / "data", clock=setup.clock,
                              day=setup.day)
        else:
            runner = BotRunner(synapse.base_url, bot, conf.conference, directory / "data", clock=setup.clock)
        await runner.start()
    people: dict[str, Person] = {}
    try:
        logged_in = [name for name, _ in setup.people] + ["mod"] + (["sam"] if setup.speaker else [])
        for name in logged_in:
            people[name] = await Person.login(synapse.base_url, ids[name], TEST_PASSWORD)
        rooms: dict[str, str] = {}
        for name, person in people.items():
            joins = setup.rooms if setup.joins is None else setup.joins.get(name, ())
            for room in joins:
                rooms[room] = await person.join(f"#{conf.conf_id}-{setup.rooms[room]}:localhost")
        tokens = {name: token for name, (_user_id, token) in accounts.items()}
        yield SimpleNamespace(conf=conf, runner=runner, bot=bot.user_id, connection=bot, homeserver=synapse.base_url,
                              directory=directory, tokens=tokens, **rooms, **people)
    finally:
        if runner is not None:
            await runner.stop()
        for person in people.values():
            await person.close()
