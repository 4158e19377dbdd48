"""Snapshot tests of home, checks and review, on fixed data with no clock in view.

The workspace is made once for the module with everything that varies
pinned: the campaign salt (it decides the control groups), the training and
run timestamps, the operator's name, today's date, and the home folder (so
the workspace path reads ``~/ws``). Update the snapshots after a deliberate
change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look
at the report before committing them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from tui_helpers import SAMPLE_TODAY, settle

from nba_toolkit.jobs.run import run_week
from nba_toolkit.jobs.train import train
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.workspace import Workspace, init_workspace

FIXED = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED if tz else FIXED.replace(tzinfo=None)


@pytest.fixture(scope="module")
def fixed_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained sample workspace with one run of 2026-W47 awaiting approval, made on a fixed clock."""
    home = tmp_path_factory.mktemp("home")
    root = home / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NBA_TOOLKIT_USER", "analyst")
        patch.setattr("nba_toolkit.jobs.train.datetime", _FixedClock)
        patch.setattr("nba_toolkit.jobs.train.now", lambda: FIXED.isoformat())
        patch.setattr("nba_toolkit.ledger.store.now", lambda: FIXED.isoformat())
        workspace = init_workspace(root, sample=True)
        config = workspace.config_path.read_text(encoding="utf-8")
        workspace.config_path.write_text(re.sub(r'salt = "[0-9a-f]+"', 'salt = "fixed-salt"', config), encoding="utf-8")
        workspace.close()
        workspace = Workspace.open(root)
        registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
        train(workspace, registry)
        run_week(workspace, registry)
        workspace.close()
    return root


@pytest.fixture
def app(fixed_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> NbaApp:
    monkeypatch.setenv("HOME", str(fixed_workspace.parent))
    monkeypatch.setenv("NBA_TOOLKIT_USER", "analyst")
    return NbaApp(fixed_workspace, today=date(*SAMPLE_TODAY))


def _after(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_home(app: NbaApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=(100, 32), run_before=_after())


def test_checks(app: NbaApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=(100, 32), run_before=_after("3"))


def test_review_summary(app: NbaApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=(100, 40), run_before=_after("4"))


def test_review_customers(app: NbaApp, snap_compare) -> None:
    assert snap_compare(app, terminal_size=(160, 40), run_before=_after("4", "t"))
