"""One obvious next step in the UI: a week run again asks first, a run can be withdrawn, a cancelled run is
recorded as cancelled, quitting during a run asks, and every screen opens on the run that awaits the operator."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from tui_helpers import SAMPLE_TODAY, settle, text_of, type_text, until

from nba_toolkit.cli import main
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.screens.dialogs import ConfirmDialog, ReasonDialog
from nba_toolkit.workspace import Workspace

WEEK = "2026-W47"


@pytest.fixture
def slow_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each run waits two seconds after it is recorded, before its first stage: time to cancel it or quit."""
    monkeypatch.setenv("NBA_TOOLKIT_PAUSE_AT", "run.begun")
    monkeypatch.setenv("NBA_TOOLKIT_PAUSE_SECONDS", "2")


def statuses(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return dict(db.execute("SELECT run_id, status FROM runs ORDER BY rowid"))


def test_running_a_week_again_asks_and_a_run_can_be_withdrawn_on_export(sample_workspace: Workspace) -> None:
    root = sample_workspace.root

    async def scenario() -> None:
        app = NbaApp(root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            assert f"Run {WEEK}.1 for {WEEK} is ready for review" in text_of(app, "#run-result")

            await pilot.press("s")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmDialog) and f"{WEEK}.1 awaiting approval" in app.screen.text
            await pilot.press("n")
            await settle(pilot)
            assert statuses(root) == {f"{WEEK}.1": "awaiting_approval"}, "no second run without a yes"
            assert "Not run" in text_of(app, "#run-result")

            await pilot.press("s")
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            assert f"Run {WEEK}.2 for {WEEK} is ready for review" in text_of(app, "#run-result")

            await pilot.press("5")
            await settle(pilot)
            assert f"Run {WEEK}.2" in text_of(app, "#export-preview")
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, ReasonDialog)
            await type_text(pilot, "second try was wrong")
            await pilot.press("enter")
            await settle(pilot)
            assert statuses(root) == {f"{WEEK}.1": "awaiting_approval", f"{WEEK}.2": "withdrawn"}
            # on to the run that still awaits the operator
            await until(pilot, lambda: f"Run {WEEK}.1" in text_of(app, "#export-preview"))

            await pilot.press("1")
            await settle(pilot)
            home = text_of(app, "#home-status")
            assert f"{WEEK}.1 awaits review" in home and f"{WEEK}.2" not in home

            await pilot.press("7")
            await settle(pilot)
            await pilot.press("enter")  # the newest run: the withdrawn one, with who and why
            await settle(pilot)
            detail = " ".join(text_of(app, "#run-detail-text").split())
            assert "withdrawn" in detail and "by test-operator" in detail and "second try was wrong" in detail

    asyncio.run(scenario())
    record = Workspace.open(root).ledger.run(f"{WEEK}.2")
    assert (record.withdrawn_by, record.withdrawn_reason) == ("test-operator", "second try was wrong")


