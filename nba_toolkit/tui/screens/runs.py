"""Runs: the ledger's history, newest first; open any run read-only with its checks, counts and export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from nba_toolkit.tui.screens.base import SectionScreen

if TYPE_CHECKING:
    from nba_toolkit.ledger.store import RunRecord, StoredCheckResult
    from nba_toolkit.tui.app import NbaApp

STATUS_STYLE = {
    "exported": "green",
    "awaiting_approval": "yellow",
    "blocked": "bold red",
    "failed": "red",
    "cancelled": "yellow",
    "withdrawn": "dim",
    "running": "cyan",
}


class RunsScreen(SectionScreen):
    SECTION = "runs"
    BINDINGS = [
        Binding("enter", "open", "Open run"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunRecord] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="runs-body"):
            yield Static("Every run in the ledger, newest first. Enter opens one.", classes="intro")
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#runs-table", DataTable).add_columns(
            "Run", "Week", "Status", "Started (UTC)", "By", "Mailed", "Held out", "Export"
        )

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs", name="runs")
    def load(self) -> list[RunRecord]:
        with self.session.workspace() as workspace:
            return workspace.ledger.runs()

    def job_done(self, name: str, result: Any) -> None:
        if name != "runs":
            return
        self.runs = result
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        for r in result:
            counts = r.counts or {}
            mailed = r.mailed
            table.add_row(
                Text(r.run_id) + Text(" fallback", style="yellow") if r.kind == "fallback" else r.run_id,
                r.week,
                Text(r.status.replace("_", " "), style=STATUS_STYLE.get(r.status, "")),
                r.started_at[:16].replace("T", " "),
                r.operator,
                "" if mailed is None else f"{mailed:,}",
                "" if not counts else f"{counts.get('holdout', 0):,}",
                (r.export_path or "").removeprefix("exports/"),
                key=r.run_id,
            )
        if not result:
            table.add_row("no runs yet", "", "", "", "", "", "", "")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        if not self.runs or table.cursor_row >= len(self.runs):
            return
        self.app.push_screen(RunDetailScreen(self.runs[table.cursor_row].run_id))


class RunDetailScreen(Screen):
    """One past run as recorded: read-only, with keys to its checks, review and export."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "open('checks')", "Its checks"),
        Binding("v", "open('review')", "Review it"),
        Binding("x", "open('export')", "Its export"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="run-detail"):
            yield Static(f"Run {self.run_id}", id="run-detail-text")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail", name="detail")
    def load(self) -> tuple[RunRecord, list[StoredCheckResult], list[dict[str, str]], dict[str, tuple[str, str]]]:
        # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
        app: NbaApp = self.app  # type: ignore[assignment]
        with app.session.workspace() as workspace:
            ledger = workspace.ledger
            return (
                ledger.run(self.run_id),
                ledger.check_results(self.run_id),
                ledger.overrides(self.run_id),
                ledger.acknowledgements(self.run_id),
            )

    def on_worker_state_changed(self, event: Any) -> None:
        from textual.worker import WorkerState

        if event.state == WorkerState.SUCCESS:
            self.query_one("#run-detail-text", Static).update(run_text(*event.worker.result))
        elif event.state == WorkerState.ERROR:
            # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
            self.app.report(event.worker.error)  # type: ignore[attr-defined]

    def action_open(self, mode: str) -> None:
        # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
        app: NbaApp = self.app  # type: ignore[assignment]
        app.session.run_id = self.run_id
        self.app.pop_screen()
        app.go(mode)


def run_text(
    run: RunRecord, checks: list[StoredCheckResult], overrides: list[dict[str, str]], acknowledged: dict[str, tuple[str, str]]
) -> Group:
    from nba_toolkit.core.selection import REASON_TEXT

    title = Text()
    title.append(f"Run {run.run_id} · {run.week} · ", style="bold")
    title.append(run.status.replace("_", " "), style=STATUS_STYLE.get(run.status, ""))
    title.append("   read only · c checks · v review · x export · Escape back\n", style="dim")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")

    def line(label: str, value: Any) -> None:
        if value not in (None, ""):
            facts.add_row(label, str(value))

    line("Started", f"{run.started_at} by {run.operator} (nba-toolkit {run.toolkit_version})")
    line("Finished", run.finished_at)
    line("Snapshot", run.snapshot_path)
    line("  SHA-256", run.snapshot_sha256)
    line("  rows", f"{run.rows_in:,}" if run.rows_in is not None else None)
    line("  dropped", ", ".join(run.dropped_columns))
    line("Kind", f"fallback list: {run.capacity or 0:,} asked for, drawn at random, no model" if run.kind == "fallback" else None)
    line("Engine", f"{run.engine} {run.engine_version}" if run.engine else None)
    line("Model", run.model_id)
    line("  SHA-256", run.model_sha256)
    line("Error", run.error)
    if run.status == "withdrawn":
        line("Withdrawn", f"by {run.withdrawn_by} at {run.withdrawn_at}: {run.withdrawn_reason}")
    if run.status == "exported":
        line("Export", run.export_path)
        line("  SHA-256", run.export_sha256)
        line("  rows", f"{run.export_rows:,}" if run.export_rows is not None else None)
        line("  approved", f"by {run.approved_by} at {run.approved_at}")
        if run.unreviewed_export:
            line("  review", "none: exported unreviewed ([governance] allow_unreviewed_export)")
    parts: list[Any] = [title, facts]
    if run.counts:
        counts = Table(box=None, padding=(0, 1), title="Customers by reason", title_justify="left", show_header=False)
        counts.add_column()
        counts.add_column(justify="right")
        for reason, n in run.counts.items():
            counts.add_row(REASON_TEXT.get(reason, reason), f"{n:,}")
        parts.append(counts)
    text = Text()
    if checks:
        passed = sum(1 for c in checks if c.status == "pass")
        text.append(f"\nChecks: {passed} of {len(checks)} passed\n", style="bold")
        for c in checks:
            if c.status != "pass":
                ack = acknowledged.get(c.check_name)
                note = f" (acknowledged by {ack[0]})" if ack else ""
                text.append(f"  ✗ {c.check_name} [{c.severity}]: {c.message}{note}\n", style="red")
    if overrides:
        text.append("\nOperator overrides\n", style="bold")
        for o in overrides:
            text.append(f"  {o['action']} {o['customer_id']} by {o['made_by']} at {o['made_at']}: {o['reason']}\n")
    parts.append(text)
    return Group(*parts)
