"""Letting attendees in, against the real Synapse with real attendee clients: ``podium invite``'s
run stopped half-way and resumed, ticket codes sent to the bot in a direct chat, and the welcome
each new member of the conference space gets once.

One conference (access ``space-members``) and one running bot are shared by the module.
"""

from __future__ import annotations

import contextlib
import time

import pytest
from nio import RoomCreateResponse, RoomPreset

from bot.conference.attendees import WRONG_CODES
from bot.cli.invite import UNKNOWN_USER, invite_attendees
from bot.matrix import MatrixAdapter
from bot.store.database import Store
from bot.store.invitations import InvitationStore
from bot.store.ticketcodes import TicketCodeStore
from tests.support.live import LiveSetup, Person, body, live_bot, live_conference
from tests.support.waiting import eventually


class Interrupted(Exception):
    """The invite run stopped from outside, as Ctrl-C or a kill would stop it."""


LIVE = LiveSetup(people=tuple((name, name.capitalize()) for name in ("ann", "ben", "cat", "dan", "eve", "fay")),
                 extra={"conference": {"access": "space-members"}}, rooms={})


@contextlib.asynccontextmanager
async def live_extras(live):
    """The bot's adapter, for reading the space's history, and the space's id."""
    live.adapter = MatrixAdapter(live.homeserver, live.bot, live.connection.access_token or "")
    try:
        live.space = await live.adapter.resolve_alias(f"#{live.conf.conf_id}:localhost")
        yield
    finally:
        await live.adapter.close()


async def invites_in_space(live) -> dict[str, int]:
    """How many invite events each user has in the space's history."""
    page = await live.adapter.messages(live.space, "", direction="f", limit=1000,
                                       event_filter={"types": ["m.room.member"]})
    counts: dict[str, int] = {}
    for event in page.get("chunk", []):
        if event["content"].get("membership") == "invite":
            counts[event["state_key"]] = counts.get(event["state_key"], 0) + 1
    return counts


async def open_direct_chat(person: Person, bot: str) -> str:
    response = await person.client.room_create(is_direct=True, invite=[bot], preset=RoomPreset.trusted_private_chat)
    assert isinstance(response, RoomCreateResponse), response
    return response.room_id


async def test_an_invite_run_stopped_half_way_is_finished_by_the_next_invites_everyone_once(live):
    people = [live.ann.user_id, live.ben.user_id, live.cat.user_id, "@nobody-here:localhost"]
    store = Store(live.directory / "invites")
    sent: list[str] = []

    def stop_after_two(user_id: str, outcome: str) -> None:
        sent.append(user_id)
        if len(sent) == 2:
            raise Interrupted

    try:
        with pytest.raises(Interrupted):
            await invite_attendees(live.adapter, store.db, live.conf.conf_id, live.space, people,
                                   progress=stop_after_two)
        assert InvitationStore(store.db).done(live.conf.conf_id) == set(people[:2])
        writes = live.adapter.stats.writes
        report = await invite_attendees(live.adapter, store.db, live.conf.conf_id, live.space, people)
        assert (report.earlier, report.invited, report.failed) == (2, [live.cat.user_id],
                                                                   [("@nobody-here:localhost", UNKNOWN_USER)])
        assert live.adapter.stats.writes - writes == 1, "the rerun sends only the invite not sent yet"
        assert {uid: n for uid, n in (await invites_in_space(live)).items() if uid in people} == \
            dict.fromkeys(people[:3], 1)
        await live.ann.join(live.space)
        again = await invite_attendees(live.adapter, store.db, live.conf.conf_id, live.space,
                                       [live.ann.user_id, live.eve.user_id])
        assert (again.earlier, again.invited) == (1, [live.eve.user_id])
    finally:
        store.close()


