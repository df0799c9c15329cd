"""The README's pictures, taken in Element Web from a real ``podium demo``:
``python docs/screenshots.py [--out docs] [--element-web element-web-1.11.88.tar.gz]``.

Starts the demo (embedded Synapse, the sample conference, the bot, the widget pages), serves Element
Web from its release tarball (``--element-web``, else ``PODIUM_ELEMENT_WEB``), and walks through it
in headless Chromium (``/usr/bin/chromium``) as Dana, a new attendee, with a few others asking,
upvoting and voting from their own clients:

* ``element-space.png``: the conference space after accepting its one invitation;
* ``element-track-room.png``: a track room, the stream page with now and next on top (the video
  cannot load here: no network), a question the bot posted and its 👍;
* ``element-poll.png``: a native poll, voted in Element;
* ``element-qa-board.png``: the backstage Q&A board the moderator reads questions from.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.element import (
    ENV_TARBALL,
    SPACE,
    Demo,
    ElementHarness,
    User,
    walked_demo,
)

TRACK = "#ep2026-track-forum:localhost"
BACKSTAGE = "#ep2026-backstage-forum:localhost"
QUESTIONS = ("How do you keep mypy fast on a million lines?", "Would you start with strict mode today?")
POLL = '!poll "Which typing feature do you use most?" "Protocols" "TypedDict" "Generics"'


async def take(out: Path, tarball: Path, work: Path) -> list[Path]:
    print("Starting podium demo …", flush=True)
    async with walked_demo(Demo(work / "demo"), tarball, work) as harness:
        return await _walk(harness, out)


async def _walk(harness: ElementHarness, out: Path) -> list[Path]:
    taken: list[Path] = []

    async def keep(tab, name: str) -> None:
        path = out / name
        shutil.copyfile(await tab.shot(name.removesuffix(".png")), path)
        taken.append(path)
        print(f"  {path}", flush=True)

    others = [await harness.new_attendee(name) for name in ("yusuf", "mei")]
    for person, question in zip(others, QUESTIONS):
        await harness.say_as(person, TRACK, f"!ask {question}")

    dana = await harness.new_attendee("dana")
    tab = await harness.open(dana, "dana")
    await tab.accept_invite(SPACE)
    await tab.select_space("EuroPython 2026")
    await tab.page.locator(".mx_SpaceHierarchy_list .mx_SpaceHierarchy_roomTile").nth(8).wait_for()
    await keep(tab, "element-space.png")

    await tab.join_listed("Forum Hall")
    await tab.allow_widgets()
    await tab.loaded_widget("podium-stream")
    await tab.send("!ask Which checker do you run in CI?")
    post = await tab.bot_post(r"^Q\d+ · Dana: Which checker")
    await tab.react_thumbs_up(post)
    await tab.page.mouse.move(0, 0)  # no hover toolbar in the picture
    await keep(tab, "element-track-room.png")

    await harness.say_as(User("organiser"), TRACK, POLL)
    poll = await tab.poll("Which typing feature")
    await poll.locator(".mx_PollOption", has_text="Protocols").click()
    await poll.get_by_text("Based on 1 vote").wait_for()
    await poll.scroll_into_view_if_needed()
    await keep(tab, "element-poll.png")
    await tab.close()

    moderator = await harness.open(User("moderator"), "moderator")
    await moderator.accept_invite(SPACE)
    await moderator.open_room(BACKSTAGE)  # joined as the bot invited him: nothing to accept
    await moderator.page.locator(".mx_MessageComposer").wait_for()
    await moderator.allow_widgets(expected=2)
    await moderator.loaded_widget("podium-qa-board")
    await moderator.frame_text_containing("podium-qa-board", QUESTIONS[0])
    await keep(moderator, "element-qa-board.png")
    await moderator.close()
    return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where the pictures go (default: docs/)")
    parser.add_argument("--element-web", type=Path, default=os.environ.get(ENV_TARBALL) or None,
                        help=f"the Element Web release tarball (default: ${ENV_TARBALL})")
    args = parser.parse_args()
    if args.element_web is None or not args.element_web.is_file():
        parser.error(f"give --element-web PATH (or set {ENV_TARBALL}) to an element-web-*.tar.gz release")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="podium-screenshots-") as work:
        taken = asyncio.run(take(args.out, args.element_web, Path(work)))
    print(f"{len(taken)} screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
