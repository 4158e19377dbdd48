"""``nba-toolkit config show``: the effective configuration, defaults filled in."""

from __future__ import annotations

import argparse
from typing import Any

from nba_toolkit.cli.app import Commands, Output, workspace_dir
from nba_toolkit.config import declared_keys
from nba_toolkit.config_template import commented, toml_value
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
    meanings = {(k.section, k.key): k.meaning for k in declared_keys()}
    out.console.print(_toml(data, meanings), markup=False, highlight=False)
    return EXIT_OK


def _toml(data: dict[str, Any], meanings: dict[tuple[str, str], str], prefix: str = "") -> str:
    """A small TOML writer for ``config show``: scalars first, each with its meaning, then sub-tables."""
    lines: list[str] = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is None:
            lines.append(commented(f"# {key} is not set", meanings.get((prefix, key), "")))
        else:
            lines.append(commented(f"{key} = {toml_value(value)}", meanings.get((prefix, key), "")))
    # a key left out because another one is in force (capacity_share beside capacity) is still named
    lines += [
        commented(f"# {key} is not set", meaning)
        for (section, key), meaning in meanings.items()
        if section == prefix and key not in data
    ]
    for key, value in tables:
        name = f"{prefix}.{key}" if prefix else key
        lines.append(f"\n[{name}]")
        if (prefix, key) in meanings:
            lines.append(f"# {meanings[prefix, key]}")
        lines.append(_toml(value, meanings, name))
    return "\n".join(line for line in lines if line != "")
