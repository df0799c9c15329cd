"""A real pretalx server for the import tests: its exports and REST API, never a hand-made copy.

pretalx tests run when ``PODIUM_PRETALX`` names a virtual environment with pretalx installed
(Python 3.13; ``.ci/run`` makes one: ``PODIUM_PRETALX=/path/to/pretalx-venv``); without it they
skip. The first use builds a prepared data directory inside that venv, keyed by pretalx version
(migrated, initialised, the generated test event ``democon`` with its released schedule, API
tokens, a speaker question "Your Matrix ID" answered by a few speakers): about three minutes,
paid once (``.ci/run`` pays it at install time with ``python -m tests.support.pretalx prepare``).

A test module imports the fixtures it uses (``from tests.support.pretalx import pretalx  # noqa: F401``):

* ``pretalx``: one server per session on a copy of the prepared data, for tests that only read;
* ``pretalx_copy``: a server of the test's own (another copy), for a test that changes the
  schedule, so it cannot disturb the others.

pretalx 2026.2 hard-wires a Redis cache: the settings module written beside the prepared data
swaps it for Django's in-process cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main as podium_main
from bot.conference.schedule import Schedule
from bot.ports import free_port
from tests.support.waiting import settled_blocking

ENV_VENV = "PODIUM_PRETALX"
PRETALX_VERSION = "2026.2.1"
HOW_TO_ENABLE = (f"pretalx tests: set {ENV_VENV}=/path/to/venv, a Python 3.13 venv with "
                 f"`pip install pretalx=={PRETALX_VERSION} Faker freezegun` (.ci/run makes one), to run them")
EVENT = "democon"
#: The speaker question whose answers hold speakers' Matrix IDs in the prepared event.
MATRIX_QUESTION = "Your Matrix ID"
#: How many speakers of the prepared event answered it (the first ones by code).
MATRIX_ANSWERS = 4
ORGANISER_EMAIL = "admin@example.org"
SETTINGS_MODULE = "podium_pretalx_settings"
SETTINGS = '''\
"""pretalx's settings with an in-process cache: pretalx 2026.2 hard-wires Redis otherwise."""
from pretalx.settings import *  # noqa: F401,F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
'''
#: Run in pretalx's shell once the test event exists: tokens (one to read, as an importer
#: would have; one to change the schedule, for the tests), and the Matrix-ID question.
SETUP = '''
import json
from django_scopes import scopes_disabled
from pretalx.event.models import Event
from pretalx.person.models import User
from pretalx.person.models.auth_token import ENDPOINTS, READ_PERMISSIONS, WRITE_PERMISSIONS, UserApiToken
from pretalx.submission.models import Answer, Question

with scopes_disabled():
    event = Event.objects.get(slug=%(event)r)
    user = User.objects.get(email=%(email)r)
    read = UserApiToken.objects.create(name="podium import", user=user, all_events=True,
                                       endpoints={ep: list(READ_PERMISSIONS) for ep in ENDPOINTS})
    write = UserApiToken.objects.create(name="podium tests", user=user, all_events=True,
                                        endpoints={ep: list(WRITE_PERMISSIONS) for ep in ENDPOINTS})
    question = Question.objects.create(event=event, question=%(question)r, variant="string", target="speaker")
    scheduled = event.current_schedule.talks.filter(start__isnull=False, room__isnull=False)
    # Speakers of each room's first talk answer nothing: the change test moves that talk and adds
    # a Matrix ID to its speaker by hand (codes are random, so "the first by code" could be them).
    first_in_room = {}
    for slot in scheduled.order_by("start"):
        first_in_room.setdefault(slot.room_id, slot)
    openers = {p.pk for slot in first_in_room.values() for p in slot.submission.speakers.all()}
    profiles = []
    for slot in scheduled.order_by("submission__code"):
        for profile in slot.submission.speakers.all():
            if profile not in profiles and profile.pk not in openers:
                profiles.append(profile)
    answered = {}
    for number, profile in enumerate(profiles[:%(answers)d]):
        Answer.objects.create(question=question, speaker=profile, answer=f"@speaker{number}:example.org")
        answered[profile.code] = f"@speaker{number}:example.org"
    print("PODIUM-SETUP " + json.dumps({"read": read.token, "write": write.token, "answered": answered}))
