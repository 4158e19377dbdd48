"""Configuration: change the selection settings and the campaign code, and see every change ever made.

Changes go through :mod:`nba_toolkit.config_edit`: nba.toml keeps its
comments, the result is validated before it is written, and the ledger
records who changed what, when, from what to what. Changing the selection
again within 90 days of the last change asks for confirmation first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from nba_toolkit.tui.screens.base import SectionScreen
from nba_toolkit.tui.screens.dialogs import ConfirmDialog
from nba_toolkit.tui.widgets.textbox import TextBox

#: the settings edited as text; the weekly run's on/off switch lives on the home screen
FIELDS = (
    "selection.capacity",
    "selection.threshold",
    "selection.cooldown_weeks",
    "selection.holdout_share",
    "selection.random_control_share",
    "campaign.code",
)


@dataclass(frozen=True)
class ConfigView:
    values: dict[str, Any]
    history: list[dict[str, Any]]


class ConfigScreen(SectionScreen):
    SECTION = "config"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "discard", "Discard edits"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current: ConfigView | None = None

    def compose_body(self) -> ComposeResult:
        from nba_toolkit.config_edit import SETTINGS

        with VerticalScroll(id="config-body"):
            yield Static(
                "Change a value, add why, and press Ctrl+S. Advice from the field: change selection settings "
                "about every three months at most, or their effect cannot be evaluated.",
                classes="intro",
            )
            with Grid(id="config-form"):
                for name in FIELDS:
                    setting = SETTINGS[name]
                    yield Label(setting.label, classes="field-label")
                    yield TextBox(id=name.replace(".", "-"), tooltip=setting.help)
                    yield Label(setting.help, classes="field-help")
                yield Label("Why", classes="field-label")
                yield TextBox(placeholder="the reason for this change (recorded)", id="reason")
            yield Static("Changes so far (newest first)", classes="section-title")
            yield DataTable(id="config-history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#config-history", DataTable).add_columns("When (UTC)", "By", "Setting", "Old", "New", "Why")

    def reload(self) -> None:
        self.load()

    def typed(self) -> dict[str, str]:
        """What the boxes hold now, by setting (and "reason" for the why)."""
        values = {name: self.query_one(f"#{name.replace('.', '-')}", Input).value for name in FIELDS}
        return {**values, "reason": self.query_one("#reason", Input).value}

    def unsaved_edits(self) -> dict[str, str]:
        """The boxes whose text differs from nba.toml as last read, so nothing typed is thrown away unasked."""
        from nba_toolkit.config_edit import show_value

        if self.current is None:
            return {}
        shown = {name: show_value(name, self.current.values[name]) for name in FIELDS}
        return {name: text for name, text in self.typed().items() if text != shown.get(name, "")}

    def action_discard(self) -> None:
        if self.current is None:
            return
        if not self.unsaved_edits():
            self.notify("Nothing to discard: the form shows nba.toml as it is.")
            return

        def answered(yes: bool | None) -> None:
            if yes and self.current is not None:
                self.show(self.current)
                self.notify("Edits discarded; the form shows nba.toml as it is.")

        self.app.push_screen(
            ConfirmDialog("Discard your edits?", "The values you typed are not saved. Throw them away?", yes="Discard"),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="config", name="config")
    def load(self) -> ConfigView:
        from nba_toolkit.config_edit import SETTINGS, current_value

        with self.session.workspace() as workspace:
            config = workspace.config
            return ConfigView({n: current_value(config, n) for n in SETTINGS}, workspace.ledger.config_changes())

    def job_done(self, name: str, result: Any) -> None:
        if name == "config":
            self.show(result, keep=self.unsaved_edits())  # coming back to the screen keeps what was typed
        elif name == "save":
            view, changes = result
            self.show(view)
            from nba_toolkit.config_edit import show_value

            summary = "; ".join(f"{c.key} {show_value(c.key, c.old)} → {show_value(c.key, c.new)}" for c in changes)
            self.notify(f"Saved to nba.toml and recorded: {summary}.")

    def show(self, view: ConfigView, *, keep: dict[str, str] | None = None) -> None:
        """Fill the form from ``view``; ``keep`` holds typed text that stays in its box."""
        from nba_toolkit.config_edit import SETTINGS, show_value

        keep = keep or {}
        self.current = view
        for name in FIELDS:
            value = keep.get(name, show_value(name, view.values[name]))
            self.query_one(f"#{name.replace('.', '-')}", Input).value = value
        self.query_one("#reason", Input).value = keep.get("reason", "")
        table = self.query_one("#config-history", DataTable)
        table.clear()
        for change in view.history:
            key = change["key"]
            known = key in SETTINGS
            table.add_row(
                change["changed_at"][:16].replace("T", " "),
                change["changed_by"],
                SETTINGS[key].label if known else key,
                show_value(key, change["old_value"]) if known else str(change["old_value"]),
                show_value(key, change["new_value"]) if known else str(change["new_value"]),
                change["reason"] or "",
            )
        if not view.history:
            table.add_row("", "", "no changes recorded yet", "", "", "")

    def action_save(self) -> None:
        from nba_toolkit.config_edit import read_value, recent_change_warning
        from nba_toolkit.errors import UsageError

        if self.current is None:
            return
        changes = {}
        try:
            for name in FIELDS:
                value = read_value(name, self.query_one(f"#{name.replace('.', '-')}", Input).value)
                if value != self.current.values[name]:
                    changes[name] = value
        except UsageError as error:
            self.nba.report(error)
            return
        if not changes:
            self.notify("Nothing changed.")
            return
        reason = self.query_one("#reason", Input).value.strip() or None
        warning = recent_change_warning(self.current.history, changes, today=self.session.today)
        if warning is None:
            self.save(changes, reason)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.save(changes, reason)

        self.app.push_screen(
            ConfirmDialog("Settings changed recently", warning + "\n\nChange them anyway?", warning=True), answered
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="save", name="save")
    def save(self, changes: dict[str, Any], reason: str | None) -> tuple[ConfigView, list[Any]]:
        from nba_toolkit.config_edit import SETTINGS, apply_changes, current_value
        from nba_toolkit.workspace import operator_name

        with self.session.workspace() as workspace:
            done = apply_changes(workspace, changes, by=operator_name(), reason=reason)
            config = workspace.config
            view = ConfigView({n: current_value(config, n) for n in SETTINGS}, workspace.ledger.config_changes())
        return view, done
