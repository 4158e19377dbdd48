"""Time the heavy commands on bank-size workspaces, with each command's peak memory.

    python benchmarks/scale.py --customers 20000 100000 --json

For every size it builds (once, cached in ``--data-dir``) a workspace whose
history holds that many customers over the sample's 78 weeks, by scaling the
sample generator's output rather than generating again: every sample
customer is copied with a new relation number (the original plus a multiple
of 10^8) and savings and current balances jittered by up to 5%, and their
outcomes and past mailings are copied with them. The weekly snapshot is
scaled the same way. Building 100,000 customers takes seconds, where the
generator needs minutes.

Then, each as the operator's command in a fresh process, measured with
GNU ``/usr/bin/time`` for its peak memory: ``train``, ``simulate`` (the
registered model, no retraining), ``run --approve`` of the week,
``residual`` and ``evaluate`` over the exported runs, and the review
summary of the week's run (reading the stored summary, as the Review
screen does). A command the workstation's memory cannot hold is refused
by the toolkit before it starts (exit 4); that refusal is reported as such.
Nothing is asserted; the figures go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CUSTOMERS = 20_000
ID_STEP = 100_000_000
BALANCES = ("SAVINGS_BAL", "CURRENT_BAL")
WEEK = "2026-W47"
TIME = "/usr/bin/time"  # GNU time, for each command's own peak memory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[SAMPLE_CUSTOMERS])
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "nba-scale")
    parser.add_argument("--review-worker", metavar="WORKSPACE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.review_worker:
        print(json.dumps(_review_summary_in_this_process(Path(args.review_worker))))
        return
    report = {"machine": _machine(), "sizes": []}
    for customers in args.customers:
        report["sizes"].append(measure_size(build(args.data_dir, customers), customers))
    print(json.dumps(report, indent=2) if args.json else _table(report))


def build(data_dir: Path, customers: int) -> Path:
    """A sample workspace scaled to ``customers`` (made once per size and reused)."""
    root = Path(data_dir) / str(customers) / "ws"
    done = root.parent / "built"
    if done.is_file():
        return root
    shutil.rmtree(root.parent, ignore_errors=True)
    from nba_toolkit.workspace import init_workspace

    workspace = init_workspace(root, sample=True)
    copies = max(1, round(customers / SAMPLE_CUSTOMERS))
    data = root / "data"
    _scale_parquet(data / "history.parquet", copies)
    _scale_outcomes(data / "outcomes.csv", copies)
    _scale_snapshot(workspace.snapshots_dir / f"{WEEK}.csv", copies)
    _scale_contacts(workspace, data / "past_mailings.csv", copies)
    workspace.close()
    done.write_text(f"{copies} copies of the sample\n", encoding="utf-8")
    return root


def _copies(frame, copies: int):
    """``copies`` copies of ``frame`` (the first one the original), with new relation numbers and jittered balances."""
    import polars as pl

    parts = []
    for copy in range(copies):
        part = frame.with_columns(pl.col("RELATION_NO") + copy * ID_STEP)
        if copy and all(name in frame.collect_schema().names() for name in BALANCES):
            # a copy's jitter is fixed per customer, so each copy keeps one story over the weeks
            u = (pl.col("RELATION_NO").hash(seed=copy) % 10_001).cast(pl.Float64) / 10_000
            part = part.with_columns(*(pl.col(name) * (0.95 + 0.1 * u) for name in BALANCES))
        parts.append(part)
    return pl.concat(parts)


def _scale_parquet(path: Path, copies: int) -> None:
    import polars as pl

    scaled = path.with_suffix(".scaled.parquet")
    _copies(pl.scan_parquet(path), copies).sink_parquet(scaled)
    scaled.replace(path)


def _scale_outcomes(path: Path, copies: int) -> None:
    import polars as pl

    _copies(pl.read_csv(path), copies).write_csv(path)


def _scale_snapshot(path: Path, copies: int) -> None:
    """The bank's CSV (``;``, decimal comma, cp1252) copied line by line with new relation numbers."""
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    header, *rows = [line for line in data.split(newline) if line]
    out = [header]
    for copy in range(copies):
        for row in rows:
            number, rest = row.split(b";", 1)
            out.append(str(int(number) + copy * ID_STEP).encode("ascii") + b";" + rest)
    path.write_bytes(newline.join(out) + newline)


