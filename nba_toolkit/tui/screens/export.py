"""Approve and export: says exactly what will be written, refuses while anything holds the run back, then shows the file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from nba_toolkit.tui.screens.base import SectionScreen, degraded_text
from nba_toolkit.tui.screens.dialogs import ConfirmDialog, ReasonDialog
from nba_toolkit.tui.screens.home import shorten_home
from nba_toolkit.words import plural

if TYPE_CHECKING:
    from nba_toolkit.core.review import ExportPreview
    from nba_toolkit.jobs.export import ExportOutcome


class ExportScreen(SectionScreen):
    SECTION = "export"
    BINDINGS = [
        Binding("a", "approve", "Approve and export"),
        Binding("w", "withdraw", "Withdraw run"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.preview: ExportPreview | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="export-body"):
            yield Static("Loading…", id="export-preview")
            yield Static("", id="export-result")

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview", name="preview")
    def load(self) -> ExportPreview | None:
        from nba_toolkit.core.review import export_preview

        with self.session.workspace() as workspace:
            run_id = self.session.run_to_show(workspace)
            if run_id is None:
                return None
            return export_preview(workspace, self.session.registry(workspace), run_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", name="export")
    def export(self, run_id: str) -> tuple[ExportOutcome, ExportPreview]:
        from nba_toolkit.core.review import export_preview
        from nba_toolkit.jobs.export import export_run

        with self.session.workspace() as workspace:
            registry = self.session.registry(workspace)
            preview = export_preview(workspace, registry, run_id)
            if preview.refusals:
                from nba_toolkit.errors import UsageError

                raise UsageError("the run cannot be exported now: " + "; ".join(preview.refusals))
            outcome = export_run(workspace, registry, run_id)
            return outcome, export_preview(workspace, registry, run_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="withdraw", name="withdraw")
    def withdraw(self, run_id: str, reason: str) -> str:
        from nba_toolkit.workspace import operator_name

        with self.session.workspace() as workspace:
            workspace.ledger.withdraw_run(run_id, reason=reason, by=operator_name())
        return run_id

    def action_withdraw(self) -> None:
        preview = self.preview
        if preview is None:
            return
        if preview.status != "awaiting_approval":
            self.notify(
                f"Run {preview.run_id} is {preview.status.replace('_', ' ')}; only a run awaiting approval can be withdrawn."
            )
            return
        text = (
            f"Withdraw run {preview.run_id} for {preview.week}? It can then never be exported; its record stays in the "
            "ledger with your name and this reason."
        )

        def answered(reason: str | None) -> None:
            if reason:
                self.withdraw(preview.run_id, reason)

        self.app.push_screen(
            ReasonDialog(f"Withdraw run {preview.run_id}", text, placeholder="Reason (required), then Enter"), answered
        )

    def job_done(self, name: str, result: Any) -> None:
        if name == "withdraw":
            self.notify(f"Run {result} is withdrawn; recorded in the ledger.")
            self.session.run_id = None  # on to the run that awaits the operator now, if any
            self.query_one("#export-result", Static).update("")
            self.reload()
        elif name == "preview":
            self.show_preview(result)
        elif name == "export":
            outcome, preview = result
            self.show_preview(preview)
            text = Text()
            text.append(f"Exported {plural(outcome.rows, 'row')}", style="bold green")
            groups = ", ".join(f"{n:,} {g.replace('_', ' ')}" for g, n in outcome.groups.items())
            text.append(f" ({groups}), approved by {outcome.approved_by}.\n")
            text.append("File:    ", style="bold")
            text.append(f"{shorten_home(outcome.path)}\n")
            text.append("SHA-256: ", style="bold")
            text.append(f"{outcome.sha256}\n")
            text.append("Hand this file to the mail program. The ledger records it with its hash.", style="dim")
            self.query_one("#export-result", Static).update(text)
            self.notify(f"Exported {plural(outcome.rows, 'row')} to {outcome.path.name}.")

    def job_failed(self, name: str, error: BaseException) -> None:
        from nba_toolkit.tui.errors import describe

        if name == "preview":
            self.preview = None
            self.query_one("#export-preview", Static).update(Text(f"Nothing can be exported: {describe(error)[1]}", style="red"))

    def show_preview(self, preview: ExportPreview | None) -> None:
        self.preview = preview
        if preview is None:
            self.query_one("#export-preview", Static).update(
                "No run awaits review. Start one on 2 Run (7 Runs opens any past run)."
            )
            return
        self.query_one("#export-preview", Static).update(preview_text(preview))

    def action_approve(self) -> None:
        preview = self.preview
        if preview is None:
            return
        if preview.refusals:
            self.notify("Not approved: " + "; ".join(preview.refusals), title="Cannot export", severity="error", timeout=10)
            return
        from nba_toolkit.workspace import operator_name

        groups = ", ".join(f"{n:,} {g.replace('_', ' ')}" for g, n in preview.groups.items())
        text = (
            f"Write {preview.rows:,} rows ({groups}) for {preview.week}, run {preview.run_id}, to\n"
            f"{shorten_home(preview.path)}\n"
            f"Columns: relation number, campaign code {preview.campaign_code}, group, export date; "
            f"delimiter '{preview.delimiter}', encoding {preview.encoding}; file readable by you only.\n"
            + (f"Customers you excluded, left out: {preview.operator_excluded:,}.\n" if preview.operator_excluded else "")
            + (f"Review: {preview.review.sentence()}.\n" if preview.review else "")
            + "".join(f"Note: {line}.\n" for line in preview.to_mention())
            + f"Approved by {operator_name()}. A run is exported once: this cannot be undone."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.export(preview.run_id)

        self.app.push_screen(ConfirmDialog("Approve and export", text, yes="Approve and export"), answered)


def preview_text(preview: ExportPreview) -> Text:
    text = Text()
    text.append(f"Run {preview.run_id} · {preview.week} · {preview.status.replace('_', ' ')}\n", style="bold")
    if preview.degraded:  # also while something else holds the run back, as on every other screen
        text.append(degraded_text(preview.degraded))
    text.append("\n")
    if preview.status == "exported":
        text.append("This run was exported. ", style="green")
    text.append("Approving writes:\n" if preview.status != "exported" else "It wrote:\n", style="bold")
    text.append(f"  {plural(preview.rows, 'row')}", style="bold")
    text.append(" — " + ", ".join(f"{n:,} {g.replace('_', ' ')}" for g, n in preview.groups.items()) + "\n")
    if preview.operator_excluded:
        n = preview.operator_excluded
        text.append(f"  {n:,} customer{'s' if n != 1 else ''} excluded during review left out\n", style="yellow")
    text.append(f"  to {shorten_home(preview.path)}\n")
    text.append(
        f"  columns relation number, campaign code ({preview.campaign_code}), group, export date; "
        f"delimiter '{preview.delimiter}', {preview.encoding}\n"
    )
    if preview.review is not None:
        text.append(f"  {preview.review.sentence()}\n", style="" if preview.review.reviewed else "yellow")
    text.append("\n")
    if preview.status == "exported":
        text.append("A run is exported once; 7 Runs shows its record.", style="dim")
    elif preview.refusals:
        text.append("Cannot be approved now:\n", style="bold red")
        for refusal in preview.refusals:
            text.append(f"  ✗ {refusal}\n", style="red")
    elif preview.to_mention():
        text.append("Nothing holds this run back, but you approve it with:\n", style="bold yellow")
        for line in preview.to_mention():
            text.append(f"  ! {line}\n", style="yellow")
        text.append("Press a to approve and export.", style="bold")
    else:
        text.append("Nothing holds this run back. Press a to approve and export.", style="bold green")
    return text
