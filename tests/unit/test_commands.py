"""The command registry and roles as plain logic: parsing, role checks, usage replies, listeners.

Dispatch is exercised with a transport that records what would be sent (no homeserver is
involved at this level); tests/live/test_ask.py and tests/live/test_runtime.py cover the same paths
against the real Synapse.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import REGISTRY, Context, Registry, Room, load_all, parse_command
from bot.commands.budget import CAPACITY, REFILL_SECONDS
from bot.commands.message import message
from bot.conference.roles import Role, role_of, track_staff
from bot.conference.schedule import load_schedule
from bot.conference.userinput import read_number
from bot.store.schema import open_database
from tests.support.commands import Recorder
from tests.support.live import write_live_schedule


@pytest.mark.parametrize("body, parsed", [
    ("!ask What now?", ("ask", "What now?")),
    ("!ASK   spaced\nsecond line", ("ask", "spaced\nsecond line")),
    ("!help", ("help", "")),
    ("> <@bob:x> earlier\n\n!qa top 3", ("qa", "top 3")),
    ("hello !ask", None),
    ("!", None),
    ("! ask", None),
    ("!<b>x</b>", None),
    ("!ＡＳＫ fullwidth", None),
    ("!asK kelvin", None),  # the Kelvin sign lowercases to an ASCII k
    ("!" + "a" * 33, None),
    ("!!!!!!", None),
    ("!poll-close_2 x", ("poll-close_2", "x")),
])
def test_parse_command(body, parsed):
    assert parse_command({"msgtype": "m.text", "body": body}) == parsed


def test_edits_and_images_are_not_commands():
    assert parse_command({"msgtype": "m.image", "body": "!ask x"}) is None
    assert parse_command({"msgtype": "m.text", "body": "!ask x", "m.relates_to": {"rel_type": "m.replace"}}) is None
    assert parse_command({"msgtype": "m.text", "body": 42}) is None


@pytest.mark.parametrize("content", [
    {"msgtype": "m.text", "body": "!help", "m.relates_to": "a string"},
    {"msgtype": "m.text", "body": "!help", "m.relates_to": ["a", "list"]},
    {"msgtype": "m.text", "body": "!help", "m.relates_to": None},
    {"msgtype": "m.text", "body": "!help", "m.relates_to": 7},
])
def test_a_relation_that_is_not_an_object_is_no_relation(content):
    assert parse_command(content) == ("help", "")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                    max_leaves=10)


@given(st.one_of(JSON, st.fixed_dictionaries({}, optional={"msgtype": JSON, "body": JSON, "m.relates_to": JSON})))
def test_any_content_at_all_is_read_without_raising(content):
    parse_command(content)


@given(st.text(max_size=80))
def test_parse_never_fails_and_names_are_plain(body):
    parsed = parse_command({"msgtype": "m.text", "body": body})
    if parsed is not None:
        name, args = parsed
        assert name and name == name.lower() and all(c.isalnum() or c in "-_" for c in name)
        assert args == args.strip()


# ----------------------------------------------------------------------------- dispatch


@pytest.fixture
def schedule(tmp_path):
    path, _ = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x")
    return load_schedule(path)


def context(schedule, body: str, role: Role, *, kind: str = "track", event_id: str = "$cmd") -> Context:
    room = Room("!r:x", schedule.conference.id, f"{kind}/forum", kind, "forum")
    return Context(event={"event_id": event_id, "type": "m.room.message", "sender": "@a:x",
                          "content": {"msgtype": "m.text", "body": body}},
                   room=room, sender="@a:x", sender_name="A", role=role, db=open_database(":memory:"),
                   schedule=schedule, now=datetime(2026, 7, 13, 10, 10, tzinfo=timezone.utc), bot_user_id="@bot:x",
                   transport=Recorder(), role_of=lambda user: Role.ATTENDEE)


def registry_with_calls() -> tuple[Registry, list[str]]:
    registry, calls = Registry(), []

    @registry.command("close", help="close it", usage="!close <n>", role=Role.MODERATOR, aliases=("shut",),
                      kinds=("track",))
    async def close(ctx):
        calls.append(f"close {read_number(ctx.args, 'say which')}")
        await ctx.reply(message("closed <now>"))

    @registry.listener("m.room.message")
    async def everything(ctx):
        calls.append("listener")

    return registry, calls


async def test_dispatch_checks_roles_rooms_and_usage(schedule):
    registry, calls = registry_with_calls()
    for body, role, kind, reply in (
        ("!close 3", Role.ATTENDEE, "track", "Sorry, !close is for moderators; here you are an attendee."),
        ("!shut 3", Role.SPEAKER, "track", "Sorry, !close is for moderators; here you are a speaker."),
        ("!close x", Role.MODERATOR, "track", "“x” is not a whole number; say which. Usage: !close <n>"),
        ("!close ²", Role.MODERATOR, "track", "“²” is not a whole number; say which. Usage: !close <n>"),
        ("!close 3", Role.ORGANISER, "lobby", "There is no !close in this room. Send !help to see what you can do here."),
        ("!nope", Role.ORGANISER, "track", "There is no !nope. Send !help to see what you can do here."),
        ("!SHUT 4", Role.MODERATOR, "track", "closed <now>"),
    ):
        ctx = context(schedule, body, role, kind=kind)
        assert await registry.dispatch(ctx)
        [(_room, event_type, content, txn_id)] = ctx.transport.sent
        assert event_type == "m.room.message" and content["body"] == reply, body
        assert "<now>" not in content["formatted_body"] and "<script" not in content["formatted_body"]
        assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}
        assert content["m.mentions"] == {}, "a reply pings no one"
        assert txn_id == context(schedule, body, role)._txn_id(), "the same event, the same transaction id"
    assert calls == ["listener"] * 6 + ["close 4", "listener"]
    assert not await Registry().dispatch(context(schedule, "just chatting", Role.ATTENDEE)), "nothing to remember"


def test_a_reply_must_be_a_built_message(schedule):
    ctx = context(schedule, "!close 1", Role.MODERATOR)
    with pytest.raises(TypeError):
        asyncio.run(ctx.reply("<b>hand-made</b>"))


async def test_content_that_is_not_an_object_reaches_no_handler_as_such(schedule):
    registry, calls = registry_with_calls()
    for content in ("!close 3", ["!close 3"], 5, None):
        ctx = context(schedule, "", Role.MODERATOR)
        ctx.event["content"] = content
        assert ctx.content == {}
        await registry.dispatch(ctx)
        assert ctx.transport.sent == []
    assert calls == ["listener"] * 4


async def test_replies_per_sender_are_bounded_and_a_replay_gets_the_same_verdict(schedule):
    """CAPACITY commands in a burst are answered, the next is told once when it will be answered
    again, the rest get silence; the verdict on an event handled again is the stored one."""
    registry, calls = registry_with_calls()
    db = open_database(":memory:")
    start = 1_800_000_000_000  # when the bot received it, milliseconds

    async def send(n: int, *, at: int, sender: str = "@a:x") -> list:
        ctx = context(schedule, "!nope", Role.ATTENDEE, event_id=f"$junk{n}")
        ctx.db, ctx.sender, ctx.event["sender"], ctx.received_ms = db, sender, sender, at
        await registry.dispatch(ctx)
        return [content["body"] for _, _, content, _ in ctx.transport.sent]

    bodies = [await send(n, at=start + n) for n in range(CAPACITY + 8)]
    assert all(b == ["There is no !nope. Send !help to see what you can do here."] for b in bodies[:CAPACITY])
    assert bodies[CAPACITY] == [f"You are sending commands faster than I can answer; I'll answer again in "
                                f"{REFILL_SECONDS:.0f} s."]
    assert bodies[CAPACITY + 1:] == [[]] * 7
    assert await send(CAPACITY, at=start) == bodies[CAPACITY], "handled again: the same notice, not an answer"
    assert await send(0, at=start + CAPACITY + 8) == bodies[0], \
        "handled again with the bucket empty: answered again, as the first time (the same transaction)"
    assert len(await send(99, at=start + 2_000, sender="@b:x")) == 1, "someone else has their own budget"
    later = start + CAPACITY + 8 + int(REFILL_SECONDS * 1000)
    assert len(await send(100, at=later)) == 1, "answered again once the bucket refilled"
    assert calls == ["listener"] * (CAPACITY + 8 + 4)


@pytest.fixture(scope="module")
def commands():
    load_all()
    return REGISTRY


def organiser_dispatch(registry: Registry, ctx: Context) -> list[dict]:
    """Dispatch ``ctx`` in an event loop of its own (hypothesis calls this synchronously); the
    messages sent."""
    asyncio.run(registry.dispatch(ctx))
    return [content for _, event_type, content, _ in ctx.transport.sent if event_type == "m.room.message"]


#: Numbers as attackers type them: superscripts and other scripts' digits (str.isdigit and int()
#: take some), more digits than SQLite's integers hold, more than int() reads at all.
HOSTILE_NUMBERS = ["²", "¹", "Q²", "١٢", "５", "99999999999999999999", "Q99999999999999999999999", "9" * 5000,
                   "-3", "0", "Q0", "1.5", "+2"]


@pytest.mark.parametrize("command", [*(f"qa {action} {word}" for action in ("hide", "answered", "pin", "unpin", "top")
                                       for word in HOSTILE_NUMBERS),
                                     *(f"poll close {word}" for word in HOSTILE_NUMBERS),
                                     *(f"delay {word}" for word in HOSTILE_NUMBERS if word not in ("-3", "0", "+2")),
                                     *(f'poll "Lunch?" "Pizza" "Soup" --multi {word}' for word in HOSTILE_NUMBERS)])
def test_a_number_typed_any_way_is_answered_with_the_usage(schedule, commands, command):
    [reply] = organiser_dispatch(commands, context(schedule, f"!{command}", Role.ORGANISER))
    assert "Usage: " in reply["body"], reply["body"]
    assert len(reply["body"]) < 400, "a long word is not echoed back in full"


SUBCOMMANDS = {"ask": [""], "questions": [""], "help": ["", "qa", "!ask"], "delay": ["", "+"],
               "qa": ["open", "close", "top", "answered", "hide", "pin", "unpin", "frob"],
               "poll": ["list", "close", '"Q?" "A" "B" --multi', '"Q?" "A"', "--secret", '"'],
               "helpdesk": [""], "claim": ["", "#"], "done": [""], "tickets": [""], "mod": [""],
               "announce": ["", "--tracks", "--lobby"]}
WORDS = st.one_of(st.sampled_from([*HOSTILE_NUMBERS, "1", "Q1", "\n", "\u202e", "\u200b", '"', "--multi"]),
                  st.text(max_size=30))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from([(name, sub) for name, subs in SUBCOMMANDS.items() for sub in subs]),
       words=st.lists(WORDS, max_size=3), kind=st.sampled_from(("track", "breakout", "backstage", "lobby", "helpdesk", "helpdesk-staff")))
def test_no_command_raises_on_any_arguments(schedule, commands, command, words, kind):
    """Every command, as an organiser (so every handler runs) in every kind of room: whatever the
    arguments, the handler answers (a UsageError becomes a reply) and never raises."""
    name, sub = command
    for content in organiser_dispatch(commands, context(schedule, " ".join([f"!{name}", sub, *words]),
                                                        Role.ORGANISER, kind=kind)):
        assert content["body"] and content["formatted_body"] and content["m.mentions"] == {}


def test_available_commands_by_role_and_room(schedule):
    registry, _ = registry_with_calls()
    track = Room("!r:x", "c", "track/forum", "track", "forum")
    lobby = Room("!l:x", "c", "lobby/hallway", "lobby")
    assert registry.available(Role.MODERATOR, track)[0].name == "close"
    assert registry.available(Role.ATTENDEE, track) == []
    assert registry.available(Role.ORGANISER, lobby) == []
    with pytest.raises(ValueError):
        registry.add(registry.get("close").__class__("shut", "x", lambda ctx: None))


# ----------------------------------------------------------------------------- roles


def test_roles_from_power_levels_staff_and_speakers(schedule):
    levels = {"users": {"@chair:x": 50, "@admin:x": 100, "@muted:x": -1}, "users_default": 0}
    moderators, speakers = track_staff(schedule, "forum")
    assert moderators == {"@mod:x"} and speakers == {"@sam:x"}
    assert track_staff(schedule, "forum", "t2") == ({"@mod:x"}, set()), "a breakout's own talk only"

    def role(user):
        return role_of(user, power_levels=levels, organisers=["@org:x"], moderators=moderators, speakers=speakers,
                       creators=["@bot:x"])

    assert [role(u) for u in ("@bot:x", "@org:x", "@admin:x", "@chair:x", "@mod:x", "@sam:x", "@a:x", "@muted:x")] == [
        Role.ORGANISER, Role.ORGANISER, Role.ORGANISER, Role.MODERATOR, Role.MODERATOR, Role.SPEAKER,
        Role.ATTENDEE, Role.ATTENDEE]
    assert role_of("@a:x", power_levels={"users_default": 50}) == Role.MODERATOR
