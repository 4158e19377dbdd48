"""Residual: the eligible customers the last runs never selected, how they differ, and what holds their scores down.

The numbers are :func:`nba_toolkit.jobs.residual.residual_workspace`, the
same as ``nba-toolkit residual``, computed in a thread worker.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from nba_toolkit.tui.screens.base import SectionScreen
from nba_toolkit.words import plural

#: the run counts ``n`` steps through
WEEK_CHOICES = (4, 12, 26, 52)


def pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


class ResidualScreen(SectionScreen):
    SECTION = "residual"
    BINDINGS = [
        Binding("n", "more_weeks", "Runs: 4/12/26/52"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.weeks = 12

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="residual-body"):
            yield Static("Finding the residual group…", id="residual-summary")
            yield Static("", id="residual-profile")
            yield Static("", id="residual-down")

    def action_reload(self) -> None:
        self.reload()

    def action_more_weeks(self) -> None:
        self.weeks = WEEK_CHOICES[(WEEK_CHOICES.index(self.weeks) + 1) % len(WEEK_CHOICES)]
        self.query_one("#residual-summary", Static).update(f"Finding the residual group of the last {plural(self.weeks, 'run')}…")
        self.reload()

    def reload(self) -> None:
        self.load(self.weeks)

    @work(thread=True, exclusive=True, exit_on_error=False, group="residual", name="residual")
    def load(self, weeks: int) -> Any:
        """The residual group, or a sentence when there is no exported run to take it from."""
        from nba_toolkit.jobs.evaluate import exported_runs
        from nba_toolkit.jobs.residual import residual_workspace

        with self.session.workspace() as workspace:
            if not exported_runs(workspace):
                return (
                    "There are no exported runs yet, so nobody has been left out. The residual group is the eligible "
                    "customers the last exported runs never selected; export a run first (2 Run, 5 Export)."
                )
            return residual_workspace(workspace, self.session.registry(workspace), weeks=weeks)

    def job_failed(self, name: str, error: BaseException) -> None:
        from nba_toolkit.tui.errors import describe

        if name == "residual":
            self.query_one("#residual-summary", Static).update(
                Text(f"The residual group could not be found: {describe(error)[1]}", style="red")
            )
            self.query_one("#residual-profile", Static).update("")
            self.query_one("#residual-down", Static).update("")

    def job_done(self, name: str, result: Any) -> None:
        if name != "residual":
            return
        summary = self.query_one("#residual-summary", Static)
        if isinstance(result, str):
            summary.update(Text(result, style="yellow"))
            self.query_one("#residual-profile", Static).update("")
            self.query_one("#residual-down", Static).update("")
            return
        text = Text()
        text.append(f"{result.residual:,} of {result.eligible:,} eligible customers ({pct(result.share, 1)})", style="bold")
        text.append(f" were never selected in {runs_taken(result.runs)}; n shows 4, 12, 26 or 52 runs).\n")
        text.append(
            f"Median score {pct(result.residual_median_score)} among them, "
            f"{pct(result.selected_median_score)} among the {result.selected:,} selected."
        )
        summary.update(text)
        self.query_one("#residual-profile", Static).update(profile_table(result.profile))
        self.query_one("#residual-down", Static).update(contributions_table(result.contributions))


def runs_taken(runs: list[str]) -> str:
    """The exported runs the group is taken from, in words that also read right for one: "the last exported run"."""
    if len(runs) == 1:
        return f"the last exported run ({runs[0]}"
    return f"the last {len(runs)} exported runs ({runs[0]} to {runs[-1]}"


def profile_table(profile: Any) -> Table:
    table = Table(
        box=None,
        padding=(0, 1),
        title="How they differ from the selected (in standard deviations, biggest differences first)",
        title_justify="left",
        title_style="bold",
    )
    for column in ("feature", "", "residual", "selected", "difference"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for row in profile.head(10).iter_rows(named=True):
        show = pct if row["statistic"] == "share" else (lambda v: "n/a" if v is None else f"{v:,.2f}")
        difference = "n/a" if row["difference"] is None else f"{row['difference']:+.2f}"
        table.add_row(row["label"], row["statistic"], show(row["residual"]), show(row["selected"]), difference)
    return table


def contributions_table(contributions: Any) -> Table | Text:
    if contributions.height == 0:
        return Text("The engine gives no per-feature explanation, so what holds their scores down is not known.", style="dim")
    table = Table(
        box=None,
        padding=(0, 1),
        title="What holds their scores down (mean contribution to the score)",
        title_justify="left",
        title_style="bold",
    )
    for column in ("feature", "residual", "selected", "gap"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for row in contributions.iter_rows(named=True):
        gap = Text(f"{row['gap']:+.2f}", style="red" if row["gap"] < 0 else "")
        table.add_row(row["label"], f"{row['residual']:+.2f}", f"{row['selected']:+.2f}", gap)
    return table
