"""A newcomer opens a conference room from a link before accepting the conference's invitation,
in Element Web, against ``podium demo`` (whose homeserver loads ``bot.synapse_joins``).

Element shows the room as one that "can't be previewed" with "Join the discussion"; pressing it
once must land the newcomer in the room, the space joined with it, not on Element's raw
"Failed to join … [403] You do not belong to any of the required rooms/spaces". Screenshots:
``restricted-join-*`` (see ``tests/support/element.py`` for where they go).
"""

from __future__ import annotations

import re

from tests.support.element import (  # noqa: F401
    STEP_MS,
    demo_rooms,
    element,
    element_demo,
    element_screenshots,
    element_server,
)

CONFERENCE = "EuroPython 2026"
TRACK = "track/forum"


async def test_a_newcomer_joins_a_track_room_before_accepting_the_conference(element):  # noqa: F811
    track = demo_rooms()[TRACK]
    user = await element.new_attendee("walkin")  # invited to the conference, not yet in it
    tab = await element.open(user, "restricted-join")
    try:
        await tab.open_room(f"#{track.alias}:localhost")
        preview = tab.page.locator(".mx_RoomPreviewBar")
        join = preview.get_by_role("button", name=re.compile("^Join"))
        await join.first.wait_for(timeout=STEP_MS)
        # Not in the space yet: the room is closed to a preview, as to a stranger.
        await preview.get_by_text("can't be previewed").wait_for(timeout=STEP_MS)
        await tab.shot("preview")
        await join.first.click(timeout=STEP_MS)  # once, as a user does: no retry, no reopening
        composer = tab.page.locator(".mx_MessageComposer")
        refused = tab.page.locator(".mx_Dialog", has_text="Failed to join")
        await composer.or_(refused).first.wait_for(timeout=STEP_MS)
        if await refused.count():
            await tab.shot("refused")
            raise AssertionError(f"Element could not join: {(await refused.first.inner_text()).strip()!r}")
        heading = tab.page.locator(".mx_RoomHeader_heading, .mx_RoomHeader h2").first
        assert (await heading.inner_text()).strip() == track.name
        # The conference itself is joined with it: listed in the space panel, no longer as an invitation.
        joined_space = tab.page.locator(
            f'.mx_SpacePanel .mx_SpaceButton[aria-label="{CONFERENCE}"]:not(.mx_SpaceButton_invite)')
        await joined_space.first.wait_for(timeout=STEP_MS)
        await tab.shot("joined")
    finally:
        await tab.close()
