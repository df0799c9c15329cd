"""``podium appservice``: the registration that makes the bot an application service of its
homeserver, so that it acts without rate limits and has its events pushed to it.

The two tokens are made once, into files of the data directory readable by their owner alone,
and kept: writing the registration again (another URL, a conference with more rooms) keeps the
homeserver's copy valid. Neither is ever printed; the registration file holds them (the
homeserver reads them from it), so it is written with the same mode.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
from pathlib import Path
from typing import Any

import yaml

from ..config import APPSERVICE_FOLDER, AS_TOKEN_FILE, HS_TOKEN_FILE, ConfigProblem, appservice_id, check_user_id
from ..provisioning.desired import Settings
from ..provisioning.pipeline import DEFAULT_PUBLIC_URL, build
from ..serve import DEFAULT_LISTEN
from ..store.codesecret import read_or_make
from .options import EXIT_OK, data_dir_option, schedule_options, templates_option

REGISTRATION_FILE = "registration.yaml"
DEFAULT_URL = f"http://{DEFAULT_LISTEN}"
#: What to do with a token file that holds something else.
TOKEN_REMEDY = ("move it away and run `podium appservice` again, then give the homeserver the new registration "
                "and restart it")

DESCRIPTION = """\
Write the registration file that makes the bot an application service of its Synapse, and the
service's two tokens (as_token, hs_token) into DATA_DIR/appservice/, readable by their owner only.
The bot's account is then a user of the service: it is not rate-limited (room creation, invites
and messages alike), and `podium run --appservice` receives the rooms' events pushed by Synapse to
its web server (PUT /_matrix/app/v1/transactions/...) instead of polling /sync.

The service claims, exclusively, the bot's Matrix ID and the conference's room aliases
(#CONFERENCE-ID-...:SERVER, and any other alias the room templates give). --url is where Synapse
reaches the web server of `podium run` (its --listen address as seen from Synapse).

Then: add the file to Synapse's homeserver.yaml,
    app_service_config_files:
      - /path/to/registration.yaml
restart Synapse, and pass --appservice (or set PODIUM_APPSERVICE=1) to `podium apply`, `podium
run` and `podium invite`, with the same --data-dir; no PODIUM_ACCESS_TOKEN or PODIUM_PASSWORD is
needed. Running this again keeps the tokens: only the URL and the aliases change."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("appservice", help="write the registration that runs the bot as a Synapse application "
                                               "service (no rate limits, events pushed)",
                            description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    schedule_options(p)
    templates_option(p)
    p.add_argument("--user-id", metavar="MXID", help="the bot's Matrix ID (PODIUM_USER_ID), which the service claims as its user")
    p.add_argument("--url", default=os.environ.get("PODIUM_APPSERVICE_URL", DEFAULT_URL), metavar="URL",
                   help="where Synapse reaches the web server of `podium run --appservice` (PODIUM_APPSERVICE_URL; "
                        f"default {DEFAULT_URL}, the default --listen)")
    data_dir_option(p, "the service's tokens and registration")
    p.add_argument("--output", type=Path, metavar="FILE",
                   help=f"where to write the registration (default: DATA_DIR/{APPSERVICE_FOLDER}/{REGISTRATION_FILE})")
    p.set_defaults(run=_appservice)


def _appservice(args: argparse.Namespace) -> int:
    user_id = args.user_id or os.environ.get("PODIUM_USER_ID")
    if not user_id:
        raise ConfigProblem("cannot write the registration: missing the bot's Matrix ID (--user-id or PODIUM_USER_ID)")
    check_user_id(user_id)
    if not args.url.startswith(("http://", "https://")):
        raise ConfigProblem(f"--url {args.url!r} must be a URL like http://127.0.0.1:8080, where Synapse reaches "
                            "the web server of `podium run`")
    server_name = user_id.split(":", 1)[1]
    conference = build(args.schedule, Settings(server_name, user_id, DEFAULT_PUBLIC_URL), args.templates)
    folder = args.data_dir / APPSERVICE_FOLDER
    as_token, hs_token = service_tokens(folder)
    aliases = [f"#{room.alias}:{server_name}" for room in conference.rooms]
    output = args.output or folder / REGISTRATION_FILE
    write_private(output, yaml.safe_dump(
        registration(user_id, conference.schedule.conference.id, aliases, args.url.rstrip("/"), as_token, hs_token),
        sort_keys=False))
    print(f"Wrote {output} (readable by its owner only: it holds the service's tokens) for "
          f"{conference.schedule.conference.name}: {user_id} acts as the application service "
          f"{appservice_id(user_id)}, and Synapse pushes its events to {args.url.rstrip('/')}.")
    print(f"Add it to Synapse's homeserver.yaml under app_service_config_files (Synapse must be able to read it), "
          f"restart Synapse, and run `podium apply --appservice` and `podium run --appservice` with "
          f"--data-dir {args.data_dir}.")
    return EXIT_OK


def service_tokens(folder: Path) -> tuple[str, str]:
    """(as_token, hs_token): the ones kept in ``folder``, made the first time."""
    folder.mkdir(parents=True, exist_ok=True)
    return (read_or_make(folder / AS_TOKEN_FILE, TOKEN_REMEDY).hex(),
            read_or_make(folder / HS_TOKEN_FILE, TOKEN_REMEDY).hex())


def registration(user_id: str, conference_id: str, aliases: list[str], url: str, as_token: str,
                 hs_token: str) -> dict[str, Any]:
    """The registration of the bot's application service: the bot's account is a user of its
    namespace, and it claims the bot's Matrix ID and the conference's aliases (the bundled templates' prefix, and
    any alias the templates make outside it) for itself."""
    localpart, server_name = user_id[1:].split(":", 1)
    server = re.escape(server_name)
    prefix = re.compile(f"^#{re.escape(conference_id)}(-.*)?:{server}$")
    alias_patterns = [prefix.pattern] + [f"^{re.escape(alias)}$" for alias in aliases if not prefix.match(alias)]
    return {
        "id": appservice_id(user_id),
        "url": url,
        "as_token": as_token,
        "hs_token": hs_token,
        # The service's own user is not the bot: the homeserver lets that one neither /sync nor
        # be anything but the service. The bot is a user of its namespace instead.
        "sender_localpart": f"{localpart}-appservice",
        # The bot's requests pass every rate limiter of the homeserver.
        "rate_limited": False,
        "namespaces": {
            "users": [{"exclusive": True, "regex": f"^@{re.escape(localpart)}:{server}$"}],
            "aliases": [{"exclusive": True, "regex": pattern} for pattern in alias_patterns],
            "rooms": [],
        },
    }


def write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner alone from the start, replacing what was there whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
