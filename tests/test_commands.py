"""The command registry and roles as plain logic: parsing, role checks, usage replies, listeners.

Dispatch is exercised with a transport that records what would be sent (no homeserver is
involved at this level); tests/test_ask.py and tests/test_runtime.py cover the same paths
against the real Synapse.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import Context, Registry, Room, UsageError, parse_command
from bot.conference.roles import Role, role_of, track_staff
from bot.conference.schedule import load_schedule
from tests.live import write_live_schedule


@pytest.mark.parametrize("body, parsed", [
    ("!ask What now?", ("ask", "What now?")),
    ("!ASK   spaced\nsecond line", ("ask", "spaced\nsecond line")),
    ("!help", ("help", "")),
    ("> <@bob:x> earlier\n\n!qa top 3", ("qa", "top 3")),
    ("hello !ask", None),
    ("!", None),
    ("! ask", None),
    ("!<b>x</b>", None),
])
def test_parse_command(body, parsed):
    assert parse_command({"msgtype": "m.text", "body": body}) == parsed


def test_edits_and_images_are_not_commands():
    assert parse_command({"msgtype": "m.image", "body": "!ask x"}) is None
    assert parse_command({"msgtype": "m.text", "body": "!ask x", "m.relates_to": {"rel_type": "m.replace"}}) is None
    assert parse_command({"msgtype": "m.text", "body": 42}) is None


@given(st.text(max_size=80))
def test_parse_never_fails_and_names_are_plain(body):
    parsed = parse_command({"msgtype": "m.text", "body": body})
    if parsed is not None:
        name, args = parsed
        assert name and name == name.lower() and all(c.isalnum() or c in "-_" for c in name)
        assert args == args.strip()


# ----------------------------------------------------------------------------- dispatch


class Recorder:
    def __init__(self):
        self.sent: list[tuple[str, str, dict, str]] = []

    async def send(self, room_id, event_type, content, txn_id):
        self.sent.append((room_id, event_type, content, txn_id))
        return f"$sent{len(self.sent)}"


@pytest.fixture
def schedule(tmp_path):
    path, _ = write_live_schedule(tmp_path, moderator="@mod:x", speaker="@sam:x")
    return load_schedule(path)


def context(schedule, body: str, role: Role, *, kind: str = "track", event_id: str = "$cmd") -> Context:
    room = Room("!r:x", schedule.conference.id, f"{kind}/forum", kind, "forum")
    return Context(event={"event_id": event_id, "type": "m.room.message", "sender": "@a:x",
                          "content": {"msgtype": "m.text", "body": body}},
                   room=room, sender="@a:x", sender_name="A", role=role, db=sqlite_utils.Database(memory=True),
                   schedule=schedule, now=datetime(2026, 7, 13, 10, 10, tzinfo=timezone.utc), bot_user_id="@bot:x",
                   transport=Recorder(), role_of=lambda user: Role.ATTENDEE)


def registry_with_calls() -> tuple[Registry, list[str]]:
    registry, calls = Registry(), []

    @registry.command("close", help="close it", usage="!close <n>", role=Role.MODERATOR, aliases=("shut",),
                      kinds=("track",))
    async def close(ctx):
        if not ctx.args.isdigit():
            raise UsageError(f"{ctx.args!r} is not a number")
        calls.append(f"close {ctx.args}")
        await ctx.reply("closed <now>")

    @registry.listener("m.room.message")
    async def everything(ctx):
        calls.append("listener")

    return registry, calls


async def test_dispatch_checks_roles_rooms_and_usage(schedule):
    registry, calls = registry_with_calls()
    for body, role, kind, reply in (
        ("!close 3", Role.ATTENDEE, "track", "Sorry, !close is for moderators; here you are an attendee."),
        ("!shut 3", Role.SPEAKER, "track", "Sorry, !close is for moderators; here you are a speaker."),
        ("!close x", Role.MODERATOR, "track", "'x' is not a number. Usage: !close <n>"),
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
        assert txn_id == context(schedule, body, role)._txn_id(), "the same event, the same transaction id"
    assert calls == ["listener"] * 5 + ["close 4", "listener"]
    assert not await Registry().dispatch(context(schedule, "just chatting", Role.ATTENDEE)), "nothing to remember"


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
