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


#: Where ``podium appservice`` keeps the application service's tokens and registration, in the
#: data directory.
APPSERVICE_FOLDER = "appservice"
AS_TOKEN_FILE = "as_token"
HS_TOKEN_FILE = "hs_token"


@dataclass(frozen=True)
class AppService:
    """The bot as an application service: the registration's id and the token the homeserver
    shows when it pushes transactions (the bot's own token is the connection's access token)."""

    id: str
    hs_token: str = field(repr=False)


@dataclass(frozen=True)
class Connection:
    homeserver: str
    user_id: str
    access_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    #: Set when the bot acts as an application service: its access token is then the as_token.
    appservice: AppService | None = None

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


def connection_from(homeserver: str | None, user_id: str | None, env: dict[str, str] | None = None, *,
                    appservice: Path | None = None) -> Connection:
    """The connection the flags and the environment describe. With ``appservice`` (the folder
    ``podium appservice`` wrote its tokens into) the bot acts as that application service: its
    tokens come from PODIUM_AS_TOKEN / PODIUM_HS_TOKEN (or their *_FILE) or else that folder, and
    no password or access token is wanted."""
    env = dict(os.environ if env is None else env)
    homeserver = homeserver or env.get("PODIUM_HOMESERVER")
    user_id = user_id or env.get("PODIUM_USER_ID")
    missing = []
    if not homeserver:
        missing.append("the homeserver URL (--homeserver or PODIUM_HOMESERVER)")
    if not user_id:
        missing.append("the bot's Matrix ID (--user-id or PODIUM_USER_ID)")
    token = password = None
    if appservice is None:
        token = secret("PODIUM_ACCESS_TOKEN", env)
        password = secret("PODIUM_PASSWORD", env)
        if not token and not password:
            missing.append("a secret: PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD (or *_FILE naming a file that holds it)")
    if missing:
        raise ConfigProblem("cannot connect: missing " + "; ".join(missing))
    assert homeserver and user_id
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigProblem(f"homeserver {homeserver!r} must be a URL like https://matrix.example.org")
    check_user_id(user_id)
    if appservice is not None:
        token = appservice_token("PODIUM_AS_TOKEN", appservice / AS_TOKEN_FILE, env)
        service = AppService(appservice_id(user_id), appservice_token("PODIUM_HS_TOKEN", appservice / HS_TOKEN_FILE, env))
        return Connection(homeserver.rstrip("/"), user_id, token, None, service)
    return Connection(homeserver.rstrip("/"), user_id, token, password)


def check_user_id(user_id: str) -> None:
    if not user_id.startswith("@") or ":" not in user_id:
        raise ConfigProblem(f"user id {user_id!r} must look like @podium:example.org")


def appservice_id(user_id: str) -> str:
    """The id of the bot's application service registration: one per bot account."""
    localpart, server = user_id[1:].split(":", 1)
    return f"podium-{localpart}-{server}"


def appservice_token(name: str, path: Path, env: dict[str, str]) -> str:
    """An application service token: ``NAME`` or ``NAME_FILE`` from the environment, else the
    file ``podium appservice`` wrote."""
    found = secret(name, env)
    if found:
        return found
    if not path.exists():
        raise ConfigProblem(f"--appservice: {path} does not exist: run `podium appservice` with the same "
                            f"--data-dir first (it writes the tokens and the registration for the homeserver), "
                            f"or set {name} / {name}_FILE")
    token = secret_file(path, str(path))
    if not token:
        raise ConfigProblem(f"--appservice: {path} is empty: move it away and run `podium appservice` again")
    return token
