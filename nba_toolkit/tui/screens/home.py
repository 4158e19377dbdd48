"""Home: is this week done, what is waiting, what went wrong, and the past weeks' volumes at a glance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from nba_toolkit.tui.screens.base import SectionScreen
from nba_toolkit.tui.screens.dialogs import ConfirmDialog
from nba_toolkit.tui.widgets.barchart import Bar, BarChart, Chart

if TYPE_CHECKING:
    from nba_toolkit.core.review import HomeStatus, WeeklyVolumes

STATUS_STYLE = {
    "exported": ("DONE", "bold green"),
    "awaiting_approval": ("AWAITING APPROVAL", "bold yellow"),
    "blocked": ("BLOCKED", "bold red"),
    "failed": ("FAILED", "bold red"),
    "cancelled": ("CANCELLED", "bold yellow"),
    "withdrawn": ("WITHDRAWN", "bold yellow"),
    "missing": ("MISSING", "bold red"),
}

GROUP_STYLE = {"model": "dodger_blue1", "random_control": "orange1"}


class HomeScreen(SectionScreen):
    SECTION = "home"
    BINDINGS = [
        Binding("o", "toggle_engine", "Weekly run on/off"),
        Binding("r", "reload", "Refresh"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status: HomeStatus | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="home-body"):
            yield Static("Loading the workspace…", id="home-status")
            yield Static("Customers mailed per week", classes="section-title")
            yield BarChart(id="home-volumes")
            yield Static("", id="home-problems")

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="home", name="home")
    def load(self) -> HomeStatus:
        from nba_toolkit.core.review import home_status
        from nba_toolkit.workspace import operator_name

        with self.session.workspace() as workspace:
            registry = self.session.registry(workspace)
            return home_status(workspace, registry, today=self.session.today, operator=operator_name())

    def job_done(self, name: str, result: Any) -> None:
        if name in ("home", "toggle"):
            if name == "toggle":
                self.notify(result[1])
                result = result[0]
            self.status = result
            self.nba.warm_up()  # the first screen is filled: the model can load while the operator reads it
            self.query_one("#home-status", Static).update(status_table(result))
            self.query_one("#home-volumes", BarChart).chart = volume_chart(result.volumes)
            self.query_one("#home-problems", Static).update(problems(result))

    def action_toggle_engine(self) -> None:
        if self.status is None:
            return
        on = self.status.engine_enabled
        text = (
            "Switch the weekly run OFF? No run can start until it is switched on again. "
            "The change is written to nba.toml and recorded in the configuration history."
            if on
            else "Switch the weekly run ON again? The change is written to nba.toml and recorded."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.toggle(not on)

        self.app.push_screen(ConfirmDialog("Weekly run", text, yes="Switch off" if on else "Switch on", warning=on), answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="toggle", name="toggle")
    def toggle(self, enabled: bool) -> tuple[HomeStatus, str]:
        from nba_toolkit.config_edit import apply_changes
        from nba_toolkit.core.review import home_status
        from nba_toolkit.workspace import operator_name

        with self.session.workspace() as workspace:
            apply_changes(workspace, {"engine.enabled": enabled}, by=operator_name(), reason="switched on the home screen")
            registry = self.session.registry(workspace)
            status = home_status(workspace, registry, today=self.session.today, operator=operator_name())
        return status, f"The weekly run is switched {'on' if enabled else 'off'}."


def status_table(status: HomeStatus) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("Workspace", f"{shorten_home(status.root)}  ·  operator {status.operator}")
    engine = Text(f"{status.engine} {status.engine_version or '(not installed)'}  ·  weekly run ")
    if status.engine_enabled:
        engine.append("ON", style="bold green")
    else:
        engine.append("OFF", style="bold red")
    engine.append("  (o switches)", style="dim")
    table.add_row("Engine", engine)
    if status.model:
        m = status.model
        auc = f", out-of-time AUC {m.auc:.2f}" if m.auc is not None else ""
        model = Text(
            f"{m.model_id}, trained {m.trained_at[:10]} by {m.trained_by} on {m.train_weeks[0]} to {m.train_weeks[1]}, "
            f"validated on {m.validation_weeks[0]} to {m.validation_weeks[1]}{auc}"
        )
        if m.retrain_due:
            model.append(f"\n{m.age_text()}", style="bold yellow")
        table.add_row("Model", model)
    else:
        table.add_row("Model", Text("none trained yet: run `nba-toolkit train`", style="bold red"))
    word, style = STATUS_STYLE[status.this_week.status]
    week = Text(f"{status.this_week.week}  ")
    week.append(word, style=style)
    week.append(f"  {status.this_week.text}")
    table.add_row("This week", week)
    if status.missed_weeks:
        table.add_row("Missed", Text(", ".join(status.missed_weeks) + "  (nobody was mailed)", style="red"))
    if status.ready_snapshots:
        ready = ", ".join(name for _, name in status.ready_snapshots)
        table.add_row("Ready to run", f"{ready}  (2 Run)")
    if status.unnamed_snapshots:
        table.add_row(
            "Not named",
            Text(
                f"{', '.join(status.unnamed_snapshots)}: not named after a week, so not run; rename it "
                "after its week (2026-W48.csv) or pick it on Run",
                style="yellow",
            ),
        )
    if status.pending_runs:
        verb = "awaits" if len(status.pending_runs) == 1 else "await"
        table.add_row("Waiting", f"{', '.join(status.pending_runs)} {verb} review (4) and approval (5)")
    return table


def problems(status: HomeStatus) -> Text:
    text = Text()
    if status.open_warnings:
        text.append("Warnings to acknowledge (3 Checks)\n", style="bold yellow")
        for w in status.open_warnings:
            text.append(f"  ! {w.run_id} {w.check}: ", style="yellow")
            text.append(f"{w.message}\n")
    else:
        text.append("No warnings waiting.\n", style="dim")
    if status.plugin_errors:
        text.append("Plugins not loaded (8 Plugins)\n", style="bold red")
        for name, source, error in status.plugin_errors:
            text.append(f"  ✗ {name} ({source}): ", style="red")
            text.append(f"{error}\n")
    else:
        text.append("All plugins loaded.", style="dim")
    return text


def volume_chart(volumes: WeeklyVolumes, *, highlight: str | None = None) -> Chart:
    """Mailed customers per week, stacked by group; ``highlight`` marks one week (the run under review)."""
    bars = []
    for i, week in enumerate(volumes.weeks):
        parts = tuple(
            (float(values[i]), GROUP_STYLE.get(group, "grey50") + (" bold" if week == highlight else ""))
            for group, values in volumes.groups.items()
        )
        bars.append(Bar(label=week.split("-")[1], parts=parts))
    legend = tuple((group.replace("_", " "), GROUP_STYLE.get(group, "grey50")) for group in volumes.groups)
    first, last = volumes.weeks[0], volumes.weeks[-1]
    return Chart(bars=tuple(bars), legend=legend, caption=f"customers mailed, {first} to {last}")


def shorten_home(path: Path) -> str:
    """The workspace path with the home folder as ~, as people write it."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
