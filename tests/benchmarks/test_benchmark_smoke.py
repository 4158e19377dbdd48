"""The benchmark at a small size, so its code cannot rot; no timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

from nba_toolkit.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"start", "load", "input checks", "score", "select", "output checks", "save", "export"}


def _bench():
    spec = importlib.util.spec_from_file_location("nba_benchmark_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_reports_every_stage_and_every_reference_point(tmp_path):
    out = tmp_path / "report.json"
    report = _bench().benchmark(
        [100_000], formats=("csv", "parquet"), repeat=1, data_dir=tmp_path / "data", backtest_customers=2_000, out=out
    )
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(report))  # written as it went
    scaled = report["backtest"]["none at 2,000 customers"]
    assert scaled["weeks"] == 78 and scaled["wall_s"] > 0 and scaled["peak_rss_mb"] > 0
    assert {(row["customers"], row["format"]) for row in report["weekly_run"]} == {(100_000, "csv"), (100_000, "parquet")}
    pandas_installed = importlib.util.find_spec("pandas") is not None
    for row in report["weekly_run"]:
        assert set(row["stages"]) == STAGES
        for figures in [*row["stages"].values(), row["end_to_end"], row["io_floor"], row["polars"]]:
            assert figures["wall_s"] >= 0 and figures["cpu_s"] >= 0
        assert row["end_to_end"]["wall_s"] >= row["stages"]["load"]["wall_s"]
        assert row["peak_rss_mb"] > 0
        assert row["run_over_floor"] > 0 and row["run_over_polars"] > 0
        assert row["rows_mailed"] > 0
        if pandas_installed:
            assert row["pandas"]["wall_s"] > 0 and row["pandas_over_run"] > 0
        else:
            assert "pip install" in row["pandas"]["skipped"]
            assert "pandas_over_run" not in row


def test_a_failing_reference_keeps_the_figures_already_measured(trained_sample, tmp_path, monkeypatch):
    """The run and the other references are reported; the failing one says why."""
    bench = _bench()
    root = tmp_path / "ws"
    shutil.copytree(trained_sample, root)

    def broken(*args):
        raise MemoryError("the reference ran out of memory")

    monkeypatch.setattr(bench, "polars_week", broken)
    figures = bench.measure(root, root / "data" / "snapshots" / "2026-W47.csv", repeat=1)

    assert figures["polars"] == {"error": "MemoryError: the reference ran out of memory"}
    assert "run_over_polars" not in figures
    assert figures["end_to_end"]["wall_s"] > 0 and figures["io_floor"]["wall_s"] > 0 and figures["run_over_floor"] > 0
    assert figures["rows_mailed"] > 0


def test_the_plain_polars_job_scores_as_the_toolkit_does(trained_sample, tmp_path):
    """Same columns, features and coefficients: each customer both score gets the same score."""
    import polars as pl

    from nba_toolkit.cli import main

    bench = _bench()
    root = tmp_path / "ws"
    shutil.copytree(trained_sample, root)
    workspace = Workspace.open(root)
    model, config = bench._model_and_config(workspace)
    bench.polars_week(root / "data" / "snapshots" / "2026-W47.csv", model, config, root)
    plain = pl.read_csv(root / "polars_2026-W47.csv")
    assert main(["run", "--workspace", str(root), "--json"]) == 0
    selection = pl.read_parquet(next((root / "runs").glob("*/selection.parquet")))
    # the toolkit also keeps out the customers in their cooldown, which the plain job (no contact history) mails
    both = plain.join(selection.select("customer_id", pl.col("score").alias("toolkit")), on="customer_id").drop_nulls()
    assert both.height > plain.height / 2
    assert (both["score"] - both["toolkit"]).abs().max() < 1e-9
    assert set(plain["group"]) == {"model", "random_control"}
