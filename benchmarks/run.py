"""Time the weekly run at scale, stage by stage, against two reference points.

    python benchmarks/run.py --customers 1000000 --format both --json

For every size it makes (once, cached in ``--data-dir``) one generated week of
that many customers with the sample generator, as Parquet and in the bank's CSV
dialect, trains the default engine in a temporary sample workspace, and then,
in a fresh Python process per size and format (so peak memory does not mix):

* times ``run_week`` per stage (start: recording the run in the ledger; load;
  input checks; score; select; output checks; save: run files and ledger) and
  ``export_run``, as wall and CPU seconds, with the peak resident set size of
  the process after the run;
* times the **I/O floor**: read only the columns the selection needs, typed
  by the reader, and write one score column, nothing else;
* times the **plain Polars job**, the reference a user could write: the same
  columns only, eligibility, the engine's features and the registered
  model's coefficients, threshold and capacity, holdout and random control
  drawn with the toolkit's own hashing (``core/assignment.uniform``), and the
  mail CSV; no checks, no cooldown, no ledger;
* times a **plain pandas implementation** of the same steps, as a competent
  analyst would write it (only with the ``bench`` extra: ``pip install
  '.[bench]'``, which brings pandas and pyarrow for its Parquet reader;
  without pandas this comparison is reported as skipped).

The ratios (run / floor, run / plain Polars job, pandas / run) compare
figures from the same process run, so they hold on a noisy machine. A
reference that fails is reported with its error beside the figures already
measured, and the report is written to ``--out`` after every measure, so an
interrupted benchmark keeps what it measured. Optionally it also times the
backtest over the sample history (``--backtest none weekly``). Nothing is
asserted here; the figures go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEEK = "2026-W47"
STAGES = ("start", "load", "input checks", "score", "select", "output checks", "save", "export")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--format", choices=("csv", "parquet", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measure; the median is reported")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "nba-bench")
    parser.add_argument("--out", type=Path, help="also write the report here after every measure (default: DATA_DIR/report.json)")
    parser.add_argument("--backtest", nargs="*", choices=("none", "weekly"), default=[], help="also time the backtest")
    parser.add_argument(
        "--backtest-customers",
        type=int,
        metavar="N",
        help="also time the backtest without retraining over the sample's 78 weeks with N customers each",
    )
    parser.add_argument("--backtest-worker", metavar="WORKSPACE", help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=2, metavar=("WORKSPACE", "SNAPSHOT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(Path(args.worker[0]), Path(args.worker[1]), repeat=args.repeat)))
        return
    if args.backtest_worker:
        print(json.dumps(_backtest_in_this_process(Path(args.backtest_worker))))
        return
    formats = ("csv", "parquet") if args.format == "both" else (args.format,)
    report = benchmark(
        args.customers,
        formats=formats,
        repeat=args.repeat,
        data_dir=args.data_dir,
        backtest=args.backtest,
        backtest_customers=args.backtest_customers,
        out=args.out or args.data_dir / "report.json",
    )
    print(json.dumps(report, indent=2) if args.json else _tables(report))


def benchmark(
    customers: list[int],
    *,
    formats: tuple[str, ...] = ("csv", "parquet"),
    repeat: int = 3,
    data_dir: Path,
    backtest: list[str] = (),
    backtest_customers: int | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Every measure as one JSON-ready document (the Python entry point the smoke test uses).

    With ``out``, the document as far as it got is written there after each
    measure; a measure that fails is recorded with its error and the next
    one goes on.
    """
    from nba_toolkit.jobs.train import train
    from nba_toolkit.plugin.manager import load_plugins
    from nba_toolkit.workspace import init_workspace

    report: dict[str, Any] = {"machine": machine(), "repeat": repeat, "weekly_run": [], "backtest": {}}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = init_workspace(Path(tmp) / "ws", sample=True)
        with workspace.config_path.open("a", encoding="utf-8") as toml:
            # The generated weeks are a population of their own: the sample's contact history is not theirs.
            toml.write(
                "\n[checks.contact_overlap]\nenabled = false\n"
                'reason = "benchmark: the generated customers are not the ones in the sample contact history"\n'
            )
        registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
        started = time.perf_counter()
        train(workspace, registry)
        report["train_s"] = round(time.perf_counter() - started, 3)
        _save(report, out)
        for count in customers:
            files = snapshots(data_dir, count)
            for file_format in formats:
                figures = _kept(_in_fresh_process, workspace.root, files[file_format], repeat)
                report["weekly_run"].append({"customers": count, "format": file_format, **figures})
                _save(report, out)
        for retrain in backtest:
            report["backtest"][retrain] = _kept(time_backtest, workspace, registry, retrain)
            _save(report, out)
        if backtest_customers:
            scaled = scaled_history(workspace.root, snapshots(data_dir, backtest_customers)["parquet"], Path(tmp) / "scaled")
            report["backtest"][f"none at {backtest_customers:,} customers"] = _kept(_backtest_in_fresh_process, scaled)
            _save(report, out)
    return report


