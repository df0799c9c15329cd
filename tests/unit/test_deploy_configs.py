"""The files deploy/ ships hold together: each nginx upstream reaches a listener Synapse's files
open, the routes send each worker endpoint where the worker files say it is served, the shared
worker settings name workers that exist, and the units start what the guide installs.

No PostgreSQL, Redis or nginx is needed: the files are read, nginx's regex locations are matched
as nginx matches them (the first regex location that matches, else the prefix ``/``).
bench/homeservers.py starts real ones from these same files.
"""

from __future__ import annotations

import configparser
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SITE = (DEPLOY / "nginx" / "podium.conf").read_text(encoding="utf-8")
SHARED = yaml.safe_load((DEPLOY / "synapse" / "conf.d" / "workers.yaml").read_text(encoding="utf-8"))
WORKERS = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
           for path in (DEPLOY / "synapse" / "workers").glob("*.yaml")}
GUIDE = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")


def upstreams() -> dict[str, int]:
    return {name: int(port) for name, port in
            re.findall(r"upstream (\w+) \{\s*server 127\.0\.0\.1:(\d+);", SITE)}


def server_blocks() -> dict[str, str]:
    """server_name -> the text of its server block (blocks hold no nested braces but locations')."""
    blocks = {}
    for match in re.finditer(r"^server \{$(.*?)^\}$", SITE, re.M | re.S):
        name = re.search(r"server_name (\S+);", match.group(1)).group(1)
        blocks[name] = match.group(1)
    return blocks


def route(path: str, block: str) -> str:
    """The upstream nginx sends ``path`` to in ``block``."""
    for regex, upstream in re.findall(r"location ~ (\S+) \{[^}]*?proxy_pass http://(\w+);", block):
        if re.search(regex, path):
            return upstream
    return re.search(r"location / \{ proxy_pass http://(\w+); \}", block).group(1)


def listener_ports() -> dict[int, str]:
    """Port -> the Synapse process whose files open it ("main" or a worker's name)."""
    ports = {listener["port"]: "main" for listener in SHARED["listeners"]}
    for name, worker in WORKERS.items():
        for listener in worker.get("worker_listeners", []):
            ports[listener["port"]] = name
    return ports


def test_every_upstream_reaches_a_shipped_listener():
    ports = listener_ports()
    synapse = {name: port for name, port in upstreams().items() if name.startswith("synapse_")}
    assert synapse, "the site has upstreams for Synapse"
    assert {name: ports.get(port) for name, port in synapse.items()} == {
        "synapse_main": "main", "synapse_sync": "synchrotron1", "synapse_client": "client1",
        "synapse_appservice": "appservice1"}
    # The replication listener is never proxied.
    replication = [l["port"] for l in SHARED["listeners"] if l["resources"][0]["names"] == ["replication"]]
    assert replication and not set(replication) & set(upstreams().values())


@pytest.mark.parametrize(("path", "upstream"), [
    ("/_matrix/client/v3/sync", "synapse_sync"),
    ("/_matrix/client/r0/sync", "synapse_sync"),
    ("/_matrix/client/v3/createRoom", "synapse_client"),
    ("/_matrix/client/v3/rooms/!a:example.org/send/m.room.message/txn1", "synapse_client"),
    ("/_matrix/client/v3/rooms/!a:example.org/send/m.reaction/txn2", "synapse_client"),
    ("/_matrix/client/v3/rooms/!a:example.org/state/m.space.child/!b:example.org", "synapse_client"),
    ("/_matrix/client/v3/rooms/!a:example.org/state", "synapse_client"),
    ("/_matrix/client/v3/rooms/!a:example.org/invite", "synapse_client"),
    ("/_matrix/client/v3/join/#hallway:example.org", "synapse_client"),
    ("/_matrix/client/v3/directory/room/#conf-hallway:example.org", "synapse_client"),
    ("/_matrix/client/v3/login", "synapse_client"),
    ("/_matrix/client/v3/user/@podium:example.org/filter", "synapse_client"),
    # The ping must reach the worker that pushes to the service (notify_appservices_from_worker).
    ("/_matrix/client/v1/appservice/podium-example.org/ping", "synapse_appservice"),
    # What no worker serves: the admin API (registration, rate limits), keys, media, health.
    ("/_synapse/admin/v1/register", "synapse_main"),
    ("/_synapse/admin/v1/users/@podium:example.org/override_ratelimit", "synapse_main"),
    ("/_matrix/client/v3/keys/query", "synapse_main"),
    ("/_matrix/media/v3/upload", "synapse_main"),
    ("/health", "synapse_main"),
])
def test_the_homeserver_routes(path, upstream):
    assert route(path, server_blocks()["matrix.example.org"]) == upstream


