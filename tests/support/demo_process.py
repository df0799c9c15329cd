"""`podium demo` in a subprocess, shared by the demo's own tests and the Element Web tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.installed import InstalledPodium
from tests.support.waiting import settled_blocking

#: What the demo prints once the bot answers in the conference's rooms.
READY = "The bot is answering."


class DemoProcess:
    """`podium demo` in a subprocess (of the ``installed`` package, else of this checkout); its
    output collected line by line."""

    def __init__(self, data_dir: Path, port: int, web_port: int, *options: str,
                 installed: InstalledPodium | None = None):
        args = ["demo", "--data-dir", str(data_dir), "--port", str(port), "--listen", f"127.0.0.1:{web_port}",
                *options]
        if installed is None:
            command = [sys.executable, "-m", "bot.cli", *args]
            env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        else:
            command, env = installed.command(*args), installed.env()
        self.process = subprocess.Popen(command, cwd=data_dir.parent, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
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
            raise AssertionError(f"the demo never printed {text!r}:\n{self.output}")

    def finish(self, timeout: float) -> int:
        """The exit code of a demo that ends on its own."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the demo did not end within {timeout} s:\n{self.output}") from None

    def stop(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the demo did not stop on Ctrl-C within {timeout} s:\n{self.output}") from None
