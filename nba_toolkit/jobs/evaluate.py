"""Evaluation jobs on a workspace: import outcomes, evaluate the exported runs, evaluate a mailing file.

The statistics live in :mod:`nba_toolkit.core.evaluation` and
:mod:`nba_toolkit.core.mailing`; this module finds the inputs (the ledger's
runs and their stored selections, the imported outcomes, the operator's
exclusions at review) and hands them over.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.config import Config
from nba_toolkit.core import ids as relation_numbers
from nba_toolkit.core.evaluation import Evaluation, contacted_outside, evaluate_runs
from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.mailing import MailingEvaluation, evaluate_mailing
from nba_toolkit.core.memory import refuse_evaluation_too_large
from nba_toolkit.core.outcomes import OUTCOME_SCHEMA, validated_outcomes
from nba_toolkit.core.scalars import day_or_none
from nba_toolkit.core.snapshot import Snapshot, load_snapshot
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import BadInput, NbaError, UsageError
from nba_toolkit.ledger.store import RunRecord
from nba_toolkit.workspace import Workspace, operator_name

#: how the stored outcomes look as a frame
OUTCOME_FRAME = {"customer_id": pl.String, "opened_date": pl.String, "invested_amount": pl.Float64}


@dataclass(frozen=True)
class OutcomesImport:
    file: str
    sha256: str
    rows_in_file: int
    outcomes_in_file: int
    added: int
    updated: int
    unchanged: int
    #: None for a file without any opening
    first_opened: date | None
    last_opened: date | None
    dropped_columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "dropped_columns": list(self.dropped_columns)}


@dataclass(frozen=True)
class Outcomes:
    """The outcomes an evaluation uses, and where they came from."""

    frame: pl.DataFrame
    source: str
    known_until: date | None


def import_outcomes(workspace: Workspace, path: Path) -> OutcomesImport:
    """Validate an outcomes file like any input and store it in the ledger (idempotent)."""
    config = workspace.config
    loaded = load_snapshot(Path(path), mapping=config.columns, denylist=config.denylist, schema=OUTCOME_SCHEMA)
    frame = validated_outcomes(loaded.frame, file=str(path), names=file_names(loaded, config.columns))
    counts = workspace.ledger.import_outcomes(
        frame.select("customer_id", pl.col("opened_date").cast(pl.String), "invested_amount").iter_rows(),
        source=str(Path(path).resolve()),
        source_sha256=loaded.sha256,
        by=operator_name(),
    )
    return OutcomesImport(
        file=str(path),
        sha256=loaded.sha256,
        rows_in_file=loaded.rows,
        outcomes_in_file=frame.height,
        first_opened=day_or_none(frame["opened_date"].min()),
        last_opened=day_or_none(frame["opened_date"].max()),
        dropped_columns=loaded.dropped_columns,
        **counts,
    )


def file_names(loaded: Snapshot, mapping: dict[str, str], canonical: Iterable[str] = OUTCOME_SCHEMA) -> dict[str, str]:
    """Canonical name -> the file's own column name, so a message names the column the operator sees.

    A name the file does not have comes back as the workspace maps it.
    """
    if loaded.dialect.get("format") == "csv":
        first = loaded.path.read_bytes().split(b"\n", 1)[0].decode(loaded.dialect["encoding"]).rstrip("\r")
        header = next(csv.reader([first], delimiter=loaded.dialect["delimiter"]))
    else:
        header = list(pl.scan_parquet(loaded.path).collect_schema())
    by_norm = {h.strip().casefold(): h.strip() for h in header}
    names = {}
    for name in canonical:
        wanted = mapping.get(name, name)
        names[name] = by_norm.get(wanted.casefold(), by_norm.get(name.casefold(), wanted))
    return names


def workspace_outcomes(workspace: Workspace) -> Outcomes:
    """The imported outcomes; until any are imported, the training file ``data/outcomes.csv``.

    The outcomes cover, as far as anyone can tell, up to the last opening
    they contain; a run whose window ends later is still open.
    """
    stored = workspace.ledger.outcomes()
    if stored:
        frame = pl.DataFrame(stored, schema=OUTCOME_FRAME, orient="row").with_columns(pl.col("opened_date").str.to_date())
        source = "imported outcomes (ledger)"
    elif workspace.outcomes_path.is_file():
        config = workspace.config
        loaded = load_snapshot(workspace.outcomes_path, mapping=config.columns, denylist=config.denylist, schema=OUTCOME_SCHEMA)
        frame = validated_outcomes(loaded.frame, file=str(workspace.outcomes_path), names=file_names(loaded, config.columns))
        source = f"{workspace.outcomes_path} (no outcomes imported yet)"
    else:
        raise UsageError(
            "there are no outcomes to evaluate against",
            hint="Import the warehouse's account openings with `nba-toolkit outcomes import FILE`.",
        )
    return Outcomes(frame=frame, source=source, known_until=day_or_none(frame["opened_date"].max()))


@dataclass(frozen=True)
class RunsEvaluation:
    """An evaluation of exported runs, with what it was computed from."""

    evaluation: Evaluation
    outcomes_source: str
    excluded_by_operator: dict[str, int]
    #: per group, the evaluated customers also mailed outside the toolkit within their window (they stay in)
    contacted_outside: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcomes": self.outcomes_source,
            "excluded_by_operator": self.excluded_by_operator,
            "contacted_outside": self.contacted_outside,
            **self.evaluation.to_dict(),
        }


def evaluate_workspace(
    workspace: Workspace, *, from_week: str | None = None, to_week: str | None = None, window_weeks: int = 4
) -> RunsEvaluation:
    """Evaluate the exported runs of the weeks from ``from_week`` to ``to_week`` (both included)."""
    if window_weeks < 1:
        raise UsageError("the window must be at least 1 week")
    runs = exported_runs(workspace, from_week=from_week, to_week=to_week)
    if not runs:
        span = f" from {from_week or 'the start'} to {to_week or 'now'}"
        raise UsageError(f"there are no exported runs{span} to evaluate", hint="`nba-toolkit runs` lists the runs.")
    refuse_evaluation_too_large([workspace.root / (run.selection_path or "") for run in runs])
    outcomes = workspace_outcomes(workspace)
    frames = []
    operator_excluded = {}
    for run in runs:
        selection = stored_selection(workspace, run)
        excluded = [o["customer_id"] for o in workspace.ledger.overrides(run.run_id) if o["action"] == "exclude"]
        # Customers the operator kept out of the mail at review were neither mailed nor a random holdout.
        kept = selection.filter(~pl.col("customer_id").cast(pl.String).is_in(excluded))
        operator_excluded[run.run_id] = selection.height - kept.height
        frames.append(
            kept.select(
                pl.lit(run.run_id).alias("run_id"),
                pl.lit(run.week).alias("week"),
                pl.lit(parse_week(run.week)).alias("week_start"),
                pl.col("customer_id").cast(pl.String),
                "reason",
                "p_holdout",
                "p_random_control",
            )
        )
    selections = pl.concat(frames)
    evaluation = evaluate_runs(selections, outcomes.frame, window_weeks=window_weeks, known_until=outcomes.known_until)
    outside = pl.DataFrame(
        workspace.ledger.outside_contacts(), schema={"customer_id": pl.String, "contact_date": pl.String}, orient="row"
    )
    # an older ledger may hold relation numbers in another form (see core/ids.py)
    outside = outside.with_columns(relation_numbers.in_form(outside["customer_id"]), pl.col("contact_date").str.to_date())
    return RunsEvaluation(
        evaluation=evaluation,
        outcomes_source=outcomes.source,
        excluded_by_operator=operator_excluded,
        contacted_outside=contacted_outside(selections, outside, window_weeks=window_weeks),
    )


def exported_runs(workspace: Workspace, *, from_week: str | None = None, to_week: str | None = None) -> list[RunRecord]:
    """The exported runs, oldest week first, within the weeks given."""
    first = parse_week(from_week) if from_week else None
    last = parse_week(to_week) if to_week else None
    runs = []
    for run in workspace.ledger.runs():
        if run.status != "exported":
            continue
        monday = parse_week(run.week)
        if (first and monday < first) or (last and monday > last):
            continue
        runs.append(run)
    return sorted(runs, key=lambda r: (parse_week(r.week), r.run_id))


def stored_selection(workspace: Workspace, run: RunRecord) -> pl.DataFrame:
    """A run's per-customer selection as stored, refused if it is not the file the run recorded."""
    path = workspace.root / (run.selection_path or "")
    if not run.selection_path or not path.is_file():
        raise NbaError(f"the stored selection of run {run.run_id} is missing ({path})", hint="Restore it from backup.")
    if sha256_of(path) != run.selection_sha256:
        raise NbaError(
            f"the stored selection of run {run.run_id} was changed after the run (its SHA-256 differs from the ledger's)",
            hint="Restore runs/ from backup; an evaluation on changed data would not mean anything.",
        )
    return pl.read_parquet(path)


