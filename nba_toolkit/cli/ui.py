"""Opening the terminal UI: ``nba-toolkit ui``, and ``nba-toolkit`` with no command at a terminal.

Textual is imported only here, inside the handlers, so every other command
starts without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nba_toolkit.cli.app import Commands, Output, workspace_dir


def add_commands(commands: Commands) -> None:
    commands.add(
        "ui", open_ui, "Open the terminal UI on the workspace (the default with no command).", json_flag=False, writes=False
    )


def interactive() -> bool:
    """A screen needs a person at a terminal; without one (CI, a pipe, cron) the CLI stays plain text."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_ui(args: argparse.Namespace, out: Output) -> int:
    return run_ui(workspace_dir(args), read_only=args.reading)


def run_ui(root: Path, *, read_only: bool = False) -> int:
    """Open the UI on ``root``; a folder that is not a workspace gets a screen saying how to make one.

    ``read_only`` (--read-only, or a workspace the user cannot write) shows everything and changes nothing."""
    from nba_toolkit.tui.app import run_app

    return run_app(root, read_only=read_only)
