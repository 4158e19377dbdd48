"""A sample workspace with exported runs, built once: the evaluation, backtest, residual and what-if tests read it.

Weeks 2026-W36 to W38 are run from the history (their 4-week windows are
over, so they can be evaluated), then 2026-W44 to W46 from the history and
2026-W47 from the sample snapshot, in order, each approved and exported, as
an operator would have done. Tests that change anything work on a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.core.weeks import parse_week
from nba_toolkit.jobs.export import export_run
from nba_toolkit.jobs.run import run_week
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace

EVALUATED_WEEKS = ("2026-W36", "2026-W37", "2026-W38")
RECENT_WEEKS = ("2026-W44", "2026-W45", "2026-W46", "2026-W47")


@pytest.fixture(scope="session")
def recorded_root(trained_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recorded") / "ws"
    shutil.copytree(trained_sample, root)
    with (root / "nba.toml").open("a", encoding="utf-8") as config:
        # weeks months apart are run back to back here, which the check against recent weeks rightly dislikes
        config.write('\n[checks.recent_volume]\nenabled = false\nreason = "test: weeks months apart run in a row"\n')
    workspace = Workspace.open(root)
    registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
    history = pl.read_parquet(workspace.history_path)
    for week in (*EVALUATED_WEEKS, *RECENT_WEEKS):
        if week != "2026-W47":
            snapshot = history.filter(pl.col("SNAPSHOT_DATE") == parse_week(week))
            snapshot.write_parquet(workspace.snapshots_dir / f"{week}.parquet")
        outcome = run_week(workspace, registry, week=week)
        for check in outcome.checks:
            if check.status != "pass":
                workspace.ledger.acknowledge(outcome.run_id, check.check, by="test-operator", note="test")
        export_run(workspace, registry, outcome.run_id, approved_by="test-operator")
    workspace.close()
    return root


@pytest.fixture
def recorded(recorded_root: Path, tmp_path: Path) -> Workspace:
    """A private copy of the workspace with exported runs, for one test."""
    root = tmp_path / "ws"
    shutil.copytree(recorded_root, root)
    workspace = Workspace.open(root)
    yield workspace
    workspace.close()