def _scale_contacts(workspace, past_mailings: Path, copies: int) -> None:
    """The copies' past mailings in the ledger, so cooldowns and control groups scale with the customers."""
    import polars as pl

    from nba_toolkit.core.ids import relation_number

    mailed = pl.read_csv(past_mailings).filter(pl.col("MAILED") == 1).select("RELATION_NO", "SNAPSHOT_DATE", "WEEK", "GROUP")
    extra = _copies(mailed, copies).filter(pl.col("RELATION_NO") >= ID_STEP)
    if extra.height:
        workspace.ledger.import_contacts(
            ((relation_number(str(cid)), day, week, day, group) for cid, day, week, group in extra.iter_rows()),
            source=f"benchmark: the sample's past mailings, scaled {copies} times",
        )


def measure_size(root: Path, customers: int) -> dict[str, Any]:
    """Each heavy command on the workspace at ``root``, as the operator runs it."""
    figures: dict[str, Any] = {"customers": customers, "customer_weeks": _history_rows(root)}
    ws = ["--workspace", str(root)]
    figures["train"] = _command(["train", *ws])
    figures["simulate"] = _command(["simulate", *ws, "--json"])
    figures["run"] = _command(["run", *ws, "--week", WEEK, "--approve", "--acknowledge-warnings"])
    figures["residual"] = _command(["residual", *ws, "--json"])
    figures["evaluate"] = _command(["evaluate", *ws, "--json"])
    figures["review_summary"] = _worker(root)
    return figures


def _history_rows(root: Path) -> int:
    import polars as pl

    return pl.scan_parquet(root / "data" / "history.parquet").select(pl.len()).collect().item()


def _command(arguments: list[str]) -> dict[str, Any]:
    """One nba-toolkit command in a child process: wall seconds, that child's own peak RSS and its exit code.

    The peak comes from ``/usr/bin/time`` (``%M``): a forked child's own
    ``ru_maxrss`` would also count the memory of this process, which built
    the workspace.
    """
    with tempfile.TemporaryDirectory() as tmp:
        peak, log = Path(tmp) / "peak", Path(tmp) / "log"
        started = time.perf_counter()
        with log.open("w") as out:
            done = subprocess.run(
                [TIME, "-f", "%M", "-o", str(peak), sys.executable, "-m", "nba_toolkit.cli", *arguments],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_env(),
                check=False,
            )
        wall = time.perf_counter() - started
        result: dict[str, Any] = {"wall_s": round(wall, 2), "exit_code": done.returncode}
        kib = peak.read_text(encoding="ascii").split()[-1] if peak.is_file() else ""
        result["peak_rss_mb"] = round(int(kib) / 1024) if kib.isdigit() else None
        if done.returncode:
            result["message"] = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return result


def _worker(root: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--review-worker", str(root)],
        capture_output=True,
        text=True,
        check=False,
        env=_env(),
    )
    if done.returncode:
        return {"exit_code": done.returncode, "message": done.stderr.strip().splitlines()[-3:]}
    return json.loads(done.stdout)


def _review_summary_in_this_process(root: Path) -> dict[str, Any]:
    """What the Review screen's first paint costs on the newest run: open it and read its stored summary.

    Beside it, what counting the summary from the selection costs (as for a
    run without a stored summary), and the peak memory of this process.
    """
    import polars as pl

    from nba_toolkit.core.review import RunReview, selection_figures
    from nba_toolkit.plugin.manager import load_plugins
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(root)
    registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
    run = workspace.ledger.runs()[0]
    started = time.perf_counter()
    review = RunReview.open(workspace, registry, run.run_id)
    review.summary(workspace)
    stored_s = time.perf_counter() - started
    started = time.perf_counter()
    selection_figures(pl.read_parquet(workspace.root / run.selection_path), review.config.selection.threshold)
    counted_s = time.perf_counter() - started
    return {
        "open_and_summary_s": round(stored_s, 3),
        "counted_from_selection_s": round(counted_s, 3),
        "peak_rss_mb": round(_own_peak_kib() / 1024),
    }


def _own_peak_kib() -> int:
    """This process's own high-water mark (VmHWM), where Linux reports it; else ru_maxrss."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _table(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']}"]
    for size in report["sizes"]:
        lines.append(f"{size['customers']:,} customers ({size['customer_weeks']:,} customer-weeks)")
        for name, figures in size.items():
            if isinstance(figures, dict):
                lines.append(f"  {name:<16}{figures}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
