"""The README's promises: its test command is the one CI runs, and its commands exist."""

import argparse
import re
import subprocess
import sys
from pathlib import Path

from bot.cli import DESCRIPTION, build_parser

REPO = Path(__file__).resolve().parents[2]

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


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    return build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]


def _taking(option: str) -> set[str]:
    """The commands that accept ``option``."""
    return {name for name, parser in _subcommands().items()
            if any(option in action.option_strings for action in parser._actions)}


def _named(text: str) -> set[str]:
    return set(re.findall(r"\b(init|validate|plan|apply|run|web|demo|invite|tickets)\b", text))


def test_every_documented_command_exists():
    documented = set(re.findall(r"^\| `podium (\w+)", README, re.M))
    assert documented and documented <= set(_subcommands())


def test_podium_help_names_the_commands_each_setting_is_for():
    connection = re.search(r"Connection settings \(([^)]*)\)", DESCRIPTION)
    assert connection and _named(connection[1]) == _taking("--homeserver")
    pages = re.search(r"([^.]*) also serve the widget pages", DESCRIPTION)
    assert pages and _named(pages[1]) == _taking("--listen")
    assert "--port" in DESCRIPTION and _taking("--port") == {"demo"}
    readme = re.search(r"Connection settings for (.*) come from", README)
    assert readme and _named(readme[1]) == _taking("--homeserver")


def test_each_command_help_says_where_its_secret_comes_from():
    for name in _taking("--homeserver"):
        text = " ".join(_subcommands()[name].format_help().split())
        for variable in ("PODIUM_HOMESERVER", "PODIUM_USER_ID", "PODIUM_ACCESS_TOKEN", "PODIUM_PASSWORD"):
            assert variable in text, (name, variable)
    demo = " ".join(_subcommands()["demo"].format_help().split())
    assert "homeserver's port" in demo and "widget pages" in demo


def test_help_runs():
    out = subprocess.run([sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, check=True)
    assert "PODIUM_ACCESS_TOKEN" in out.stdout


def test_the_bot_command_table_lists_every_command():
    from bot.commands import load_all

    during = README[README.index("## During the conference"):README.index("## Widgets")]
    documented = set(re.findall(r"^\| `!([a-z-]+)", during, re.M))
    documented |= set(re.findall(r"^\| `![a-z-]+[^|]*`, `!([a-z-]+)", during, re.M))  # "`!claim <n>`, `!done <n>`"
    assert documented == {command.name for command in load_all().commands()}
