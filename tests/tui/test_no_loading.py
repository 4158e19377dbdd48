"""No screen still says it is loading once its work has ended, or failed.

Every section (1-9 and the evaluation sections) is opened on a workspace
with a normal week (an exported run and the next week awaiting approval),
one whose only run was cancelled, one whose run lost its selection file (the
review's work fails), one without any snapshot, and one whose model file is
gone. After the screen's workers have finished, nothing on it may still say
"Loading", "Finding" or "Looking for".
"""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import Static
from tui_helpers import settle

from nba_toolkit.cli import main
from nba_toolkit.jobs.run import Cancelled, run_week
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.navigation import SECTIONS
from nba_toolkit.workspace import Workspace

#: words a screen shows only while its work is under way
STILL_WORKING = ("Loading", "Finding", "Looking for")
TODAY = date(2026, 11, 23)


def a_normal_week(ws: Workspace, later_week) -> None:
    """Week 47 exported, week 48 awaiting approval: every section has something to show."""
    assert main(["run", "--week", "2026-W47", "--approve", "--workspace", str(ws.root), "--json"]) == 0
    later_week(ws, "2026-W48", "2026-11-23")
    assert main(["run", "--week", "2026-W48", "--workspace", str(ws.root), "--json"]) == 0


def only_a_cancelled_run(ws: Workspace, later_week) -> None:
    """The operator cancelled the only run: it is recorded, but there is nothing to check, review or export."""
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_week(ws, load_plugins(ws.plugin_folders(), entry_points_enabled=False), week="2026-W47", cancel=cancel)
    assert [r.status for r in ws.ledger.runs()] == ["cancelled"]


def a_run_without_its_selection(ws: Workspace, later_week) -> None:
    """The run's stored selection was removed after the run: the review cannot be opened."""
    assert main(["run", "--week", "2026-W47", "--workspace", str(ws.root), "--json"]) == 0
    (ws.run_dir("2026-W47.1") / "selection.parquet").unlink()


def no_snapshot_yet(ws: Workspace, later_week) -> None:
    """The week's extract has not arrived: the Run screen finds no snapshot to offer."""
    for path in ws.snapshots_dir.iterdir():
        path.unlink()


def a_model_file_removed(ws: Workspace, later_week) -> None:
    """The active model's file is gone after a run: the model card and the explanations cannot be read."""
    assert main(["run", "--week", "2026-W47", "--workspace", str(ws.root), "--json"]) == 0
    models = list(ws.root.joinpath("models").glob("*.joblib"))
    assert models
    for path in models:
        path.unlink()


def shown(app: App) -> str:
    """Every text on the screen (and in the box of a list still without options), as plain text."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def _every_section(root: Path) -> dict[str, str]:
    app = NbaApp(root, today=TODAY)
    still: dict[str, str] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for section in SECTIONS:
            await pilot.press(section.key)
            await settle(pilot)
            assert app.current_mode == section.mode
            text = shown(app)
            if any(word in text for word in STILL_WORKING):
                still[section.title] = text
    return still


@pytest.mark.parametrize(
    "workspace_with", [a_normal_week, only_a_cancelled_run, a_run_without_its_selection, no_snapshot_yet, a_model_file_removed]
)
def test_no_screen_says_loading_after_its_work_ended(sample_workspace: Workspace, later_week, workspace_with) -> None:
    workspace_with(sample_workspace, later_week)
    still = asyncio.run(_every_section(sample_workspace.root))
    assert not still, f"still loading after the work ended: {sorted(still)}\n" + "\n".join(still.values())
