"""Bot commands: one module per command family, registered here, dispatched by the runtime.

A command module registers what it handles when it is imported; the runtime imports every module
of this package (``load_all``), so adding a file adds its commands::

    from bot.commands import Context, Role, UsageError, command, listener
    from bot.commands.message import bold, message, user

    @command("ask", help="ask the speaker a question", usage="!ask <question>",
             kinds=("track", "breakout"))
    async def ask(ctx: Context) -> None:
        if not ctx.args:
            raise UsageError("say what you want to ask")      # -> "… Usage: !ask <question>"
        await ctx.reply(message(bold("Q7"), " · ", user(ctx.sender_name), ": …"))

    @listener("m.reaction")                                  # any event type, incl. redactions
    async def on_reaction(ctx: Context) -> None:
        ...

Rules the runtime guarantees, which handlers rely on:

- A handler runs once per event in the normal case. After a crash it may run again for the same
  event (the event was received but not yet marked handled), so a handler must be idempotent:
  key what it stores on ``ctx.event_id``. Sends need no care: ``ctx.reply``/``ctx.send`` derive
  their transaction id from the triggering event, so the homeserver drops a repeated send.
- Order: handlers start in timeline order, and what a handler does before its first request to
  the homeserver happens in that order. After that they overlap: a command from a later sync
  may be answered while an earlier handler still waits for the homeserver. An event that points
  at another (anything with ``m.relates_to``: votes, poll responses, replies; and redactions)
  is handled only once every event from earlier syncs is fully handled, so the event it points
  at has been stored by then.
- ``ctx.role`` is the sender's role in that room, and a command is only called when it is at
  least the command's ``role``; others get a polite refusal without the handler running.
- Raise ``UsageError(message)`` for bad arguments: the sender gets the message and the usage.
  Numbers are read with ``bot.conference.userinput.read_number``, nothing else.
- ``ctx.reply`` takes a ``bot.commands.message.Message``: its plain body and its HTML come from
  the same parts, and someone's text goes in as ``user(text)``, which makes it one line and
  escapes it. No handler builds HTML itself.
- Every command counts against its sender's reply budget (``bot.commands.budget``); a command
  over it is not run, and its handler never called. The verdict is stored per event, so a
  command handled again after a crash gets the same one.
- Time is the bot's: ``ctx.received_at`` is when the runtime first saw the event, recorded then,
  so a handler run again after a crash sees the same time, and the order of receive times is the
  order the bot saw the events in. The event's ``origin_server_ts`` is what the sender's server
  wrote on it and decides nothing.
- An event's ``content`` is always a dict (``ctx.content``), but nothing inside it is checked:
  test every value's type before using it.
- The bot's own events never reach handlers.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import pkgutil
import shlex
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import sqlite_utils

from ..conference.display import RoomLinks
from ..conference.roles import Role
from ..conference.schedule import Schedule
from ..conference.userinput import UsageError
from ..matrix import MatrixError
from ..store.budget import ReplyBudgetStore
from . import budget
from .message import Message, code, message, user

__all__ = [
    "Command",
    "Context",
    "Registry",
    "Role",
    "Room",
    "UsageError",
    "command",
    "listener",
    "load_all",
    "REGISTRY",
]

log = logging.getLogger(__name__)

#: Commands start with this; ``!ASK`` and ``!ask`` are the same command.
PREFIX = "!"
#: A command's name is at most this long; longer words after "!" are chat ("!!!!!!!!"), not commands.
MAX_NAME = 32
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")

Handler = Callable[["Context"], Awaitable[None]]

StoreT = TypeVar("StoreT")
#: Each data store (QuestionStore, PollStore, DelayStore) made once per database: their
#: constructors create their tables, which is start-up work, not work for every event.
_STORES: weakref.WeakKeyDictionary[sqlite_utils.Database, dict[type, Any]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Room:
    """A conference room as its ``org.podium.locator`` state event describes it.

    ``key`` is the conference object (``track/forum``, ``talk/t42``, ``backstage/forum``,
    ``lobby/hallway``); ``kind`` the room template (``track``, ``breakout``, ``backstage``, ...).
    ``track_id`` is set for a track room, its backstage and a talk's breakout; ``talk_id`` only
    for a talk's breakout (a track room's talk changes over the day: see ``Context.live_talk``).
    """

    room_id: str
    conference: str
    key: str
    kind: str
    track_id: str | None = None
    talk_id: str | None = None


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    role: Role = Role.ATTENDEE
    usage: str = ""
    aliases: tuple[str, ...] = ()
    #: Room kinds where the command makes sense (None: everywhere).
    kinds: tuple[str, ...] | None = None

    def applies_in(self, room: Room) -> bool:
        return self.kinds is None or room.kind in self.kinds


class Sender(Protocol):
    """What the runtime gives a context to talk to the homeserver."""

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str: ...

    async def redact(self, room_id: str, event_id: str, reason: str, txn_id: str) -> str: ...

    async def invite(self, room_id: str, user_id: str) -> None: ...

    async def membership(self, room_id: str, user_id: str) -> str | None: ...


@dataclass
class Context:
    """One event being handled: who sent what where, and how to answer."""

    event: dict[str, Any]
    room: Room
    sender: str
    sender_name: str
    role: Role
    db: sqlite_utils.Database
    schedule: Schedule
    now: datetime  # timezone-aware; from the runtime's clock
    bot_user_id: str
    transport: Sender = field(repr=False)
    role_of: Callable[[str], Role] = field(repr=False)  # anyone's role in this room
    power_levels: dict[str, Any] = field(default_factory=dict, repr=False)  # the room's, as last seen
    registry: "Registry | None" = field(default=None, repr=False)  # the one dispatching this event
    command: Command | None = None
    #: Puts schedule.yaml in force again and says how it went (None where edits are not followed).
    reload: Callable[..., Awaitable[Message]] | None = field(default=None, repr=False)
    #: Links to the conference's rooms, as provisioning names them (None: no links to give).
    links: RoomLinks | None = field(default=None, repr=False)
    #: Tells the conference clock the timetable moved (a ``!delay``), so it looks again at once.
    wake_clock: Callable[[], None] | None = field(default=None, repr=False)
    #: The conference's rooms the bot is in, for commands that post elsewhere (a ticket to the
    #: helpdesk's staff room, an announcement to every public room).
    rooms: Callable[[], list[Room]] = field(default=list, repr=False)
    #: Where browsers reach Podium's web pages ("" where there are none to link to).
    public_url: str = field(default="", repr=False)
    #: Whether new members of the conference space get the bot's welcome (the space template's switch).
    welcome: bool = field(default=False, repr=False)
    #: The room of the bot's direct chat with someone, made if need be (None where the bot has
    #: no homeserver to make one on): for what only that person may read, like a swag code.
    direct_chat: Callable[[str], Awaitable[str]] | None = field(default=None, repr=False)
    #: When the bot first received the event (unix milliseconds; ``bot.store.received``): the time
    #: every limit and record goes by. Never the event's ``origin_server_ts``, which its sender's
    #: server sets as it likes.
    received_ms: int = 0
    name: str = ""  # the command name as typed (an alias, maybe)
    args: str = ""  # everything after the command name, stripped
    _sends: int = field(default=0, repr=False)

    @property
    def event_id(self) -> str:
        return self.event["event_id"]

    @property
    def event_type(self) -> str:
        return self.event.get("type", "")

    @property
    def content(self) -> dict[str, Any]:
        content = self.event.get("content")
        return content if isinstance(content, dict) else {}

    @property
    def received_at(self) -> float:
        """When the bot first received the event, in unix seconds."""
        return self.received_ms / 1000

    @property
    def argv(self) -> list[str]:
        """The arguments split shell-style ("quoted words" stay together); UsageError if unbalanced."""
        try:
            return shlex.split(self.args)
        except ValueError as exc:
            raise UsageError(f"cannot read the arguments ({exc})") from None

    def room_of(self, key: str) -> Room | None:
        """The conference room of ``key`` (``backstage/forum``, ``helpdesk-staff/desk``), if the bot is in it."""
        return next((room for room in self.rooms() if room.key == key), None)

    def store(self, kind: Callable[[sqlite_utils.Database], StoreT]) -> StoreT:
        """The ``kind`` store over the bot's database, e.g. ``ctx.store(QuestionStore)``."""
        by_kind = _STORES.setdefault(self.db, {})
        if kind not in by_kind:
            by_kind[kind] = kind(self.db)
        return by_kind[kind]

    @property
    def live_talk(self):
        """The talk this room's questions belong to now: a breakout's own talk, or the talk live
        in a track room's track (None between talks), with the track's ``!delay`` applied."""
        from ..conference.clock import live_talk

        if self.room.talk_id is not None:
            return next((t for t in self.schedule.talks if t.id == self.room.talk_id), None)
        return live_talk(self._track_talks(), self.now)

    @property
    def upcoming_talk(self):
        """The next talk to start in this room's track (None in a breakout, or after the last)."""
        from ..conference.clock import next_talk

        return None if self.room.talk_id is not None else next_talk(self._track_talks(), self.now)

    def _track_talks(self) -> list:
        """The talks of this room's track, in start order, with the track's ``!delay`` applied."""
        from ..conference.clock import apply_delays, talks_in_track
        from ..store.delays import DelayStore

        if self.room.track_id is None:
            return []
        schedule = apply_delays(self.schedule, self.store(DelayStore).all(self.room.conference))
        return talks_in_track(schedule, self.room.track_id)

    def _txn_id(self) -> str:
        # Derived from the triggering event: a handler re-run after a crash sends with the same
        # transaction ids, and the homeserver answers with the event it already has.
        self._sends += 1
        digest = hashlib.sha256(self.event_id.encode()).hexdigest()[:32]
        return f"podium.{digest}.{self._sends}"

    async def send(self, event_type: str, content: dict[str, Any], room_id: str | None = None) -> str:
        """Send any event (to this room by default); returns its event id."""
        return await self.transport.send(room_id or self.room.room_id, event_type, content, self._txn_id())

    async def remove_command(self, reason: str) -> None:
        """Redact the triggering message once what it asked for is posted (a ``!poll`` line above
        the poll it made is noise). Best effort: where the bot may not redact, the line stays."""
        await self.remove(self.event_id, reason)

    async def remove(self, event_id: str, reason: str, room_id: str | None = None) -> None:
        """Redact ``event_id`` (in this room by default), best effort: where the bot may not
        redact, the event stays and a warning is logged."""
        room_id = room_id or self.room.room_id
        try:
            await self.transport.redact(room_id, event_id, reason, self._txn_id())
        except MatrixError as exc:
            log.warning("could not remove %s in %s: %s", event_id, room_id, exc)

    async def tell_sender(self, said: Message) -> str:
        """Say ``said`` to the sender alone, in their direct chat with the bot (``bot.direct``: a
        room only the two of them are in, checked as it is used); in this room where the bot has
        no homeserver to make one on. Never a reply: what it answers may be gone, or private."""
        room_id = await self.direct_chat(self.sender) if self.direct_chat is not None else self.room.room_id
        return await self.send("m.room.message", said.content(), room_id=room_id)

    async def reply(self, reply: Message, *, notice: bool = True, thread: bool = True,
                    extra: dict[str, Any] | None = None) -> str:
        """Send ``reply`` to this room, with its plain and HTML bodies. With ``thread`` (the
        default) the message is a Matrix reply to the triggering event, so the sender sees
        which of their commands it answers."""
        if not isinstance(reply, Message):
            raise TypeError("ctx.reply takes a Message (bot.commands.message), which escapes user text")
        content = reply.content(notice=notice)
        if thread:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": self.event_id}}
        if extra:
            content.update(extra)
        return await self.send("m.room.message", content)


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}  # by name and by alias
        self._listeners: dict[str, list[Handler]] = {}

    # ---- registration ------------------------------------------------------------------

    def add(self, cmd: Command) -> Command:
        for name in (cmd.name, *cmd.aliases):
            key = name.lower()
            existing = self._commands.get(key)
            if existing is not None and existing.handler is not cmd.handler:
                raise ValueError(f"!{key} is already a command")
            self._commands[key] = cmd
        return cmd

    def command(self, name: str, *, help: str, role: Role = Role.ATTENDEE, usage: str = "",
                aliases: Iterable[str] = (), kinds: Iterable[str] | None = None) -> Callable[[Handler], Handler]:
        """Decorator: register ``handler`` as ``!name``."""

        def register(handler: Handler) -> Handler:
            self.add(Command(name.lower(), help, handler, role, usage or f"{PREFIX}{name}",
                             tuple(a.lower() for a in aliases), None if kinds is None else tuple(kinds)))
            return handler

        return register

    def listener(self, event_type: str) -> Callable[[Handler], Handler]:
        """Decorator: call ``handler`` for every event of ``event_type`` (other than the bot's own)."""

        def register(handler: Handler) -> Handler:
            handlers = self._listeners.setdefault(event_type, [])
            if handler not in handlers:
                handlers.append(handler)
            return handler

        return register

    # ---- lookup ------------------------------------------------------------------------

    def get(self, name: str) -> Command | None:
        return self._commands.get(name.lower())

    def commands(self) -> list[Command]:
        """Every command once, by name."""
        return sorted({id(c): c for c in self._commands.values()}.values(), key=lambda c: c.name)

    def available(self, role: Role, room: Room) -> list[Command]:
        """The commands someone with ``role`` may use in ``room``."""
        return [c for c in self.commands() if c.role <= role and c.applies_in(room)]

    def listeners(self, event_type: str) -> list[Handler]:
        return list(self._listeners.get(event_type, ()))

    # ---- dispatch ----------------------------------------------------------------------

    async def dispatch(self, ctx: Context) -> bool:
        """Handle one event: a command in an ``m.room.message``, then any listeners. False when
        nothing here was interested in the event (plain chat), so there is nothing to remember."""
        ctx.registry = self
        interested = False
        if ctx.event_type == "m.room.message":
            parsed = parse_command(ctx.content)
            if parsed is not None:
                interested = True
                await self._run_command(ctx, *parsed)
        for handler in self.listeners(ctx.event_type):
            interested = True
            await handler(ctx)
        return interested

    async def _run_command(self, ctx: Context, name: str, args: str) -> None:
        verdict, bucket = _charge(ctx)
        if verdict is budget.Verdict.WARN:
            await ctx.reply(message("You are sending commands faster than I can answer; I'll answer again in "
                                    f"{budget.seconds_until_answer(bucket)} s."))
        if verdict is not budget.Verdict.ANSWER:
            return
        cmd = self.get(name)
        if cmd is None or not cmd.applies_in(ctx.room):
            where = "" if cmd is None else " in this room"
            await ctx.reply(message("There is no ", code(PREFIX, user(name)), f"{where}. Send ", code(PREFIX, "help"),
                                    " to see what you can do here."))
            return
        ctx.command, ctx.name, ctx.args = cmd, name, args
        if ctx.role < cmd.role:
            await ctx.reply(message("Sorry, ", code(PREFIX, cmd.name), f" is for {cmd.role.label}s; here you are "
                                    f"{_a(ctx.role.label)}."))
            return
        try:
            await cmd.handler(ctx)
        except UsageError as exc:
            await ctx.reply(usage_answer(exc, cmd))


