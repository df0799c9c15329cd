"""The README's promises: its test command is the one CI runs, and its commands exist."""

import re
import subprocess
import sys
from pathlib import Path

from bot.cli import _parser

REPO = Path(__file__).resolve().parent.parent

README = (REPO / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"^(python3 -m venv \.venv .*)$", README, re.M)
    assert len(commands) == 2, "the README opens with the demo command and the test command"
    demo, tests = commands
    assert demo.endswith("podium demo") and "pytest" in tests
    extracted = subprocess.run(
        ["bash", "-c", r"""sed -n "s/^\(python3 -m venv .venv .*pytest.*\)$/\1/p" README.md | head -n 1"""],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert extracted == tests
    assert "TEST_COMMAND=$(sed -n" in (REPO / ".ci" / "run").read_text()


def test_every_documented_command_exists():
    documented = set(re.findall(r"^\| `podium (\w+)", README, re.M))
    subcommands = set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert documented and documented <= subcommands


def test_help_runs():
    out = subprocess.run([sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, check=True)
    assert "PODIUM_ACCESS_TOKEN" in out.stdout