async def test_a_ticket_code_admits_one_account_once_and_wrong_codes_are_limited(live):
    codes = TicketCodeStore(live.runner.store.db)
    codes.load(live.conf.conf_id, ["TIX4DAN", "TIX4NOONE"], time.time())
    dan_room = await open_direct_chat(live.dan, live.bot)
    await eventually(lambda: live.runner.runtime.direct_rooms.user_of(dan_room) == live.dan.user_id)
    answer = await live.dan.said_back(dan_room, "tix4dan", live.bot)
    assert answer["body"] == (f"Thank you! I invited you to Live <Test> (https://matrix.to/#/#{live.conf.conf_id}:"
                              "localhost?via=localhost): accept the invitation and every room of the conference is "
                              "open to you.")
    assert await live.adapter.membership(live.space, live.dan.user_id) == "invite"
    assert "tix4dan" not in answer["body"].lower()

    # Another account with the same code: refused. Then wrong codes, until it is told to wait.
    fay_room = await open_direct_chat(live.fay, live.bot)
    await eventually(lambda: live.runner.runtime.direct_rooms.user_of(fay_room) == live.fay.user_id)
    assert (await live.fay.said_back(fay_room, "TIX4DAN", live.bot))["body"].startswith(
        "This code was used already, by another account: each ticket admits one account once.")
    assert await live.adapter.membership(live.space, live.fay.user_id) is None
    replies = [body_ := (await live.fay.said_back(fay_room, f"WRONG{n}X", live.bot))["body"]
               for n in range(WRONG_CODES)]
    assert replies[0].endswith(f"({WRONG_CODES - 1} more tries this hour).") and "no more tries" in body_
    refused = (await live.fay.said_back(fay_room, "TIX4NOONE", live.bot))["body"]
    assert refused.startswith(f"That makes {WRONG_CODES} wrong codes within an hour: please wait 60 min")
    assert codes.count(live.conf.conf_id) == (2, 1), "the right code sent while waiting is not used"


async def test_a_new_member_of_the_space_is_welcomed_once_in_a_direct_chat(live):
    eve = live.eve
    await eve.join(live.space)  # invited by the invite run above

    async def direct_invite() -> str:
        for _ in range(60):
            await eve.sync()
            rooms = [room_id for room_id in eve.client.invited_rooms if room_id != live.space]
            if rooms:
                return rooms[0]
        raise AssertionError("no direct chat from the bot")

    room_id = await direct_invite()
    await eve.join(room_id)
    welcome = await eve.wait_for(room_id, lambda e: e.get("sender") == live.bot and "Welcome to" in body(e))
    text = body(welcome)
    assert text.startswith("Welcome to Live <Test>! How to find your way:")
    assert "Start in the lobby: Announcements (https://matrix.to/#/#" in text and "!help" in text
    assert "the navigator (http://localhost:8080/widgets/now-next)" in text

    # Leaving and coming back is no new arrival; neither is a restart of the bot.
    await eve.client.room_leave(live.space)
    await live.runner.stop()
    await live.runner.start()
    await live.adapter.invite(live.space, eve.user_id, what="invite eve again")
    await eve.join(live.space)
    rejoined = await last_join(live, eve.user_id)
    await eventually(lambda: live.runner.store.is_handled(rejoined))
    await eve.sync(1000)
    welcomes = [e for e in eve.timeline.get(room_id, []) if e.get("sender") == live.bot and "Welcome to" in body(e)]
    assert len(welcomes) == 1


async def last_join(live, user_id: str) -> str:
    """The event id of ``user_id``'s latest join of the space."""
    page = await live.adapter.messages(live.space, "", direction="b", limit=50,
                                       event_filter={"types": ["m.room.member"]})
    return next(e["event_id"] for e in page["chunk"]
                if e["state_key"] == user_id and e["content"].get("membership") == "join")


def test_podium_invite_reports_who_could_not_be_invited_and_a_rerun_sends_only_the_rest(
        tmp_path, synapse, make_user, monkeypatch, capsys):
    import asyncio

    from bot.cli import main

    bot = live_bot(synapse, make_user)
    conf = asyncio.run(live_conference(tmp_path, bot, make_user, extra={"conference": {"access": "invite"}}))
    schedule = conf.schedule_path
    ada, _ = make_user("ada")
    people = tmp_path / "orders.csv"
    people.write_text(f'Order code,Matrix ID\nA1,{ada}\nA2,\nA3,@nobody-else:localhost\nA4,{ada}\n')
    monkeypatch.setenv("PODIUM_HOMESERVER", synapse.base_url)
    monkeypatch.setenv("PODIUM_USER_ID", bot.user_id)
    monkeypatch.setenv("PODIUM_ACCESS_TOKEN", bot.access_token or "")
    argv = ["invite", str(people), "--column", "Matrix ID", "--schedule", str(schedule),
            "--data-dir", str(tmp_path / "data")]
    capsys.readouterr()
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert f"note: {people}:5: {ada} is on line 2 too; invited once" in out
    assert f"note: {people}: 1 row without a Matrix ID, skipped" in out
    assert f"1 attendee invited to #{conf.conf_id}:localhost, 1 could not be invited (" in out
    assert f"  ! @nobody-else:localhost: {UNKNOWN_USER}" in out
    assert bot.access_token not in out
    assert main(argv) == 1
    assert f"0 attendees invited to #{conf.conf_id}:localhost, 1 invited by an earlier run, 1 could not be" \
        in capsys.readouterr().out
