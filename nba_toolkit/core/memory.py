"""Memory you can plan for: a heavy job's peak is estimated from its row counts and refused before it starts.

Training, the simulation, the residual group and the evaluation hold their
data in memory, and a job larger than the workstation's memory used to be
killed by the system (exit 134, a bare allocator message) after minutes of
work. Instead, each job counts its rows first, cheaply (Parquet metadata,
line counts, the ledger), multiplies them by what a row costs, and stops
with exit 4 when the estimate exceeds the memory available, naming the size,
the estimate, what is available and what makes the job smaller.

The costs per row were measured with ``/usr/bin/time -v`` (peak resident set
size) on the sample workspace scaled to 20,000, 100,000 and 1,000,000
customers (``benchmarks/scale.py``); docs/performance.md has the figures.
They are rounded up, so the estimate errs on the side of refusing.

The memory available is what the system reports as available
(``MemAvailable`` in ``/proc/meminfo``: free memory plus what it can reclaim),
or, where there is no such report, the physical memory.
``NBA_TOOLKIT_MEMORY_LIMIT`` sets it instead (bytes, or a number with MB, GB,
MiB or GiB), for a workstation shared with other work, or for tests.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import BadInput, UsageError

LIMIT_ENV = "NBA_TOOLKIT_MEMORY_LIMIT"
MIB = 2**20

#: what any of these commands holds before its data: Python, Polars, scikit-learn and the toolkit
BASE_BYTES = 260 * MIB
#: bytes of peak memory per row, by what the job does with the row
HISTORY_LOADED = 170  # train: every customer-week of data/history.parquet up to --until is loaded and labelled
HISTORY_TRAINED = 440  # train: each customer-week fitted on (all up to --until, or the sample) made into features
WEEK_REPLAYED = 430  # simulate: each customer-week of the history and the snapshots
WEEK_RETRAINED = 150  # simulate --retrain once or weekly: each customer-week, labelled and made into features
WEEK_COMPARED = 120  # simulate --compare or --config: each customer-week, for the second configuration
SNAPSHOT_EXPLAINED = 550  # residual: each customer of the latest run's snapshot, loaded and explained
SELECTION_READ = 70  # residual: each row of a run's stored selection
SELECTION_EVALUATED = 400  # evaluate: each row of a run's stored selection, joined with the outcomes

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


@dataclass(frozen=True)
class Estimate:
    """A job's expected peak memory, with the size it comes from in the operator's words."""

    job: str
    size: str
    peak_bytes: int


def estimate(job: str, size: str, rows: dict[int, int]) -> Estimate:
    """The peak of ``job``: the base plus, for each cost per row, that many rows (``{cost: rows}``)."""
    return Estimate(job=job, size=size, peak_bytes=BASE_BYTES + sum(cost * count for cost, count in rows.items()))


def refuse_if_too_large(estimate: Estimate, *, file: Path | str | None, smaller: str) -> None:
    """Stop (exit 4) before the work starts when the estimate exceeds the memory available.

    ``smaller`` says what reduces the job (an option, fewer weeks), in the
    operator's words; it becomes the hint.
    """
    available = memory_available()
    if available is None or estimate.peak_bytes <= available:
        return
    raise BadInput(
        f"{estimate.job} over {estimate.size} would need about {size_text(estimate.peak_bytes)} of memory, "
        f"and {size_text(available)} is available{_source()}; it was not started",
        file=file,
        hint=f"To make it smaller: {smaller}. Or free memory (close other programs) and run it again. "
        f"{LIMIT_ENV} sets the memory the toolkit may count on.",
    )


def memory_available() -> int | None:
    """Bytes the job may use: ``NBA_TOOLKIT_MEMORY_LIMIT``, else the system's available memory, else None."""
    setting = os.environ.get(LIMIT_ENV, "").strip()
    if setting:
        return parse_size(setting)
    return _mem_available() or _physical_memory()


