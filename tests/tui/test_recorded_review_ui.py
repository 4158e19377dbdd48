"""The Review screen records what the operator looked at; the Export screen says it; a flag carries into next week."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date

import polars as pl
from tui_helpers import settle, text_of, type_text, until

from nba_toolkit.cli import main
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.screens.dialogs import ConfirmDialog
from nba_toolkit.workspace import Workspace


def require_review(ws: Workspace) -> None:
    toml = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(toml.replace("allow_unreviewed_export = true", "allow_unreviewed_export = false"), "utf-8")


def reviews(ws: Workspace) -> list[tuple]:
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        return db.execute("SELECT run_id, face, customers, pages FROM reviews ORDER BY id").fetchall()


def top_mailed(ws: Workspace, run_id: str) -> str:
    selection = pl.read_parquet(ws.run_dir(run_id) / "selection.parquet")
    return str(selection.filter(pl.col("reason") == "selected_mailed").sort("rank")["customer_id"][0])


async def _look_up(pilot, customer: str) -> None:
    await pilot.press("slash")
    await pilot.pause()
    await type_text(pilot, customer)
    await pilot.press("enter")
    await settle(pilot)


async def _review_then_export(ws: Workspace, customer: str) -> tuple[str, str, str, list[tuple]]:
    app = NbaApp(ws.root, today=date(2026, 11, 16))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        before = text_of(app, "#export-preview")
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await _look_up(pilot, customer)
        await pilot.press("5")  # leaving the Review screen writes its session
        await settle(pilot)
        recorded = reviews(ws)
        after = text_of(app, "#export-preview")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        confirmation = app.screen.text
        return before, after, confirmation, recorded


def test_the_review_screen_records_what_was_opened_and_the_export_says_it(sample_workspace: Workspace) -> None:
    ws = sample_workspace
    require_review(ws)
    assert main(["run", "--week", "2026-W47", "--workspace", str(ws.root)]) == 0
    customer = top_mailed(ws, "2026-W47.1")

    before, after, confirmation, recorded = asyncio.run(_review_then_export(ws, customer))

    assert "nobody has reviewed run 2026-W47.1 yet" in before, "the preview refuses before any review"
    assert len(recorded) == 1, "one row per review session, not per key"
    run_id, face, customers, pages = recorded[0]
    assert (run_id, face) == ("2026-W47.1", "the Review screen")
    assert json.loads(customers) == [customer], "only relation numbers, and each once"
    assert json.loads(pages) == ["all 1"]
    assert "nobody has reviewed" not in after
    assert "reviewed by test-operator: 1 customer opened, 1 page of the list seen" in " ".join(after.split())
    assert "Review: reviewed by test-operator" in confirmation


async def _look_read_only(ws: Workspace, customer: str) -> str:
    app = NbaApp(ws.root, today=date(2026, 11, 16), read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await _look_up(pilot, customer)
        await pilot.press("1")
        await settle(pilot)
        return text_of(app, "#detail-text") if app.screen.query("#detail-text") else ""


def test_a_read_only_review_records_nothing_and_works(sample_workspace: Workspace) -> None:
    ws = sample_workspace
    assert main(["run", "--week", "2026-W47", "--workspace", str(ws.root)]) == 0
    asyncio.run(_look_read_only(ws, top_mailed(ws, "2026-W47.1")))
    assert reviews(ws) == []


async def _panel_and_mark(ws: Workspace, customer: str) -> tuple[str, str]:
    app = NbaApp(ws.root, today=date(2026, 11, 30))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await _look_up(pilot, customer)
        app.screen.query_one("#view").value = "below_threshold"  # where the customer is at the top
        await settle(pilot)
        table = app.screen.query_one("#customers-table")
        marks = [str(table.get_cell(key, "mark")) for key in table.rows if key.value == customer]
        return text_of(app, "#detail-text"), marks[0] if marks else ""


def test_a_flag_from_last_week_is_shown_in_this_weeks_review(sample_workspace: Workspace, later_week) -> None:
    ws = sample_workspace
    assert main(["run", "--week", "2026-W47", "--workspace", str(ws.root)]) == 0
    selection = pl.read_parquet(ws.run_dir("2026-W47.1") / "selection.parquet")
    below = selection.filter(pl.col("reason") == "below_threshold").sort("score", descending=True)
    customer = str(below["customer_id"][0])  # not mailed, so no cooldown: they are in next week's list
    reason = "balance jumped overnight"
    assert main(["flag", "2026-W47.1", customer, "--reason", reason, "--workspace", str(ws.root)]) == 0
    assert main(["export", "2026-W47.1", "--workspace", str(ws.root)]) == 0
    later_week(ws, "2026-W48", "2026-11-23")
    assert main(["run", "--week", "2026-W48", "--workspace", str(ws.root)]) == 0

    panel, mark = asyncio.run(_panel_and_mark(ws, customer))

    assert "Flagged in run 2026-W47.1 (2026-W47) by test-operator" in " ".join(panel.split())
    assert reason in panel
    assert "does not exclude" in " ".join(panel.split())
    assert mark == "flagged before"
