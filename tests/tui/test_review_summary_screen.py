"""The Review screen paints the summary stored with the run, then fills the customer table; its figures stay true."""

from __future__ import annotations

import asyncio
import json
from datetime import date

from textual.widgets import DataTable
from tui_helpers import SAMPLE_TODAY, settle, text_of

from nba_toolkit.cli import main
from nba_toolkit.core.review import FIGURES_FILE
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.workspace import Workspace


async def _review_of(workspace: Workspace) -> tuple[str, int]:
    """What Review's summary shows for the newest run, and the rows of the customer table's page."""
    app = NbaApp(workspace.root, today=date(*SAMPLE_TODAY))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        return text_of(app, "#summary-counts"), app.screen.query_one("#customers-table", DataTable).row_count


def test_review_shows_the_stored_summary_and_then_the_customers(sample_workspace: Workspace, capsys) -> None:
    assert main(["run", "--workspace", str(sample_workspace.root), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    stored = json.loads((sample_workspace.run_dir("2026-W47.1") / FIGURES_FILE).read_text(encoding="utf-8"))
    assert stored["reasons"]["selected_mailed"] == counts["selected_mailed"]

    shown, rows = asyncio.run(_review_of(sample_workspace))
    assert "20,000" in shown and f"{counts['selected_mailed']:,}" in shown
    assert rows == 100


def test_a_summary_edited_by_hand_is_not_shown(sample_workspace: Workspace, capsys) -> None:
    """Review counts from the recorded selection instead: the operator sees the run's true figures."""
    assert main(["run", "--workspace", str(sample_workspace.root), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    path = sample_workspace.run_dir("2026-W47.1") / FIGURES_FILE
    figures = json.loads(path.read_text(encoding="utf-8"))
    figures["reasons"]["selected_mailed"] = 12_345
    path.write_text(json.dumps(figures), encoding="utf-8")

    shown, _ = asyncio.run(_review_of(sample_workspace))
    assert "12,345" not in shown and f"{counts['selected_mailed']:,}" in shown
