"""Widget tiles in Element Web: a track room opened by attendees Element has never seen, each in a
fresh profile, shows every pinned widget's page after the one consent click per widget; none
stays on "Loading…", and Element's widget messaging finishes its handshake with every page.

The room is opened once, as a user opens it: a tile left on "Loading…" fails the test. Element
1.11.88 misses its own consent's /sync echo when the echo beats the answer to the consent's write
(a busy homeserver, a slow network); the demo's homeserver writes a consent to the bot's widgets
again a moment later (``bot.synapse_consent``), and one visit here holds every consent's answer
back to meet that order every time."""

from __future__ import annotations

from tests.support.element import (  # noqa: F401
    SPACE,
    element,
    element_demo,
    element_screenshots,
    element_server,
)

TRACK = "#ep2026-track-forum:localhost"
VISITS = 10
#: The visit whose consents are answered late, so that each consent's echo comes first.
HELD_VISIT = 2
HELD_S = 1.5


async def test_a_track_room_shows_every_pinned_widget_in_fresh_profiles(element):  # noqa: F811
    stuck: list[str] = []
    silent: list[str] = []
    tiles_seen = 0
    for visit in range(1, VISITS + 1):
        journey = f"widgets-{visit:02d}"
        if visit == 1:
            # The first attendee walks in through Element: accepts the space invitation, joins.
            user = await element.new_attendee("visitor")
            tab = await element.open(user, journey)
            await tab.accept_invite(SPACE)
            await tab.join_room(TRACK)
        else:
            user = await element.new_attendee("visitor", join=(SPACE, TRACK))
            tab = await element.open(user, journey)
            await tab.open_room(TRACK)
        try:
            if visit == HELD_VISIT:
                await tab.hold_consent_answers(HELD_S)
            allowed = await tab.allow_widgets()
            assert allowed == len(await tab.widget_ids()), "every Podium widget asks a new user once"
            tiles = await tab.wait_for_widgets()
            await tab.shot("track-room")
            tiles_seen += len(tiles)
            stuck += [f"visit {visit}: {t.widget_id} {t.state}" for t in tiles if not t.loaded]
            # Element logs the capabilities it allowed once the page answered its handshake.
            for t in tiles:
                if t.loaded and not await _answered(tab, t.widget_id):
                    silent.append(f"visit {visit}: {t.widget_id}")
        finally:
            await tab.close()
    assert tiles_seen >= VISITS
    assert not stuck, f"{len(stuck)} of {tiles_seen} tiles never showed their page: {stuck}"
    assert not silent, f"pages that never answered Element's widget handshake: {silent}"


async def _answered(tab, widget_id: str, timeout_ms: int = 5000) -> bool:
    """Whether Element's messaging with the widget finished its handshake within ``timeout_ms``
    (Element gives up on a page that never answers after 10 s)."""
    for _ in range(timeout_ms // 100):
        if tab.widget_answered(widget_id):
            return True
        await tab.page.wait_for_timeout(100)
    return tab.widget_answered(widget_id)
