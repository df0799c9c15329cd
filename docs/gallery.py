"""Before/after pictures of the attendee's day in Element Web, from any Podium checkout:
``python docs/gallery.py --checkout PATH --out DIR [--label before] [--only 3,5]``.

Starts ``podium demo`` with the checkout's own venv (``PATH/.venv``, ``pip install -e .`` there), so
an earlier commit's demo shows what that commit did; serves Element Web from its release tarball
(``--element-web``, else ``PODIUM_ELEMENT_WEB``) and walks the day in headless Chromium with this
repository's harness (``tests/support/element.py``), the way ``docs/screenshots.py`` takes the
README's pictures. Each view is clipped to what shows its point (the timeline, the tile, the room
list) and written as ``NN-name[-LABEL].png``; ``docs/gallery.md`` shows the pairs.

The views, by item (``--only`` takes item numbers; without it, every view):

1. the consent tile, with Element's write of the consent answered 1.5 s late (its /sync echo comes
   first), and a room opened by address and joined before the space's invitation is accepted;
2. a live track room right after the start: what is on now;
3. the Announcements room after an organiser's ``!announce``;
4. a track room after an attendee's ``!mod``;
5. a track room after ``!ask``, and after ``!poll``;
6. ``!now`` in the lobby: its room mentions;
7. a sponsor booth's tile right after its staff's ``!job``;
8. the end of a talk: the pointer to its breakout room (a demo of its own, whose schedule has the
   Forum Hall's first talk end two minutes after the start);
9. the space home a newcomer sees, and the moderator's room list on his first login;
10. ``!questions`` with two questions and a 👍, and ``!next`` for a talk hours away;
11. the stream page beside the track room, a poster at tile size, the moderators' board.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import re
import shutil
import sys
import tempfile
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402 - Pillow comes with matrix-synapse, in the test extra

from tests.support.element import (  # noqa: E402
    BOT_NAME,
    ENV_TARBALL,
    SPACE,
    Demo,
    ElementHarness,
    ElementTab,
    User,
    walked_demo,
)
from tests.support.installed import CheckoutPodium  # noqa: E402
from tests.support.waiting import settled  # noqa: E402

FORUM = "#ep2026-track-forum:localhost"
SOUTH = "#ep2026-track-south:localhost"
TERRACE = "#ep2026-track-terrace:localhost"
HALLWAY = "#ep2026-hallway:localhost"
ANNOUNCEMENTS = "#ep2026-announcements:localhost"
BOOTH = "#ep2026-sponsor-snakeworks:localhost"
POSTER = "#ep2026-poster-room-poster-energy:localhost"
BACKSTAGE = "#ep2026-backstage-forum:localhost"
QUESTIONS = ("How do you keep mypy fast on a million lines?", "Would you start with strict mode today?")
POLL = '!poll "Which typing feature do you use most?" "Protocols" "TypedDict" "Generics"'
JOB = "!job Python platform engineer https://snakeworks.example.com/jobs/platform"
#: The part of a room that shows a conversation: header, timeline, composer; no widget tiles.
NO_TILES = ".mx_AppsDrawer { display: none !important; }"
#: The space home's list as names alone, one line a room.
NAMES_ONLY = (".mx_SpaceHierarchy_roomTile_info { display: none !important; }"
              " .mx_SpaceHierarchy_roomTile { padding-top: 1px !important; padding-bottom: 1px !important; }")
SPACE_HEIGHT = 3000
#: Pictures larger than this are stored with a palette of 256 colours (Element's UI loses nothing).
MAX_BYTES = 140_000
#: How long a room must stay unchanged before the bot is taken to have said all it says.
QUIET_S = 4.0
#: How long a tile is given to show a change it may never show (the old code's booth, the stuck tile).
TILE_WAIT_S = 20.0
#: The consent write's answer is held back this long, so its /sync echo arrives first.
CONSENT_HOLD_S = 1.5
#: The shortened talk ends two minutes into the demo.
TALK_END_S = 5 * 60


@dataclass
class Gallery:
    """One walk: where the pictures go, under what label, which items; what was taken or not."""

    harness: ElementHarness
    out: Path
    label: str
    only: set[int]
    taken: list[Path]
    missed: list[str]

    def wants(self, *items: int) -> bool:
        return bool(self.only & set(items))

    def path(self, name: str) -> Path:
        return self.out / (f"{name}-{self.label}.png" if self.label else f"{name}.png")

    async def keep(self, tab: ElementTab, name: str, selector: str, *, style: str = "", height: int = 0) -> None:
        """The part of the page ``selector`` shows (its top ``height`` pixels, if given), as
        ``name``; stored small."""
        target = tab.page.locator(selector).first
        await tab.page.mouse.move(0, 0)  # no hover toolbar in the picture
        data = await target.screenshot(style=style, animations="disabled", timeout=30_000)
        path = self.path(name)
        path.write_bytes(_small_png(data, height))
        self.taken.append(path)
        print(f"  {path} ({path.stat().st_size // 1000} KB)", flush=True)

    async def view(self, name: str, take: Callable[[], Awaitable[None]], tab: ElementTab | None = None) -> None:
        """Take one view; a view that cannot be reached is reported (with a full-page picture of how
        far it got, kept in ``OUT/failed/``) and the walk goes on."""
        print(f"{name} …", flush=True)
        try:
            await take()
        except Exception as exc:  # noqa: BLE001 - the old code's demo may not get there at all
            self.missed.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            traceback.print_exc()
            if tab is not None:
                await tab.shot(f"{name}-failed")


def _small_png(data: bytes, height: int = 0) -> bytes:
    image = Image.open(io.BytesIO(data))
    if height and image.height > height:
        image = image.crop((0, 0, image.width, height))
    elif len(data) <= MAX_BYTES:
        return data
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    if buffer.tell() > MAX_BYTES:
        buffer = io.BytesIO()
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG",
                                                                                      optimize=True)
    return buffer.getvalue()


async def quiet(tab: ElementTab, selector: str = ".mx_RoomView_MessageList", seconds: float = QUIET_S,
                timeout: float = 60) -> None:
    """Returns once what ``selector`` shows (the room's timeline) has not changed for ``seconds``:
    the bot has said (and removed) what it does in answer to a command, whichever version of it
    is running; the room list has every room of the first sync."""
    timeline = tab.page.locator(selector).first
    last: list[Any] = [None, 0.0]
    loop = asyncio.get_running_loop()

    async def unchanged() -> bool:
        text = await timeline.inner_text()
        if text != last[0]:
            last[:] = [text, loop.time()]
        return loop.time() - last[1] >= seconds

    await settled(unchanged, timeout=timeout, interval=0.5)


async def loaded_tile(tab: ElementTab, title: str) -> str:
    """The id of the pinned tile titled ``title...`` once every tile shows its page (a tile that
    never does fails the view: on a checkout whose homeserver does not repeat the consent, that
    may be Element's consent race)."""
    await tab.wait_for_widgets()
    widget = next(t.widget_id for t in await tab.widget_tiles() if t.name.startswith(title))
    await tab.loaded_widget(widget)
    return widget


async def room_view(g: Gallery, tab: ElementTab, name: str, alias: str, said: str | None,
                    answer: Callable[[], Awaitable[Any]] | None = None, *, by: User | None = None) -> None:
    """``said`` in ``alias`` (if anything: by ``tab``'s user in Element, or by ``by`` from a client
    of theirs), then the room's timeline once the bot has said it (``answer`` returns when it
    shows) and the room is quiet, as ``name``."""
    async def take() -> None:
        await in_room(tab, alias)
        if said is not None and by is None:
            await tab.send(said, echo=False)
        elif said is not None:
            await g.harness.say_as(by, alias, said)
        if answer is not None:
            await answer()
        await quiet(tab)
        await g.keep(tab, name, ".mx_RoomView_body", style=NO_TILES)

    await g.view(name, take, tab)


def bot_says(tab: ElementTab, text: str, timeout_ms: int = 30_000) -> Callable[[], Awaitable[Any]]:
    return lambda: tab.wait_for_message(text, sender=BOT_NAME, timeout_ms=timeout_ms)


def tile_titled(title: str) -> str:
    """The pinned tile whose title starts with ``title`` (the widget's page is laid over it)."""
    return f'.mx_AppsDrawer .mx_AppTile:has(.mx_AppTileMenuBar_title h3:text-matches("^{title}"))'


async def in_room(tab: ElementTab, alias: str) -> None:
    """``tab``'s user in ``alias``, joined if not yet (an invitation accepted), shown at the
    timeline's end."""
    await tab.open_room(alias)
    accept = tab.page.get_by_role("button", name="Accept", exact=True)
    shown = tab.page.locator(".mx_MessageComposer").or_(tab.page.get_by_role("button", name=re.compile("^Join")))
    await accept.or_(shown).first.wait_for(timeout=30_000)
    if await accept.count():
        await accept.click()
    await tab.join_room(alias)
    await tab.dismiss_toasts()


def short_talk_schedule(checkout: Path, work: Path) -> Path:
    """The checkout's sample schedule with the Forum Hall's first talk cut to seven minutes: the
    demo starts five minutes into it, so it ends two minutes later, not 25."""
    folder = work / "short-talk"
    shutil.copytree(checkout / "posters", folder / "posters")
    text = (checkout / "schedule.yaml").read_text(encoding="utf-8")
    short, found = re.subn(r"(- id: typing-in-practice\n(?:    .*\n)*?    duration: )30\n", r"\g<1>7\n", text)
    if found != 1:
        raise SystemExit(f"{checkout / 'schedule.yaml'}: no 30-minute talk typing-in-practice to shorten")
    (folder / "schedule.yaml").write_text(short, encoding="utf-8")
    return folder / "schedule.yaml"


async def take(checkout: Path, out: Path, label: str, only: set[int], tarball: Path, work: Path,
               *demo_options: str) -> Gallery:
    demo = Demo(work / "demo", *demo_options, installed=CheckoutPodium(checkout))
    print(f"Starting podium demo from {checkout} {' '.join(demo_options)}…", flush=True)
    async with walked_demo(demo, tarball, work) as harness:
        gallery = Gallery(harness, out, label, only, [], [])
        await _walk(gallery)
        return gallery


async def _walk(g: Gallery) -> None:  # noqa: C901 - one walk through the day, view by view
    h = g.harness
    # The moderator's first login comes before anything that could invite him further; his tab
    # stays open for his board (a second login in a fresh profile asks to verify the first).
    moderator = await h.open(User("moderator"), "moderator") if g.wants(9, 11) else None
    if moderator is not None and g.wants(9):
        async def moderator_rooms() -> None:
            await moderator.page.locator(".mx_LeftPanel .mx_RoomTile").first.wait_for(timeout=30_000)
            await quiet(moderator, ".mx_LeftPanel")
            # The space panel too: the one invitation left is the conference space's.
            await g.keep(moderator, "09-moderator-rooms", ".mx_LeftPanel_outerWrapper", height=520)

        await g.view("09-moderator-rooms", moderator_rooms, moderator)

    # Two questions in the Forum Hall from others, before Dana arrives.
    if g.wants(10, 11):
        for person, question in zip([await h.new_attendee(n) for n in ("yusuf", "mei")], QUESTIONS):
            await h.say_as(person, FORUM, f"!ask {question}")

    if g.wants(1):
        await _pending(g)
    if not g.only - {1}:
        return

    dana = await h.new_attendee("dana")
    tab = await h.open(dana, "dana")
    await tab.accept_invite(SPACE)

    if g.wants(9):
        async def space_home() -> None:
            await tab.select_space("EuroPython 2026")
            # Tall enough for every room, one short line each: their order is the point.
            await tab.page.set_viewport_size({"width": 1280, "height": SPACE_HEIGHT})
            await tab.page.add_style_tag(content=NAMES_ONLY)
            await tab.page.locator(".mx_SpaceHierarchy_list .mx_SpaceHierarchy_roomTile").nth(24).wait_for()
            await quiet(tab, ".mx_SpaceHierarchy_list")
            await g.keep(tab, "09-space-home", ".mx_SpaceHierarchy_list")
            await tab.page.set_viewport_size({"width": 1280, "height": 900})

        await g.view("09-space-home", space_home, tab)

    if g.wants(2):
        async def track_now() -> None:
            await in_room(tab, FORUM)
            await quiet(tab)
            await g.keep(tab, "02-track-now", ".mx_RoomView", style=NO_TILES)

        await g.view("02-track-now", track_now, tab)

    if g.wants(10, 11):
        async def upvote() -> None:
            await in_room(tab, FORUM)
            await tab.react_thumbs_up(await tab.wait_for_message(QUESTIONS[0], sender=BOT_NAME))

        await g.view("10-upvote", upvote, tab)
    if g.wants(10):
        await room_view(g, tab, "10-questions", FORUM, "!questions", bot_says(tab, "questions for"))

    if g.wants(11):
        async def stream_page() -> None:
            await in_room(tab, FORUM)
            await tab.allow_widgets()
            await tab.loaded_widget("podium-stream")
            await tab.frame_text_containing("podium-stream", "Gradual typing")
            await g.keep(tab, "11-stream-page", ".mx_AppsDrawer")

        await g.view("11-stream-page", stream_page, tab)

    if g.wants(5):
        await room_view(g, tab, "05-ask", SOUTH, "!ask Which fixture scope do you reach for first?",
                        bot_says(tab, "Which fixture scope"))
        await room_view(g, tab, "05-poll", SOUTH, POLL, lambda: tab.poll("Which typing feature"),
                        by=User("organiser"))
    if g.wants(4):  # the answer, if any, is private now: the room is only waited on to be quiet
        await room_view(g, tab, "04-mod", SOUTH, "!mod someone keeps posting the same link")
    if g.wants(3):
        await room_view(g, tab, "03-announcement", ANNOUNCEMENTS, "!announce Lunch is served in the foyer until 13:30.",
                        bot_says(tab, "Lunch is served"), by=User("organiser"))
    if g.wants(6):
        await room_view(g, tab, "06-now-in-lobby", HALLWAY, "!now", bot_says(tab, "Gradual typing"))
    if g.wants(10):
        await room_view(g, tab, "10-next", TERRACE, "!next", bot_says(tab, "Polars"))

    if g.wants(7):
        async def booth_job() -> None:
            await in_room(tab, BOOTH)
            await tab.allow_widgets()
            booth = await loaded_tile(tab, "Booth")
            await h.say_as(User("snakeworks-staff"), BOOTH, JOB)
            try:
                await tab.frame_text_containing(booth, "Python platform engineer", timeout_s=TILE_WAIT_S)
            except AssertionError:
                print("  the booth's tile does not show the new job", flush=True)
            await g.keep(tab, "07-booth-job", tile_titled("Booth"))

        await g.view("07-booth-job", booth_job, tab)

    if g.wants(11):
        async def poster_tile() -> None:
            await in_room(tab, POSTER)
            await tab.allow_widgets()
            poster = await loaded_tile(tab, "Poster")
            await tab.frame_text_containing(poster, "1 / 2")  # the PDF drawn, not "Loading the poster…"
            await g.keep(tab, "11-poster-tile", tile_titled("Poster"))

        await g.view("11-poster-tile", poster_tile, tab)

    if g.wants(8):
        await room_view(g, tab, "08-talk-end", FORUM, None, bot_says(tab, "has ended", TALK_END_S * 1000))
    await tab.close()

    if moderator is not None and g.wants(11):
        async def board() -> None:
            await moderator.accept_invite(SPACE)
            await in_room(moderator, BACKSTAGE)
            await moderator.allow_widgets(expected=2)
            await moderator.loaded_widget("podium-qa-board")
            await moderator.frame_text_containing("podium-qa-board", QUESTIONS[0])
            await g.keep(moderator, "11-moderator-board", ".mx_AppsDrawer")

        await g.view("11-moderator-board", board, moderator)
    if moderator is not None:
        await moderator.close()


async def _pending(g: Gallery) -> None:
    """Item 1: the tile Element leaves on "Loading…" when its consent write's /sync echo beats the
    write's answer (the answer held back here), and a room opened by address before the space's
    invitation is accepted, and Join pressed."""
    h = g.harness
    erin = await h.new_attendee("erin")
    tab = await h.open(erin, "erin")

    async def consent_tile() -> None:
        await tab.hold_consent_answers(CONSENT_HOLD_S)  # the point of the view: the answer comes late
        await tab.accept_invite(SPACE)
        await in_room(tab, FORUM)
        await tab.allow_widgets()
        await tab.wait_for_widgets(timeout_ms=int(TILE_WAIT_S * 1000))
        await g.keep(tab, "01-consent-tile", ".mx_AppsDrawer")

    await g.view("01-consent-tile", consent_tile, tab)
    await tab.close()

    finn = await h.new_attendee("finn")
    tab = await h.open(finn, "finn")

    async def before_accepting() -> None:
        await tab.open_room(FORUM)
        await tab.page.locator(".mx_RoomView").get_by_role("button", name=re.compile("^Join")).first.click(
            timeout=30_000)
        await quiet(tab, "body")  # joined, or Element's dialog over the room on a refusal
        await g.keep(tab, "09-room-before-accepting", "body", style=NO_TILES)

    await g.view("09-room-before-accepting", before_accepting, tab)
    await tab.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, required=True,
                        help="the Podium checkout whose demo is walked (its .venv runs `podium demo`)")
    parser.add_argument("--out", type=Path, required=True, help="where the pictures go")
    parser.add_argument("--label", default="", help="added to every name: NN-name-LABEL.png (before, after)")
    parser.add_argument("--only", default="", help="item numbers to take, e.g. 3,5 (default: all)")
    parser.add_argument("--element-web", type=Path, default=os.environ.get(ENV_TARBALL) or None,
                        help=f"the Element Web release tarball (default: ${ENV_TARBALL})")
    args = parser.parse_args()
    if args.element_web is None or not args.element_web.is_file():
        parser.error(f"give --element-web PATH (or set {ENV_TARBALL}) to an element-web-*.tar.gz release")
    if not CheckoutPodium(args.checkout).python.is_file():
        parser.error(f"--checkout {args.checkout}: no .venv/bin/python there; create it with "
                     f"`python3 -m venv .venv && .venv/bin/pip install -e .` in the checkout")
    try:
        only = {int(item) for item in args.only.split(",") if item.strip()} or None
    except ValueError:
        parser.error(f"--only {args.only}: give item numbers separated by commas, e.g. 3,5")
    if only is None:
        only = set(range(1, 12))
    args.out.mkdir(parents=True, exist_ok=True)
    checkout = args.checkout.resolve()
    taken: list[Path] = []
    missed: list[str] = []
    # Item 8 needs a talk that ends soon after the start: a demo of its own, with one talk shortened.
    for items, short in ((only - {8}, False), (only & {8}, True)):
        if not items:
            continue
        with tempfile.TemporaryDirectory(prefix="podium-gallery-") as work:
            options = ("--schedule", str(short_talk_schedule(checkout, Path(work)))) if short else ()
            gallery = asyncio.run(take(checkout, args.out, args.label, items, args.element_web, Path(work), *options))
            taken += gallery.taken
            missed += gallery.missed
            if gallery.missed:  # what the page looked like, to see why
                kept = args.out / "failed"
                kept.mkdir(exist_ok=True)
                for shot in gallery.harness.screenshots.glob("*-failed.png"):
                    shot.replace(kept / shot.name)
    print(f"{len(taken)} pictures written to {args.out}")
    for view in missed:
        print(f"  not taken: {view}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
