"""Degraded runs: optional inputs filled in as the engine declares, critical inputs never.

The bank's engine once filled empty values with zero without telling
anyone, so a week with half the logins missing scored as if nobody logged
in. Here an engine lists its optional inputs with a stand-in (see
core/engine.py); everything else it reads is critical. Before anything is
checked or scored, a missing or empty optional input is filled with its
stand-in and counted, and the run is marked degraded in the ledger and the
summary. A critical input is never filled: the loader refuses a file without
it, and the ``critical_inputs`` check blocks a run where it is empty for any
customer.

Whatever reads a run's inputs again (the review's explanations, the residual
group, the simulation, what-if) loads them the same way and fills them with
the stand-ins the run recorded, so degraded means the same everywhere and a
median is never recomputed into another value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.core.checks import CheckResult
from nba_toolkit.core.engine import MEDIAN, Imputation, imputation_problems, optional_columns
from nba_toolkit.core.scalars import number
from nba_toolkit.core.snapshot import ColumnType, Snapshot, _native_column, load_snapshot
from nba_toolkit.errors import BadInput, PluginError

CHECK_NAME = "critical_inputs"
_SAMPLE = 10
_DTYPES = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "str": pl.String, "date": pl.Date}


def loading_schema(required: Mapping[str, ColumnType], engine: Any) -> tuple[dict[str, ColumnType], dict[str, ColumnType]]:
    """What the loader must find in the file, and the engine's optional inputs it may find.

    Both are typed as declared; ``impute`` then adds and fills what is
    missing or empty.
    """
    declared = _declared(engine)
    must = {column: kind for column, kind in required.items() if column not in declared}
    may = {column: kind for column, kind in required.items() if column in declared}
    return must, may


def load_allowing_stand_ins(
    path: Path, *, required: Mapping[str, ColumnType], engine: Any, mapping: Mapping[str, str], denylist: Iterable[str]
) -> Snapshot:
    """A snapshot loaded as the weekly run loads it: the engine's optional inputs may be missing (``impute`` fills them)."""
    schema, optional = loading_schema(required, engine)
    return load_snapshot(path, mapping=dict(mapping), denylist=list(denylist), schema=schema, optional=optional)


def recorded_stand_ins(runs: Iterable[Any], snapshot_sha256: str) -> dict[str, dict[str, Any]] | None:
    """The stand-ins the newest run that reached review recorded for this very file, or None when none ran it."""
    for run in runs:  # newest first, as the ledger lists them
        if run.snapshot_sha256 == snapshot_sha256 and run.status in ("awaiting_approval", "exported"):
            return run.degraded
    return None


def impute(
    frame: pl.DataFrame, engine: Any, *, path: Path, recorded: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[pl.DataFrame, dict[str, dict[str, Any]]]:
    """The frame with every optional input present, typed and filled in, and what was filled.

    The second value is empty for a complete snapshot; otherwise it maps each
    filled column to ``missing_from_file``, ``imputed_rows`` (customers given
    the stand-in), ``value`` (the stand-in) and ``how`` (``declared`` or
    ``median``): this is what the ledger records as the run's degradation.
    ``recorded`` is a run's record of it: its stand-in values are used as they
    were, so a run's inputs read again are the inputs it scored.
    """
    degraded: dict[str, dict[str, Any]] = {}
    for column, stand_in in _declared(engine).items():
        kind = engine.required_columns[column]
        missing = column not in frame.columns
        if missing:
            values = pl.Series(column, [None] * frame.height, dtype=_DTYPES[kind])
        else:
            values = _native_column(path, frame[column], column, kind)
        empty = values.null_count()
        if not empty:
            frame = frame.with_columns(values)
            continue
        if recorded and column in recorded:
            value = _recorded_value(recorded[column]["value"], kind)
        else:
            value = _median(path, values, kind) if isinstance(stand_in, str) and stand_in == MEDIAN else stand_in
        frame = frame.with_columns(values.fill_null(pl.lit(value, dtype=_DTYPES[kind])))
        degraded[column] = {
            "missing_from_file": missing,
            "imputed_rows": empty,
            "value": value.isoformat() if isinstance(value, date) else value,
            "how": "median" if isinstance(stand_in, str) and stand_in == MEDIAN else "declared",
        }
    return frame, degraded


def critical_inputs(frame: pl.DataFrame, engine: Any) -> CheckResult:
    """Blocks when any critical engine input is empty for any customer: those are never guessed."""
    declared = _declared(engine)
    critical = [c for c in engine.required_columns if c not in declared and c in frame.columns]
    empty = frame.select(pl.col(c).null_count() for c in critical).row(0, named=True) if critical else {}
    bad = {column: n for column, n in empty.items() if n}
    mask = pl.any_horizontal(pl.col(c).is_null() for c in bad) if bad else pl.lit(False)
    rows = frame.filter(mask) if bad else frame.head(0)
    return CheckResult(
        check=CHECK_NAME,
        stage="input",
        severity="block",
        passed=not bad,
        message="Every input the engine cannot do without is filled in for every customer."
        if not bad
        else "The engine cannot score customers without "
        + ", ".join(f"'{c}' (empty for {n:,} customers)" for c, n in bad.items())
        + ". These are critical inputs: they are never filled in with a stand-in.",
        measured=", ".join(f"{c} {n:,} empty" for c, n in bad.items()) if bad else 0,
        threshold="no empty values in critical inputs",
        action=None
        if not bad
        else "Ask the data warehouse team why these values are empty and run again on a complete extract. "
        "Only the engine's developers can make an input optional, with a declared stand-in.",
        affected_count=rows.height,
        affected_sample=tuple(rows["customer_id"].head(_SAMPLE).to_list()),
        plugin="nba_toolkit",
    )


def describe(degraded: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One plain sentence per filled-in input, for the run summary."""
    lines = []
    for column, d in degraded.items():
        what = "was missing from the snapshot" if d["missing_from_file"] else "was empty"
        source = "the median of this snapshot" if d["how"] == "median" else "the engine's declared default"
        lines.append(f"{column} {what} for {d['imputed_rows']:,} customers and set to {d['value']} ({source})")
    return lines


def _declared(engine: Any) -> dict[str, Imputation]:
    problems = imputation_problems(engine)
    if problems:
        raise PluginError(
            f"engine '{engine.name}' declares its optional inputs wrongly: " + "; ".join(problems),
            hint="Fix optional_columns in the engine plugin; nba_toolkit.testing.assert_engine_conforms checks it.",
        )
    return optional_columns(engine)


def _recorded_value(value: Any, kind: str) -> Any:
    """A stand-in as the ledger keeps it (JSON: a date as text) in the column's own type."""
    return date.fromisoformat(value) if kind == "date" and isinstance(value, str) else value


def _median(path: Path, values: pl.Series, kind: str) -> int | float:
    if values.null_count() == values.len():
        raise BadInput(
            f"the optional column '{values.name}' is empty for every customer, and its stand-in is this "
            "snapshot's median, which needs some values",
            file=path,
            column=values.name,
            hint="Ask the data warehouse team for the column, or have the engine declare a constant stand-in.",
        )
    median = number(values.median())
    return round(median) if kind == "int" else median
