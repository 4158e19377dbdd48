"""The review's customer panel lists what the other runs decided about the customer."""

from __future__ import annotations

import asyncio
from datetime import date

import polars as pl
from tui_helpers import settle, text_of, type_text

from nba_toolkit.cli import main
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.workspace import Workspace


async def _panel(ws: Workspace, customer: str) -> str:
    app = NbaApp(ws.root, today=date(2026, 11, 30))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        await type_text(pilot, customer)
        await pilot.press("enter")
        await settle(pilot)
        return text_of(app, "#detail-text")


def test_the_customer_panel_of_next_week_shows_last_weeks_mailing(sample_workspace: Workspace, later_week) -> None:
    ws = sample_workspace
    assert main(["run", "--week", "2026-W47", "--approve", "--workspace", str(ws.root)]) == 0
    selection = pl.read_parquet(ws.run_dir("2026-W47.1") / "selection.parquet")
    mailed = selection.filter(pl.col("reason") == "selected_mailed").sort("rank")
    customer, score = str(mailed["customer_id"][0]), mailed["score"][0]
    later_week(ws, "2026-W48", "2026-11-23")
    assert main(["run", "--week", "2026-W48", "--workspace", str(ws.root)]) == 0

    panel = asyncio.run(_panel(ws, customer))

    assert "contacted within the cooldown" in panel, "this run: the reviewed week"
    assert "Other weeks" in panel
    assert f"2026-W47  2026-W47.1  mailed {score:.2%}, in the mail file" in panel
    assert "2026-W48  2026-W48.1" not in panel, "the run under review is not repeated"


async def _run_on_the_run_screen(ws: Workspace) -> str:
    app = NbaApp(ws.root, today=date(2026, 11, 30))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert str(app.screen.query_one("#snapshot").value).endswith("2026-W48.csv")
        await pilot.press("s")
        await settle(pilot)
        return text_of(app, "#run-result")


def test_the_run_result_says_what_changed_since_last_week(sample_workspace: Workspace, later_week) -> None:
    ws = sample_workspace
    assert main(["run", "--week", "2026-W47", "--approve", "--workspace", str(ws.root)]) == 0
    before = pl.read_parquet(ws.run_dir("2026-W47.1") / "selection.parquet").filter(pl.col("mailed"))
    later_week(ws, "2026-W48", "2026-11-23")

    result = asyncio.run(_run_on_the_run_screen(ws))

    after = pl.read_parquet(ws.run_dir("2026-W48.1") / "selection.parquet").filter(pl.col("mailed"))
    entered = after.join(before, on="customer_id", how="anti").height
    left = before.join(after, on="customer_id", how="anti").height
    assert "Run 2026-W48.1 for 2026-W48 is ready for review" in result
    assert f"Since 2026-W47 (run 2026-W47.1): {entered:,} entered and {left:,} left the mail file" in result
    assert "changed settings: none" in result
