"""Element Web in headless Chromium against a running ``podium demo``: the client attendees meet
Podium through, driven the way they use it.

Element tests run when ``PODIUM_ELEMENT_WEB`` names the Element Web tarball
(``PODIUM_ELEMENT_WEB=/path/to/element-web-1.11.88.tar.gz``); without it they skip. A test module
imports the fixtures it uses (``from tests.support.element import element  # noqa: F401``) and gets one
:class:`ElementHarness` per pytest session: one ``podium demo`` subprocess on free ports (its
Synapse, the sample conference, the bot answering, the widget pages served), Element unpacked
once and served on loopback with a ``config.json`` for the demo's homeserver, and one Chromium
process. Each user gets a fresh browser context (a fresh Element profile)::

    async def test_something(element):
        user = await element.new_attendee("dana")          # never seen before, invited to the space
        tab = await element.open(user, journey="attendee")  # logged in, toasts dismissed
        await tab.accept_invite("#ep2026:localhost")
        await tab.join_room("#ep2026-track-forum:localhost")
        await tab.send("!help")
        await tab.wait_for_message("!ask", sender="Podium")
        await tab.shot("help")                              # attendee-05-help.png
        await tab.close()

Screenshots go to ``PODIUM_SCREENSHOTS`` (default: a directory in pytest's temporary directory),
named ``<journey>-<nn>-<step>.png``. Selectors are Element's ``mx_*`` class names, roles and
accessible names.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import re
import tarfile
import threading
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nio import AsyncClient, JoinResponse, LoginResponse, RoomInviteResponse

from bot import SAMPLE_SCHEDULE
from bot.cli.demo import DEMO_PASSWORD, SERVER_NAME
from bot.homeserver import SHARED_SECRET_FILE
from bot.ports import free_port
from bot.provisioning.desired import Settings
from bot.provisioning.pipeline import build
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.demo_process import READY, DemoProcess
from tests.support.installed import CheckoutPodium, InstalledPodium
from tests.support.waiting import settled

playwright_async = pytest.importorskip("playwright.async_api")

ENV_TARBALL = "PODIUM_ELEMENT_WEB"
ENV_SCREENSHOTS = "PODIUM_SCREENSHOTS"
HOW_TO_ENABLE = f"Element Web tests: set {ENV_TARBALL}=/path/to/element-web-1.11.88.tar.gz to run them"
#: The demo's conference space; inviting to it admits an attendee to every room inside.
SPACE = f"#ep2026:{SERVER_NAME}"
BOT_NAME = "Podium"
#: Element's first load of a fresh profile (61 MB of bundles, the initial sync) on a busy machine.
FIRST_LOAD_MS = 90_000
STEP_MS = 30_000
#: How long a consent prompt may stay after its Continue is pressed.
CONSENT_MS = 5_000
#: Toast and announcement buttons that only put something off (never "Enable", never "Accept").
PUT_OFF = re.compile(r"^(Dismiss|Later|Not now|OK|Got it|No thanks|Close)$")


def element_config(homeserver: str) -> dict[str, Any]:
    """Element's config.json for a local homeserver named ``localhost``: no guests, no identity
    server, no third-party IDs, widgets on, no mobile-app toast."""
    return {
        "default_server_config": {"m.homeserver": {"base_url": homeserver, "server_name": SERVER_NAME}},
        "disable_guests": True, "disable_3pid_login": True, "disable_login_language_selector": True,
        "room_directory": {"servers": [SERVER_NAME]}, "mobile_guide_toast": False,
        "setting_defaults": {"UIFeature.widgets": True, "UIFeature.identityServer": False,
                             "UIFeature.thirdPartyId": False, "UIFeature.shareSocial": False},
    }


def element_tarball() -> Path:
    """The tarball ``PODIUM_ELEMENT_WEB`` names; skips the test when it is unset, fails when it
    names nothing."""
    value = os.environ.get(ENV_TARBALL, "").strip()
    if not value:
        pytest.skip(HOW_TO_ENABLE)
    path = Path(value).expanduser()
    if not path.is_file():
        pytest.fail(f"{ENV_TARBALL}={value}: no such file ({HOW_TO_ENABLE})", pytrace=False)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test output is for the tests; Element asks for hundreds of files


class ElementServer:
    """Element Web unpacked into ``directory`` and served as static files on loopback."""

    def __init__(self, tarball: Path, directory: Path, homeserver: str):
        with tarfile.open(tarball) as archive:
            archive.extractall(directory, filter="data")
        self.root = directory / "webapp"
        if not (self.root / "index.html").is_file():
            raise AssertionError(f"{tarball} has no webapp/index.html: not an Element Web build")
        (self.root / "config.json").write_text(json.dumps(element_config(homeserver)), encoding="utf-8")
        handler = partial(_QuietHandler, directory=str(self.root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass(frozen=True)
class User:
    localpart: str
    password: str = DEMO_PASSWORD

    @property
    def user_id(self) -> str:
        return f"@{self.localpart}:{SERVER_NAME}"


class Demo:
    """The session's ``podium demo``: its homeserver, widget pages and accounts."""

    def __init__(self, data_dir: Path, *options: str, installed: InstalledPodium | CheckoutPodium | None = None):
        self.port, self.web_port = free_port(), free_port()
        self.data_dir = data_dir
        self.process = DemoProcess(data_dir, self.port, self.web_port, *options, installed=installed)
        self.homeserver = f"http://127.0.0.1:{self.port}"
        self.web_url = f"http://localhost:{self.web_port}"

    def wait_until_answering(self, timeout: float = 240) -> None:
        self.process.wait_for(READY, timeout=timeout)

    def register(self, localpart: str, password: str = DEMO_PASSWORD) -> User:
        """A new account on the demo's Synapse, through the shared-secret admin API the demo
        registers its own accounts with."""
        secret = (self.data_dir / "synapse" / SHARED_SECRET_FILE).read_bytes()
        url = f"{self.homeserver}/_synapse/admin/v1/register"
        nonce = _http_json(url)["nonce"]
        mac = hmac.new(secret, b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), b"notadmin"]),
                       hashlib.sha1).hexdigest()
        _http_json(url, {"nonce": nonce, "username": localpart, "password": password, "admin": False, "mac": mac,
                         "displayname": localpart.replace("-", " ").title()})
        return User(localpart, password)

    async def invite_to_space(self, user: User) -> None:
        """The organiser invites ``user`` to the conference space, as the demo admits its attendees:
        with access space-members that one invitation opens every room inside."""
        organiser = await self.client(User("organiser"))
        try:
            joined = await organiser.join(SPACE)  # accepts the organiser's own invitation, if pending
            assert isinstance(joined, JoinResponse), joined
            invited = await organiser.room_invite(joined.room_id, user.user_id)
            assert isinstance(invited, RoomInviteResponse), invited
        finally:
            await organiser.close()

    async def client(self, user: User) -> AsyncClient:
        """A logged-in matrix-nio client for ``user`` (close it when done)."""
        client = AsyncClient(self.homeserver, user.user_id)
        response = await client.login(user.password)
        if isinstance(response, LoginResponse):
            return client
        await client.close()
        raise AssertionError(f"{user.user_id} could not log in to the demo: {response}")

    def stop(self) -> None:
        code = self.process.stop()
        assert code == 0, self.process.output


