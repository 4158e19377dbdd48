"""Plugins: every plugin with its origin, version, status and, for a broken one, the error that stopped it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from nba_toolkit.tui.screens.base import SectionScreen

if TYPE_CHECKING:
    from nba_toolkit.plugin.manager import PluginRecord

STATUS_STYLE = {"ok": "green", "error": "bold red", "disabled": "dim"}


class PluginsScreen(SectionScreen):
    SECTION = "plugins"
    BINDINGS = [Binding("r", "reload", "Refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.records: list[PluginRecord] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="plugins-body"):
            yield DataTable(id="plugins-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="plugin-detail"):
                yield Static("", id="plugin-text")

    def on_mount(self) -> None:
        self.query_one("#plugins-table", DataTable).add_columns("Plugin", "Kind", "Origin", "Version", "Status")

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="plugins", name="plugins")
    def load(self) -> list[PluginRecord]:
        with self.session.workspace() as workspace:
            return list(self.session.registry(workspace).records)

    def job_done(self, name: str, result: Any) -> None:
        if name != "plugins":
            return
        self.records = result
        table = self.query_one("#plugins-table", DataTable)
        table.clear()
        for r in result:
            table.add_row(
                r.name,
                ", ".join(r.kinds) or "—",
                r.origin,
                r.version,
                Text(r.status, style=STATUS_STYLE.get(r.status, "")),
            )
        if result:
            self.describe(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.describe(event.cursor_row)

    def describe(self, index: int) -> None:
        if not 0 <= index < len(self.records):
            return
        r = self.records[index]
        text = Text()
        text.append(f"{r.name} {r.version}", style="bold")
        text.append(f"  ({r.origin})\n", style="dim")
        text.append(f"Source:   {r.source}\n")
        text.append(f"Hooks:    {', '.join(r.hooks) or '—'}\n")
        for kind, names in r.provides.items():
            if names:
                text.append(f"{kind.capitalize() + 's:':<10}{', '.join(names)}\n")
        if r.error:
            text.append("Error:    ", style="bold red")
            text.append(r.error + "\n", style="red")
            text.append("The rest of the toolkit works without this plugin; ask a developer to fix or disable it.", style="dim")
        self.query_one("#plugin-text", Static).update(text)
