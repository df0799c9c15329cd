"""A new user's first ten minutes: Podium installed with `pip install .` (not from the checkout),
`podium init` in an empty directory, validate and plan against a real homeserver, and the
errors a wrong setting gets: a wrong password, a URL that is no homeserver, a homeserver that is
not there yet when `podium run` starts."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot import SAMPLE_SCHEDULE
from bot.cli import main
from bot.conference.schedule import load_schedule
from bot.ports import free_port
from tests.support.accounts import TEST_PASSWORD
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
#: A count printed with its noun in the plural though it is one ("1 helpdesks"), or hedged ("room(s)").
BAD_PLURAL = re.compile(r"(?<![\d.])1 (?:[\w-]+ )?[\w-]+s\b(?! of)|\(s\)")


def _connection_env(homeserver: str, user_id: str, *, token: str | None = None,
                    password: str | None = None) -> dict[str, str]:
    env = {"PODIUM_HOMESERVER": homeserver, "PODIUM_USER_ID": user_id}
    env |= {"PODIUM_ACCESS_TOKEN": token} if token else {"PODIUM_PASSWORD": password or ""}
    return env


def _set_env(monkeypatch, env: dict[str, str]) -> None:
    for name in ("PODIUM_HOMESERVER", "PODIUM_USER_ID", "PODIUM_ACCESS_TOKEN", "PODIUM_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


# ----------------------------------------------------------------------------- the installed package


def _files(top: Path) -> list[Path]:
    """``top`` if it is a file, else every file under it (not Python's caches)."""
    paths = [top] if top.is_file() else top.rglob("*")
    return [path for path in paths if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]


def test_the_wheel_ships_every_file_the_package_reads(installed):
    shipped = installed.files()
    data = [str(path.relative_to(REPO)) for path in _files(REPO / "bot")]
    # The top-level files and folders the code reads, carried into the package where
    # bot.resources looks for them.
    carried = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    for source, target in carried["force-include"].items():
        assert target == f"bot/bundled/{source}", target
        data += [str(Path(target) / path.relative_to(REPO / source)) for path in _files(REPO / source)]
    missing = sorted(name for name in data if name not in shipped)
    assert not missing, f"not in the wheel: {missing}"
    assert "bot/bundled/widgets/static/vendor/hls.js/hls.min.js" in shipped
    assert not [name for name in shipped if name.startswith("tests/")]
    assert installed.console_scripts() == ["podium=bot.cli:main"]


def test_an_installed_copy_starts_a_conference_from_an_empty_directory(installed, bot, tmp_path):
    here = tmp_path / "new-conference"
    here.mkdir()
    where = installed.python("import bot, bot.provisioning.pipeline as p, bot.web.app as w; print(bot.__file__); "
                             "print(bot.SAMPLE_SCHEDULE); print(p.DEFAULT_TEMPLATES); print(w.WIDGETS)",
                             cwd=here).splitlines()
    assert all(Path(path).is_relative_to(installed.site) for path in where), where  # not the checkout
    assert (Path(where[3]) / "templates" / "index.html").is_file(), where

    first = installed.run("validate", cwd=here)
    assert first.returncode == 1
    assert "no schedule.yaml in" in first.stderr and "podium init" in first.stderr and "--schedule" in first.stderr
    assert "Traceback" not in first.stderr

    init = installed.run("init", cwd=here)
    assert init.returncode == 0, init.stderr
    assert (here / "schedule.yaml").read_bytes() == SAMPLE_SCHEDULE.read_bytes()
    assert "podium validate" in init.stdout and "podium plan" in init.stdout and "podium demo" in init.stdout

    valid = installed.run("validate", cwd=here)
    assert valid.returncode == 0, valid.stderr
    sample = load_schedule(SAMPLE_SCHEDULE)
    assert f"{len(sample.tracks)} tracks, {len(sample.talks)} talks" in valid.stdout
    assert len(sample.helpdesks) == 1 and "1 helpdesk," in valid.stdout, valid.stdout
    assert not BAD_PLURAL.search(valid.stdout), valid.stdout
    assert "Nothing was changed" not in valid.stdout + valid.stderr  # validate never changes anything

    env = _connection_env(bot.homeserver, bot.user_id, token=bot.access_token)
    plan = installed.run("plan", cwd=here, env=env)
    assert plan.returncode == 2, plan.stdout + plan.stderr  # everything still to create
    summary = next(line for line in plan.stdout.splitlines() if line.startswith("Plan: "))
    assert re.match(r"Plan: \d+ rooms to create", summary), summary
    assert not BAD_PLURAL.search(summary), summary

    # With a copy of the templates to edit: the copy is complete, and what it makes is the same.
    own = tmp_path / "own-templates"
    init = installed.run("init", str(own), "--templates", cwd=here)
    assert init.returncode == 0, init.stderr
    assert f"cd {own}" in init.stdout and "--templates room-templates" in init.stdout
    mine = installed.run("plan", "--templates", "room-templates", cwd=own, env=env)
    assert mine.returncode == 2, mine.stdout + mine.stderr
    assert mine.stdout == plan.stdout


# ----------------------------------------------------------------------------- podium init


def test_init_never_overwrites_and_writes_all_or_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    templates = tmp_path / "room-templates"
    templates.mkdir()
    (templates / "track.yaml").write_text("mine: true\n")

    assert main(["init", "--templates"]) == 1
    err = capsys.readouterr().err
    assert "room-templates/track.yaml already exists" in err and "nothing was written" in err
    assert not (tmp_path / "schedule.yaml").exists()  # not half done
    assert sorted(p.name for p in templates.iterdir()) == ["track.yaml"]
    assert (templates / "track.yaml").read_text() == "mine: true\n"

    assert main(["init"]) == 0  # the schedule alone does not collide
    out = capsys.readouterr().out
    assert "Wrote schedule.yaml" in out and "cd " not in out
    # The sample names its poster by a path beside it: the file comes along, and validate finds it.
    assert (tmp_path / "posters" / "energy.pdf").read_bytes().startswith(b"%PDF-")
    assert main(["validate"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    (tmp_path / "schedule.yaml").write_text("conference: {}\n")
    assert main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "schedule.yaml, " in err and "energy.pdf already exist; nothing was written" in err
    assert (tmp_path / "schedule.yaml").read_text() == "conference: {}\n"


def test_validate_reports_mistakes_without_claiming_to_have_changed_nothing(tmp_path, capsys):
    broken = tmp_path / "schedule.yaml"
    broken.write_text("conference:\n  id: Bad Id\n")
    assert main(["validate", "--schedule", str(broken)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}:" in err
    assert "Nothing was changed" not in err


# ----------------------------------------------------------------------------- wrong settings


def test_a_wrong_password_is_named_as_such(bot, make_user, tmp_path, capsys, monkeypatch):
    user_id, _ = make_user("pw-bot")
    _set_env(monkeypatch, _connection_env(bot.homeserver, user_id, password="not-the-password"))
    assert main(["plan", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "the homeserver refused the bot's password: check PODIUM_PASSWORD" in err, err
    assert "power" not in err  # not the hint for a refusal inside a room
    assert "not-the-password" not in err

    _set_env(monkeypatch, _connection_env(bot.homeserver, user_id, password=TEST_PASSWORD))
    assert main(["plan", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path)]) == 2


PAGE_MARKER = "Welcome to the company intranet"


class NotAHomeserver(BaseHTTPRequestHandler):
    """A web site: its HTML page on / and on the login path (as sites that answer every path with
    their home page do), a plain-text 404 elsewhere."""

    def do_GET(self) -> None:
        if self.path.split("?")[0] in ("/", "/_matrix/client/v3/login"):
            self._answer(200, "text/html", f"<!doctype html><html><body><h1>{PAGE_MARKER}</h1></body></html>")
        else:
            self._answer(404, "text/plain", f"404: Not Found. {PAGE_MARKER}")

    do_POST = do_GET

    def _answer(self, status: int, content_type: str, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotAHomeserver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("secret,path,answer", [
    ({"password": "pw"}, "/_matrix/client/v3/login", "an HTML page, HTTP 200"),
    ({"token": "tok"}, "/_matrix/client/v3/account/whoami", "plain text, HTTP 404"),
])
def test_a_url_that_is_no_homeserver_is_named_without_its_page(web_site, secret, path, answer, tmp_path, capsys,
                                                                monkeypatch):
    _set_env(monkeypatch, _connection_env(web_site, "@podium:example.org", **secret))
    for command in (["plan"], ["run", "--listen", f"127.0.0.1:{free_port()}"]):
        code = main([*command, "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path)])
        out, err = capsys.readouterr()
        assert code == 1, command  # run gives up at once: retrying will not make it a homeserver
        asked = path if command == ["plan"] else "/_matrix/client/v3/"  # run's first request depends on the secret
        assert re.search(f"{re.escape(web_site)} is not a Matrix homeserver \\(it answered {re.escape(asked)}"
                         f"\\S* with {re.escape(answer)}\\)", err), err
        assert "check PODIUM_HOMESERVER" in err
        assert PAGE_MARKER not in err + out and "<html" not in err + out
        assert "is answering" not in out


# ----------------------------------------------------------------------------- podium run's status


class Relay:
    """TCP forwarding from ``port`` to the homeserver, switched on by :meth:`start`; until then
    nothing listens there and connections are refused, as when the homeserver is not up yet."""

    def __init__(self, port: int, upstream_port: int):
        self.port, self.upstream_port = port, upstream_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connect, "127.0.0.1", self.port), self._loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def test_run_says_it_answers_only_once_it_has_reached_the_homeserver(synapse, make_user, tmp_path):
    user_id, _ = make_user("status-bot")
    synapse.override_ratelimit(user_id)
    relay = Relay(free_port(), synapse.port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env |= _connection_env(f"http://127.0.0.1:{relay.port}", user_id, password=TEST_PASSWORD)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--schedule", str(SAMPLE_SCHEDULE), "--data-dir", str(tmp_path),
         "--listen", f"127.0.0.1:{free_port()}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()  # type: ignore[arg-type]

    def wait_for(pattern: str) -> None:
        def printed() -> bool:
            assert process.poll() is None, f"podium run stopped before printing {pattern!r}:\n{''.join(lines)}"
            return bool(re.search(pattern, "".join(lines)))

        wait_until(printed, f"podium run printing {pattern!r}")

    try:
        # Nothing listens yet: one line says what failed and that the bot keeps trying.
        wait_for(r"cannot reach the homeserver")
        output = "".join(lines)
        assert f"cannot connect to 127.0.0.1:{relay.port} (connection refused)" in output, output
        assert "trying again, at most" in output, output
        assert "is answering" not in output
        relay.start()
        wait_for(r"Podium is answering in .* as " + re.escape(user_id))
        assert "".join(lines).count("cannot reach the homeserver") == 1, "one line per outage, not per attempt"
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(30)
        relay.stop()
    output = "".join(lines)
    assert code == 0, output
    assert "Traceback" not in output
    assert output.index("Connecting to") < output.index("trying again") < output.index("is answering")
    assert TEST_PASSWORD not in output
