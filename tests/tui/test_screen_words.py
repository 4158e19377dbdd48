"""Sentences the screens build from counts and messages read as the operator would write them."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from textual.widgets import Select
from tui_helpers import settle, text_of, until

from nba_toolkit.cli import main
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.workspace import Workspace


def test_one_exported_run_and_a_cancelled_one_read_as_plain_sentences(
    sample_workspace: Workspace, later_week, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sample_workspace.root
    assert main(["run", "--week", "2026-W47", "--approve", "--workspace", str(root), "--json"]) == 0
    capsys.readouterr()
    later_week(sample_workspace, "2026-W48", "2026-11-23")
    monkeypatch.setenv("NBA_TOOLKIT_PAUSE_AT", "run.begun")  # time to cancel before the first stage
    monkeypatch.setenv("NBA_TOOLKIT_PAUSE_SECONDS", "2")

    async def scenario() -> tuple[str, str]:
        app = NbaApp(root, today=date(2026, 11, 23))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("g")
            await settle(pilot)
            residual = " ".join(text_of(app, "#residual-summary").split())
            await pilot.press("2")
            await settle(pilot)
            app.screen.query_one("#snapshot", Select).value = str(sample_workspace.snapshots_dir / "2026-W48.csv")
            await pilot.press("s")
            await until(pilot, lambda: app.screen.running)
            await pilot.press("escape")
            await settle(pilot)
            return residual, " ".join(text_of(app, "#run-result").split())

    residual, cancelled = asyncio.run(scenario())
    assert "were never selected in the last exported run (2026-W47.1;" in residual, residual
    assert "Cancelled: the run was cancelled by the operator; nothing was written." in cancelled, cancelled
    assert Workspace.open(root).ledger.run("2026-W48.1").status == "cancelled"
