"""Homeservers of three shapes for the benchmarks, started from the files ``deploy/`` ships.

- ``sqlite``: :class:`~bot.homeserver.EmbeddedSynapse` itself, one process on SQLite;
- ``postgres``: one Synapse process on PostgreSQL (``deploy/synapse/conf.d/database.yaml``);
- ``workers``: PostgreSQL, Redis, the main process and the workers of
  ``deploy/synapse/workers/`` (``conf.d/workers.yaml`` shared), behind nginx with
  ``deploy/nginx/podium.conf``.

Each offers what :class:`EmbeddedSynapse` offers (``base_url``, ``server_name``,
``register_user``, ``login``, ``override_ratelimit``, ``app_services``, ``lift_limits`` /
``rate_limits``, ``start``/``stop``, a context manager). The shipped files are read as they are and
changed only where a port or a path must differ (a free loopback port for each listener, the
temp dir for data and logs, the database's address); everything else is what the deployment
guide (docs/deployment.md) installs.

PostgreSQL is Debian's (``/usr/lib/postgresql/*/bin``: ``initdb``, ``pg_ctl``), a cluster of its own
in a temp dir on loopback, run as the ``postgres`` user when this process is root (PostgreSQL
refuses root); Redis is ``redis-server`` and the proxy ``nginx`` (Debian's packages of those
names). Python needs ``pip install -e '.[bench]'`` (psycopg2 and Synapse's Redis client). All of
them stop and their temp dirs go at :meth:`Deployment.stop`.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from bot.homeserver import _CHILD_BOOTSTRAP, _LOG_CONFIG, EmbeddedSynapse, HomeserverError
from bot.ports import free_port

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SYNAPSE_DIR = DEPLOY / "synapse"
DATABASE_FRAGMENT = SYNAPSE_DIR / "conf.d" / "database.yaml"
WORKERS_FRAGMENT = SYNAPSE_DIR / "conf.d" / "workers.yaml"
WORKERS_DIR = SYNAPSE_DIR / "workers"
NGINX_SITE = DEPLOY / "nginx" / "podium.conf"
SHAPES = ("sqlite", "postgres", "workers")
DATABASE_USER = "synapse"
DATABASE_NAME = "synapse"
LOOPBACK = "127.0.0.1"

#: nginx upstream -> the shipped worker file whose listener it reaches (None: the main process).
UPSTREAM_WORKERS = {"synapse_main": None, "synapse_sync": "synchrotron1", "synapse_client": "client1",
                    "synapse_appservice": "appservice1"}


def _postgres_bin(name: str) -> str:
    # The newest major version installed: /usr/lib/postgresql/15/bin/initdb
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(path.split("/")[4]))
    if not found:
        raise HomeserverError(f"PostgreSQL's {name} is not installed: apt-get install postgresql")
    return found[-1]


def _require(program: str, package: str) -> str:
    path = shutil.which(program) or (f"/usr/sbin/{program}" if os.path.exists(f"/usr/sbin/{program}") else None)
    if not path:
        raise HomeserverError(f"{program} is not installed: apt-get install {package}")
    return path


def _wait_port(port: int, what: str, proc: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise HomeserverError(f"{what} exited with code {proc.returncode} during start-up")
        with socket.socket() as sock:
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise HomeserverError(f"{what} did not listen on {LOOPBACK}:{port} within {timeout:g} s")


def end_process_group(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM to the process group the child leads, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


# ----------------------------------------------------------------------------- PostgreSQL and Redis


class Postgres:
    """A PostgreSQL cluster of its own in ``folder``, on a free loopback port, trusting loopback."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = 0
        self._user = None
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as Debian's postgres user
            self._user = pwd.getpwnam("postgres")

    def _run(self, *command: str, **kwargs: Any) -> subprocess.CompletedProcess:
        extra = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []} if self._user else {}
        result = subprocess.run(command, capture_output=True, text=True, cwd="/", **extra, **kwargs)
        if result.returncode != 0:
            raise HomeserverError(f"{' '.join(command[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._user:
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-U", DATABASE_USER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C")
        self.port = free_port(LOOPBACK)
        options = f"-p {self.port} -c listen_addresses={LOOPBACK} -k {self.folder}"
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "postgres.log"),
                  "-o", options, "-w", "start")
        # As docs/deployment.md creates it: Synapse refuses another encoding or collation.
        self._run(_postgres_bin("createdb"), "-h", LOOPBACK, "-p", str(self.port), "-U", DATABASE_USER,
                  "--encoding=UTF8", "--lc-collate=C", "--lc-ctype=C", "--template=template0", DATABASE_NAME)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class Redis:
    """``redis-server`` on a free loopback port, nothing saved to disk."""

    def __init__(self) -> None:
        self.port = 0
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.port = free_port(LOOPBACK)
        self._proc = subprocess.Popen(
            [_require("redis-server", "redis-server"), "--port", str(self.port), "--bind", LOOPBACK,
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_port(self.port, "redis-server", self._proc)

    def stop(self) -> None:
        end_process_group(self._proc)


# ----------------------------------------------------------------------------- Synapse on PostgreSQL


def database_config(postgres: Postgres) -> dict[str, Any]:
    """The shipped ``database`` fragment, pointed at ``postgres`` instead of the local socket."""
    fragment = yaml.safe_load(DATABASE_FRAGMENT.read_text(encoding="utf-8"))
    fragment["database"]["args"].update(user=DATABASE_USER, dbname=DATABASE_NAME, host=LOOPBACK, port=postgres.port)
    return fragment


def workers_config(main_port: int, replication_port: int, redis: Redis, data_dir: Path,
                   log_config: Path) -> dict[str, Any]:
    """The shipped shared worker fragment with this run's ports and paths."""
    fragment = yaml.safe_load(WORKERS_FRAGMENT.read_text(encoding="utf-8"))
    client, replication = fragment["listeners"]
    client.update(port=main_port, bind_addresses=[LOOPBACK])
    replication.update(port=replication_port, bind_addresses=[LOOPBACK])
    fragment["redis"].update(host=LOOPBACK, port=redis.port)
    fragment["instance_map"]["main"].update(host=LOOPBACK, port=replication_port)
    fragment["worker_replication_secret_path"] = str(data_dir / "replication_secret")
    fragment["log_config"] = str(log_config)
    return fragment


def worker_config(name: str, port: int | None, log_config: Path) -> dict[str, Any]:
    config = yaml.safe_load((WORKERS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    for listener in config.get("worker_listeners", []):
        listener.update(port=port, bind_addresses=[LOOPBACK])
    config["worker_log_config"] = str(log_config)
    return config


def worker_names() -> list[str]:
    return sorted(path.stem for path in WORKERS_DIR.glob("*.yaml"))


class PostgresSynapse(EmbeddedSynapse):
    """EmbeddedSynapse's configuration with the shipped fragments over it (the ``database``,
    and with workers the shared ``workers.yaml``), as Synapse reads conf.d after homeserver.yaml."""

    def __init__(self, data_dir: Path, postgres: Postgres, **kwargs: Any) -> None:
        super().__init__(data_dir, **kwargs)
        self.postgres = postgres
        self.fragments: list[dict[str, Any]] = []

    def _config_text(self) -> str:
        config = yaml.safe_load(super()._config_text())
        config.update(database_config(self.postgres))
        for fragment in self.fragments:
            config.update(fragment)
        return "# Written by bench/homeservers.py from deploy/synapse on every start.\n" + yaml.safe_dump(config)


_WORKER_BOOTSTRAP = _CHILD_BOOTSTRAP.replace("synapse.app.homeserver", "synapse.app.generic_worker")


class Worker:
    """One ``synapse.app.generic_worker`` process of a shipped worker file."""

    def __init__(self, name: str, main: PostgresSynapse, folder: Path) -> None:
        self.name, self.main, self.folder = name, main, folder
        listens = bool(yaml.safe_load((WORKERS_DIR / f"{name}.yaml").read_text()).get("worker_listeners"))
        self.port = free_port(LOOPBACK) if listens else None
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        log_config = self.folder / f"{self.name}.log.yaml"
        log_config.write_text(_LOG_CONFIG.format(log_file=str(self.folder / f"{self.name}.log")))
        config = self.folder / f"{self.name}.yaml"
        config.write_text(yaml.safe_dump(worker_config(self.name, self.port, log_config)))
        console = open(self.folder / f"{self.name}-console.log", "wb")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _WORKER_BOOTSTRAP, "-c", str(self.main.config_path), "-c", str(config)],
                cwd=self.folder, stdin=subprocess.PIPE, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            console.close()
        if self.port is None:
            return
        deadline = time.monotonic() + timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise HomeserverError(f"worker {self.name} exited with code {self._proc.returncode}; see "
                                      f"{self.folder / (self.name + '-console.log')}")
            try:
                with opener.open(f"http://{LOOPBACK}:{self.port}/health", timeout=2) as resp:
                    if resp.read().strip() == b"OK":
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise HomeserverError(f"worker {self.name} did not answer /health within {timeout:g} s")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        end_process_group(self._proc)
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()


class Nginx:
    """nginx in the foreground with the shipped site, its listen address and upstream ports
    replaced by this run's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self._proc: subprocess.Popen | None = None

    @staticmethod
    def site(listen_port: int, upstream_ports: dict[str, int]) -> str:
        text = NGINX_SITE.read_text(encoding="utf-8")
        text = re.sub(r"listen 80\b", f"listen {LOOPBACK}:{listen_port}", text)
        for upstream, port in upstream_ports.items():
            text, found = re.subn(rf"(upstream {upstream} \{{\s*server {re.escape(LOOPBACK)}:)\d+", rf"\g<1>{port}", text)
            if not found:
                raise HomeserverError(f"{NGINX_SITE} has no upstream {upstream}")
        return text

    def start(self, upstream_ports: dict[str, int]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port(LOOPBACK)
        (self.folder / "podium.conf").write_text(self.site(self.port, upstream_ports))
        temp = self.folder / "temp"
        temp.mkdir(exist_ok=True)
        os.chmod(temp, 0o777)  # nginx's workers (nobody, when started as root) write request bodies here
        (self.folder / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {self.folder}/nginx.pid;\nerror_log {self.folder}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            # What each request took and which process answered it, for reading a run kept with --keep.
            "  log_format timed '$msec $request_time $upstream_addr $status \"$request\"';\n"
            f"  access_log {self.folder}/access.log timed;\n"
            + "".join(f"  {kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"  include {self.folder}/podium.conf;\n}}\n")
        self._proc = subprocess.Popen(
            [_require("nginx", "nginx"), "-c", str(self.folder / "nginx.conf"), "-e", str(self.folder / "error.log"),
             "-p", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "console.log", "wb"), start_new_session=True)
        _wait_port(self.port, "nginx", self._proc)

    def stop(self) -> None:
        end_process_group(self._proc)


# ----------------------------------------------------------------------------- the deployment


class Deployment:
    """A homeserver of one of ``SHAPES`` in ``folder`` (a temp dir by default, removed at stop)."""

    def __init__(self, shape: str, folder: Path | None = None, *, server_name: str = "localhost",
                 lift_limits: bool = True, app_services: tuple[Path, ...] = (),
                 rate_limits: dict[str, Any] | None = None, keep: bool = False) -> None:
        if shape not in SHAPES:
            raise ValueError(f"shape {shape!r}: one of {', '.join(SHAPES)}")
        self.shape = shape
        self.keep = keep or folder is not None
        self.folder = Path(folder or tempfile.mkdtemp(prefix=f"podium-hs-{shape}-")).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o711)  # PostgreSQL's own user passes through to its folder inside
        options = dict(server_name=server_name, lift_limits=lift_limits, app_services=app_services,
                       rate_limits=rate_limits)
        self.postgres = Postgres(self.folder / "postgres") if shape != "sqlite" else None
        self.redis = Redis() if shape == "workers" else None
        self.nginx = Nginx(self.folder / "nginx") if shape == "workers" else None
        if self.postgres is None:
            self.synapse: EmbeddedSynapse = EmbeddedSynapse(self.folder / "synapse", **options)
        else:
            self.synapse = PostgresSynapse(self.folder / "synapse", self.postgres, **options)
        self.workers: list[Worker] = []

    # What EmbeddedSynapse offers, through the front door of this shape.
    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.nginx.port}" if self.nginx else self.synapse.base_url

    def __getattr__(self, name: str) -> Any:
        # server_name, register_user, login, override_ratelimit, app_services, user_id, ...
        return getattr(self.__dict__["synapse"], name)

    def processes(self) -> str:
        return {"sqlite": "1 Synapse process (SQLite)", "postgres": "1 Synapse process + PostgreSQL",
                "workers": f"Synapse main + {len(worker_names())} workers ({', '.join(worker_names())}) + "
                           "PostgreSQL + Redis + nginx"}[self.shape]

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if self.postgres:
            self.postgres.start()
        if self.redis:
            self.redis.start()
            main = self.synapse
            assert isinstance(main, PostgresSynapse)
            main.port = free_port(LOOPBACK)
            main._requested_port = main.port
            main.data_dir.mkdir(parents=True, exist_ok=True)
            secret = main.data_dir / "replication_secret"
            if not secret.exists():
                secret.write_text(os.urandom(24).hex())
                secret.chmod(0o600)
            main.fragments = [workers_config(main.port, free_port(LOOPBACK), self.redis, main.data_dir,
                                             main.data_dir / "log.yaml")]
        self.synapse.start(timeout=120)
        if self.nginx:
            worker_folder = self.folder / "workers"
            worker_folder.mkdir(exist_ok=True)
            self.workers = [Worker(name, self.synapse, worker_folder) for name in worker_names()]
            for worker in self.workers:
                worker.start()
            by_name = {w.name: w.port for w in self.workers}
            ports = {upstream: (self.synapse.port if name is None else by_name[name])
                     for upstream, name in UPSTREAM_WORKERS.items()}
            ports["podium_web"] = free_port(LOOPBACK)  # nothing listens: the bench shows no pages
            self.nginx.start(ports)
            for worker in self.workers:
                if not worker.running:
                    raise HomeserverError(f"worker {worker.name} stopped during start-up")

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        for worker in self.workers:
            worker.stop()
        self.synapse.stop()
        if self.redis:
            self.redis.stop()
        if self.postgres:
            try:
                self.postgres.stop()
            except HomeserverError as exc:
                print(f"warning: {exc}", file=sys.stderr)
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Deployment:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
