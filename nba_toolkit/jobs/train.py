"""Train the configured engine on the workspace's history and register the model.

Reads ``data/history.parquet`` (stacked weekly snapshots) and
``data/outcomes.csv`` (who opened an investment account when), both through
the same loader as a weekly snapshot, so mapping and denylist apply alike.
The model is saved under ``models/`` with a sidecar and registered in the
ledger with its SHA-256; only a model so registered is ever loaded.

Before that, the model checks (period keys, single features that predict
too well, results too good to be true) look at the training. Their results
go into the sidecar and the outcome; a blocking one keeps the model from
being registered, so the previous model stays the active one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit import __version__
from nba_toolkit.core.checks import CheckContext, CheckResult, blocking, run_checks
from nba_toolkit.core.degraded import impute, loading_schema
from nba_toolkit.core.engine import declared_features
from nba_toolkit.core.files import atomic_write_bytes
from nba_toolkit.core.governance import not_known_in_time, read_register
from nba_toolkit.core.memory import file_rows, refuse_training_too_large
from nba_toolkit.core.model_card import render
from nba_toolkit.core.models import read_sidecar, save_model
from nba_toolkit.core.scalars import day, day_or_none, number
from nba_toolkit.core.selection import Policy
from nba_toolkit.core.snapshot import ColumnType, load_history, load_snapshot
from nba_toolkit.core.training import label_history, split_history, train_engine
from nba_toolkit.core.weeks import parse_week, week_bounds, week_of
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.ledger.store import ModelRecord, now
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace, operator_name

OUTCOME_COLUMNS: dict[str, ColumnType] = {"customer_id": "id", "opened_date": "date", "invested_amount": "float"}


@dataclass(frozen=True)
class TrainOutcome:
    model_id: str
    engine: str
    path: str
    sha256: str
    train_weeks: tuple[str, str]
    validation_weeks: tuple[str, str]
    rows: int
    positives: int
    metrics: dict[str, Any]
    checks: list[CheckResult] = field(default_factory=list)
    #: False when a model check blocked: the model was saved for inspection, but not registered
    promoted: bool = True
    #: the date up to which outcomes were taken as known, and where that date came from
    known_until: OutcomesKnown | None = None
    #: optional inputs filled in with the engine's stand-in at training, per column (see core/degraded.py)
    imputed: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: how the rows fitted on were drawn when the history was larger than [engine] training_sample_rows
    sampling: dict[str, Any] | None = None
    #: trained with ``--challenger``: registered beside the active model, which keeps scoring
    challenger: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "engine": self.engine,
            "path": self.path,
            "sha256": self.sha256,
            "train_weeks": list(self.train_weeks),
            "validation_weeks": list(self.validation_weeks),
            "rows": self.rows,
            "positives": self.positives,
            "metrics": self.metrics,
            "promoted": self.promoted,
            "challenger": self.challenger,
            "checks": [c.to_dict() for c in self.checks],
            "outcomes_known_until": self.known_until.to_dict() if self.known_until else None,
            "imputed": self.imputed,
            "training_sample": self.sampling,
        }


@dataclass(frozen=True)
class OutcomesKnown:
    """Up to which date the outcomes are taken as complete: a week whose label window ends later is left out.

    Without ``--known-until`` this is the newest opening in outcomes.csv. The
    warehouse may load openings late, so a few early ones after the real
    cut-off would make the weeks before them look complete and label their
    customers "no"; the operator who knows when the extract was complete says so.
    """

    date: date
    given: bool
    #: history weeks whose label window ends after ``date``, so they were not learned from
    weeks_left_out: int = 0

    @property
    def source(self) -> str:
        return "given with --known-until" if self.given else "the newest opening in outcomes.csv"

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "source": self.source, "weeks_left_out": self.weeks_left_out}


def train(
    workspace: Workspace,
    registry: Registry,
    *,
    until: str | None = None,
    known_until: date | None = None,
    seed: int = 0,
    today: date | None = None,
    challenger: bool = False,
) -> TrainOutcome:
    """Train and register a model; ``known_until`` is the date up to which the outcomes are complete.

    ``today`` (the computer's date unless given) is the latest ``known_until``
    allowed: nobody knows outcomes of days still to come. A ``challenger`` is
    registered without replacing the active model: it scores only once
    someone compares and promotes it (``model compare``, ``model promote``).
    """
    config = workspace.config
    _refuse_future_knowledge(known_until, today or date.today())
    engine = registry.engine(config.engine.name, config.features).obj
    if challenger and workspace.ledger.active_model(engine.name) is None:
        raise UsageError(
            f"there is no active model for the engine '{engine.name}' to challenge",
            hint="Train the first model without --challenger.",
        )
    _refuse_features_not_known_in_time(workspace, engine)
    refuse_training_too_large(
        workspace.history_path,
        date_column=config.columns.get("snapshot_date", "snapshot_date"),
        until=until,
        sample_rows=config.engine.training_sample_rows,
    )
    schema = {**CORE_COLUMNS, **engine.required_columns}
    # The engine's optional inputs may be missing from the history, as from a week's snapshot; impute() fills them.
    must, may = loading_schema(schema, engine)
    outcomes = load_snapshot(workspace.outcomes_path, mapping=config.columns, denylist=config.denylist, schema=OUTCOME_COLUMNS)
    last_monday = parse_week(until) if until else None
    weeks = _history_weeks(workspace, last_monday)
    known = OutcomesKnown(known_until, given=True) if known_until else OutcomesKnown(_newest_outcome(outcomes, weeks), False)
    if last_monday is not None:
        known = replace(known, date=min(known.date, last_monday + timedelta(days=6)))
        if weeks.len() == 0:
            raise BadInput(f"the history has no weeks up to {until}", file=workspace.history_path)
    label_weeks = config.engine.label_window_weeks
    # Only the weeks whose label window is over by then are read: the newer ones cannot be learned from.
    last_labelled = known.date - timedelta(weeks=label_weeks) + timedelta(days=1)
    history = load_history(
        workspace.history_path,
        mapping=config.columns,
        denylist=config.denylist,
        schema=must,
        optional=may,
        last_day=min(last_labelled, last_monday) if last_monday else last_labelled,
    )
    labelled = label_history(history.frame, outcomes.frame, window_weeks=label_weeks, known_until=known.date)
    history_sha256 = history.sha256
    del history  # the unlabelled weeks are not needed again
    known = replace(known, weeks_left_out=weeks.len() - labelled["snapshot_date"].n_unique())
    labelled, filled = impute(labelled, engine, path=workspace.history_path)
    imputed = _training_imputations(filled, labelled.height)
    capacity = training_capacity(config, labelled)
    split = split_history(
        labelled, validation_weeks=config.engine.validation_weeks, sample_rows=config.engine.training_sample_rows, seed=seed
    )
    del labelled  # from here on training holds the rows it fits on and the validation weeks, not the whole history
    result = train_engine(engine, split, capacity=capacity, seed=seed)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    model_id = f"{engine.name}-{stamp}"
    path = workspace.models_dir / f"{model_id}.joblib"
    window = {
        "train": [week_of(d) for d in result.train_weeks],
        "validation": [week_of(d) for d in result.validation_weeks],
    }
    start, end = week_bounds(window["validation"][1])
    checks = run_checks(
        [(r.obj, r.plugin) for r in registry.checks.values()],
        "model",
        CheckContext(
            week=window["validation"][1],
            week_start=start,
            week_end=end,
            snapshot=split.fitted,
            config=config,
            required_columns=schema,
            engine=engine,
            training=result.evidence,
        ),
    )
    promoted = not blocking(checks)
    sha = save_model(
        result.model,
        path,
        {
            "model_id": model_id,
            "engine": engine.name,
            "engine_version": engine.version,
            "toolkit_version": __version__,
            "trained_at": now(),
            "trained_by": operator_name(),
            "seed": seed,
            "label_window_weeks": config.engine.label_window_weeks,
            "outcomes_known_until": known.to_dict(),
            "imputed": imputed,
            "training_window": window,
            "data": {
                "history": {"path": "data/history.parquet", "sha256": history_sha256, "rows": file_rows(workspace.history_path)},
                "outcomes": {"path": "data/outcomes.csv", "sha256": outcomes.sha256, "rows": outcomes.rows},
            },
            "rows": result.rows,
            "positives": result.positives,
            "training_sample": result.sampling.to_dict() if result.sampling else None,
            "metrics": result.metrics,
            "features": dict(engine.feature_labels),
            **declared_features(engine, result.model),
            "data_columns": sorted(schema),
            "reference": result.reference,
            "model_card": engine.model_card(),
            "checks": [c.to_dict() for c in checks],
            "promoted": promoted,
        },
    )
    # The card next to the model, as it was when trained, for anyone browsing models/ without the toolkit.
    atomic_write_bytes(
        path.with_suffix(".md"),
        render(
            read_sidecar(path),
            read_register(workspace.root),
            owner=config.governance.owner,
            contacts=config.governance.contacts,
        ).encode("utf-8"),
    )
    if promoted:
        _register(workspace, engine, model_id, path, sha, window, result.metrics, challenger=challenger)
    return TrainOutcome(
        model_id=model_id,
        engine=engine.name,
        path=str(path),
        sha256=sha,
        train_weeks=(window["train"][0], window["train"][1]),
        validation_weeks=(window["validation"][0], window["validation"][1]),
        rows=result.rows,
        positives=result.positives,
        metrics=result.metrics,
        checks=checks,
        promoted=promoted,
        known_until=known,
        imputed=imputed,
        sampling=result.sampling.to_dict() if result.sampling else None,
        challenger=challenger,
    )


def _training_imputations(filled: dict[str, dict[str, Any]], rows: int) -> dict[str, dict[str, Any]]:
    """What ``impute`` filled in at training, each with its share of the training rows, for the sidecar and the card."""
    return {column: {**d, "share": d["imputed_rows"] / rows if rows else 0.0} for column, d in filled.items()}


def training_capacity(config: Any, labelled: pl.DataFrame) -> int:
    """The capacity the lift at capacity is measured at: a share of the eligible taken of a typical history week.

    A typical week is the median of the customers with marketing consent per
    week; the cooldown of those days is not known, so it is left out.
    """
    eligible = labelled.filter(pl.col("marketing_consent").fill_null(False)).group_by("snapshot_date").len()["len"]
    return Policy.from_config(config).capacity_for(int(number(eligible.median() or 0)))


def _refuse_future_knowledge(known_until: date | None, today: date) -> None:
    """Outcomes of days still to come cannot be known: such a date would label this week's customers "no"."""
    if known_until is not None and known_until > today:
        raise UsageError(
            f"--known-until {known_until.isoformat()} lies after today ({today.isoformat()}); outcomes cannot be known "
            "for days still to come",
            hint="Give the date up to which the outcomes file is complete, usually the day its extract was taken.",
        )


def _newest_outcome(outcomes: Any, weeks: pl.Series) -> date:
    """Without ``--known-until``: the newest opening in outcomes.csv (or the newest snapshot when it has none)."""
    return day_or_none(outcomes.frame["opened_date"].max()) or day(weeks.max())


def _history_weeks(workspace: Workspace, last_monday: date | None) -> pl.Series:
    """The history's snapshot dates up to ``last_monday`` (all without it), from its date column alone."""
    config = workspace.config
    dates = load_history(
        workspace.history_path,
        mapping=config.columns,
        denylist=config.denylist,
        schema={"snapshot_date": "date"},
        last_day=last_monday,
        key=None,
    )
    return dates.frame["snapshot_date"].unique().sort()


def _refuse_features_not_known_in_time(workspace: Workspace, engine: Any) -> None:
    """A model may learn only from values known on the snapshot date; the data-use register says which are."""
    late = not_known_in_time(workspace.root, list(engine.required_columns))
    if late:
        raise UsageError(
            f"training refuses data the data-use register does not confirm as known on the snapshot date, before "
            f"the outcome: {', '.join(late)}",
            hint="A value recorded only after the outcome (a call's duration) makes a model look good and fail in use. "
            "Once the data owner confirms each one, record it: "
            + "; ".join(f"nba-toolkit govern approve {name} --by NAME --known-by-snapshot yes" for name in late)
            + " (or add known_by_snapshot = true to its [features.NAME] table in governance.toml).",
        )


def _register(
    workspace: Workspace,
    engine: Any,
    model_id: str,
    path: Path,
    sha: str,
    window: dict[str, list[str]],
    metrics: dict[str, Any],
    *,
    challenger: bool,
) -> None:
    workspace.ledger.register_model(
        ModelRecord(
            model_id=model_id,
            engine=engine.name,
            engine_version=engine.version,
            path=str(path.relative_to(workspace.root)),
            sha256=sha,
            trained_at=now(),
            trained_by=operator_name(),
            training_window=f"{window['train'][0]} to {window['validation'][1]}",
            metrics=metrics,
            active=not challenger,
            challenger=challenger,
        )
    )