def _kept(measure, *arguments) -> dict[str, Any]:
    """The figures of ``measure(*arguments)``, or its error: one failing measure never loses the others."""
    try:
        return measure(*arguments)
    except Exception as exc:  # the benchmark reports any failure and goes on
        return {"error": f"{type(exc).__name__}: {exc}"}


def _save(report: dict[str, Any], out: Path | None) -> None:
    if out is not None:
        from nba_toolkit.core.files import atomic_write_bytes

        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, json.dumps(report, indent=2).encode("utf-8"))


def snapshots(data_dir: Path, customers: int) -> dict[str, Path]:
    """One generated week of ``customers`` as Parquet and as the bank's CSV, made once and reused."""
    import polars as pl

    folder = Path(data_dir) / str(customers)
    generated = folder / "generated"
    parquet = generated / "snapshots" / f"{WEEK}.parquet"
    csv = folder / f"{WEEK}.csv"
    generate = _generator()
    # ground_truth.json is written last: without it the folder is an interrupted generation.
    if not (generated / "ground_truth.json").is_file():
        generate.generate(generated, customers=customers, snapshot_only=True)
    if not csv.is_file():
        partial = csv.with_suffix(".csv.tmp")
        generate.write_bank_csv(pl.read_parquet(parquet), partial)
        partial.replace(csv)
    return {"parquet": parquet, "csv": csv}


def _generator():
    spec = importlib.util.spec_from_file_location("nba_sample_generate", ROOT / "sample_data" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _in_fresh_process(workspace: Path, snapshot: Path, repeat: int) -> dict[str, Any]:
    return _worker(["--repeat", str(repeat), "--worker", str(workspace), str(snapshot)], f"the benchmark of {snapshot}")


def _worker(arguments: list[str], what: str) -> dict[str, Any]:
    """This script run again in a new process with ``arguments``: its JSON output, or why it failed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *arguments], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def measure(workspace_root: Path, snapshot: Path, *, repeat: int) -> dict[str, Any]:
    """The run, the floor and pandas on one snapshot, in this process (run first, so its peak RSS is its own)."""
    from nba_toolkit.plugin.manager import load_plugins
    from nba_toolkit.workspace import Workspace

    registry = load_plugins(Workspace.open(workspace_root).plugin_folders(), entry_points_enabled=False)
    with tempfile.TemporaryDirectory() as copies:
        # a week is mailed once per workspace, so each repetition runs and exports in its own copy
        runs = [_time_run(_copy(workspace_root, Path(copies) / str(k)), registry, snapshot) for k in range(repeat)]
    workspace = Workspace.open(workspace_root)
    peak_rss_mb = _peak_rss_mb()
    stages = {name: _median([r["stages"][name] for r in runs]) for name in STAGES}
    end_to_end = _median([r["end_to_end"] for r in runs])
    model, config = _model_and_config(workspace)
    result: dict[str, Any] = {
        "snapshot_mb": round(snapshot.stat().st_size / 1e6, 1),
        "end_to_end": end_to_end,
        "stages": stages,
        "peak_rss_mb": round(peak_rss_mb),
        "rows_mailed": runs[-1]["rows_mailed"],
    }
    references = {
        "io_floor": (io_floor, (snapshot, config)),
        "polars": (polars_week, (snapshot, model, config, workspace.root)),
    }
    if importlib.util.find_spec("pandas") is None:
        result["pandas"] = {"skipped": "pandas is not installed; install the bench extra: pip install '.[bench]'"}
    else:
        references["pandas"] = (pandas_week, (snapshot, model, config, workspace.root))
    for name, (job, arguments) in references.items():
        result[name] = _kept(_repeated, job, arguments, repeat)
    for name, ratio in (("io_floor", "run_over_floor"), ("polars", "run_over_polars")):
        if "wall_s" in result[name]:
            result[ratio] = round(end_to_end["wall_s"] / result[name]["wall_s"], 2)
    if "wall_s" in result.get("pandas", {}):
        result["pandas_over_run"] = round(result["pandas"]["wall_s"] / end_to_end["wall_s"], 2)
    return result


def _peak_rss_mb() -> float:
    """This process's peak resident set size.

    Linux carries ``ru_maxrss`` over from the parent that started this worker
    (here: the one that trained the workspace), so the high-water mark of
    this process's own memory (VmHWM) is read where there is one.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _time_run(workspace, registry, snapshot: Path) -> dict[str, Any]:
    """One run and its export, with the wall and CPU clock at every stage boundary."""
    from nba_toolkit.jobs.export import export_run
    from nba_toolkit.jobs.run import run_week

    marks = [("start", time.perf_counter(), time.process_time())]

    def progress(done: int, total: int, stage: str) -> None:
        marks.append((stage, time.perf_counter(), time.process_time()))

    outcome = run_week(workspace, registry, snapshot=snapshot, on_progress=progress)
    marks[-1] = ("export", *marks[-1][1:])  # the "done" mark starts the export
    exported = export_run(workspace, registry, outcome.run_id, approved_by="benchmark")
    marks.append(("end", time.perf_counter(), time.process_time()))
    workspace.close()
    stages = {name: {"wall_s": t1 - t0, "cpu_s": c1 - c0} for (name, t0, c0), (_, t1, c1) in zip(marks, marks[1:])}
    return {
        "stages": stages,
        "end_to_end": {"wall_s": marks[-1][1] - marks[0][1], "cpu_s": marks[-1][2] - marks[0][2]},
        "rows_mailed": exported.rows,
    }


def _copy(workspace_root: Path, to: Path):
    """A copy of the trained benchmark workspace, opened (copying is not timed)."""
    from nba_toolkit.workspace import Workspace

    shutil.copytree(workspace_root, to)
    return Workspace.open(to)


def _repeated(function, arguments: tuple, repeat: int) -> dict[str, float]:
    return _median([_timed(function, *arguments) for _ in range(repeat)])


def _timed(function, *args, **kwargs) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args, **kwargs)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def _median(values: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(v[key] for v in values), 3) for key in values[0]}


