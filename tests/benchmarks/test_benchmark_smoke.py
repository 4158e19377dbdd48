"""The benchmark at a small size, so its code cannot rot; no timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"start", "load", "input checks", "score", "select", "output checks", "save", "export"}


def _bench():
    spec = importlib.util.spec_from_file_location("nba_benchmark_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_reports_every_stage_and_both_reference_points(tmp_path):
    report = _bench().benchmark(
        [100_000], formats=("csv", "parquet"), repeat=1, data_dir=tmp_path / "data", backtest_customers=2_000
    )
    json.dumps(report)  # the --json output is this document
    scaled = report["backtest"]["none at 2,000 customers"]
    assert scaled["weeks"] == 78 and scaled["wall_s"] > 0 and scaled["peak_rss_mb"] > 0
    assert {(row["customers"], row["format"]) for row in report["weekly_run"]} == {(100_000, "csv"), (100_000, "parquet")}
    pandas_installed = importlib.util.find_spec("pandas") is not None
    for row in report["weekly_run"]:
        assert set(row["stages"]) == STAGES
        for figures in [*row["stages"].values(), row["end_to_end"], row["io_floor"]]:
            assert figures["wall_s"] >= 0 and figures["cpu_s"] >= 0
        assert row["end_to_end"]["wall_s"] >= row["stages"]["load"]["wall_s"]
        assert row["peak_rss_mb"] > 0
        assert row["run_over_floor"] > 0
        assert row["rows_mailed"] > 0
        if pandas_installed:
            assert row["pandas"]["wall_s"] > 0 and row["pandas_over_run"] > 0
        else:
            assert "pip install" in row["pandas"]["skipped"]
            assert "pandas_over_run" not in row
