"""In the review, X excludes a customer for good: next week's run keeps them out and the review says why."""

from __future__ import annotations

import asyncio
from datetime import date

import polars as pl
import pytest
from tui_helpers import settle, text_of, type_text

from nba_toolkit.cli import main
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.screens.dialogs import ReasonDialog
from nba_toolkit.workspace import Workspace


async def _look_up(pilot, customer: str) -> None:
    await pilot.press("4")
    await settle(pilot)
    await pilot.press("slash")
    await pilot.pause()
    await type_text(pilot, customer)
    await pilot.press("enter")
    await settle(pilot)


async def _exclude_for_good(ws: Workspace, customer: str) -> None:
    app = NbaApp(ws.root, today=date(2026, 11, 30))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _look_up(pilot, customer)
        await pilot.press("X")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog) and "every later run" in app.screen.text
        await type_text(pilot, "asked for no mail")
        await pilot.press("enter")
        await settle(pilot)


async def _why(ws: Workspace, customer: str) -> str:
    app = NbaApp(ws.root, today=date(2026, 11, 30))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _look_up(pilot, customer)
        return text_of(app, "#detail-text")


def test_an_exclusion_for_good_made_in_the_review_keeps_the_customer_out_next_week(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], later_week
) -> None:
    ws = sample_workspace
    later_week(ws, "2026-W48", "2026-11-23")
    assert main(["run", "--week", "2026-W47", "--workspace", str(ws.root)]) == 0
    selection = pl.read_parquet(ws.run_dir("2026-W47.1") / "selection.parquet")
    top = str(selection.filter(pl.col("reason") == "selected_mailed").sort("score", descending=True)["customer_id"][0])

    asyncio.run(_exclude_for_good(ws, top))
    assert [c for c, _ in Workspace.open(ws.root).ledger.suppressed_on(date(2026, 11, 23), upto=None)] == [top]

    assert main(["export", "2026-W47.1", "--workspace", str(ws.root)]) == 0
    assert main(["run", "--week", "2026-W48", "--workspace", str(ws.root), "--json"]) == 0
    later = pl.read_parquet(ws.run_dir("2026-W48.1") / "selection.parquet")
    assert later.filter(pl.col("customer_id").cast(pl.String) == top)["reason"][0] == "excluded_suppressed"
    assert "kept out by a standing exclusion" in asyncio.run(_why(ws, top))
