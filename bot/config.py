"""Connection settings from flags and the environment; secrets only from the environment or files.

Access tokens and passwords are never taken as command-line flags (they would show in ``ps``
and shell history) and never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .conference.inputfile import SECRET_LIMIT, InputRefused, read_input


class ConfigProblem(Exception):
    """A setting is missing or unusable; the message says which and how to set it."""


@dataclass(frozen=True)
class Connection:
    homeserver: str
    user_id: str
    access_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]


def secret(name: str, env: dict[str, str]) -> str | None:
    """``NAME`` itself, or the contents of the file named by ``NAME_FILE``."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if path:
        return secret_file(Path(path), f"{name}_FILE={path}")
    return None


def secret_file(path: Path, named: str) -> str:
    """The secret the file holds, stripped; ``named`` says where the file was named, for the
    messages (which never quote the file: it holds a secret)."""
    try:
        return read_input(path, SECRET_LIMIT, "a file holding one secret").decode("utf-8").strip()
    except InputRefused as exc:
        raise ConfigProblem(f"{named}: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigProblem(f"{named}: the file is not UTF-8 text; put only the secret in it") from None
    except OSError as exc:
        raise ConfigProblem(f"{named}: cannot read it ({exc.strerror or exc})") from None


def connection_from(homeserver: str | None, user_id: str | None, env: dict[str, str] | None = None) -> Connection:
    env = dict(os.environ if env is None else env)
    homeserver = homeserver or env.get("PODIUM_HOMESERVER")
    user_id = user_id or env.get("PODIUM_USER_ID")
    missing = []
    if not homeserver:
        missing.append("the homeserver URL (--homeserver or PODIUM_HOMESERVER)")
    if not user_id:
        missing.append("the bot's Matrix ID (--user-id or PODIUM_USER_ID)")
    token = secret("PODIUM_ACCESS_TOKEN", env)
    password = secret("PODIUM_PASSWORD", env)
    if not token and not password:
        missing.append("a secret: PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD (or *_FILE naming a file that holds it)")
    if missing:
        raise ConfigProblem("cannot connect: missing " + "; ".join(missing))
    assert homeserver and user_id
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigProblem(f"homeserver {homeserver!r} must be a URL like https://matrix.example.org")
    if not user_id.startswith("@") or ":" not in user_id:
        raise ConfigProblem(f"user id {user_id!r} must look like @podium:example.org")
    return Connection(homeserver.rstrip("/"), user_id, token, password)
