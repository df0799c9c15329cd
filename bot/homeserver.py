"""An embedded Synapse homeserver for ``podium demo`` and the test-suite.

:class:`EmbeddedSynapse` writes a small, quiet Synapse configuration into a data directory
(SQLite database, media store, signing key, registration shared secret), runs
``python -m synapse.app.homeserver`` as a child process on a loopback port, waits until
``/health`` answers, and offers the few admin operations Podium needs: registering users
through the shared-secret admin API, logging in, and lifting a user's rate limits.

Everything here is synchronous and uses only the standard library; Synapse itself runs in its
own process (``pip install podium[synapse]``). A data directory can be reused: stopping and
starting again keeps the users, rooms and keys, so a demo can be resumed.

Secrets never reach stdout or the logs: the shared secret lives in a 0600 file in the data
directory and is referenced from the config by path; access tokens are only returned.

A started homeserver is never left behind: :meth:`EmbeddedSynapse.stop` runs at interpreter
exit, and the child watches a pipe from this process, so it shuts itself down even when this
process is killed outright (SIGKILL, OOM) and ``atexit`` never runs.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import hmac
import importlib.util
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from pathlib import Path
from typing import Any

from .ports import free_port, port_problem

__all__ = ["EmbeddedSynapse", "HomeserverError"]

CONFIG_FILE = "homeserver.yaml"
LOG_CONFIG_FILE = "log.yaml"
LOG_FILE = "homeserver.log"
CONSOLE_FILE = "synapse-console.log"  # Synapse's stdout/stderr before its logging is set up
DATABASE_FILE = "homeserver.db"
MEDIA_DIR = "media_store"
SIGNING_KEY_FILE = "signing.key"
SHARED_SECRET_FILE = "registration_shared_secret"

#: Localpart of the account this class registers for itself to call admin APIs.
INTERNAL_ADMIN = "podium-homeserver-admin"

#: Generous limits written when ``lift_limits=True``: enough that neither the test-suite nor the
#: demo is ever throttled, while still being finite numbers Synapse accepts.
_LIFTED = {"per_second": 10000, "burst_count": 100000}
#: The Synapse module (a class path, not imported here: Podium runs without Synapse installed)
#: that joins local users the bot invites into its rooms: see bot/synapse_joins.py.
JOIN_INVITATIONS_MODULE = "bot.synapse_joins.JoinPodiumInvitations"
#: The Synapse module that writes a person's consent to one of the bot's widgets again, so Element
#: sees it and loads the tile: see bot/synapse_consent.py.
WIDGET_CONSENT_MODULE = "bot.synapse_consent.RepeatWidgetConsent"

LIFTED_RATELIMITS: dict[str, Any] = {
    "rc_message": _LIFTED,
    "rc_room_creation": _LIFTED,
    "rc_registration": _LIFTED,
    "rc_login": {"address": _LIFTED, "account": _LIFTED, "failed_attempts": _LIFTED},
    "rc_joins": {"local": _LIFTED, "remote": _LIFTED},
    "rc_joins_per_room": _LIFTED,
    "rc_invites": {"per_room": _LIFTED, "per_user": _LIFTED, "per_issuer": _LIFTED},
    "rc_third_party_invite": _LIFTED,
    "rc_admin_redaction": _LIFTED,
    "rc_media_create": _LIFTED,
    "rc_presence": {"per_user": _LIFTED},
    "rc_delayed_event_mgmt": _LIFTED,
    "rc_reports": _LIFTED,
    "rc_user_directory": _LIFTED,
    "rc_profile": _LIFTED,
    "rc_key_requests": _LIFTED,
}

# Runs in the child instead of plain ``-m synapse.app.homeserver``: a daemon thread blocks on
# stdin (a pipe only the parent holds) and sends SIGTERM to Synapse when it reaches EOF, i.e.
# when the parent has gone away for whatever reason. Then it runs Synapse's usual entry point.
_CHILD_BOOTSTRAP = """\
import os, signal, sys, threading
def _watch_parent():
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=_watch_parent, name="parent-watch", daemon=True).start()
sys.argv = ["synapse.app.homeserver"] + sys.argv[1:]
from synapse.app.homeserver import main
main()
"""

_LOG_CONFIG = """\
# Written by bot.homeserver. Quiet on purpose: warnings and errors only.
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {log_file}
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""

