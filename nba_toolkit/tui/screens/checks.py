"""Checks: every result of the run with what was measured, against what, and what to do; acknowledge warnings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from nba_toolkit.tui.screens.base import SectionScreen, degraded_text
from nba_toolkit.tui.screens.dialogs import ReasonDialog
from nba_toolkit.words import plural, source_of

if TYPE_CHECKING:
    from nba_toolkit.ledger.store import RunRecord, StoredCheckResult

RESULT_STYLE = {"pass": ("✓ pass", "green"), "fail": ("✗ fail", "red"), "error": ("✗ crashed", "bold red")}


@dataclass(frozen=True)
class ChecksView:
    run: RunRecord
    results: list[StoredCheckResult]
    acknowledged: dict[str, tuple[str, str]]

    @classmethod
    def of(cls, ledger: Any, run_id: str) -> ChecksView:
        """A run's check results, problems first: blocking (and crashed), then warnings, then those that passed."""
        return cls(ledger.run(run_id), sorted(ledger.check_results(run_id), key=problem_rank), ledger.acknowledgements(run_id))


def problem_rank(result: StoredCheckResult) -> int:
    """0 for a result that blocks (or a check that crashed), 1 for a warning, 2 for the rest: at 80x24 the problems
    are the rows in view."""
    if result.status == "error" or (result.status == "fail" and result.severity == "block"):
        return 0
    if result.status == "fail" and result.severity == "warn":
        return 1
    return 2


class ChecksScreen(SectionScreen):
    SECTION = "checks"
    BINDINGS = [
        Binding("a", "acknowledge", "Acknowledge warning"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: ChecksView | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="checks-body"):
            yield Static("Loading…", id="checks-title")
            yield DataTable(id="checks-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="check-detail"):
                yield Static("", id="check-text")

    def on_mount(self) -> None:
        table = self.query_one("#checks-table", DataTable)
        table.add_columns("Check", "Stage", "Severity", "Result", "Acknowledged")

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="checks", name="checks")
    def load(self) -> ChecksView | None:
        with self.session.workspace() as workspace:
            run_id = self.session.run_to_show(workspace)
            if run_id is None:
                return None
            return ChecksView.of(workspace.ledger, run_id)

    def job_done(self, name: str, result: Any) -> None:
        if name == "checks":
            self.show(result)
        elif name == "acknowledge":
            self.notify(f"Acknowledged the warning '{result[1]}'.")
            self.show(result[0])

    def job_failed(self, name: str, error: BaseException) -> None:
        from nba_toolkit.tui.errors import describe

        if name == "checks":
            self.query_one("#checks-title", Static).update(Text(f"The checks cannot be shown: {describe(error)[1]}", style="red"))

    def show(self, view: ChecksView | None) -> None:
        self.view = view
        title = self.query_one("#checks-title", Static)
        table = self.query_one("#checks-table", DataTable)
        row = table.cursor_row
        table.clear()
        if view is None:
            title.update("No run awaits review. Start one on 2 Run (7 Runs opens any past run).")
            self.query_one("#check-text", Static).update("")
            return
        failed = [r for r in view.results if r.status != "pass"]
        warnings = [r for r in failed if r.severity == "warn" and r.status == "fail"]
        open_ = [r for r in warnings if r.check_name not in view.acknowledged]
        text = Text()
        text.append(f"Run {view.run.run_id} · {view.run.week} · {view.run.status.replace('_', ' ')}", style="bold")
        text.append(f"   {len(view.results) - len(failed)} of {len(view.results)} passed")
        if warnings:
            text.append(
                f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''} ({len(open_)} to acknowledge)",
                style="yellow" if open_ else "",
            )
        blocking = [r for r in failed if r.status == "error" or r.severity == "block"]
        if blocking:
            text.append(f", {len(blocking)} blocking", style="bold red")
        if not view.results:
            text.append(f"\nNo check results: the run {view.run.status}" + (f" ({view.run.error})" if view.run.error else ""))
        if view.run.degraded:
            text.append("\n")
            text.append(degraded_text(view.run.degraded))
        title.update(text)
        for result in view.results:
            word, style = RESULT_STYLE.get(result.status, (result.status, ""))
            if result.status == "fail" and result.severity == "warn":
                style = "yellow"
            ack = view.acknowledged.get(result.check_name)
            table.add_row(
                result.check_name,
                result.stage,
                result.severity,
                Text(word, style=style),
                f"{ack[0]}, {ack[1][:16].replace('T', ' ')}" if ack else ("to do" if result in open_ else ""),
                key=f"{len(table.rows)}",
            )
        if view.results:
            table.move_cursor(row=min(max(row, 0), len(view.results) - 1))
            self.describe(min(max(row, 0), len(view.results) - 1))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "checks-table":
            self.describe(event.cursor_row)

    def describe(self, index: int) -> None:
        if self.view is None or not 0 <= index < len(self.view.results):
            return
        r = self.view.results[index]
        text = Text()
        text.append(f"{r.check_name}", style="bold")
        text.append(f"  ({r.stage} check, severity {r.severity}, {source_of(r.plugin)})\n", style="dim")
        text.append(r.message + "\n")
        if r.measured is not None:
            text.append("Measured:  ", style="bold")
            text.append(f"{r.measured}\n")
        if r.threshold is not None:
            text.append("Threshold: ", style="bold")
            text.append(f"{r.threshold}\n")
        if r.action:
            text.append("What to do: ", style="bold")
            text.append(f"{r.action}\n")
        if r.affected_count:
            text.append(f"Affected: {plural(r.affected_count, 'customer')}", style="bold")
            if r.affected_sample:
                shown = ", ".join(r.affected_sample)
                more = " …" if r.affected_count > len(r.affected_sample) else ""
                text.append(f"; relation numbers {shown}{more} (look them up on 4 Review)")
            text.append("\n")
        ack = self.view.acknowledged.get(r.check_name)
        if ack:
            text.append(f"Acknowledged by {ack[0]} at {ack[1]}.\n", style="green")
        elif r.severity == "warn" and r.status == "fail":
            text.append("Press a to acknowledge this warning; the run cannot be exported before.\n", style="yellow")
        self.query_one("#check-text", Static).update(text)

    def action_acknowledge(self) -> None:
        if self.view is None or not self.view.results:
            return
        index = self.query_one("#checks-table", DataTable).cursor_row
        result = self.view.results[index]
        if not (result.severity == "warn" and result.status == "fail"):
            self.notify("Only a warning can be acknowledged; a blocking result stops the run.", severity="warning")
            return
        if result.check_name in self.view.acknowledged:
            self.notify("This warning was acknowledged already.")
            return
        run_id = self.view.run.run_id

        def answered(note: str | None) -> None:
            if note is not None:
                self.acknowledge(run_id, result.check_name, note or None)

        self.app.push_screen(
            ReasonDialog(
                f"Acknowledge '{result.check_name}'",
                f"{result.message}\n\nYou accept this warning for run {run_id}; your name and the time are recorded.",
                placeholder="Note (optional), then Enter",
                required=False,
            ),
            answered,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="acknowledge", name="acknowledge")
    def acknowledge(self, run_id: str, check: str, note: str | None) -> tuple[ChecksView, str]:
        from nba_toolkit.core.acknowledgements import acknowledge
        from nba_toolkit.workspace import operator_name

        with self.session.workspace() as workspace:
            acknowledge(workspace.ledger, run_id, check, by=operator_name(), note=note)
            return ChecksView.of(workspace.ledger, run_id), check
