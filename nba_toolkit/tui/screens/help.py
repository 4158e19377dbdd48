"""Help (F1 or ?): every key of every screen, read from the screens' own key bindings.

The list is built from the ``BINDINGS`` of the app, of each section's screen,
of the text boxes and of the dialogs, so a key added to a screen shows here
without anyone remembering to write it down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from nba_toolkit.tui.navigation import BY_MODE, SECTIONS


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close help")]

    def __init__(self, screens: Mapping[str, type[Screen[object]]], others: Mapping[str, Iterable[BindingType]]) -> None:
        """``screens``: each section's screen class by mode; ``others``: keys that work elsewhere, by where."""
        super().__init__()
        self.screens = screens
        self.others = others

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static("Keys  (Escape, q or F1 closes)", classes="dialog-title")
            yield Static(self.keys_table(), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help", VerticalScroll).focus()  # the arrow keys scroll the list at 80x24

    def keys_table(self) -> Table:
        table = Table(box=None, padding=(0, 1), show_header=False, expand=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what")
        self._add(table, "Anywhere", keys(self.app, type(self.app).BINDINGS, App.BINDINGS))
        table.add_row("ctrl+p", "the command palette: sections and the main actions by name")
        for where, bindings in self.others.items():
            self._add(table, where, keys(self.app, bindings))
        for section in SECTIONS:
            screen = self.screens.get(section.mode)
            if screen is not None:
                self._add(table, f"{section.key} {BY_MODE[section.mode].title}", keys(self.app, screen.BINDINGS))
        return table

    @staticmethod
    def _add(table: Table, heading: str, rows: list[tuple[str, str]]) -> None:
        table.add_row("", "")
        table.add_row(Text(heading, style="bold underline"), "")
        for key, description in rows or [("", "no keys of its own")]:
            table.add_row(key, description)

    def action_close(self) -> None:
        self.dismiss(None)


def keys(app: App, *binding_lists: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, what they do) for every described binding; keys bound to the same action share a row."""
    rows: dict[tuple[str, str], list[str]] = {}
    for bindings in binding_lists:
        for binding in Binding.make_bindings(bindings):
            if not binding.description:
                continue
            shown = rows.setdefault((binding.action, binding.description), [])
            display = app.get_key_display(binding)
            if display not in shown:
                shown.append(display)
    return [("/".join(displays), description) for (_, description), displays in rows.items()]
