"""A sponsor's booth room against the real Synapse: the bot runs, the sponsor's staff and eight
attendees are real matrix-nio clients, the codes are loaded with ``podium swag load`` into the
running bot's data directory, and the booth page is served from it.

One conference and one running bot are shared by the module.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from bot.cli import main
from bot.direct import direct_room
from bot.web import create_app, start_web
from bot.web.background import free_port
from tests.support.live import LiveSetup, Person, body
from tests.support.waiting import eventually

ATTENDEES = 8
CODES = 5


FANS = tuple((f"fan{n}", f"Fan {n}") for n in range(ATTENDEES))
LIVE = LiveSetup(
    people=(("sia", "Sia"), *FANS),
    extra=lambda users: {"sponsors": [{"id": "acme", "name": "ACME", "staff": [users["sia"]],
                                       "booth_url": "https://acme.example/booth",
                                       "jobs": [{"title": "Tester", "url": "https://acme.example/jobs/tester"}]}]},
    rooms={"booth": "sponsor-acme", "jobs": "jobs", "hallway": "hallway"},
    joins={"sia": ("booth", "hallway"), "fan0": ("jobs", "booth"), **{name: ("booth",) for name, _ in FANS[1:]}})


@contextlib.asynccontextmanager
async def live_extras(live):
    """The booth page served from the bot's data, and the swag codes loaded while the bot runs."""
    conference, data_dir = live.conf.conference, live.directory / "data"
    app = create_app(conference.schedule, conference.settings, data_dir=data_dir)
    port = free_port()
    web = await start_web(app, "127.0.0.1", port)
    live.people, live.page = [getattr(live, name) for name, _ in FANS], f"http://127.0.0.1:{port}/widgets/sponsor/acme"
    try:
        codes = live.directory / "codes.txt"
        codes.write_text("".join(f"ACME-{n:03}\n" for n in range(CODES)))
        assert main(["swag", "load", "acme", str(codes), "--schedule", str(live.directory / f"{live.conf.conf_id}.yaml"),
                     "--data-dir", str(data_dir)]) == 0, "loaded while the bot runs"
        yield
    finally:
        await web.cleanup()


async def direct_messages(person: Person, bot: str) -> list[dict]:
    """Accept the bot's invitations, as Element does when the person clicks them, and return what
    the bot sent in those rooms."""
    joined: set[str] = set()

    async def arrived() -> list[dict]:
        # nio keeps the invitations every earlier sync brought (Person.sync reads only joined rooms).
        for room_id in list(person.client.invited_rooms):
            joined.add(await person.join(room_id))
        await person.sync(300)
        return [e for room_id in joined for e in person.timeline.get(room_id, [])
                if e.get("sender") == bot and "Your swag from" in body(e)]

    return await eventually(arrived, what=f"the bot's swag message to {person.user_id}")


async def page(live) -> str:
    async with aiohttp.ClientSession() as session, session.get(live.page) as response:
        assert response.status == 200
        return await response.text()


async def test_concurrent_claims_get_distinct_codes_by_direct_message(live):
    commands = await asyncio.gather(*(person.say(live.booth, "!swag") for person in live.people))
    replies = [body(await person.reply_to(live.booth, event_id, live.bot))
               for person, event_id in zip(live.people, commands)]
    sent = [n for n, reply in enumerate(replies) if reply == "I sent you a direct message with your ACME swag code."]
    gone = [n for n, reply in enumerate(replies) if reply == "Sorry, ACME's swag is all given out: no codes are left."]
    assert len(sent) == CODES and len(gone) == ATTENDEES - CODES, replies
    assert not any("ACME-0" in reply for reply in replies), "the room never sees a code"

    received = await asyncio.gather(*(direct_messages(live.people[n], live.bot) for n in sent))
    codes = [body(messages[0]).split(": ", 1)[1].split("\n")[0] for messages in received]
    assert all(len(messages) == 1 for messages in received), received
    assert sorted(codes) == [f"ACME-{n:03}" for n in range(CODES)], "each code once"

    again = await live.people[sent[0]].ask(live.booth, "!swag", live.bot)
    assert again["body"] == ("You have your ACME swag already: its code is in your direct chat with me. "
                             "It is one per person.")
    count = await live.sia.ask(live.booth, "!swag", live.bot)
    assert count["body"] == f"ACME swag: 0 codes of {CODES} left ({CODES} given out)."