def test_after_a_cancelled_run_the_screens_open_on_the_run_that_awaits_the_operator(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], slow_start: None
) -> None:
    root = sample_workspace.root
    assert main(["run", "--workspace", str(root), "--json"]) == 0
    capsys.readouterr()

    async def scenario() -> None:
        app = NbaApp(root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("y")
            await until(pilot, lambda: getattr(app.screen, "running", False))
            app.screen.action_cancel_run()  # what Escape does on the Run screen; the run stops before its next stage
            await settle(pilot)
            assert "recorded as cancelled" in text_of(app, "#run-result")
            assert statuses(root) == {f"{WEEK}.1": "awaiting_approval", f"{WEEK}.2": "cancelled"}

            await pilot.press("3")
            await settle(pilot)
            assert f"Run {WEEK}.1" in text_of(app, "#checks-title")
            await pilot.press("4")
            await settle(pilot)
            title = text_of(app, "#review-title")
            assert f"Run {WEEK}.1" in title and "Loading" not in title
            await pilot.press("5")
            await settle(pilot)
            assert f"Run {WEEK}.1" in text_of(app, "#export-preview")

    asyncio.run(scenario())


def test_with_only_a_cancelled_run_no_screen_stays_loading(sample_workspace: Workspace, slow_start: None) -> None:
    root = sample_workspace.root

    async def scenario() -> None:
        app = NbaApp(root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.screen.running)
            app.screen.action_cancel_run()  # what Escape does on the Run screen; the run stops before its next stage
            await settle(pilot)
            assert statuses(root) == {f"{WEEK}.1": "cancelled"}
            for key, widget in (("3", "#checks-title"), ("4", "#review-title"), ("5", "#export-preview")):
                await pilot.press(key)
                await settle(pilot)
                shown = text_of(app, widget)
                assert "Loading" not in shown and "No run awaits review" in shown, (key, shown)

    asyncio.run(scenario())


def test_quitting_during_a_run_asks_and_a_yes_records_the_run_as_cancelled(sample_workspace: Workspace, slow_start: None) -> None:
    root = sample_workspace.root

    async def scenario() -> None:
        app = NbaApp(root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("s")
            await until(pilot, lambda: app.screen.running)
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert "A run is in progress" in app.screen.text
            await pilot.press("n")
            await settle(pilot)
            assert app.is_running and "ready for review" in text_of(app, "#run-result"), "a no keeps the run going"

            await pilot.press("s")
            await settle(pilot)
            await pilot.press("y")  # the week again, next to the first run
            await until(pilot, lambda: getattr(app.screen, "running", False))
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and "A run is in progress" in app.screen.text)
            await pilot.press("y")
            await settle(pilot)
        assert app.return_code == 0

    asyncio.run(scenario())
    assert statuses(root) == {f"{WEEK}.1": "awaiting_approval", f"{WEEK}.2": "cancelled"}


# ------------------------------------------------------------------ degraded and warnings, on every screen


def degraded_week(ws: Workspace) -> None:
    """This week's extract without the logins column (an optional input), and feature drift as a warning."""
    import polars as pl

    path = ws.snapshots_dir / f"{WEEK}.csv"
    frame = pl.read_csv(path, separator=";", infer_schema=False, encoding="utf8-lossy")
    frame.drop("IB_LOGINS_M").write_csv(path, separator=";")
    with ws.config_path.open("a", encoding="utf-8") as handle:
        handle.write('\n[checks.feature_drift]\nseverity = "warn"\n')


def test_a_degraded_run_with_a_warning_says_so_on_run_checks_review_and_export(sample_workspace: Workspace) -> None:
    from textual.widgets import DataTable

    root = sample_workspace.root
    degraded_week(sample_workspace)
    stand_in = "logins_per_month was missing from the snapshot for 20,000 customers and set to 6"

    async def scenario() -> None:
        app = NbaApp(root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            result = " ".join(text_of(app, "#run-result").split())
            assert "ready for review" in result and "Degraded" in result and stand_in in result
            assert "Before export, acknowledge on 3 Checks: feature_drift" in result

            await pilot.press("3")
            await settle(pilot)
            title = " ".join(text_of(app, "#checks-title").split())
            assert "Degraded" in title and stand_in in title
            table = app.screen.query_one("#checks-table", DataTable)
            assert str(table.get_row_at(0)[0]) == "feature_drift", "the warning is the first row"
            assert all(str(table.get_row_at(i)[3]).endswith("pass") for i in range(1, table.row_count))

            await pilot.press("4")
            await settle(pilot)
            assert "Degraded" in text_of(app, "#review-title")
            await pilot.press("slash")
            await pilot.pause()
            customer = app.screen.review.page(0).rows[0]["customer_id"]
            await type_text(pilot, customer)
            await pilot.press("enter")
            await settle(pilot)
            detail = text_of(app, "#detail-text")
            assert "The customer's values" in detail and "Recomputed from the run's snapshot and model" in detail, detail
            assert "(the same as the run)" in detail

            await pilot.press("5")
            await settle(pilot)
            preview = " ".join(text_of(app, "#export-preview").split())
            assert "warnings not acknowledged yet: feature_drift" in preview
            assert "Degraded" in preview and stand_in in preview, "degraded also while a warning holds the export back"

    asyncio.run(scenario())
    assert main(["acknowledge", f"{WEEK}.1", "feature_drift", "--workspace", str(root), "--note", "stand-in week"]) == 0
    import polars as pl

    selection = pl.read_parquet(root / "runs" / f"{WEEK}.1" / "selection.parquet")
    mailed = str(selection.filter(pl.col("mailed"))["customer_id"][0])
    Workspace.open(root).ledger.add_override(f"{WEEK}.1", mailed, action="flag", reason="odd balance", by="test-operator")

    async def export() -> None:
        app = NbaApp(root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("5")
            await settle(pilot)
            preview = " ".join(text_of(app, "#export-preview").split())
            assert "Nothing holds this run back, but you approve it with" in preview
            assert "the warning feature_drift was acknowledged by test-operator" in preview
            assert f"degraded: {stand_in}" in preview
            assert "1 flagged customer is still in the file (a flag does not exclude)" in preview
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDialog)
            assert "feature_drift was acknowledged" in app.screen.text and "degraded:" in app.screen.text
            await pilot.press("n")

    asyncio.run(export())


def test_the_residual_screen_says_why_when_its_work_fails(sample_workspace: Workspace) -> None:
    root = sample_workspace.root
    assert main(["run", "--approve", "--workspace", str(root), "--json"]) == 0
    (root / "runs" / f"{WEEK}.1" / "inputs.parquet").unlink()
    (root / "data" / "snapshots" / f"{WEEK}.csv").unlink()

    async def scenario() -> None:
        app = NbaApp(root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("g")
            await until(pilot, lambda: "Finding" not in text_of(app, "#residual-summary"), rounds=3000)
            assert "could not be found" in text_of(app, "#residual-summary") and "no longer there" in text_of(
                app, "#residual-summary"
            )

    asyncio.run(scenario())