'''


class PretalxUnavailable(Exception):
    """The pretalx venv cannot be used; the message says why and how to fix it."""


def pretalx_venv(environ: dict[str, str] | None = None) -> Path | None:
    """The venv ``PODIUM_PRETALX`` names (None when unset); PretalxUnavailable if it is no pretalx venv."""
    value = (os.environ if environ is None else environ).get(ENV_VENV, "").strip()
    if not value:
        return None
    venv = Path(value).expanduser().resolve()
    if not (venv / "bin" / "python").is_file():
        raise PretalxUnavailable(f"{ENV_VENV}={value}: no bin/python in it ({HOW_TO_ENABLE})")
    return venv


def _environment(venv: Path, prepared: Path, data: Path, site_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PRETALX_", "DJANGO_"))}
    env.update(PRETALX_DATA_DIR=str(data), PRETALX_SITE_URL=site_url, PRETALX_DEBUG="false",
               DJANGO_SETTINGS_MODULE=SETTINGS_MODULE, PYTHONPATH=str(prepared), PYTHONUNBUFFERED="1",
               PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    return env


def _pretalx(venv: Path, prepared: Path, data: Path, *args: str, extra: dict[str, str] | None = None,
             timeout: float = 600) -> str:
    env = _environment(venv, prepared, data, "http://127.0.0.1")
    env.update(extra or {})
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pretalx", *args], env=env, cwd=prepared, check=False,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise PretalxUnavailable(f"`python -m pretalx {' '.join(args)}` failed ({result.returncode}):\n"
                                 f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def prepared_dir(venv: Path) -> Path:
    """Keyed by pretalx's version and by what SETUP makes, so data prepared before either changed
    is built again."""
    return venv / f"podium-prepared-{PRETALX_VERSION}-{hashlib.sha256(SETUP.encode()).hexdigest()[:8]}"


def prepare(venv: Path, *, log=lambda line: None) -> Path:
    """The prepared data directory for ``venv``, built first if it is missing (about 3 minutes).

    Built in a temporary folder beside it and renamed into place when complete, so an
    interrupted build leaves nothing that looks ready."""
    target = prepared_dir(venv)
    if (target / "tokens.json").is_file():
        return target
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=venv))
    try:
        (building / f"{SETTINGS_MODULE}.py").write_text(SETTINGS, encoding="utf-8")
        data = building / "data"
        data.mkdir()
        steps: list[tuple[str, tuple[str, ...], dict[str, str]]] = [
            ("migrate", ("migrate",), {}),
            ("init", ("init", "--noinput"), {
                "DJANGO_SUPERUSER_EMAIL": ORGANISER_EMAIL, "DJANGO_SUPERUSER_PASSWORD": "podium-pretalx",
                "PRETALX_INIT_ORGANISER_NAME": "Podium tests", "PRETALX_INIT_ORGANISER_SLUG": "podium"}),
            ("create_test_event", ("create_test_event", "--stage", "schedule", "--slug", EVENT, "--seed", "42"), {}),
        ]
        for name, args, extra in steps:
            started = time.monotonic()
            _pretalx(venv, building, data, *args, extra=extra)
            log(f"pretalx {name}: {time.monotonic() - started:.0f} s")
        script = SETUP % {"event": EVENT, "email": ORGANISER_EMAIL, "question": MATRIX_QUESTION,
                          "answers": MATRIX_ANSWERS}
        out = _pretalx(venv, building, data, "shell", "--unsafe-disable-scopes", "-c", script)
        line = next((x for x in out.splitlines() if x.startswith("PODIUM-SETUP ")), None)
        if line is None:
            raise PretalxUnavailable(f"the token set-up printed no tokens:\n{out[-2000:]}")
        (building / "tokens.json").write_text(line.removeprefix("PODIUM-SETUP "), encoding="utf-8")
        building.rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


@dataclass
class PretalxServer:
    """pretalx's ``runserver`` on a copy of the prepared data, on a free loopback port."""

    venv: Path
    prepared: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def event_url(self) -> str:
        return f"{self.url}/{EVENT}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/events/{EVENT}/"

    @property
    def tokens(self) -> dict[str, Any]:
        return json.loads((self.prepared / "tokens.json").read_text(encoding="utf-8"))

    def start(self, timeout: float = 90) -> None:
        data = self.workdir / "data"
        shutil.copytree(self.prepared / "data", data)
        env = _environment(self.venv, self.prepared, data, self.url)
        self.log = (self.workdir / "runserver.log").open("w")
        self.process = subprocess.Popen(
            [str(self.venv / "bin" / "python"), "-m", "pretalx", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            env=env, cwd=self.prepared, stdout=self.log, stderr=subprocess.STDOUT)
        if settled_blocking(lambda: self._answers() or self.process.poll() is not None, timeout=timeout, interval=0.3):
            if self.process.poll() is None:
                return
            raise PretalxUnavailable(f"pretalx runserver exited ({self.process.returncode}): "
                                     f"{(self.workdir / 'runserver.log').read_text()[-3000:]}")
        self.stop()
        raise PretalxUnavailable(f"pretalx did not answer on {self.url} within {timeout:.0f} s")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/", timeout=5):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A request to the event's API with the writing token (``path`` after ``/api/events/<e>/``)."""
        request = urllib.request.Request(
            self.api_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {self.tokens['write']}", "Content-Type": "application/json",
                     "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def fetch(self, path: str) -> bytes:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=60) as answer:
            return answer.read()


def _usable_venv() -> Path:
    try:
        venv = pretalx_venv()
    except PretalxUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    if venv is None:
        pytest.skip(HOW_TO_ENABLE)
    return venv


def _running(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[PretalxServer]:
    venv = _usable_venv()
    try:
        server = PretalxServer(venv, prepare(venv), tmp_path_factory.mktemp(name))
        server.start()
    except PretalxUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pretalx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PretalxServer]:
    """A pretalx server with the prepared test event, shared by the session; only read from it."""
    yield from _running(tmp_path_factory, "pretalx")


@pytest.fixture
def pretalx_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PretalxServer]:
    """A pretalx server of this test's own, on its own copy of the prepared data: change it freely."""
    yield from _running(tmp_path_factory, "pretalx-copy")


def run_import(capsys, monkeypatch, server: PretalxServer, source: str, into, *extra: str) -> tuple[int, str]:
    """``podium import source --into into`` with the reading token; its exit code and output, which
    never shows the token."""
    monkeypatch.setenv("PODIUM_PRETALX_TOKEN", server.tokens["read"])
    capsys.readouterr()
    code = podium_main(["import", source, "--into", str(into), *extra])
    out, err = capsys.readouterr()
    assert server.tokens["read"] not in out + err
    return code, out + err


def programme_of(schedule: Schedule) -> dict:
    """What an import puts into a schedule, speakers as a set (pretalx's API and its exports order
    co-speakers differently)."""
    return {
        "tracks": [(t.id, t.name) for t in schedule.tracks],
        "talks": sorted((t.ref, t.id, t.track, t.title, t.kind, t.start, t.duration, t.abstract,
                         frozenset(p.name for p in t.speakers)) for t in schedule.talks),
    }


def main(argv: list[str]) -> int:
    """``python -m tests.support.pretalx prepare``: build the prepared data for ``$PODIUM_PRETALX`` now."""
    if argv != ["prepare"]:
        print("usage: python -m tests.support.pretalx prepare   (builds the data the pretalx tests use)", file=sys.stderr)
        return 2
    try:
        venv = pretalx_venv()
        if venv is None:
            print(f"tests.support.pretalx: {ENV_VENV} is not set; {HOW_TO_ENABLE}", file=sys.stderr)
            return 1
        started = time.monotonic()
        target = prepare(venv, log=lambda line: print(line, flush=True))
    except (PretalxUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        print(f"tests.support.pretalx: {exc}", file=sys.stderr)
        return 1
    print(f"pretalx test data ready in {target} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
