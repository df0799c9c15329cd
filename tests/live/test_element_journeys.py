"""The attendee's and the moderator's day in Element Web, against ``podium demo``.

Each step is asserted on what Element's page shows, with a screenshot per step (see
``tests/support/element.py`` for where they go). The attendee walks in through the one invitation and
finds every room she joins under the conference; the moderator finds his invitations there too,
runs Q&A and a poll, and watches a question arrive on the backstage Q&A board.
"""

from __future__ import annotations

import re
import uuid

from bot.conference.roomkeys import backstage_key, track_key
from tests.support.element import (  # noqa: F401
    SPACE,
    STEP_MS,
    User,
    _http_json,
    demo_rooms,
    element,
    element_demo,
    element_screenshots,
    element_server,
)

CONFERENCE = "EuroPython 2026"


def _banner_room(harness) -> str:
    """The track room ``podium demo`` tells a newcomer to try ``!ask`` in."""
    found = re.search(r"Try:\s+in (#\S+:localhost), ", harness.demo.process.output)
    assert found, harness.demo.process.output
    return found[1]


# ----------------------------------------------------------------------------- journeys


async def test_the_attendee_finds_everything_under_the_conference(element):  # noqa: F811
    rooms = demo_rooms()
    user = await element.new_attendee("attendee")
    tab = await element.open(user, "attendee")
    try:
        await tab.shot("logged-in")

        # One invitation: the conference space. Its home lists the rooms, lobby first, then tracks.
        await tab.accept_invite(SPACE)
        await tab.select_space(CONFERENCE)
        listing = tab.page.locator(".mx_SpaceHierarchy_list")
        await listing.locator(".mx_SpaceHierarchy_roomTile", has_text="Forum Hall").first.wait_for(timeout=STEP_MS)
        shown = await listing.inner_text()
        names = [rooms[key].name for key in rooms if key.startswith(("lobby/", "track/"))]
        positions = [shown.find(name) for name in names]
        assert -1 not in positions and positions == sorted(positions), (names, shown)
        await tab.shot("conference-space")

        # A track room, joined from the conference's list: the stream page on top with what is on
        # now and next, after one consent. (Which space Element selects while it joins varies
        # with its own loading; that the room is listed under the conference, and stays so when
        # opened, is checked once the walk is over.)
        await tab.join_listed("Forum Hall")
        assert await tab.allow_widgets() == 1
        await tab.loaded_widget("podium-stream")
        forum_now = next(t for t in _http_json(f"{element.demo.web_url}/api/now-next")["tracks"] if t["id"] == "forum")
        if forum_now.get("now"):
            await tab.frame_text_containing("podium-stream", forum_now["now"]["title"])
        if forum_now.get("next"):
            await tab.frame_text_containing("podium-stream", forum_now["next"]["title"])
        await tab.shot("track-room")

        # !ask where the demo says a talk is on: the bot posts the question; a 👍 counts.
        banner_room = _banner_room(element)
        await tab.join_room(banner_room)
        await tab.allow_widgets()
        question = f"Will the slides be shared ({uuid.uuid4().hex[:6]})?"
        await tab.send(f"!ask {question}")
        post = await tab.bot_post(rf"^Q\d+ · .*{re.escape(question)}")
        number = re.match(r"^Q(\d+)", await post.locator(".mx_EventTile_body").inner_text())[1]
        await tab.shot("asked")
        # The count the bot gives is the 👍 Element shows under the post: none yet, asking is no vote.
        await tab.send("!questions")
        await tab.bot_post(rf"Q{number} · 0 👍 · .*{re.escape(question)}")
        await tab.react_thumbs_up(post)
        await tab.send("!questions")
        await tab.bot_post(rf"Q{number} · 1 👍 · .*{re.escape(question)}")
        assert await post.locator(".mx_ReactionsRowButton_count").inner_text() == "1"
        await tab.shot("upvoted")

        # A native poll from the organiser: Element's own vote buttons; the vote is counted.
        await element.say_as(User("organiser"), banner_room, '!poll "Which topic next?" "Testing" "Packaging"')
        poll = await tab.poll("Which topic next?")
        await poll.locator(".mx_PollOption", has_text="Testing").click(timeout=STEP_MS)
        await poll.get_by_text(re.compile("Based on 1 vote")).wait_for(timeout=STEP_MS)
        await element.say_as(User("organiser"), banner_room, "!poll close")
        await poll.get_by_text(re.compile("Final result based on 1 vote")).wait_for(timeout=STEP_MS)
        await tab.shot("poll")

        # A poster room: the poster drawn in its tile beside the call (the sample ships this one's
        # PDF, so it shows with no network); a sponsor's booth with its jobs.
        poster = rooms["poster/poster-energy"]
        await tab.join_room(f"#{poster.alias}:localhost")
        # Element asks once, for Podium's page, not for its own Jitsi tile.
        assert await tab.allow_widgets(expected=2) == 1
        await tab.loaded_widget("podium-poster")
        drawn = tab.widget_frame("podium-poster").locator("canvas")
        await drawn.first.wait_for(timeout=STEP_MS)
        assert await drawn.first.evaluate("(canvas) => canvas.width > 100 && canvas.height > 100")
        assert "cannot show" not in await tab.frame_text_containing("podium-poster", "Open the PDF")
        await tab.shot("poster-room")
        sponsor = next(room for key, room in rooms.items() if key.startswith("sponsor/"))
        await tab.join_room(f"#{sponsor.alias}:localhost")
        assert await tab.allow_widgets(expected=2) == 1
        booth = await tab.loaded_widget("podium-booth")
        assert "Jobs" in (booth.frame_text or ""), booth.frame_text
        await tab.shot("sponsor-room")

        # Every room she joined is listed under the conference, and opening one keeps it selected.
        joined = ["Forum Hall", rooms[track_key(banner_room.split('-track-')[1].split(':')[0])].name,
                  poster.name, sponsor.name]
        await tab.select_space(CONFERENCE)
        for name in joined:
            await tab.wait_for_room_listed(name)
        await tab.page.locator(".mx_LeftPanel .mx_RoomTile", has_text="Forum Hall").first.click()
        await tab.page.locator(".mx_RoomHeader", has_text="Forum Hall").first.wait_for(timeout=STEP_MS)
        assert await tab.active_space() == CONFERENCE
        await tab.shot("rooms-under-the-conference")
        listed = await tab.room_list()
        assert set(joined) <= set(listed), listed
    finally:
        await tab.close()


