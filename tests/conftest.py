"""Shared pytest fixtures.

The integration tests run against one real Synapse per session (see ``bot.homeserver``): SQLite in
a temporary directory, a free loopback port, rate limits lifted. Users are registered through the
shared-secret admin API, each with a unique localpart so tests never collide.

Add new fixtures below in their own section, with a docstring saying what they give a test.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

from bot import SAMPLE_SCHEDULE
from bot.homeserver import EmbeddedSynapse
from tests.support.accounts import TEST_PASSWORD
from tests.support.provisioning import SAMPLE_PEOPLE_PASSWORD

# Property tests check what holds, not how fast: hypothesis's per-example deadline would fail a
# correct test on a busy machine (speed is bench/'s to measure).
settings.register_profile("podium", deadline=None)
settings.load_profile("podium")

# ----------------------------------------------------------------------------- homeserver



@pytest.fixture(scope="session")
def forger_token(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The registration of the application service that stands in for a federated homeserver
    (tests/support/forger.py), and its token: (registration file, token)."""
    from tests.support.forger import registration

    return registration(tmp_path_factory.mktemp("appservice"))


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory, forger_token: tuple[Path, str]) -> Iterator[EmbeddedSynapse]:
    """A started Synapse shared by the whole session (rate limits lifted, the forging application
    service registered); stopped at the end."""
    if importlib.util.find_spec("synapse") is None:
        pytest.fail("matrix-synapse is not installed: pip install -e '.[test]'")
    server = EmbeddedSynapse(tmp_path_factory.mktemp("synapse"), lift_limits=True, app_services=(forger_token[0],))
    server.start()
    try:
        yield server
    finally:
        server.stop()


MakeUser = Callable[..., tuple[str, str]]


@pytest.fixture(scope="session")
def make_user(synapse: EmbeddedSynapse) -> MakeUser:
    """``make_user(prefix="user", *, admin=False, displayname=None) -> (user_id, token)``.

    Registers a fresh user whose localpart is ``prefix`` plus a random suffix, with the password
    ``TEST_PASSWORD``. Session-scoped so session fixtures can use it too.
    """

    def _make_user(
        prefix: str = "user", *, admin: bool = False, displayname: str | None = None
    ) -> tuple[str, str]:
        localpart = f"{prefix.lower()}-{uuid.uuid4().hex[:10]}"
        return synapse.register_user(
            localpart, TEST_PASSWORD, admin=admin, displayname=displayname
        )

    return _make_user


# ----------------------------------------------------------------------------- provisioning


@pytest.fixture(scope="session", autouse=True)
def podium_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Podium's local state (PODIUM_DATA_DIR) goes to a temporary directory, never the checkout."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PODIUM_DATA_DIR", str(tmp_path_factory.mktemp("podium-data")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def bot(synapse: EmbeddedSynapse, make_user: MakeUser):
    """The provisioning bot: a Connection for a fresh account with its rate limits lifted."""
    from bot.config import Connection

    user_id, token = make_user("podium-bot", displayname="Podium")
    synapse.override_ratelimit(user_id)
    return Connection(synapse.base_url, user_id, token)


@pytest.fixture(scope="session")
def sample_people(synapse: EmbeddedSynapse) -> None:
    """The sample schedule's local Matrix IDs exist, so inviting them succeeds."""
    data = yaml.safe_load(SAMPLE_SCHEDULE.read_text())
    ids = set(data.get("staff", {}).get("organisers", [])) | set(data.get("staff", {}).get("moderators", []))
    for section, people in (("talks", "speakers"), ("posters", "presenters")):
        for item in data.get(section, []):
            ids |= {p["matrix_id"] for p in item.get(people, []) if isinstance(p, dict) and p.get("matrix_id")}
    ids |= {p["matrix_id"] for p in data.get("speakers", []) if p.get("matrix_id")}
    for section in ("sponsors", "helpdesks"):
        for item in data.get(section, []):
            ids |= set(item.get("staff", []))
    for track in data.get("tracks", []):
        ids |= set(track.get("chairs", []))
    for user in ids:
        if user.endswith(":localhost"):
            synapse.register_user(user[1:].split(":")[0], SAMPLE_PEOPLE_PASSWORD)


@pytest.fixture(scope="session")
def proxy_server(synapse: EmbeddedSynapse):
    """A counting, fault-injecting proxy in front of the session's Synapse (see tests/support/proxy.py)."""
    from tests.support.proxy import CountingProxy

    proxy = CountingProxy(synapse.base_url)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxy(proxy_server):
    """The proxy, its counts and faults cleared for this test."""
    proxy_server.reset()
    yield proxy_server
    proxy_server.reset()


# ----------------------------------------------------------------------------- installed package


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory):
    """Podium built into a wheel and installed into a directory of its own (see tests/support/installed.py):
    what `pip install .` gives a new user, run from outside the checkout. Built once a session."""
    from tests.support.installed import InstalledPodium

    return InstalledPodium.build(tmp_path_factory.mktemp("installed"))


# ----------------------------------------------------------------------------- a live conference


@pytest.fixture(scope="module")
async def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, synapse: EmbeddedSynapse,
               make_user: MakeUser):
    """The test module's live conference, shared by its tests: the bot running against the session's
    Synapse and real attendee clients in its rooms, as the module's ``LIVE`` (a ``LiveSetup``) has
    it. A module's ``live_extras(live)``, an async context manager, may add to it (a store read the
    way the web server reads it, a web server)."""
    from tests.support.live import LiveSetup, open_live

    setup = getattr(request.module, "LIVE", LiveSetup())
    directory = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    async with open_live(setup, directory, synapse, make_user) as world:
        extras = getattr(request.module, "live_extras", None)
        if extras is None:
            yield world
        else:
            async with extras(world):
                yield world
