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
