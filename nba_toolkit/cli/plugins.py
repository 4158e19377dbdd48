"""``nba-toolkit plugins``: what is loaded, from where, and what failed (R-P4).

The table has three columns so it reads at 80 characters: the plugin with
its version and status; its origin (with the distribution for an entry
point, the path for a local file); and each hook it implements with what
that hook registered, or the error that kept it out. ``--json`` gives every field of every record.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from nba_toolkit.cli.app import Commands, Output, escape, workspace_dir
from nba_toolkit.errors import EXIT_OK

if TYPE_CHECKING:
    from nba_toolkit.plugin.manager import PluginRecord

STATUS = {"ok": "[green]ok[/]", "error": "[bold red]error[/]", "disabled": "[yellow]disabled[/]"}


def add_commands(commands: Commands) -> None:
    commands.add("plugins", _plugins, "List every plugin with its origin, version, hooks, status and error.", writes=False)


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
    from rich import box
    from rich.table import Table

    table = Table(title="Plugins", box=box.SIMPLE_HEAD, expand=True)
    table.add_column("plugin, version, status", overflow="fold", width=27)
    table.add_column("origin", overflow="fold", ratio=1)
    table.add_column("hooks: registered, or error", overflow="fold", ratio=2)
    for record in registry.records:
        table.add_row(
            f"[bold]{escape(record.name)}[/]\n" + " ".join(filter(None, [escape(record.version), STATUS[record.status]])),
            _origin(record, root),
            _hooks(record),
        )
    out.console.print(table)
    broken = len(registry.errors())
    if broken:
        out.say(f"{broken} plugin(s) could not be loaded; the rest work. `--json` shows every field.")
    return EXIT_OK


def _hooks(record: PluginRecord) -> str:
    """Each hook with the names it registered (kinds map one to one onto hooks), then the error or note."""
    from nba_toolkit.plugin.manager import HOOKS

    lines = [
        f"[dim]{hook}[/]\n[bold]{escape(', '.join(record.provides.get(kind, [])) or '-')}[/]"
        for kind, hook in HOOKS.items()
        if hook in record.hooks
    ]
    if record.error:
        lines.append(f"[red]{escape(record.error)}[/]")
    elif record.note:
        lines.append(f"[dim]{escape(record.note)}[/]")
    return "\n".join(lines) or "-"


def _origin(record: PluginRecord, root: Path) -> str:
    """Paths inside the workspace are shown relative to it: shorter, and what the operator sees in the folder."""
    if record.origin == "entry point":
        return f"entry point\n[dim]{escape(record.distribution or '?')} {escape(record.version)}[/]"
    if record.origin == "local file":
        path = Path(record.path or record.source)
        shown = path.relative_to(root.resolve()) if path.is_relative_to(root.resolve()) else path
        return f"local file\n[dim]{escape(str(shown))}[/]"
    return record.origin