def selection_columns(config) -> dict[str, Any]:
    """The bank's names of the columns the selection needs, with their Polars types (what the plain jobs read)."""
    import polars as pl

    types = {
        "customer_id": pl.Int64,
        "is_investor": pl.Int64,
        "marketing_consent": pl.Int64,
        "savings_balance": pl.Float64,
        "current_balance": pl.Float64,
        "app_installed": pl.Int64,
        "n_accounts": pl.Int64,
        "logins_per_month": pl.Int64,
        "n_products": pl.Int64,
        "fund_change_1w": pl.Float64,
        "fund_change_4w": pl.Float64,
        "age_band": pl.String,
    }
    return {config.columns.get(name, name): kind for name, kind in types.items()}


def _read_needed(snapshot: Path, config):
    """Only the columns the selection needs, typed by the reader, in canonical names."""
    import polars as pl

    needed = selection_columns(config)
    if snapshot.suffix == ".parquet":
        frame = pl.read_parquet(snapshot, columns=list(needed))
    else:
        frame = pl.read_csv(
            snapshot, separator=";", decimal_comma=True, encoding="utf8-lossy", columns=list(needed), schema_overrides=needed
        )
    return frame.rename({bank: canonical for canonical, bank in config.columns.items() if bank in needed})


def io_floor(snapshot: Path, config) -> None:
    """Read the columns the selection needs and write one score column: what any weekly job costs at least."""
    import polars as pl

    frame = _read_needed(snapshot, config)
    with tempfile.TemporaryDirectory() as tmp:
        frame.select(pl.lit(0.5).alias("score")).write_parquet(Path(tmp) / "score.parquet")


