"""Every kind of room with a page pinned, on a homeserver slow to answer: an attendee and a moderator
open the track room, a poster, a sponsor's booth, the jobs room and a backstage once each, as
people do, while every widget consent Element saves is answered 1.5 s late (its /sync echo then
comes first, which Element 1.11.88 misses). Each page asks once and shows after its one
"Continue"; nothing is reopened or pressed twice. The demo's homeserver writes a consent to the
bot's widgets again a moment later (``bot.synapse_consent``), which is what Element then sees."""

from __future__ import annotations

from tests.support.element import (  # noqa: F401
    SPACE,
    User,
    demo_rooms,
    element,
    element_demo,
    element_screenshots,
    element_server,
)

HELD_S = 1.5
#: Room key -> the pages pinned in it that ask for consent (Element's own Jitsi tile does not).
ATTENDEE_ROOMS = {
    "track/forum": ("podium-stream",),
    "poster/poster-energy": ("podium-poster",),
    "sponsor/snakeworks": ("podium-booth",),
    "lobby/jobs": ("podium-jobs",),
}
MODERATOR_ROOMS = {"backstage/forum": ("podium-qa-board", "podium-polls")}


async def _open_each(tab, rooms: dict[str, tuple[str, ...]], *, join: bool) -> dict[str, tuple[int, dict]]:
    """Open each room once on a slow homeserver, allow its pages: room key -> (how many consents
    were asked, each page's tile state once settled)."""
    await tab.hold_consent_answers(HELD_S)
    demo = demo_rooms()
    seen = {}
    for key, pages in rooms.items():
        alias = f"#{demo[key].alias}:localhost"
        await (tab.join_room(alias) if join else tab.open_room(alias))
        asked = await tab.allow_widgets(expected=len(pages))
        tiles = {t.widget_id: t.state for t in await tab.wait_for_widgets()}
        await tab.shot(key.replace("/", "-"))
        seen[key] = (asked, {page: tiles.get(page, "missing") for page in pages})
    return seen


async def test_every_page_shows_after_one_consent_on_a_slow_homeserver(element):  # noqa: F811
    attendee = await element.open(await element.new_attendee("patient"), "slow-consent-attendee")
    try:
        await attendee.accept_invite(SPACE)
        seen = await _open_each(attendee, ATTENDEE_ROOMS, join=True)
    finally:
        await attendee.close()
    # The moderator's backstage is already his (bot.synapse_joins): he opens it.
    moderator = await element.open(User("moderator"), "slow-consent-moderator")
    try:
        seen |= await _open_each(moderator, MODERATOR_ROOMS, join=False)
    finally:
        await moderator.close()
    expected = ATTENDEE_ROOMS | MODERATOR_ROOMS
    assert {key: asked for key, (asked, _) in seen.items()} == {key: len(pages) for key, pages in expected.items()}
    not_shown = {f"{key}: {page}": state for key, (_, states) in seen.items()
                 for page, state in states.items() if state != "loaded"}
    assert not not_shown, f"pages not shown after one consent: {not_shown}"