async def test_a_job_reaches_the_jobs_room_and_the_booth_page(live):
    reader = live.people[0]
    reply = await live.sia.ask(live.booth, "!job Rust <b>developer</b> https://acme.example/jobs/rust", live.bot)
    assert reply["body"].startswith("Posted job #1, “Rust <b>developer</b>”, in the Jobs room and on the booth page.")
    post = await reader.wait_for(live.jobs, lambda e: e.get("sender") == live.bot and "is hiring" in body(e))
    assert body(post) == "ACME is hiring: Rust <b>developer</b> (https://acme.example/jobs/rust)"
    html = await page(live)
    assert '<a href="https://acme.example/jobs/tester"' in html
    assert '<a href="https://acme.example/jobs/rust" target="_blank" rel="noopener">Rust &lt;b&gt;developer&lt;/b&gt;</a>' \
        in html

    listing = await reader.ask(live.booth, "!job", live.bot)
    assert listing["body"] == ("Jobs at ACME (2):\nTester (https://acme.example/jobs/tester)\n"
                               "#1 Rust <b>developer</b> (https://acme.example/jobs/rust)")
    removed = await live.sia.ask(live.booth, "!job remove 1", live.bot)
    assert removed["body"] == "Job #1, “Rust <b>developer</b>”, is taken down."
    await reader.wait_for(live.jobs, lambda e: e.get("type") == "m.room.redaction"
                          and post["event_id"] in (e.get("redacts"), e["content"].get("redacts")))
    assert "jobs/rust" not in await page(live)


async def test_staff_moderate_their_booth_only_and_attendees_are_refused(live):
    refused = await live.people[1].ask(live.booth, "!job Intern https://acme.example/jobs/intern", live.bot)
    assert refused["body"] == "Sorry, only the sponsor's staff post and take down jobs. Send !job alone to see the jobs."
    refused = await live.people[1].ask(live.booth, "!swag count", live.bot)
    assert refused["body"].startswith("Sorry, only the sponsor's staff see how many codes are left.")
    bad = await live.sia.ask(live.booth, "!job Intern intern.acme.example", live.bot)
    assert bad["body"] == ("“intern.acme.example” is not a web address; end with the job's full http:// or https:// "
                           "address. Usage: !job [<title> <url> | remove <n>]")
    at_booth = await live.sia.ask(live.booth, "!help", live.bot)
    assert at_booth["body"].startswith("What you can do here (as moderator):")
    elsewhere = await live.sia.ask(live.hallway, "!help", live.bot)
    assert elsewhere["body"].startswith("What you can do here (as attendee):") and "!job" not in elsewhere["body"]


async def test_a_direct_chat_is_found_again_until_its_person_leaves(live):
    adapter, db, person = live.runner.adapter, live.runner.store.db, live.people[-1]
    room_id = await direct_room(adapter, db, person.user_id)
    assert await direct_room(adapter, db, person.user_id) == room_id, "invited: the same room"
    create = await adapter.request("GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.member/{person.user_id}",
                                   what="read the invitation")
    assert create["membership"] == "invite" and create["is_direct"] is True
    m_direct = await adapter.request("GET", f"/_matrix/client/v3/user/{live.bot}/account_data/m.direct",
                                     what="read m.direct")
    assert room_id in m_direct[person.user_id]
    await person.join(room_id)
    await person.client.room_leave(room_id)
    again = await direct_room(adapter, db, person.user_id)
    assert again != room_id, "a person who left gets a new chat"