def polars_week(snapshot: Path, model, config, out: Path) -> None:
    """The weekly selection as a user would write it in Polars: the needed columns, the same model, no checks, no ledger."""
    import polars as pl

    from nba_toolkit.core.assignment import uniform

    bands = model.layout.levels["age_band"]  # the levels the model learned, in its column order
    eligible = _read_needed(snapshot, config).filter((pl.col("is_investor") == 0) & (pl.col("marketing_consent") == 1))
    features = eligible.select(
        pl.col("savings_balance").clip(lower_bound=0).log1p(),
        pl.col("current_balance").clip(lower_bound=0).log1p(),
        (
            (
                pl.col("app_installed").cast(pl.Float64)
                + (pl.col("n_accounts") / 4).clip(upper_bound=1.0)
                + (pl.col("logins_per_month") / 30).clip(upper_bound=1.0)
            )
            / 3
        ).alias("engagement"),
        pl.col("n_products").cast(pl.Float64),
        *[(pl.col("age_band") == band).cast(pl.Float64).alias(band) for band in bands],
        (~pl.col("age_band").is_in(bands)).cast(pl.Float64).alias("other"),
        pl.col("fund_change_1w"),
        pl.col("fund_change_4w"),
    )
    scored = eligible.select("customer_id").with_columns(score=model.estimator.predict_proba(features.to_numpy())[:, 1])
    settings, salt = config.selection, config.campaign.salt
    top = scored.filter(pl.col("score") >= settings.threshold).top_k(settings.capacity, by="score")
    mailed = top.filter(pl.Series(uniform(top["customer_id"], salt, "holdout") >= settings.holdout_share))
    rest = scored.join(top, on="customer_id", how="anti")
    controls = (
        rest.with_columns(u=uniform(rest["customer_id"], salt, "random_control"))
        .bottom_k(round(settings.random_control_share * settings.capacity), by="u")
        .drop("u")
    )
    mail = pl.concat([mailed.with_columns(group=pl.lit("model")), controls.with_columns(group=pl.lit("random_control"))])
    mail.with_columns(campaign_code=pl.lit(config.campaign.code)).write_csv(Path(out) / f"polars_{snapshot.stem}.csv")


def _model_and_config(workspace):
    from nba_toolkit.core.models import load_model

    record = workspace.ledger.active_model("logistic")
    model = load_model(workspace.root / record.path, models_dir=workspace.models_dir, expected_sha256=record.sha256)
    return model, workspace.config


def pandas_week(snapshot: Path, model, config, out: Path) -> None:
    """The weekly selection as an analyst would write it in pandas, vectorised; no checks, no ledger."""
    import hashlib

    import numpy as np
    import pandas as pd

    bands = model.layout.levels["age_band"]  # the levels the model learned, in its column order
    if snapshot.suffix == ".parquet":
        frame = pd.read_parquet(snapshot)
    else:
        frame = pd.read_csv(snapshot, sep=";", decimal=",", encoding="cp1252")
    frame = frame.rename(columns={bank: canonical for canonical, bank in config.columns.items()})
    eligible = frame[(frame["is_investor"] == 0) & (frame["marketing_consent"] == 1)]
    features = np.column_stack(
        [
            np.log1p(eligible["savings_balance"].clip(lower=0)),
            np.log1p(eligible["current_balance"].clip(lower=0)),
            (
                eligible["app_installed"].astype(float)
                + (eligible["n_accounts"] / 4).clip(upper=1.0)
                + (eligible["logins_per_month"] / 30).clip(upper=1.0)
            )
            / 3,
            eligible["n_products"].astype(float),
            *[(eligible["age_band"] == band).astype(float) for band in bands],
            (~eligible["age_band"].isin(bands)).astype(float),
            eligible["fund_change_1w"].astype(float),
            eligible["fund_change_4w"].astype(float),
        ]
    )
    scores = model.estimator.predict_proba(np.nan_to_num(features))[:, 1]
    scored = pd.DataFrame({"customer_id": eligible["customer_id"].to_numpy(), "score": scores})
    settings = config.selection
    above = scored[scored["score"] >= settings.threshold]
    top = above.nlargest(settings.capacity, "score")
    salt = config.campaign.salt

    def draw(ids: pd.Series, stream: str) -> np.ndarray:
        keyed = ids.astype(str) + f"\x00{salt}\x00{stream}"
        return pd.util.hash_pandas_object(keyed, index=False).to_numpy() / 2.0**64

    mailed = top[draw(top["customer_id"], "holdout") >= settings.holdout_share]
    rest = scored[~scored["customer_id"].isin(top["customer_id"])]
    controls = rest.assign(u=draw(rest["customer_id"], "random_control")).nsmallest(
        round(settings.random_control_share * settings.capacity), "u"
    )
    mail = pd.concat([mailed.assign(group="model"), controls[["customer_id", "score"]].assign(group="random_control")])
    mail["campaign_code"] = config.campaign.code
    path = Path(out) / f"pandas_{hashlib.sha1(str(snapshot).encode()).hexdigest()[:8]}.csv"
    mail.to_csv(path, index=False)


