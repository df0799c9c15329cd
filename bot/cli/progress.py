"""The progress bar of the commands that do long work against the homeserver."""

from __future__ import annotations


def progress_bar(quiet: bool):
    """The progress bar of long work (apply, invite) on standard error; none with --quiet or
    when standard error is no terminal (a log file gets the summary only)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, disable=quiet or not console.is_terminal, transient=True)
