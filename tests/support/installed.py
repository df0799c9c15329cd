"""Podium as ``pip install .`` leaves it, not as this checkout: a wheel built from the working
tree, installed (without dependencies, which the test venv already has) into a directory of its
own. Commands run with that directory on PYTHONPATH, from a directory that holds nothing, so
anything the package reads from the checkout instead of from itself shows up as a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What the wheel is built from: the distribution's metadata, its packages and the files they read
#: (pyproject.toml's force-include carries those into the package).
SOURCES = ("pyproject.toml", "README.md", "bot", "bridges", "schedule.yaml", "posters", "room-templates", "widgets")


@dataclass(frozen=True)
class InstalledPodium:
    wheel: Path
    site: Path  # where the wheel is installed; first on PYTHONPATH

    @classmethod
    def build(cls, workdir: Path) -> "InstalledPodium":
        # A copy, so the build's own build/ and *.egg-info never land in the checkout.
        source = workdir / "source"
        source.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
        for name in SOURCES:
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, source / name, ignore=ignore)
            else:
                shutil.copy2(REPO / name, source / name)
        wheels, site = workdir / "wheels", workdir / "site"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        _check([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)])
        (wheel,) = wheels.glob("podium-*.whl")
        _check([*pip, "install", "--no-deps", "--no-compile", "--target", str(site), str(wheel)])
        return cls(wheel, site)

    def env(self) -> dict[str, str]:
        """The environment for a command: the installed copy first, no PODIUM_* settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env["PYTHONPATH"] = str(self.site)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bot.cli", *args]

    def run(self, *args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), cwd=cwd, env={**self.env(), **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

    def python(self, code: str, *, cwd: Path) -> str:
        """What ``code`` prints when run with the installed copy."""
        done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=self.env(), capture_output=True,
                              text=True, timeout=60, check=True)
        return done.stdout.strip()

    def files(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as wheel:
            return set(wheel.namelist())

    def console_scripts(self) -> list[str]:
        """The wheel's ``[console_scripts]`` lines: the commands pip puts on PATH."""
        with zipfile.ZipFile(self.wheel) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
            text = wheel.read(name).decode()
        section = text.split("[console_scripts]", 1)[1].split("[", 1)[0]
        return [line.replace(" ", "") for line in section.splitlines() if line.strip()]


def _check(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


@dataclass(frozen=True)
class CheckoutPodium:
    """Podium as another checkout runs it: that checkout's own ``.venv`` (``pip install -e .``
    there), to compare what an earlier commit did. Same interface as :class:`InstalledPodium` for
    what starts commands (``command`` and ``env``)."""

    checkout: Path

    @property
    def python(self) -> Path:
        return self.checkout / ".venv" / "bin" / "python"

    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_") and k != "PYTHONPATH"}

    def command(self, *args: str) -> list[str]:
        return [str(self.python), "-m", "bot.cli", *args]
