"""`podium` commands in a subprocess: `podium demo`, shared by the demo's own tests and the Element
Web tests, and any other long-running command (``PodiumProcess``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.installed import CheckoutPodium, InstalledPodium
from tests.support.waiting import settled_blocking

#: What the demo prints once the bot answers in the conference's rooms.
READY = "The bot is answering."


class PodiumProcess:
    """``podium ARGS`` in a subprocess (of the ``installed`` package, else of this checkout), run in
    ``cwd`` with no PODIUM_* setting but those in ``env``; its output collected line by line."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
                 installed: InstalledPodium | CheckoutPodium | None = None):
        self.command_name = args[0]
        if installed is None:
            command = [sys.executable, "-m", "bot.cli", *args]
            environment = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        else:
            command, environment = installed.command(*args), installed.env()
        self.process = subprocess.Popen(command, cwd=cwd, env={**environment, **(env or {})},
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        settled_blocking(lambda: text in self.output or self.process.poll() is not None, timeout=timeout)
        if text not in self.output:
            raise AssertionError(f"podium {self.command_name} never printed {text!r}:\n{self.output}")

    def finish(self, timeout: float) -> int:
        """The exit code of a command that ends on its own."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"podium {self.command_name} did not end within {timeout} s:\n{self.output}") \
                from None

    def stop(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"podium {self.command_name} did not stop on Ctrl-C within {timeout} s:\n"
                                 f"{self.output}") from None

    def kill(self) -> None:
        """SIGKILL: gone at once, with nothing written on the way out."""
        self.process.kill()
        self.process.wait(30)


class DemoProcess(PodiumProcess):
    """`podium demo` on ``port`` (its homeserver) and ``web_port`` (its pages), in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int, web_port: int, *options: str,
                 installed: InstalledPodium | CheckoutPodium | None = None):
        super().__init__(["demo", "--data-dir", str(data_dir), "--port", str(port), "--listen",
                          f"127.0.0.1:{web_port}", *options], cwd=data_dir.parent, installed=installed)