def time_backtest(workspace, registry, retrain: str) -> dict[str, Any]:
    """The backtest over the sample workspace's whole history (the job function, not the command)."""
    from nba_toolkit.jobs import backtest as job

    wall, cpu = time.perf_counter(), time.process_time()
    report = job.backtest_workspace(workspace, registry, retrain=retrain)
    return {
        "first_week": report.first_week,
        "last_week": report.last_week,
        "weeks": report.results[0].backtest.weekly.height,
        "wall_s": round(time.perf_counter() - wall, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
    }


def scaled_history(sample_root: Path, week: Path, root: Path) -> Path:
    """A copy of the sample workspace whose 78 weeks each hold the generated ``week``'s customers.

    Each of the 77 history weeks is the generated week dated as that week, with
    that week's fund index changes, so the market band and the cooldown work
    as on the sample; the generated week itself is the 78th. Written as a
    stream, without holding 78 weeks in memory. Outcomes are left out: they
    belong to the sample's customers, so only the replay is timed.
    """
    import polars as pl

    shutil.copytree(sample_root, root)
    (root / "data" / "outcomes.csv").unlink()
    for old in (root / "data" / "snapshots").iterdir():
        old.unlink()
    shutil.copy2(week, root / "data" / "snapshots" / f"{WEEK}.parquet")
    weeks = (
        pl.scan_parquet(sample_root / "data" / "history.parquet")
        .select("SNAPSHOT_DATE", "FUND_CHG_1W", "FUND_CHG_4W")
        .unique()
        .sort("SNAPSHOT_DATE")
        .collect()
    )
    customers = pl.scan_parquet(week).drop("SNAPSHOT_DATE", "FUND_CHG_1W", "FUND_CHG_4W")
    pl.concat(
        [customers.with_columns(**{name: pl.lit(value) for name, value in row.items()}) for row in weeks.iter_rows(named=True)]
    ).sink_parquet(root / "data" / "history.parquet")
    return root


def _backtest_in_fresh_process(workspace: Path) -> dict[str, Any]:
    return _worker(["--backtest-worker", str(workspace)], "the backtest at scale")


def _backtest_in_this_process(root: Path) -> dict[str, Any]:
    from nba_toolkit.plugin.manager import load_plugins
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(root)
    figures = time_backtest(workspace, load_plugins(workspace.plugin_folders(), entry_points_enabled=False), "none")
    return {**figures, "peak_rss_mb": round(_peak_rss_mb())}


def machine() -> dict[str, Any]:
    import polars as pl
    import sklearn

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "scikit_learn": sklearn.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _tables(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']}", f"training the sample model: {report['train_s']} s", ""]
    for row in report["weekly_run"]:
        if "error" in row:
            lines += [f"{row['customers']:,} customers, {row['format']}: {row['error']}", ""]
            continue
        lines.append(
            f"{row['customers']:,} customers, {row['format']} ({row['snapshot_mb']} MB), peak RSS {row['peak_rss_mb']} MB"
        )
        for stage, figures in row["stages"].items():
            lines.append(f"  {stage:<16}{figures['wall_s']:>8.3f} s wall {figures['cpu_s']:>8.3f} s CPU")
        lines.append(f"  {'end to end':<16}{row['end_to_end']['wall_s']:>8.3f} s wall {row['end_to_end']['cpu_s']:>8.3f} s CPU")
        for name, label, ratio in (
            ("io_floor", "I/O floor", "run_over_floor"),
            ("polars", "plain Polars", "run_over_polars"),
            ("pandas", "pandas", "pandas_over_run"),
        ):
            figures = row.get(name, {})
            if "wall_s" in figures:
                lines.append(f"  {label:<16}{figures['wall_s']:>8.3f} s wall; {ratio.replace('_', ' ')} = {row[ratio]}")
            else:
                lines.append(f"  {label}: {figures.get('skipped') or figures.get('error')}")
        lines.append("")
    for retrain, figures in report["backtest"].items():
        lines.append(f"backtest, retrain={retrain}: {figures}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
