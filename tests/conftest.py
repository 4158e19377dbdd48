"""Shared fixtures: a trained sample workspace is built once per session (training takes seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nba_toolkit.jobs.train import train
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace, init_workspace


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the real user's workspace or demo folder."""
    home = tmp_path_factory.mktemp("data-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.setenv("NBA_TOOLKIT_HOME", str(home / "workspace"))
    monkeypatch.setenv("NBA_TOOLKIT_USER", "test-operator")
    monkeypatch.setenv("NBA_TOOLKIT_CONFIG_DIR", str(home / "config"))


@pytest.fixture(scope="session")
def trained_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample workspace with a trained model; copy it before changing anything (see ``sample_workspace``)."""
    root = tmp_path_factory.mktemp("trained") / "ws"
    workspace = init_workspace(root, sample=True)
    train(workspace, load_plugins(workspace.plugin_folders(), entry_points_enabled=False))
    workspace.close()
    return root


@pytest.fixture
def sample_workspace(trained_sample: Path, tmp_path: Path) -> Workspace:
    """A private copy of the trained sample workspace for one test."""
    root = tmp_path / "ws"
    shutil.copytree(trained_sample, root)
    workspace = Workspace.open(root)
    yield workspace
    workspace.close()


@pytest.fixture
def later_week():
    """Writes the sample week's extract again for a later week (same customers, dated in that week).

    ``later_week(workspace, "2026-W48", "2026-11-23")`` returns the new file's path; ``name`` overrides
    the file name (for example to test how names are read).
    """

    def write(workspace: Workspace, week: str, monday: str, *, name: str | None = None) -> Path:
        source = workspace.snapshots_dir / "2026-W47.csv"
        path = workspace.snapshots_dir / (name or f"{week}.csv")
        path.write_bytes(source.read_bytes().decode("cp1252").replace(";2026-11-16;", f";{monday};").encode("cp1252"))
        return path

    return write
