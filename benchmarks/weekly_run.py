"""Time the weekly run at scale, stage by stage, against a plain baseline.

    python benchmarks/weekly_run.py [--customers 1000000] [--repeat 3] [--format parquet|csv]

It makes a sample workspace in a temporary folder, trains the default engine
on the shipped 20,000-customer history, generates one snapshot of
``--customers`` customers with the sample generator, and times:

* the toolkit's run (``run_week``: load, input checks, score, select, output
  checks, save, ledger), per stage, and the export;
* a plain baseline doing only the unavoidable work with the same libraries:
  read the file, build the engine's features, score, take the top scores. The
  difference is what the toolkit's guarantees (typed loading with row-level
  errors, checks, reasons for every row, hashing, ledger) cost.

Nothing here is asserted; the numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args()

    from nba_toolkit.jobs.export import export_run
    from nba_toolkit.jobs.run import run_week
    from nba_toolkit.jobs.train import train
    from nba_toolkit.plugin.manager import load_plugins
    from nba_toolkit.workspace import init_workspace

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        workspace = init_workspace(tmp_path / "ws", sample=True)
        registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
        train(workspace, registry)
        print(f"workspace and model ready in {time.perf_counter() - started:.1f} s")

        snapshot = _snapshot(tmp_path, args.customers, args.format)
        print(f"snapshot: {snapshot.name}, {snapshot.stat().st_size / 1e6:.1f} MB, {args.customers:,} customers")

        stage_times: dict[str, list[float]] = {}
        totals, exports = [], []
        for _ in range(args.repeat):
            marks: list[tuple[str, float]] = []
            start = time.perf_counter()
            outcome = run_week(
                workspace,
                registry,
                snapshot=snapshot,
                week="2026-W47",
                on_progress=lambda done, total, stage, marks=marks: marks.append((stage, time.perf_counter())),
            )
            end = time.perf_counter()
            totals.append(end - start)
            for (stage, t0), (_, t1) in zip(marks, marks[1:]):
                stage_times.setdefault(stage, []).append(t1 - t0)
            t0 = time.perf_counter()
            export_run(workspace, registry, outcome.run_id, approved_by="benchmark")
            exports.append(time.perf_counter() - t0)
            _forget_export(workspace, outcome.run_id)

        baseline = [_baseline(workspace, registry, snapshot) for _ in range(args.repeat)]

    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, polars {pl.__version__}")
    print(f"{'stage':<16}{'median s':>10}")
    for stage, values in stage_times.items():
        print(f"{stage:<16}{statistics.median(values):>10.2f}")
    print(f"{'run total':<16}{statistics.median(totals):>10.2f}")
    print(f"{'export':<16}{statistics.median(exports):>10.2f}")
    print(f"{'baseline':<16}{statistics.median(baseline):>10.2f}")


def _snapshot(folder: Path, customers: int, file_format: str) -> Path:
    """One week of ``customers`` from the sample generator, as Parquet or as the bank's CSV dialect."""
    spec = importlib.util.spec_from_file_location("generate", ROOT / "sample_data" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    sys.modules["generate"] = generate
    spec.loader.exec_module(generate)
    out = folder / "generated"
    generate.generate(out, customers=customers, snapshot_only=True)
    parquet = next((out / "snapshots").glob("*.parquet"))
    if file_format == "parquet":
        return parquet
    csv = folder / f"{parquet.stem}.csv"
    generate.write_bank_csv(pl.read_parquet(parquet), csv)
    return csv


def _forget_export(workspace, run_id: str) -> None:
    """Let the next repetition export the same week again (benchmark only)."""
    with workspace.ledger.transaction() as db:
        db.execute("DELETE FROM contacts WHERE run_id = ?", (run_id,))
        db.execute("UPDATE runs SET status = 'failed' WHERE run_id = ?", (run_id,))


def _baseline(workspace, registry, snapshot: Path) -> float:
    """Read, build features, score, take the top: the work any implementation must do."""
    from nba_toolkit.core.models import load_model

    engine = registry.engine("logistic").obj
    record = workspace.ledger.active_model("logistic")
    model = load_model(workspace.root / record.path, models_dir=workspace.models_dir, expected_sha256=record.sha256)
    mapping = {bank: canonical for canonical, bank in workspace.config.columns.items()}
    start = time.perf_counter()
    if snapshot.suffix == ".parquet":
        frame = pl.read_parquet(snapshot)
    else:
        frame = pl.read_csv(snapshot, separator=";", decimal_comma=True, encoding="utf8-lossy")
    frame = frame.rename({k: v for k, v in mapping.items() if k in frame.columns}).with_columns(
        pl.col("app_installed").cast(pl.Boolean)
    )
    eligible = frame.filter((pl.col("is_investor") == 0) & (pl.col("marketing_consent") == 1))
    features = engine.features(eligible.lazy()).collect()
    scores = engine.score(model, features)
    features.select("customer_id").with_columns(score=scores).top_k(2000, by="score")
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
