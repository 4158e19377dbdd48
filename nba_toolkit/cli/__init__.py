"""The command line: argument parsing and rich output only; every job is a core call."""

from nba_toolkit.cli.app import main

__all__ = ["main"]
