"""The whole week through the UI with Textual's Pilot, on the sample workspace; then the file and the ledger."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import shutil
from datetime import date

import polars as pl
from textual.widgets import DataTable, Select
from tui_helpers import SAMPLE_TODAY, NoticedApp, add_warning_plugin, settle, text_of, type_text, until

from nba_toolkit.paths import sample_data_dir
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.screens.dialogs import ConfirmDialog, ReasonDialog
from nba_toolkit.workspace import Workspace


async def _the_whole_week(sample_workspace: Workspace) -> None:
    root = sample_workspace.root
    add_warning_plugin(root)
    app = NbaApp(root, today=date(*SAMPLE_TODAY))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        home = text_of(app, "#home-status")
        assert "2026-W47" in home and "MISSING" in home and "2026-W47.csv is ready" in home

        # run the week on the default (newest) snapshot
        await pilot.press("2")
        await settle(pilot)
        assert str(app.screen.query_one("#snapshot", Select).value).endswith("2026-W47.csv")
        await pilot.press("s")
        await settle(pilot)
        result = text_of(app, "#run-result")
        assert "Run 2026-W47.1 for 2026-W47 is ready for review" in result
        assert app.session.run_id == "2026-W47.1"

        # the checks: every result listed; the warning holds the export back until acknowledged
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#checks-table", DataTable)
        results = sample_workspace.ledger.check_results("2026-W47.1")
        assert table.row_count == len(results) > 5
        assert "to acknowledge" in text_of(app, "#checks-title")
        await pilot.press("5")
        await settle(pilot)
        assert "warnings not acknowledged yet: test_warning" in text_of(app, "#export-preview")
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog), "approval is refused while a warning is unread"
        assert not list(sample_workspace.exports_dir.iterdir())

        await pilot.press("3")
        await settle(pilot)
        warning_row = 0  # problems come first: the only warning is the first row
        table = app.screen.query_one("#checks-table", DataTable)
        table.focus()
        table.move_cursor(row=warning_row)
        await pilot.pause()
        assert "A warning the operator must read" in text_of(app, "#check-text")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        await type_text(pilot, "volume looks right")
        await pilot.press("enter")
        await settle(pilot)
        acknowledged = sample_workspace.ledger.acknowledgements("2026-W47.1")
        assert acknowledged["test_warning"][0] == "test-operator"

        # review: counts, then look up customers and see why they were (not) selected
        selection = pl.read_parquet(root / "runs" / "2026-W47.1" / "selection.parquet")
        mailed = selection.filter(pl.col("reason") == "selected_mailed").sort("score", descending=True)
        excluded_id = str(mailed["customer_id"][5])
        below_id = str(selection.filter(pl.col("reason") == "below_threshold")["customer_id"][0])
        await pilot.press("4")
        await settle(pilot)
        counts = text_of(app, "#summary-counts")
        assert f"{selection.height:,}" in counts and "Expected conversions" in counts

        await pilot.press("slash")
        await pilot.pause()
        await type_text(pilot, below_id)
        await pilot.press("enter")
        await settle(pilot)
        detail = text_of(app, "#detail-text")
        assert f"Relation number {below_id}" in detail
        assert "is below the threshold of 1.50%: not selected" in detail

        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#lookup").value = ""
        await type_text(pilot, excluded_id)
        await pilot.press("enter")
        await settle(pilot)
        detail = text_of(app, "#detail-text")
        assert "selected and mailed" in detail and "What moves the score" in detail
        assert "(the same as the run)" in detail, "the explanation recomputes the run's score from its own inputs"

        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        await type_text(pilot, "complained last week")
        await pilot.press("enter")
        await settle(pilot)
        overrides = sample_workspace.ledger.overrides("2026-W47.1")
        assert [(o["customer_id"], o["action"], o["reason"]) for o in overrides] == [
            (excluded_id, "exclude", "complained last week")
        ]
        assert "Excluded from the mail file by test-operator" in text_of(app, "#detail-text")

        # a number that is not in the run: the previous customer's explanation does not stay under it
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("#lookup").value = ""
        await type_text(pilot, "99999999")
        await pilot.press("enter")
        await settle(pilot)
        detail = text_of(app, "#detail-text")
        assert "99999999" in detail and excluded_id not in detail and "What moves the score" not in detail

        # approve and export: the confirmation states what will be written
        await pilot.press("5")
        await settle(pilot)
        n_mailed = int(selection["mailed"].sum())
        preview = text_of(app, "#export-preview")
        assert f"{n_mailed - 1:,} rows" in preview and "Nothing holds this run back" in preview
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        expected_path = root / "exports" / "INVEST-WEEKLY_2026-W47_2026-W47.1.csv"
        assert str(expected_path.name) in app.screen.text and f"Write {n_mailed - 1:,} rows" in app.screen.text
        await pilot.press("y")
        await settle(pilot)
        shown = text_of(app, "#export-result")

    run = sample_workspace.ledger.run("2026-W47.1")
    assert run.status == "exported" and run.approved_by == "test-operator"
    assert (root / run.export_path) == expected_path
    digest = hashlib.sha256(expected_path.read_bytes()).hexdigest()
    assert run.export_sha256 == digest and digest in shown
    rows = list(csv.DictReader(expected_path.read_text(encoding="utf-8").splitlines(), delimiter=";"))
    assert len(rows) == run.export_rows == n_mailed - 1
    assert excluded_id not in {r["relation_number"] for r in rows}


async def _a_blocked_week_is_shown_and_cannot_be_approved(sample_workspace: Workspace) -> None:
    """The warehouse loaded late: the run stops at the input checks, and nothing can be approved."""
    root = sample_workspace.root
    (sample_workspace.snapshots_dir / "2026-W47.csv").unlink()
    shutil.copy(
        sample_data_dir() / "scenarios" / "late_load_2026-W47.parquet", sample_workspace.snapshots_dir / "2026-W47.parquet"
    )
    app = NoticedApp(root, today=date(*SAMPLE_TODAY))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        result = text_of(app, "#run-result")
        assert "Blocked: run 2026-W47.1 for 2026-W47 stopped" in result
        assert "freshness" in result and "Nothing was exported" in result

        await pilot.press("1")
        await settle(pilot)
        assert "BLOCKED" in text_of(app, "#home-status")

        await pilot.press("3")
        await settle(pilot)
        assert "blocking" in text_of(app, "#checks-title")

        await pilot.press("5")
        await settle(pilot)
        preview = text_of(app, "#export-preview")
        assert "Cannot be approved now" in preview and "run 2026-W47.1 is blocked" in preview
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert any("Not approved" in n for n in app.notices)

    assert sample_workspace.ledger.run("2026-W47.1").status == "blocked"
    assert not list(sample_workspace.exports_dir.iterdir())


async def _configuration_change_is_written_recorded_and_warned_about(sample_workspace: Workspace) -> None:
    root = sample_workspace.root
    before = (root / "nba.toml").read_text(encoding="utf-8")
    app = NbaApp(root, today=date(*SAMPLE_TODAY))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        capacity = app.screen.query_one("#selection-capacity")
        capacity.value = "1500"
        app.screen.query_one("#reason").value = "fewer mails in December"
        await pilot.press("ctrl+s")
        await settle(pilot)
        history = app.screen.query_one("#config-history", DataTable)
        assert history.row_count == 1

        app.screen.query_one("#selection-threshold").value = "2%"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog), "a second change within 90 days asks first"
        assert "can no longer be evaluated" in app.screen.text
        await pilot.press("n")
        await settle(pilot)

    after = (root / "nba.toml").read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [
        (
            "capacity = 2000                 # most customers the model may select in a week (holdout included)",
            "capacity = 1500                 # most customers the model may select in a week (holdout included)",
        )
    ]
    ws = Workspace.open(root)
    assert ws.config.selection.capacity == 1500 and ws.config.selection.threshold == 0.015
    [change] = ws.ledger.config_changes()
    assert (change["key"], change["old_value"], change["new_value"], change["changed_by"], change["reason"]) == (
        "selection.capacity",
        2000,
        1500,
        "test-operator",
        "fewer mails in December",
    )
    ws.close()


async def _switching_the_weekly_run_off_stops_runs(sample_workspace: Workspace) -> None:
    root = sample_workspace.root
    app = NoticedApp(root, today=date(*SAMPLE_TODAY))
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: app.screen.status is not None)  # the home screen knows whether it is on
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await settle(pilot)
        assert "weekly run OFF" in text_of(app, "#home-status")
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert any("switched off" in n for n in app.notices)
    assert not sample_workspace.ledger.runs()
    assert Workspace.open(root).config.engine.enabled is False


async def _a_folder_that_is_not_a_workspace_says_how_to_make_one(tmp_path) -> None:
    app = NbaApp(tmp_path / "nothing-here")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = text_of(app, "#welcome-text")
        assert "is not a workspace yet" in text and "nba-toolkit init" in text
        await pilot.press("3")  # sections need a workspace: nothing happens
        await pilot.pause()
        assert app.screen.query("#welcome-text")


def test_the_whole_week(sample_workspace: Workspace) -> None:
    asyncio.run(_the_whole_week(sample_workspace))


def test_a_blocked_week_is_shown_and_cannot_be_approved(sample_workspace: Workspace) -> None:
    asyncio.run(_a_blocked_week_is_shown_and_cannot_be_approved(sample_workspace))


def test_configuration_change_is_written_recorded_and_warned_about(sample_workspace: Workspace) -> None:
    asyncio.run(_configuration_change_is_written_recorded_and_warned_about(sample_workspace))


def test_switching_the_weekly_run_off_stops_runs(sample_workspace: Workspace) -> None:
    asyncio.run(_switching_the_weekly_run_off_stops_runs(sample_workspace))


def test_a_folder_that_is_not_a_workspace_says_how_to_make_one(tmp_path) -> None:
    asyncio.run(_a_folder_that_is_not_a_workspace_says_how_to_make_one(tmp_path))