def usage_answer(problem: UsageError, cmd: Command) -> Message:
    """What someone who used ``cmd`` wrongly is told: the problem, and how to use it."""
    return message(user(str(problem)), ". Usage: ", code(cmd.usage))


def _charge(ctx: Context) -> tuple[budget.Verdict, budget.Bucket]:
    """The reply budget's verdict on this command: the one stored for it, if it was charged
    before a restart, else its sender's bucket charged (and stored) now."""
    store = ctx.store(ReplyBudgetStore)
    seen = store.verdict(ctx.event_id)
    if seen is not None:
        verdict, tokens, at, warned = seen
        return budget.Verdict(verdict), budget.Bucket(tokens, at, warned)
    previous = store.bucket(ctx.sender)
    verdict, bucket = budget.charge(budget.FULL if previous is None else budget.Bucket(*previous),
                                    ctx.received_at)
    store.record(ctx.event_id, ctx.sender, verdict.value, bucket.tokens, bucket.at, bucket.warned)
    return verdict, bucket


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def parse_command(content: dict[str, Any]) -> tuple[str, str] | None:
    """``("ask", "rest of the line")`` for a message that is a command, else None.

    Only text and notices count (not images), and only the first line's first word names the
    command: a short word of ASCII letters, digits, ``-`` and ``_``. A message in reply to
    another quotes it in its body (``> …``); such a body is not a command unless the command
    follows the quote. Any content at all is read without raising.
    """
    if not isinstance(content, dict) or content.get("msgtype") not in ("m.text", "m.notice", None):
        return None
    body = content.get("body")
    if not isinstance(body, str):
        return None
    relates = content.get("m.relates_to")
    if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
        return None  # an edit: the original was handled already
    lines = body.split("\n")
    while lines and lines[0].startswith("> "):
        lines.pop(0)  # the quote of a reply fallback
    body = "\n".join(lines).strip()
    if not body.startswith(PREFIX) or body[len(PREFIX):len(PREFIX) + 1].strip() == "":
        return None  # "!" alone, or "! something": not a command
    parts = body[len(PREFIX):].split(None, 1)
    # Checked before lowercasing: "K" (the Kelvin sign) lowercases to an ASCII "k".
    if len(parts[0]) > MAX_NAME or not parts[0].isascii():
        return None
    name = parts[0].lower()
    if not all(c in _NAME_CHARS for c in name):
        return None
    rest = parts[1] if len(parts) > 1 else ""
    return name, rest.strip()


REGISTRY = Registry()
command = REGISTRY.command
listener = REGISTRY.listener


def load_all() -> Registry:
    """Import every command module in this package, so each registers itself; returns the registry."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            try:
                importlib.import_module(f"{__name__}.{info.name}")
            except Exception:
                # One broken command family must not silence the others (or Q&A mid-talk).
                log.exception("the %s commands could not be loaded", info.name)
    return REGISTRY