def evaluate_file(
    path: Path,
    *,
    group: str,
    treatment: str,
    control: str,
    outcome: str,
    value: str | None = None,
    id_column: str | None = None,
    config: Config | None = None,
) -> MailingEvaluation:
    """Evaluate a mailing from a file, loaded and validated like any input.

    The customer id column is ``id_column``, else the workspace's
    ``customer_id`` mapping (``RELATION_NO`` by default). A file without it,
    as public e-mail experiments are usually published, is read as one
    customer per row; the denylist applies as always.
    """
    config = config or Config()
    mapping = {**config.columns, "customer_id": id_column} if id_column else config.columns
    schema: dict[str, Any] = {group: "str", outcome: "float"}
    if value:
        schema[value] = "float"
    if len(set(schema)) < 2 + bool(value):
        raise UsageError("the group, outcome and value columns must be three different columns")
    try:
        loaded = load_snapshot(Path(path), mapping=mapping, denylist=config.denylist, schema=schema)
    except BadInput as missing:
        if id_column or missing.column != mapping.get("customer_id", "customer_id"):
            raise
        loaded = load_snapshot(Path(path), mapping=mapping, denylist=config.denylist, schema=schema, key=None)
    return evaluate_mailing(
        loaded.frame, file=str(path), group=group, treatment=treatment, control=control, outcome=outcome, value=value
    )
