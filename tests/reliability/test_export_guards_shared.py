"""The Export screen's preview and the export refuse for the same reasons (core/exportable.py)."""

from __future__ import annotations

import json

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.review import export_preview
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_an_acceptance_run_is_refused_by_the_preview_as_by_the_export(sample_workspace: Workspace, capsys) -> None:
    """Before, the preview called a dry run ready and the export refused it only after the confirmation."""
    ws = sample_workspace
    code, run = cli(capsys, "run", "--dry-run", "--workspace", str(ws.root))
    assert code == 0, run
    registry = load_plugins(ws.plugin_folders(), entry_points_enabled=False)
    preview = export_preview(ws, registry, run["run_id"])
    code, refused = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 2 and "acceptance (dry) run" in refused["error"]
    assert preview.refusals == [refused["error"]]
    assert not list(ws.exports_dir.iterdir())


def test_the_preview_lists_what_the_export_refuses_first(sample_workspace: Workspace, capsys) -> None:
    ws = sample_workspace
    text = ws.config_path.read_text(encoding="utf-8").replace("max = 2500 ", 'max = 1000\nseverity = "warn"\n', 1)
    ws.config_path.write_text(text, encoding="utf-8")
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    registry = load_plugins(ws.plugin_folders(), entry_points_enabled=False)
    preview = export_preview(ws, registry, run["run_id"])
    code, refused = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 2 and "volume_band" in refused["error"]
    assert preview.refusals[0] == refused["error"]
