"""Finding one's way around the conference in Element Web, against ``podium demo``.

What a newcomer sees after accepting the one invitation: the conference's space home, read top
down. Screenshots: ``navigation-*`` (see ``tests/support/element.py`` for where they go).
"""

from __future__ import annotations

import re

from bot import SAMPLE_SCHEDULE
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import build
from tests.support.element import (  # noqa: F401
    SPACE,
    STEP_MS,
    element,
    element_demo,
    element_screenshots,
    element_server,
)

CONFERENCE = "EuroPython 2026"
#: The groups the conference space lists, in the order a newcomer should read them.
GROUPS = ("lobby", "tracks", "posters", "sponsors", "help", "open-space")
#: Room key prefix → group.
GROUP_OF = {"lobby": "lobby", "track": "tracks", "poster": "posters", "sponsor": "sponsors",
            "helpdesk": "help", "open-space": "open-space"}


def _rooms():
    conference = build(SAMPLE_SCHEDULE, Settings("localhost", "@podium:localhost", "http://localhost"))
    return {room.key: room for room in conference.rooms}


async def _space_home_names(tab, shown: str) -> list[str]:
    """The room names the conference's space home lists, top to bottom, once it shows the room
    ``shown``: Element loads the listing a page at a time and shows a page whole, so this is
    what a newcomer sees before scrolling for more."""
    listing = tab.page.locator(".mx_SpaceHierarchy_list")
    await listing.locator(".mx_SpaceHierarchy_roomTile", has_text=shown).first.wait_for(timeout=STEP_MS)
    names = await listing.locator(".mx_SpaceHierarchy_roomTile_name").all_inner_texts()
    return [re.sub(r"\s*Suggested\s*$", "", name).strip() for name in names]


async def test_the_space_home_lists_the_groups_in_order(element):  # noqa: F811
    rooms = _rooms()
    group_by_name = {room.name: GROUP_OF[key.split("/")[0]] for key, room in rooms.items()
                     if key.split("/")[0] in GROUP_OF}
    user = await element.new_attendee("navigator")
    tab = await element.open(user, "navigation-groups")
    try:
        await tab.accept_invite(SPACE)
        await tab.select_space(CONFERENCE)
        names = await _space_home_names(tab, rooms["lobby/announcements"].name)
        await tab.shot("space-home")
        # Read top down, the groups come one after the other, each once, in the order of GROUPS;
        # nothing else sits between them.
        groups = [group_by_name.get(name, f"other: {name}") for name in names]
        runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
        assert runs[:len(GROUPS)] == list(GROUPS), runs
        # One room per poster: its title is listed once.
        for poster in (r for k, r in rooms.items() if k.startswith("poster/")):
            title = poster.name.removeprefix("Poster · ")
            assert sum(title in name for name in names) == 1, (title, names)
    finally:
        await tab.close()


async def test_a_newcomer_reaches_the_track_on_now_in_two_clicks(element):  # noqa: F811
    tracks = {room.name for key, room in _rooms().items() if key.startswith("track/")}
    user = await element.new_attendee("newcomer")
    tab = await element.open(user, "navigation-newcomer")
    try:
        await tab.accept_invite(SPACE)
        # The space home, as Element shows it on accepting: the first room that says a talk is on.
        on_now = tab.page.locator(".mx_SpaceHierarchy_list .mx_SpaceHierarchy_roomTile",
                                  has_text=re.compile(r"Now: (?!nothing on)")).first
        await on_now.wait_for(timeout=STEP_MS)
        await tab.shot("space-home")
        name = (await on_now.locator(".mx_SpaceHierarchy_roomTile_name").inner_text()).strip()
        name = re.sub(r"\s*Suggested\s*$", "", name)
        assert name in tracks, f"the first room saying what is on is {name!r}, not a track"
        await on_now.locator(".mx_SpaceHierarchy_roomTile_name").click(timeout=STEP_MS)  # click 1
        join = tab.page.locator(".mx_RoomPreviewBar").get_by_role("button", name=re.compile("^Join"))
        await join.first.click(timeout=STEP_MS)  # click 2
        await tab.page.locator(".mx_MessageComposer").wait_for(timeout=STEP_MS)
        heading = tab.page.locator(".mx_RoomHeader_heading, .mx_RoomHeader h2").first
        assert (await heading.inner_text()).strip() == name
        await tab.shot("track-on-now")
    finally:
        await tab.close()
