"""``nba-toolkit config show``: the effective configuration, defaults filled in."""

from __future__ import annotations

import argparse
import json
from typing import Any

from nba_toolkit.cli.app import Commands, Output, workspace_dir
from nba_toolkit.errors import EXIT_OK


def add_commands(commands: Commands) -> None:
    config = commands.group("config", "Show the workspace configuration.")
    config.add("show", _config_show, "Print the effective configuration (defaults filled in).", writes=False)


def _config_show(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    data = workspace.config.to_dict()
    if args.json:
        out.document(data)
        return EXIT_OK
    out.say(f"# effective configuration of {workspace.config_path} (defaults filled in)")
    out.console.print(_toml(data), markup=False, highlight=False)
    return EXIT_OK


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for ``config show``: scalars first, then sub-tables."""
    lines: list[str] = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is None:
            lines.append(f"# {key} is not set")
        else:
            lines.append(f"{key} = {json.dumps(list(value) if isinstance(value, tuple) else value)}")
    for key, value in tables:
        name = f"{prefix}.{key}" if prefix else key
        lines.append(f"\n[{name}]")
        lines.append(_toml(value, name))
    return "\n".join(line for line in lines if line != "")