def test_the_pages_have_their_own_host_and_streams_are_not_buffered():
    pages = server_blocks()["podium.example.org"]
    assert route("/widgets/qa/main", pages) == "podium_web"
    assert route("/widgets/qa/main/events", pages) == "podium_web"
    stream = re.search(r"location ~ \^/widgets/\.\*/events\$ \{(.*?)\}", pages, re.S).group(1)
    assert "proxy_buffering off;" in stream
    # Synapse's transactions go to the bot directly, never through the public proxy.
    assert "transactions" not in re.sub(r"#.*", "", pages)


def test_shared_worker_settings_name_shipped_workers():
    assert set(WORKERS) == {"synchrotron1", "client1", "appservice1"}
    assert {name: w["worker_name"] for name, w in WORKERS.items()} == {name: name for name in WORKERS}
    assert {w["worker_app"] for w in WORKERS.values()} == {"synapse.app.generic_worker"}
    assert SHARED["notify_appservices_from_worker"] in WORKERS
    pusher = WORKERS[SHARED["notify_appservices_from_worker"]]
    assert listener_ports()[upstreams()["synapse_appservice"]] == pusher["worker_name"]
    replication = next(l for l in SHARED["listeners"] if l["resources"][0]["names"] == ["replication"])
    assert SHARED["instance_map"]["main"]["port"] == replication["port"]
    assert SHARED["redis"]["enabled"] is True


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_the_units_start_what_the_guide_installs():
    worker = unit("matrix-synapse-worker@.service")["Service"]["ExecStart"]
    assert "synapse.app.generic_worker" in worker and "/etc/matrix-synapse/workers/%i.yaml" in worker
    for name in WORKERS:
        assert f"matrix-synapse-worker@{name}" in GUIDE
    bot = unit("podium-bot.service")["Service"]["ExecStart"].split()
    web = unit("podium-web.service")["Service"]["ExecStart"].split()
    assert bot[1:5] == ["run", "--appservice", "--no-pages", "--listen"] and bot[5] == "127.0.0.1:8080"
    assert web[1:3] == ["web", "--listen"] and f"server {web[3]};" in SITE
    # Both read one data directory and one schedule.
    assert bot[bot.index("--data-dir") + 1] == web[web.index("--data-dir") + 1]
    assert bot[bot.index("--schedule") + 1] == web[web.index("--schedule") + 1]
    # The registration's URL in the guide is where the bot listens.
    assert "--url http://127.0.0.1:8080" in GUIDE


def test_podiums_units_wait_for_podium_to_say_it_is_ready():
    # Podium sends READY=1 from its main process (bot.service_manager) once it answers.
    for name in ("podium-bot.service", "podium-web.service"):
        service = unit(name)["Service"]
        assert (service["Type"], service["NotifyAccess"]) == ("notify", "main"), name


def test_the_bench_launcher_templates_every_upstream():
    spec = importlib.util.spec_from_file_location("bench_homeservers", REPO / "bench" / "homeservers.py")
    homeservers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(homeservers)
    ports = {name: 20000 + n for n, name in enumerate(upstreams())}
    site = homeservers.Nginx.site(19999, ports)
    assert re.findall(r"listen ([\d.:]+)", site) == ["127.0.0.1:19999", "127.0.0.1:19999"]
    assert {name: int(port) for name, port in
            re.findall(r"upstream (\w+) \{\s*server 127\.0\.0\.1:(\d+);", site)} == ports
    # The launcher starts the workers its routes lead to.
    assert set(homeservers.UPSTREAM_WORKERS.values()) - {None} <= set(homeservers.worker_names())
