"""Simulation: replay the engine and the selection over a range of past weeks, with progress and cancel.

The replay is :func:`nba_toolkit.jobs.backtest.backtest_workspace`, the same
as ``nba-toolkit simulate``, in a thread worker. It only reads the ledger,
so cancelling (Escape) simply stops it before its next week. The result is
the weekly volume per group as a bar chart and the flagged weeks with why.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Select, Static

from nba_toolkit.tui.screens.base import SectionScreen
from nba_toolkit.tui.widgets.barchart import Bar, BarChart, Chart
from nba_toolkit.tui.widgets.textbox import TextBox
from nba_toolkit.words import plural

#: the replay's groups as stacked in the chart, bottom up
VOLUME_GROUPS = (
    ("selected_mailed", "mailed by the model", "dodger_blue1"),
    ("random_control", "mailed at random", "orange1"),
    ("holdout", "held out", "grey62"),
)
RETRAIN_CHOICES = (
    ("registered model (none)", "none"),
    ("fitted once before the first week", "once"),
    ("refitted every week (slow)", "weekly"),
)


class WeekReplayed(Message):
    """Posted from the replay's thread as each week starts."""

    def __init__(self, done: int, total: int, stage: str) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.stage = stage


class SimulationScreen(SectionScreen):
    SECTION = "simulation"
    BINDINGS = [
        Binding("ctrl+s", "start", "Start"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event: threading.Event | None = None

    @property
    def running(self) -> bool:
        return self.cancel_event is not None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="simulation-body"):
            yield Static(
                "Replay the weeks of the history with the current configuration. Empty weeks: from the start, "
                "to the end. Ctrl+S (or Enter in a box) starts, Escape cancels.",
                classes="intro",
            )
            with Horizontal(id="simulation-form"):
                yield TextBox(placeholder="from week, e.g. 2026-W01", id="simulation-from")
                yield TextBox(placeholder="to week", id="simulation-to")
                yield TextBox(placeholder="compare: key=value", id="simulation-compare")
            yield Select(RETRAIN_CHOICES, value="none", allow_blank=False, id="simulation-retrain")
            with Horizontal(id="simulation-progress-row"):
                yield ProgressBar(total=1, show_eta=False, id="simulation-progress")
                yield Label("", id="simulation-stage")
            yield Static("", id="simulation-result")
            yield BarChart(id="simulation-volumes")
            yield Static("", id="simulation-flags")

    def on_unmount(self) -> None:
        """Leaving the app during a replay stops it; it wrote nothing."""
        if self.cancel_event is not None:
            self.cancel_event.set()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def action_start(self) -> None:
        if self.running:
            self.notify("A simulation is running; wait for it or cancel it (Escape).", severity="warning")
            return
        from_week = self.query_one("#simulation-from", Input).value.strip() or None
        to_week = self.query_one("#simulation-to", Input).value.strip() or None
        compare = self.query_one("#simulation-compare", Input).value.strip()
        retrain = str(self.query_one("#simulation-retrain", Select).value)
        self.cancel_event = threading.Event()
        self.query_one("#simulation-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#simulation-result", Static).update(Text("Simulating… (Escape cancels)"))
        self.simulate(from_week, to_week, [compare] if compare else [], retrain, self.cancel_event)

    def action_cancel(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.query_one("#simulation-result", Static).update(Text("Cancelling before the next week…", style="yellow"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="simulation", name="simulation")
    def simulate(
        self, from_week: str | None, to_week: str | None, compare: list[str], retrain: str, cancel: threading.Event
    ) -> Any:
        from nba_toolkit.core.backtest import BacktestCancelled
        from nba_toolkit.jobs.backtest import backtest_workspace

        def progress(done: int, total: int, stage: str) -> None:
            self.post_message(WeekReplayed(done, total, stage))

        with self.session.workspace() as workspace:
            try:
                return backtest_workspace(
                    workspace,
                    self.session.registry(workspace),
                    from_week=from_week,
                    to_week=to_week,
                    compare_settings=compare,
                    retrain=retrain,
                    on_progress=progress,
                    cancel=cancel,
                )
            except BacktestCancelled:
                return None

    def on_week_replayed(self, message: WeekReplayed) -> None:
        if self.running:
            self.query_one("#simulation-progress", ProgressBar).update(total=message.total, progress=message.done)
            self.query_one("#simulation-stage", Label).update(f"{message.stage} ({message.done}/{message.total})")

    def job_done(self, name: str, result: Any) -> None:
        if name != "simulation":
            return
        self.cancel_event = None
        if result is None:
            self.query_one("#simulation-progress", ProgressBar).update(total=1, progress=0)
            self.query_one("#simulation-result", Static).update(
                Text("Cancelled. A simulation writes nothing, so there is nothing to undo.", style="yellow")
            )
            return
        self.query_one("#simulation-progress", ProgressBar).update(total=1, progress=1)
        self.query_one("#simulation-stage", Label).update(f"{result.seconds:.1f} s")
        self.query_one("#simulation-result", Static).update(summary_text(result))
        self.query_one("#simulation-volumes", BarChart).chart = volume_chart(result.results[0].backtest.weekly)
        self.query_one("#simulation-flags", Static).update(flags_text(result))

    def job_failed(self, name: str, error: BaseException) -> None:
        if name == "simulation":
            self.cancel_event = None
            self.query_one("#simulation-progress", ProgressBar).update(total=1, progress=0)
            self.query_one("#simulation-stage", Label).update("")
            self.query_one("#simulation-result", Static).update(
                Text("The simulation did not finish; see the notice for why.", style="red")
            )


def summary_text(report: Any) -> Text:
    from nba_toolkit.core.backtest import totals

    text = Text()
    model = "registered model" if report.retrain == "none" else f"model retrained {report.retrain}"
    text.append(f"Simulated {report.first_week} to {report.last_week}", style="bold")
    text.append(f" with the {model}.\n")
    for r in report.results:
        t = totals(r.backtest.weekly)
        changes = ", ".join(f"{k}={v}" for k, v in r.changes.items())
        text.append(f"{r.backtest.label}{' (' + changes + ')' if changes else ''}: ", style="bold")
        per_week = t["mailed_per_week"]
        text.append(
            f"{t['mailed']:,} mailed over {plural(t['weeks'], 'week')}, median {per_week['median']:,.0f} a week "
            f"({per_week['min']:,} to {per_week['max']:,}).\n"
        )
    rows = list(report.recorded.iter_rows(named=True))
    same = [row for row in rows if row["differing_customers"] == 0]
    own_history = [row for row in rows if row["differing_customers"] and not row["same_contact_history"]]
    if rows:
        text.append(
            f"Recorded runs in these weeks: {len(rows)}; the replay gives the same selection for {len(same)}.\n",
            style="dim",
        )
    if own_history:
        text.append(
            f"For {len(own_history)} of them the replay built its own contact history before that week, so its "
            "cooldowns differ from the real ones; start the simulation at that week to compare like with like.\n",
            style="dim",
        )
    return text


def volume_chart(weekly: Any) -> Chart:
    """Customers per week and group, stacked: mailed by the model, at random, and held out."""
    bars = tuple(
        Bar(
            label=row["week"].split("-")[1],
            parts=tuple((float(row.get(column, 0) or 0), style) for column, _, style in VOLUME_GROUPS),
        )
        for row in weekly.iter_rows(named=True)
    )
    legend = tuple((name, style) for _, name, style in VOLUME_GROUPS)
    weeks = weekly["week"].to_list()
    return Chart(bars=bars, legend=legend, caption=f"customers per week, {weeks[0]} to {weeks[-1]}" if weeks else "")


def flags_text(report: Any) -> Text:
    """Every flagged week with the reason, in the words of the replay's flags."""
    from nba_toolkit.core.backtest import FLAG_TEXT

    text = Text()
    for r in report.results:
        flagged = r.backtest.weekly.filter(r.backtest.weekly["flags"].list.len() > 0)
        prefix = f"{r.backtest.label}: " if len(report.results) > 1 else ""
        if flagged.height == 0:
            text.append(f"{prefix}No week was flagged.\n", style="green")
            continue
        text.append(f"{prefix}Flagged weeks ({flagged.height}):\n", style="bold")
        for row in flagged.iter_rows(named=True):
            reasons = "; ".join(FLAG_TEXT.get(f, f) for f in row["flags"])
            text.append(f"  {row['week']}  {row['mailed']:,} mailed: ", style="yellow")
            text.append(f"{reasons}\n")
    for note in report.notes:
        text.append(f"{note}\n", style="dim")
    return text
