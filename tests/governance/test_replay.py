"""Replay: a past run recomputed from its recorded inputs is identical, or says what changed."""

from __future__ import annotations

import json

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_two_runs_then_replay_of_the_first(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    code, first = _json(capsys, "run", "--approve", "--workspace", str(ws.root))
    assert code == 0 and first["status"] == "exported"
    # the second run sees the first one's contacts (its cooldown differs), the replay must not
    code, second = _json(capsys, "run", "--workspace", str(ws.root))
    assert code == 0 and second["counts"] != first["counts"]

    code, report = _json(capsys, "replay", first["run_id"], "--workspace", str(ws.root))
    assert code == 0, report
    assert report["identical"] and report["selection_identical"] and report["export_identical"]
    assert report["export_sha256"] == first["export"]["sha256"]
    code, report = _json(capsys, "replay", second["run_id"], "--workspace", str(ws.root))
    assert code == 0 and report["selection_identical"] and report["export_identical"] is None

    # one byte of the input changed: replay names the file and recomputes nothing
    snapshot = ws.snapshots_dir / "2026-W47.csv"
    data = bytearray(snapshot.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    snapshot.write_bytes(bytes(data))
    code, report = _json(capsys, "replay", first["run_id"], "--workspace", str(ws.root))
    assert code == 4 and not report["identical"]
    assert report["selection_identical"] is None
    assert any("2026-W47.csv" in problem and "changed after the run" in problem for problem in report["inputs"])
    capsys.readouterr()
    assert main(["replay", first["run_id"], "--workspace", str(ws.root)]) == 4
    assert "2026-W47.csv was changed after the run" in capsys.readouterr().out


def test_replay_names_a_missing_model_and_refuses_an_unfinished_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, run = _json(capsys, "run", "--workspace", str(ws.root))
    model = next(ws.models_dir.glob("*.joblib"))
    model.unlink()
    code, report = _json(capsys, "replay", run["run_id"], "--workspace", str(ws.root))
    assert code == 4 and any("model file" in p and "missing" in p for p in report["inputs"])
    code, report = _json(capsys, "replay", "2026-W47.99", "--workspace", str(ws.root))
    assert code == 2 and "no run" in report["error"]