async def test_the_moderator_runs_qa_and_a_poll_and_watches_the_board(element):  # noqa: F811
    rooms = demo_rooms()
    banner_room = _banner_room(element)
    track_id = banner_room.split("-track-")[1].split(":")[0]
    backstage = rooms[backstage_key(track_id)]
    tab = await element.open(User("moderator"), "moderator")
    try:
        await tab.shot("rooms-joined-one-invitation")
        # The conference's invitation is the one he accepts: the demo's homeserver joined him to
        # his backstages and the helpdesk's staff room as the bot invited him (bot.synapse_joins).
        await tab.accept_invite(SPACE)
        await tab.select_space(CONFERENCE)
        await tab.wait_for_room_listed(backstage.name)
        await tab.wait_for_room_listed("Helpdesk")
        await tab.shot("rooms-under-the-conference")

        # The track room: a member of the space joins without a 403.
        await tab.join_room(banner_room)
        await tab.allow_widgets()
        await tab.send("!qa open")
        await tab.wait_for_bot_reply("Q&A is open")
        await tab.send('!poll "How is the pace?" "Too fast" "Just right"')
        await tab.poll("How is the pace?")
        # The bot removes the command line: the poll repeats it.
        await tab.page.locator(".mx_RoomView_MessageList .mx_EventTile_body",
                               has_text='!poll "How is the pace?"').wait_for(state="detached", timeout=STEP_MS)
        await tab.shot("poll-posted")
        await tab.send("!qa top")
        await tab.bot_post(r"^(Top \d+|Open) questions for")
        await tab.shot("qa-top")

        # Backstage: the Q&A board shows a question the moment an attendee asks it.
        # Already his: the room opens with its composer, no invitation to accept first.
        await tab.open_room(f"#{backstage.alias}:localhost")
        await tab.page.locator(".mx_MessageComposer").wait_for(timeout=STEP_MS)
        assert await tab.allow_widgets(expected=2) == 2, "each of the backstage's pages asks once"
        await tab.loaded_widget("podium-qa-board")
        asker = await element.new_attendee("asker")
        question = f"Could you show the benchmark again ({uuid.uuid4().hex[:6]})?"
        await element.say_as(asker, banner_room, f"!ask {question}")
        await tab.frame_text_containing("podium-qa-board", question)
        await tab.shot("qa-board-live")
    finally:
        await tab.close()