# Every running instance, so the atexit hook can stop what is still up.
_RUNNING: weakref.WeakSet[EmbeddedSynapse] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


_TAIL_LINES = 40
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b: ")


class HomeserverError(RuntimeError):
    """The embedded homeserver failed to start, or an admin request to it failed."""


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _yaml_scalar(value: str) -> str:
    # JSON strings are valid YAML flow scalars, which sidesteps quoting rules for paths.
    return json.dumps(value)


def _write_private(path: Path, data: str) -> None:
    """Create ``path`` with mode 0600 from the start (no window where it is world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(data)


class EmbeddedSynapse:
    """A Synapse homeserver running as a child process on a loopback port.

    ``port=None`` picks a free port at the first :meth:`start` and keeps it across restarts (so
    ``base_url`` stays valid), moving to another only if it has been taken. ``lift_limits=True`` writes generous
    ``rc_*`` settings so provisioning is never throttled; ``lift_limits=False`` keeps Synapse's
    stock limits (about one room creation a minute), which is what 429 handling is tested
    against. ``rate_limits``: ``rc_*`` settings of its own, over either. ``app_services``:
    registration files of application services the homeserver accepts
    (``app_service_config_files``); none by default, and the demo gives none.
    ``join_invitations_from``: a bot's Matrix ID whose invitations into rooms (not spaces, not
    direct chats) the homeserver accepts for its local users (:mod:`bot.synapse_joins`): the
    demo's staff and speakers find their rooms joined, and a person joining a conference room
    before accepting the conference has their invitation to its space accepted first.
    ``widget_consent_from``: a bot's Matrix ID whose widgets' consents the homeserver writes again
    for Element to see (:mod:`bot.synapse_consent`): no tile stays on "Loading…" after "Continue".
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        server_name: str = "localhost",
        host: str = "127.0.0.1",
        port: int | None = None,
        lift_limits: bool = True,
        app_services: tuple[Path, ...] = (),
        rate_limits: dict[str, Any] | None = None,
        join_invitations_from: str | None = None,
        widget_consent_from: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.app_services = tuple(Path(path).resolve() for path in app_services)
        self.server_name = server_name
        self.host = host
        self._requested_port = port
        self.port: int = port if port is not None else 0
        self.lift_limits = lift_limits
        self.rate_limits = dict(rate_limits or {})
        self.join_invitations_from = join_invitations_from
        self.widget_consent_from = widget_consent_from
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._admin_token: str | None = None
        self._room_version: str | None = None
        # Loopback only: never route through an http_proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ------------------------------------------------------------------ paths and state

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / CONFIG_FILE

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<EmbeddedSynapse {self.server_name} {self.base_url} {state} in {self.data_dir}>"

    # ------------------------------------------------------------------ configuration

    def _ensure_secrets(self) -> None:
        """Create the signing key and the shared secret once; later starts reuse them."""
        key_path = self.data_dir / SIGNING_KEY_FILE
        if not key_path.exists():
            # Synapse's format (signedjson): "ed25519 <version> <unpadded base64 32-byte seed>".
            # An ed25519 seed is just 32 random bytes, so no Synapse process is needed for it.
            seed = base64.b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
            version = "a_" + secrets.token_hex(2)
            _write_private(key_path, f"ed25519 {version} {seed}\n")
        secret_path = self.data_dir / SHARED_SECRET_FILE
        if not secret_path.exists():
            # No trailing newline: Synapse uses the file's content verbatim as the secret.
            _write_private(secret_path, secrets.token_urlsafe(48))

    def _shared_secret(self) -> bytes:
        return (self.data_dir / SHARED_SECRET_FILE).read_bytes()

    def _config_text(self) -> str:
        d = self.data_dir
        q = _yaml_scalar
        lines = [
            "# Written by bot.homeserver on every start; edits are overwritten.",
            f"server_name: {q(self.server_name)}",
            f"public_baseurl: {q(self.base_url + '/')}",
            f"pid_file: {q(str(d / 'homeserver.pid'))}",
            f"signing_key_path: {q(str(d / SIGNING_KEY_FILE))}",
            f"registration_shared_secret_path: {q(str(d / SHARED_SECRET_FILE))}",
            f"log_config: {q(str(d / LOG_CONFIG_FILE))}",
            f"media_store_path: {q(str(d / MEDIA_DIR))}",
            "database:",
            "  name: sqlite3",
            "  args:",
            f"    database: {q(str(d / DATABASE_FILE))}",
            "listeners:",
            f"  - port: {self.port}",
            f"    bind_addresses: [{q(self.host)}]",
            "    type: http",
            "    tls: false",
            "    x_forwarded: false",
            "    resources:",
            "      - names: [client]",
            "        compress: false",
            "enable_registration: false",
            "report_stats: false",
            "enable_metrics: false",
            "trusted_key_servers: []",
            "suppress_key_server_warning: true",
            "presence:",
            "  enabled: false",
            "url_preview_enabled: false",
            # Password hashing dominates register/login time at the default 12 rounds; this
            # homeserver exists for demos and tests, not for real accounts.
            "bcrypt_rounds: 4",
        ]
        if self.app_services:
            lines.append("app_service_config_files:")
            lines.extend(f"  - {q(str(path))}" for path in self.app_services)
        modules = []
        if self.join_invitations_from:
            modules += [f"  - module: {JOIN_INVITATIONS_MODULE}", "    config:",
                        f"      inviter: {q(self.join_invitations_from)}"]
        if self.widget_consent_from:
            modules += [f"  - module: {WIDGET_CONSENT_MODULE}", "    config:",
                        f"      bot: {q(self.widget_consent_from)}"]
        if modules:
            lines += ["modules:", *modules]
        limits = {**(LIFTED_RATELIMITS if self.lift_limits else {}), **self.rate_limits}
        for key, value in limits.items():
            lines.append(f"{key}: {json.dumps(value)}")
        return "\n".join(lines) + "\n"

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / MEDIA_DIR).mkdir(exist_ok=True)
        self._ensure_secrets()
        log_config = _LOG_CONFIG.format(log_file=_yaml_scalar(str(self.log_path)))
        (self.data_dir / LOG_CONFIG_FILE).write_text(log_config, encoding="utf-8")
        self.config_path.write_text(self._config_text(), encoding="utf-8")

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 60) -> None:
        """Start Synapse and wait until ``/health`` answers ``OK``. No-op if already running.

        Raises :class:`HomeserverError` with the tail of Synapse's log if it exits or does not
        become healthy within ``timeout`` seconds.
        """
        with self._lock:
            if self.running:
                return
            attempts = 3 if self._requested_port is None else 1
            for attempt in range(attempts):
                if self._requested_port is not None:
                    self.port = self._requested_port
                    # Whatever already listens there would answer /health in Synapse's place,
                    # and every admin request after it would go to the wrong server.
                    problem = port_problem(self.host, self.port)
                    if problem:
                        raise HomeserverError(f"cannot start the homeserver on {self.host}:{self.port}: "
                                              f"that port is {problem}")
                elif attempt > 0 or not self.port or port_problem(self.host, self.port):
                    # Keep the port across stop/start so base_url stays valid for clients.
                    self.port = free_port(self.host)
                try:
                    self._start_once(timeout)
                    return
                except HomeserverError as exc:
                    # An auto-picked port can be taken between probing and binding: retry.
                    if attempt + 1 < attempts and "Address already in use" in str(exc):
                        continue
                    raise

    def _start_once(self, timeout: float) -> None:
        if importlib.util.find_spec("synapse.app.homeserver") is None:
            raise HomeserverError(
                f"matrix-synapse is not installed for {sys.executable}; "
                "install it with `pip install podium[synapse]`"
            )
        self._write_config()
        self._admin_token = None
        self._room_version = None
        console_path = self.data_dir / CONSOLE_FILE
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        console = open(console_path, "wb")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_BOOTSTRAP, "-c", str(self.config_path)],
                cwd=self.data_dir,
                stdin=subprocess.PIPE,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: terminal ^C goes to us, not it
            )
        finally:
            console.close()
        _RUNNING.add(self)

        deadline = time.monotonic() + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                self._reap()
                raise HomeserverError(
                    f"Synapse exited with code {code} during start-up.\n"
                    + self._diagnostics(log_offset)
                )
            if self._healthy():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise HomeserverError(
                    f"Synapse did not answer {self.base_url}/health within {timeout:g}s.\n"
                    + self._diagnostics(log_offset)
                )
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            with self._opener.open(self.base_url + "/health", timeout=2) as resp:
                return resp.status == 200 and resp.read().strip() == b"OK"
        except (OSError, urllib.error.URLError):
            return False

    def _diagnostics(self, log_offset: int = 0) -> str:
        """The errors Synapse reported and the tail of its log, for a HomeserverError."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(log_offset)  # only this start's lines
                log = fh.read().decode("utf-8", errors="replace").rstrip()
        except OSError:
            log = ""
        log = "\n".join(log.splitlines()[-_TAIL_LINES:])
        console = _tail(self.data_dir / CONSOLE_FILE, _TAIL_LINES)
        errors: list[str] = []
        for line in (log + "\n" + console).splitlines():
            line = line.strip()
            if len(line) > 300:
                line = line[:297] + "..."
            if _EXCEPTION_LINE.match(line) and line not in errors:
                errors.append(line)
        parts = []
        if errors:
            parts.append("Errors:\n" + "\n".join("  " + e for e in errors))
        parts.append(f"Log: {self.log_path}")
        if log:
            parts.append("--- homeserver.log (tail) ---\n" + log)
        if console and console.strip() not in log:
            parts.append(f"--- {self.data_dir / CONSOLE_FILE} (tail) ---\n{console}")
        return "\n".join(parts)

    def stop(self, timeout: float = 15) -> None:
        """Stop Synapse: SIGTERM to its process group, wait, then SIGKILL. Idempotent."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL)
                    proc.wait(5)
            self._reap()

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # the group we created with start_new_session
        except ProcessLookupError:
            pass

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait()
        self._admin_token = None

    def __enter__(self) -> EmbeddedSynapse:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ HTTP

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        retry_budget: float = 30.0,
    ) -> tuple[int, dict[str, Any]]:
        """Send one JSON request; return (status, JSON body). 429s are retried within budget."""
        if not self.running:
            raise HomeserverError(f"the homeserver in {self.data_dir} is not running")
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        deadline = time.monotonic() + retry_budget
        while True:
            req = urllib.request.Request(
                self.base_url + path, data=data, headers=headers, method=method
            )
            try:
                with self._opener.open(req, timeout=30) as resp:
                    status, raw, retry_after = resp.status, resp.read(), None
            except urllib.error.HTTPError as err:
                status, raw, retry_after = err.code, err.read(), err.headers.get("Retry-After")
            except OSError as err:
                raise HomeserverError(f"{method} {path} failed: {err}") from err
            try:
                payload = json.loads(raw) if raw else {}
            except ValueError:
                payload = {"error": raw.decode("utf-8", errors="replace")}
            if status != 429:
                return status, payload
            wait = (
                float(retry_after)
                if retry_after
                else payload.get("retry_after_ms", 1000) / 1000
            )
            if time.monotonic() + wait > deadline:
                return status, payload
            time.sleep(wait)

    @staticmethod
    def _fail(what: str, status: int, payload: dict[str, Any]) -> HomeserverError:
        errcode = payload.get("errcode", "")
        error = payload.get("error", "")
        return HomeserverError(f"{what} failed: HTTP {status} {errcode} {error}".rstrip())

    # ------------------------------------------------------------------ users

    def user_id(self, localpart_or_user_id: str) -> str:
        if localpart_or_user_id.startswith("@"):
            return localpart_or_user_id
        return f"@{localpart_or_user_id}:{self.server_name}"

    def register_user(
        self,
        localpart: str,
        password: str,
        *,
        admin: bool = False,
        displayname: str | None = None,
    ) -> tuple[str, str]:
        """Register a user through the shared-secret admin API; return (user_id, token).

        If the localpart is taken, log in with ``password`` instead and return a fresh token, so
        a restarted demo can register the same users again.
        """
        status, payload = self._request("GET", "/_synapse/admin/v1/register")
        if status != 200:
            raise self._fail("fetching a registration nonce", status, payload)
        nonce = payload["nonce"]
        mac = hmac.new(self._shared_secret(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([
            nonce.encode("utf-8"),
            localpart.encode("utf-8"),
            password.encode("utf-8"),
            b"admin" if admin else b"notadmin",
        ]))
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if displayname is not None:
            body["displayname"] = displayname
        status, payload = self._request("POST", "/_synapse/admin/v1/register", body)
        if status == 200:
            return payload["user_id"], payload["access_token"]
        if status == 400 and payload.get("errcode") == "M_USER_IN_USE":
            return self.user_id(localpart), self.login(localpart, password)
        raise self._fail(f"registering {localpart!r}", status, payload)

    def login(self, localpart_or_user_id: str, password: str) -> str:
        """Log in with a password (``m.login.password``) and return a new access token."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart_or_user_id},
            "password": password,
            "initial_device_display_name": "podium",
        }
        status, payload = self._request("POST", "/_matrix/client/v3/login", body)
        if status != 200:
            raise self._fail(f"logging in as {localpart_or_user_id!r}", status, payload)
        return payload["access_token"]

    # ------------------------------------------------------------------ admin operations

    def _internal_admin_token(self) -> str:
        """Token of an admin account this class owns; its password derives from the secret."""
        with self._lock:
            if self._admin_token is None:
                password = hmac.new(
                    self._shared_secret(), b"podium internal admin password", hashlib.sha256
                ).hexdigest()
                _, self._admin_token = self.register_user(INTERNAL_ADMIN, password, admin=True)
            return self._admin_token

    def override_ratelimit(self, user_id: str) -> None:
        """Exempt ``user_id`` from message rate limits (admin API ``override_ratelimit``)."""
        path = (
            "/_synapse/admin/v1/users/"
            + urllib.parse.quote(self.user_id(user_id), safe="")
            + "/override_ratelimit"
        )
        body = {"messages_per_second": 0, "burst_count": 0}
        status, payload = self._request("POST", path, body, token=self._internal_admin_token())
        if status != 200:
            raise self._fail(f"overriding the rate limit of {user_id}", status, payload)

    @property
    def default_room_version(self) -> str:
        """The room version Synapse gives new rooms (``m.room_versions.default``)."""
        if self._room_version is None:
            status, payload = self._request(
                "GET", "/_matrix/client/v3/capabilities", token=self._internal_admin_token()
            )
            if status != 200:
                raise self._fail("reading capabilities", status, payload)
            self._room_version = str(payload["capabilities"]["m.room_versions"]["default"])
        return self._room_version
