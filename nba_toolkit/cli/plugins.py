"""``nba-toolkit plugins``: what is loaded, from where, and what failed."""

from __future__ import annotations

import argparse

from nba_toolkit.cli.app import Commands, Output, workspace_dir
from nba_toolkit.errors import EXIT_OK


def add_commands(commands: Commands) -> None:
    commands.add("plugins", _plugins, "List every plugin with its origin, version, status and error.")


def _plugins(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.plugin.manager import load_plugins
    from nba_toolkit.workspace import Workspace

    root = workspace_dir(args)
    if (root / "nba.toml").is_file():
        workspace = Workspace.open(root)
        registry = load_plugins(workspace.plugin_folders(), disabled=workspace.config.plugins.disabled)
    else:
        registry = load_plugins()
    if out.json_mode:
        out.document({"plugins": [r.to_dict() for r in registry.records]})
        return EXIT_OK
    from rich.table import Table

    table = Table(title="Plugins")
    for column in ("name", "kind", "origin", "version", "hooks", "status", "error"):
        table.add_column(column, overflow="fold")
    for r in registry.records:
        status = {"ok": "[green]ok[/]", "error": "[bold red]error[/]", "disabled": "[yellow]disabled[/]"}[r.status]
        provides = ", ".join(f"{kind}: {', '.join(names)}" for kind, names in r.provides.items() if names)
        table.add_row(
            r.name,
            provides,
            f"{r.origin}\n{r.source}" if r.origin != "builtin" else r.origin,
            r.version,
            "\n".join(r.hooks),
            status,
            r.error or "",
        )
    out.console.print(table)
    return EXIT_OK
