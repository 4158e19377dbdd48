"""A run keeps the columns it read, so its raw extract (names, addresses) need not be kept for replay or review."""

from __future__ import annotations

import json
import stat

import polars as pl
import pytest
from invariants import assert_workspace_invariants

from nba_toolkit.cli import main
from nba_toolkit.core.review import RunReview
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace


def test_replay_and_review_work_from_the_kept_inputs_after_the_extract_is_deleted(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    capsys.readouterr()
    assert main(["run", "--approve", "--workspace", str(ws.root), "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    kept = ws.run_dir(run["run_id"]) / "inputs.parquet"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    columns = pl.read_parquet_schema(kept)
    assert "customer_id" in columns and "savings_balance" in columns
    assert not {"FULL_NAME", "GENDER", "POSTCODE", "full_name", "gender", "postcode"} & set(columns)

    extract = ws.snapshots_dir / "2026-W47.csv"
    extract.unlink()  # the operator removes the raw extract once the week is done
    assert main(["replay", run["run_id"], "--workspace", str(ws.root), "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["selection_identical"] and replayed["export_identical"], replayed

    review = RunReview.open(Workspace.open(ws.root), load_plugins(ws.plugin_folders()), run["run_id"])
    mailed = pl.read_parquet(ws.run_dir(run["run_id"]) / "selection.parquet").filter(pl.col("mailed"))["customer_id"][0]
    explanation = review.explain(str(mailed))
    assert explanation.problem is None and explanation.contributions, explanation
    assert_workspace_invariants(ws.root)


def test_kept_inputs_changed_after_the_run_are_not_used(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    capsys.readouterr()
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    kept = ws.run_dir(run["run_id"]) / "inputs.parquet"
    pl.read_parquet(kept).with_columns(pl.col("savings_balance") * 100).write_parquet(kept)
    (ws.snapshots_dir / "2026-W47.csv").unlink()
    main(["replay", run["run_id"], "--workspace", str(ws.root), "--json"])
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["identical"] is False and replayed["selection_identical"] is None, replayed
    assert any("the snapshot file" in problem and "is missing" in problem for problem in replayed["inputs"]), replayed
