"""One rule decides which files in data/snapshots count, for `run`, Home and the simulation alike."""

from __future__ import annotations

import json
import shutil

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.review import home_status
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace


def _run(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["run", "--workspace", str(ws.root), *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_week_file_in_capitals_is_the_newest_for_run_and_home_alike(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], later_week
) -> None:
    ws = sample_workspace
    later_week(ws, "2026-W48", "2026-11-23", name="2026-W48.CSV")
    status = home_status(ws, load_plugins(ws.plugin_folders()))
    assert status.ready_snapshots[0] == ("2026-W48", "2026-W48.CSV")
    code, run = _run(capsys, ws)
    assert code == 0 and run["week"] == "2026-W48" and run["snapshot"].endswith("2026-W48.CSV"), run


def test_a_file_not_named_after_its_week_stops_the_default_run_and_shows_on_home(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    shutil.copy2(ws.snapshots_dir / "2026-W47.csv", ws.snapshots_dir / "latest.csv")
    code, refused = _run(capsys, ws)
    assert code == 4 and "latest.csv is not named after a week" in refused["error"], refused
    assert "--snapshot FILE" in refused["hint"]
    assert Workspace.open(ws.root).ledger.runs() == [], "nothing was run on last week's file instead"
    assert home_status(ws, load_plugins(ws.plugin_folders())).unnamed_snapshots == ["latest.csv"]
    # an explicit week, or the file itself, still runs
    code, run = _run(capsys, ws, "--snapshot", str(ws.snapshots_dir / "latest.csv"))
    assert code == 0 and run["week"] == "2026-W47", run