def parse_size(text: str) -> int:
    """``'8GiB'``, ``'500 MB'`` or a number of bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)", text.strip())
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise UsageError(
            f"{LIMIT_ENV}='{text}' is not an amount of memory",
            hint="Write it as bytes or with a unit, for example 8GiB or 500MB.",
        )
    return int(float(match.group(1)) * _UNITS[unit])


def size_text(count: int) -> str:
    """Bytes as the operator reads them: 3.2 GiB, 840 MiB."""
    if count >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    return f"{max(1, round(count / MIB))} MiB"


def _source() -> str:
    return f" ({LIMIT_ENV})" if os.environ.get(LIMIT_ENV, "").strip() else ""


def _mem_available() -> int | None:
    try:
        lines = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name == "MemAvailable":
            return int(value.split()[0]) * 1024  # kB
    return None


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


# ------------------------------------------------------------ the jobs


def refuse_training_too_large(history: Path, *, date_column: str, until: str | None, sample_rows: int | None = None) -> None:
    """Training reads the weeks up to ``until`` (an ISO week), or all of them, and fits on at most ``sample_rows``.

    Reading is counted for every row read; fitting for the rows fitted on,
    which a sampled training (core/sampling.py) keeps to ``sample_rows``
    however long the history. A history too large even to read is refused
    all the same.
    """
    total = file_rows(history)
    if total is None:
        return
    counted = rows_until(history, date_column, parse_week(until)) if until else None
    used = total if counted is None else counted
    fitted = used if sample_rows is None else min(used, sample_rows)
    size = f"{total:,} customer-weeks of history" + (f" ({used:,} up to {until})" if until else "")
    if fitted < used:
        size += f", fitted on a sample of {fitted:,}"
    read_only = estimate("training", size, {HISTORY_LOADED: used}).peak_bytes
    refuse_if_too_large(
        estimate("training", size, {HISTORY_LOADED: used, HISTORY_TRAINED: fitted}),
        file=history,
        smaller=f"train on fewer weeks with `nba-toolkit train --until WEEK` (reading the file alone takes about "
        f"{size_text(read_only)}), or keep fewer weeks in {history.name}"
        + (", or lower [engine] training_sample_rows" if fitted < used else ""),
    )


def refuse_simulation_too_large(
    history: Path, snapshots: list[Path], *, configurations: int = 1, retraining: bool = False
) -> None:
    """The simulation holds every week of the history and the snapshots at once, and each configuration's selections."""
    counted = [file_rows(path) for path in (history, *snapshots)]
    rows = sum(n for n in counted if n is not None)
    compared = f", {configurations} configurations" if configurations > 1 else ""
    refuse_if_too_large(
        estimate(
            "the simulation",
            f"{rows:,} customer-weeks{compared}" + (", retraining" if retraining else ""),
            {WEEK_REPLAYED: rows, WEEK_COMPARED: rows * (configurations - 1), WEEK_RETRAINED: rows * retraining},
        ),
        file=history,
        smaller=f"keep fewer weeks in {history.name} (--from and --to choose the weeks replayed, but every week is "
        "read)" + (", or compare one configuration at a time" if configurations > 1 else ""),
    )


def refuse_residual_too_large(snapshot: Path, selections: list[Path]) -> None:
    """The residual group reads the latest run's snapshot and the stored selection of every run it covers."""
    customers = file_rows(snapshot) or 0
    rows = sum(file_rows(path) or 0 for path in selections)
    refuse_if_too_large(
        estimate(
            "the residual group",
            f"{_runs(selections)} ({rows:,} selection rows) and a snapshot of {customers:,} customers",
            {SNAPSHOT_EXPLAINED: customers, SELECTION_READ: rows},
        ),
        file=snapshot,
        smaller="cover fewer runs with `nba-toolkit residual --weeks N`",
    )


def refuse_evaluation_too_large(selections: list[Path]) -> None:
    """The evaluation joins the stored selection of every run it covers with the outcomes."""
    rows = sum(file_rows(path) or 0 for path in selections)
    refuse_if_too_large(
        estimate("the evaluation", f"{_runs(selections)} ({rows:,} selection rows)", {SELECTION_EVALUATED: rows}),
        file=None,
        smaller="evaluate fewer weeks at a time with `nba-toolkit evaluate --from WEEK --to WEEK`",
    )


def _runs(selections: list[Path]) -> str:
    return f"{len(selections)} run" + ("" if len(selections) == 1 else "s")


# ------------------------------------------------------------ counting rows, cheaply


def file_rows(path: Path) -> int | None:
    """Rows of a Parquet file (from its metadata) or a CSV file (its lines, less the header); None if unreadable.

    A file that cannot be counted is left to the loader, whose message
    names what is wrong with it.
    """
    if path.suffix.lower() == ".parquet":
        return _parquet_rows(path)
    try:
        with path.open("rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b""))
            handle.seek(max(0, path.stat().st_size - 1))
            unterminated = handle.read(1) not in (b"\n", b"")
    except OSError:
        return None
    return max(0, lines + unterminated - 1)


def rows_until(path: Path, date_column: str, last_day: date) -> int | None:
    """Rows of a Parquet history dated on or before ``last_day`` (one column read), or None if they cannot be told."""
    import polars as pl

    try:
        scan = pl.scan_parquet(path)
        names = {name.casefold(): name for name in scan.collect_schema().names()}
        column = names.get(date_column.casefold())
        if column is None:
            return None
        counted = scan.filter(pl.col(column).cast(pl.Date) <= last_day).select(pl.len()).collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError):
        return None
    return int(counted.item())


def _parquet_rows(path: Path) -> int | None:
    import polars as pl

    try:
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError):
        return None