def demo_rooms() -> dict[str, Any]:
    """The demo's rooms as its schedule describes them, by key."""
    conference = build(SAMPLE_SCHEDULE, Settings(SERVER_NAME, f"@podium:{SERVER_NAME}", "http://localhost"))
    return {room.key: room for room in conference.rooms}


def _http_json(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    with opener.open(request, timeout=30) as response:
        return json.load(response)


@dataclass
class WidgetTile:
    """One widget tile as Element shows it: waiting for consent, loading (Element's spinner and no
    iframe), or an iframe; and what the page inside the iframe shows."""

    widget_id: str
    name: str
    consent: bool
    spinner: bool
    iframe: bool
    frame_text: str | None = None  # the page's body text; None while there is no document

    @property
    def loaded(self) -> bool:
        """An iframe whose page rendered something to read, and no spinner over it."""
        return self.iframe and not self.spinner and bool(self.frame_text and self.frame_text.strip())

    @property
    def state(self) -> str:
        if self.consent:
            return "consent"
        if self.loaded:
            return "loaded"
        if not self.iframe:
            return "loading (no iframe)"
        return "loading (over the iframe)" if self.spinner else "iframe, page not rendered"


class ElementTab:
    """One user in Element: a fresh browser context (profile) with one page. Every helper waits on
    what Element's DOM shows, never for a fixed time."""

    def __init__(self, harness: ElementHarness, context: Any, page: Any, user: User, journey: str):
        self.harness = harness
        self.context = context
        self.page = page
        self.user = user
        self.journey = journey
        self.steps = 0
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    # ------------------------------------------------------------------ session

    async def login(self) -> None:
        """Sign in on Element's login page with the user's name and password, then put off the
        toasts a fresh profile shows."""
        page = self.page
        await page.goto(f"{self.harness.url}/#/login")
        await page.locator("#mx_LoginForm_username").fill(self.user.localpart, timeout=FIRST_LOAD_MS)
        await page.locator("#mx_LoginForm_password").fill(self.user.password)
        await page.locator("#mx_LoginForm_password").press("Enter")
        await page.locator(".mx_LeftPanel").wait_for(timeout=FIRST_LOAD_MS)
        await self.dismiss_toasts()

    async def dismiss_toasts(self) -> None:
        """Put off whatever toast or announcement is up (notifications, threads, analytics,
        recovery): they cover the room list and the composer."""
        for _ in range(10):
            buttons = self.page.locator(".mx_ToastContainer, [role=dialog]:not(.mx_Dialog)").get_by_role(
                "button", name=PUT_OFF)
            if not await buttons.count():
                return
            try:
                await buttons.first.click(timeout=2000)
            except playwright_async.TimeoutError:
                return  # gone by itself meanwhile

    async def close(self) -> None:
        await self.context.close()

    async def shot(self, step: str) -> Path:
        """A screenshot of the page: ``<journey>-<nn>-<step>.png`` in the screenshots directory."""
        self.steps += 1
        path = self.harness.screenshots / f"{self.journey}-{self.steps:02d}-{step}.png"
        await self.page.screenshot(path=str(path))
        return path

    # ------------------------------------------------------------------ rooms

    async def open_room(self, alias: str) -> None:
        """Show the room (or space) ``alias`` (``#name:localhost``), joined or not."""
        await self.page.evaluate("(alias) => { window.location.hash = '#/room/' + alias; }", alias)
        await self.page.locator(".mx_RoomView, .mx_SpaceRoomView").first.wait_for(timeout=STEP_MS)

    async def accept_invite(self, alias: str) -> None:
        """Open the room or space the user is invited to and press Accept; returns once Element
        shows it joined (a space's home, a room's composer). Until then Element is still
        navigating to it, and a room opened meanwhile is taken back to it."""
        await self.open_room(alias)
        accept = self.page.get_by_role("button", name="Accept", exact=True)
        await accept.click(timeout=STEP_MS)
        await accept.wait_for(state="detached", timeout=STEP_MS)
        await self.page.locator(".mx_SpaceRoomView_landing, .mx_MessageComposer").first.wait_for(timeout=STEP_MS)

    async def join_room(self, alias: str) -> None:
        """Open ``alias`` and join it from the preview if not a member yet; returns once the
        composer is there (the room is joined and shown in full).

        Opened by address, a room the user is not in yet may make Element switch the space panel
        to Home (it does when the selected space's suggested rooms have not loaded yet): to
        stay in the conference, join from its list with :meth:`join_listed`."""
        await self.open_room(alias)
        await self._join_shown()

    async def join_listed(self, name: str) -> None:
        """Click the room ``name`` in the left-hand list of the selected space (its suggested
        rooms) and join it from the preview, as a user walks in."""
        await self.page.locator(".mx_LeftPanel .mx_RoomTile", has_text=name).first.click(timeout=STEP_MS)
        await self.page.locator(".mx_RoomView").first.wait_for(timeout=STEP_MS)
        await self._join_shown()

    async def _join_shown(self) -> None:
        composer = self.page.locator(".mx_MessageComposer")
        join = self.page.locator(".mx_RoomPreviewBar").get_by_role("button", name=re.compile("^Join"))
        try:
            await composer.or_(join).first.wait_for(timeout=STEP_MS)
        except playwright_async.TimeoutError:
            await self.shot("neither-composer-nor-join")
            raise
        if await join.count():
            await join.first.click()
        await composer.wait_for(timeout=STEP_MS)

    async def send(self, text: str, *, echo: bool = True) -> None:
        """Type ``text`` into the composer and send it; returns once the timeline shows it (with
        ``echo=False`` at once: a command the bot removes may be gone before it is looked for)."""
        composer = self.page.locator(".mx_MessageComposer [role=textbox]")
        await composer.click()
        await composer.fill(text)
        await composer.press("Enter")
        if echo:
            await self.wait_for_message(text)

    async def wait_for_message(self, text: str, sender: str | None = None, timeout_ms: int = STEP_MS) -> Any:
        """The last timeline tile whose body contains ``text`` (sent by the display name ``sender``,
        if given), once there."""
        tiles = self.page.locator(".mx_RoomView_MessageList .mx_EventTile").filter(
            has=self.page.locator(".mx_EventTile_body", has_text=text))
        if sender is not None:
            # Element names the sender once for a run of messages: look for it in the tile or before.
            tiles = tiles.filter(has=self.page.locator(".mx_DisambiguatedProfile", has_text=sender)).or_(
                tiles.filter(has_not=self.page.locator(".mx_DisambiguatedProfile")))
        tile = tiles.last
        await tile.wait_for(timeout=timeout_ms)
        if sender is not None:
            assert await self.sender_of(tile) == sender, await tile.inner_text()
        return tile

    async def wait_for_bot_reply(self, text: str, timeout_ms: int = STEP_MS) -> Any:
        """The bot's message containing ``text``."""
        return await self.wait_for_message(text, sender=BOT_NAME, timeout_ms=timeout_ms)

    async def sender_of(self, tile: Any) -> str:
        """The display name Element shows for the sender of ``tile`` (a continuation tile shows
        none: the name is on the first tile of the run)."""
        return await tile.evaluate("""(tile) => {
            for (let t = tile; t; t = t.previousElementSibling) {
                const name = t.querySelector && t.querySelector('.mx_DisambiguatedProfile_displayName');
                if (name) return name.textContent;
            }
            return null;
        }""")

    async def bot_post(self, pattern: str) -> Any:
        """The bot's last message whose text matches the regular expression ``pattern``, once
        Element shows it."""
        tile = self.page.locator(".mx_RoomView_MessageList .mx_EventTile").filter(
            has=self.page.locator(".mx_EventTile_body", has_text=re.compile(pattern))).last
        await tile.wait_for(timeout=STEP_MS)
        assert await self.sender_of(tile) == BOT_NAME, await tile.inner_text()
        return tile

    async def react_thumbs_up(self, tile: Any) -> None:
        """Hover the message, press React, pick 👍 from the quick reactions; returns once the
        message shows the reaction."""
        await tile.hover()
        await tile.locator('[aria-label="React"]').click(timeout=STEP_MS, force=True)
        await self.page.locator(".mx_EmojiPicker_quick [role=button]").first.click(timeout=STEP_MS)
        await tile.locator(".mx_ReactionsRowButton").first.wait_for(timeout=STEP_MS)

    async def poll(self, question: str) -> Any:
        """The last native poll Element shows with ``question``."""
        poll = self.page.locator(".mx_MPollBody", has_text=question).last
        await poll.wait_for(timeout=STEP_MS)
        return poll

    # ------------------------------------------------------------------ spaces

    async def select_space(self, name: str) -> None:
        """Pick the space ``name`` in Element's space panel, as a user clicks it."""
        await self.page.locator(".mx_SpacePanel").get_by_role("button", name=name, exact=True).first.click(
            timeout=STEP_MS)
        await self.page.locator(".mx_SpacePanel .mx_SpaceButton_active", has_text="").first.wait_for(timeout=STEP_MS)

    async def active_space(self) -> str:
        """The name of the space selected in the space panel (Home is "Home")."""
        active = self.page.locator(".mx_SpacePanel .mx_SpaceButton_active").first
        return (await active.get_attribute("aria-label")) or ""

    async def room_list(self) -> list[str]:
        """The room names in the left-hand room list, as shown for the selected space."""
        return [name.strip() for name in await self.page.locator(
            ".mx_LeftPanel .mx_RoomTile .mx_RoomTile_title").all_inner_texts()]

    async def wait_for_room_listed(self, name: str) -> None:
        """Returns once the left-hand room list (joined, invited or suggested) shows ``name``."""
        tile = self.page.locator(".mx_LeftPanel .mx_RoomTile .mx_RoomTile_title", has_text=name)
        await tile.first.wait_for(timeout=STEP_MS)

    # ------------------------------------------------------------------ widgets

    async def widget_ids(self) -> list[str]:
        """The ids of the widget tiles pinned in the room shown (the apps drawer above the timeline)."""
        return await self.page.locator(".mx_AppsDrawer .mx_AppTile, .mx_AppsDrawer .mx_AppTileFullWidth").evaluate_all(
            "(tiles) => tiles.map((tile) => tile.id)")

    async def allow_widgets(self, expected: int = 1) -> int:
        """Wait for at least ``expected`` widget tiles, then press "Continue" on every tile asking for
        consent, once each, as a user does; returns how many were pressed (a prompt that came back
        is pressed again and counted again, for the caller to judge). A prompt still up
        ``CONSENT_MS`` after its press fails here. Waits for the composer first: consent given
        while Element is still swapping the room's preview for the joined room can be lost."""
        await self.page.locator(".mx_MessageComposer").wait_for(timeout=STEP_MS)
        tiles = self.page.locator(".mx_AppsDrawer .mx_AppTile, .mx_AppsDrawer .mx_AppTileFullWidth")
        await tiles.nth(expected - 1).wait_for(timeout=STEP_MS)
        allowed = 0
        prompts = self.page.locator(".mx_AppPermission")
        while await prompts.count():
            widget_id = await prompts.first.evaluate("(p) => p.closest('.mx_AppTile, .mx_AppTileFullWidth').id")
            # This tile's prompt, not "the first prompt": once it goes, the first is the next tile's.
            prompt = self.page.locator(f'[id="{widget_id}"] .mx_AppPermission')
            await prompt.get_by_role("button", name="Continue").click(timeout=STEP_MS)
            try:
                await prompt.wait_for(state="detached", timeout=CONSENT_MS)
            except playwright_async.TimeoutError:
                await self.shot("consent-prompt-still-up")
                raise
            allowed += 1
        return allowed

    async def widget_tiles(self) -> list[WidgetTile]:
        """Every pinned widget tile as shown now. Element renders a room widget's iframe outside the
        tile (in a persisted element laid over it), so the iframe is found by its widget id."""
        shown = await self.page.evaluate("""() => Array.from(document.querySelectorAll(
                '.mx_AppsDrawer .mx_AppTile, .mx_AppsDrawer .mx_AppTileFullWidth')).map((tile) => {
            const iframe = Array.from(document.querySelectorAll('iframe')).find((frame) => {
                try { return new URL(frame.src).searchParams.get('widgetId') === tile.id; } catch (e) { return false; }
            });
            // Element's "Loading…" sits in the tile while there is no iframe, over the iframe after.
            const body = iframe && iframe.closest('.mx_AppTileBody');
            return {
                id: tile.id,
                name: (tile.querySelector('.mx_AppTileMenuBar_title h3') || {}).textContent || '',
                consent: !!tile.querySelector('.mx_AppPermission'),
                spinner: !!tile.querySelector('.mx_Spinner') || !!(body && (
                    body.classList.contains('mx_AppTileBody--loading') || body.querySelector('.mx_Spinner'))),
                iframe: !!iframe,
            };
        })""")
        texts = await self._frame_texts()
        return [WidgetTile(s["id"], s["name"], s["consent"], s["spinner"], s["iframe"], texts.get(s["id"]))
                for s in shown]

    def widget_frame(self, widget_id: str) -> Any:
        """The frame of the widget ``widget_id``'s page (None while it has none), to look inside."""
        for frame in self.page.frames:
            found = re.search(r"[?&]widgetId=([^&#]+)", frame.url)
            if found and urllib.parse.unquote(found[1]) == widget_id:
                return frame
        return None

    async def _frame_texts(self) -> dict[str, str | None]:
        texts: dict[str, str | None] = {}
        for frame in self.page.frames:
            found = re.search(r"[?&]widgetId=([^&#]+)", frame.url)
            if not found:
                continue
            try:
                texts[urllib.parse.unquote(found[1])] = await frame.evaluate(
                    "() => document.readyState === 'complete' && document.body ? document.body.innerText : null")
            except playwright_async.Error:
                texts[urllib.parse.unquote(found[1])] = None  # navigating, or gone
        return texts

    async def wait_for_widgets(self, timeout_ms: int = 20_000) -> list[WidgetTile]:
        """The pinned tiles once every one shows its page (or as they are when ``timeout_ms`` ran
        out: the caller asserts on ``WidgetTile.loaded``)."""
        last: list[WidgetTile] = []

        async def all_loaded() -> bool:
            last[:] = await self.widget_tiles()
            return bool(last) and all(t.loaded for t in last)

        await settled(all_loaded, timeout=timeout_ms / 1000, interval=0.2)
        return last

    async def loaded_widget(self, widget_id: str) -> WidgetTile:
        """The pinned tile ``widget_id``, once every pinned tile shows its page (the room is not
        opened again: a tile left on "Loading…" fails here, as it would leave its user stuck)."""
        tiles = {t.widget_id: t for t in await self.wait_for_widgets()}
        assert widget_id in tiles, sorted(tiles)
        assert all(t.loaded for t in tiles.values()), {t.widget_id: t.state for t in tiles.values()}
        return tiles[widget_id]

    async def hold_consent_answers(self, seconds: float) -> None:
        """From now on the homeserver's answer to each widget consent Element saves reaches Element
        ``seconds`` late, as from a busy homeserver or a slow network: the consent's echo in /sync
        then arrives before it."""
        async def held(route: Any) -> None:
            response = await route.fetch()
            await asyncio.sleep(seconds)
            await route.fulfill(response=response)

        await self.page.route("**/account_data/im.vector.setting.allowed_widgets", held)

    async def frame_text_containing(self, widget_id: str, text: str, timeout_s: float = 20) -> str:
        """The widget page's text once it shows ``text`` (the pages update live, with no reload)."""
        shown = ""

        async def showing() -> bool:
            nonlocal shown
            shown = (await self._frame_texts()).get(widget_id) or ""
            return text in shown

        await settled(showing, timeout=timeout_s, interval=0.25)
        assert text in shown, f"{widget_id} never showed {text!r}; it shows:\n{shown}"
        return shown

    def widget_answered(self, widget_id: str) -> bool:
        """Whether Element's widget messaging finished its handshake with the page: it logs the
        capabilities it allowed once the page answered its ``capabilities`` request."""
        return any(f"Widget {widget_id} is allowed capabilities" in line for line in self.console)


@dataclass
class ElementHarness:
    """What the ``element`` fixture gives: the demo, Element's URL, the shared Chromium."""

    demo: Demo
    server: ElementServer
    browser: Any
    screenshots: Path
    _names: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return self.server.url

    async def new_attendee(self, name: str, *, join: tuple[str, ...] = ()) -> User:
        """A user the demo has never seen (``name`` plus a counter), invited to the conference space;
        ``join`` lists aliases joined through the API beforehand (the space first, to accept the
        invitation), for tests that do not walk in through Element."""
        localpart = name
        counter = 1
        while localpart in self._names:
            counter += 1
            localpart = f"{name}{counter}"
        self._names.add(localpart)
        user = self.demo.register(localpart)
        await self.demo.invite_to_space(user)
        if join:
            client = await self.demo.client(user)
            try:
                for alias in join:
                    response = await client.join(alias)
                    assert isinstance(response, JoinResponse), (alias, response)
            finally:
                await client.close()
        return user

    async def say_as(self, user: User, alias: str, body: str) -> None:
        """``user`` sends ``body`` to ``alias`` from a matrix-nio client (someone else in the room),
        joining the conference space and the room first."""
        client = await self.demo.client(user)
        try:
            for room in (SPACE, alias):
                joined = await client.join(room)
                assert isinstance(joined, JoinResponse), (room, joined)
            await client.room_send(joined.room_id, "m.room.message", {"msgtype": "m.text", "body": body})
        finally:
            await client.close()

    async def open(self, user: User, journey: str) -> ElementTab:
        """``user`` logged in to Element in a fresh browser profile; ``journey`` names its screenshots."""
        context = await self.browser.new_context(viewport={"width": 1280, "height": 900})
        tab = ElementTab(self, context, await context.new_page(), user, journey)
        try:
            await tab.login()
        except Exception:
            await tab.shot("login-failed")
            await context.close()
            raise
        return tab


@contextlib.asynccontextmanager
async def walked_demo(demo: Demo, tarball: Path, work: Path) -> AsyncIterator[ElementHarness]:
    """Outside pytest (the docs' picture scripts): ``demo`` answering, Element Web from
    ``tarball`` served for it, one Chromium, as an :class:`ElementHarness` whose screenshots go to
    ``work/steps``; all stopped on the way out, the demo too."""
    server = None
    try:
        demo.wait_until_answering()
        server = ElementServer(tarball, work / "element-web", demo.homeserver)
        async with playwright_async.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                harness = ElementHarness(demo, server, browser, work / "steps")
                harness.screenshots.mkdir()
                yield harness
            finally:
                await browser.close()
    finally:
        if server is not None:
            server.stop()
        demo.stop()


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def element_demo(tmp_path_factory: pytest.TempPathFactory):
    """The session's ``podium demo`` (started only when Element tests run), answering."""
    element_tarball()  # skip before starting anything
    demo = Demo(tmp_path_factory.mktemp("element-demo") / "demo")
    try:
        demo.wait_until_answering()
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="session")
def element_server(element_demo: Demo, tmp_path_factory: pytest.TempPathFactory):
    """Element Web, unpacked once, configured for the demo's homeserver, served on loopback."""
    server = ElementServer(element_tarball(), tmp_path_factory.mktemp("element-web"), element_demo.homeserver)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def element_screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    value = os.environ.get(ENV_SCREENSHOTS, "").strip()
    path = Path(value) if value else tmp_path_factory.mktemp("element-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def element(element_demo: Demo, element_server: ElementServer, element_screenshots: Path):
    """The :class:`ElementHarness`: one Chromium for the whole session; each ``open`` a fresh profile."""
    async with playwright_async.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield ElementHarness(element_demo, element_server, browser, element_screenshots)
        finally:
            await browser.close()
