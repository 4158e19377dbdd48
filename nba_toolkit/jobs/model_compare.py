"""Two models side by side on the same out-of-time weeks, so a challenger replaces the active model on evidence.

Each model's own validation figures were measured on different weeks, and
some weeks are harder to rank than others; only the same customers, weeks
and outcomes make two models comparable. The weeks are the newer model's
validation weeks: its figures there are the ones it recorded at training,
from the fit that never saw them (the model saved was refitted on them, so
scoring it there would flatter it), with the outcomes known then. The older
model is scored on the same customers with the same outcomes. It was refitted
on every week it had labels for, so when those weeks reach into its own
training its figures flatter it: the comparison counts those weeks and then
declines a verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from nba_toolkit.core.degraded import impute, loading_schema
from nba_toolkit.core.engine import require_model_fits_engine
from nba_toolkit.core.models import load_model, read_sidecar
from nba_toolkit.core.scalars import day
from nba_toolkit.core.snapshot import load_history, load_snapshot
from nba_toolkit.core.training import evaluate_scores, label_history, score_validation_weeks
from nba_toolkit.core.weeks import parse_week, week_of
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.jobs.train import OUTCOME_COLUMNS, training_capacity
from nba_toolkit.ledger.store import ModelRecord
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace


@dataclass(frozen=True)
class ModelFigures:
    model_id: str
    trained_at: str
    active: bool
    auc_within_week: float | None
    #: the 95% interval of the AUC within the week (normal, from its standard error)
    auc_interval: tuple[float, float] | None
    lift_at_capacity: float | None
    calibration_ratio: float | None
    #: comparison weeks this model was fitted on (its final refit saw every week it had labels for)
    weeks_seen_in_training: int


@dataclass(frozen=True)
class Comparison:
    weeks: tuple[str, str]
    week_count: int
    customer_weeks: int
    conversions: int
    capacity: int
    models: tuple[ModelFigures, ModelFigures]

    @property
    def verdict(self) -> str:
        """Which model ranked better, said only when the intervals do not overlap and neither saw the weeks."""
        a, b = self.models
        if a.auc_interval is None or b.auc_interval is None:
            return "The weeks have too few conversions to compare the ranking."
        if a.weeks_seen_in_training or b.weeks_seen_in_training:
            seen = a if a.weeks_seen_in_training else b
            return (
                f"Not a fair comparison: {seen.model_id} was fitted on {seen.weeks_seen_in_training} of these weeks, so "
                "its figures on them flatter it. Compare on later weeks once their outcomes are in."
            )
        (better, high), (_, low) = sorted(
            ((a, a.auc_interval), (b, b.auc_interval)), key=lambda pair: pair[0].auc_within_week or 0, reverse=True
        )
        if high[0] > low[1]:
            return f"{better.model_id} ranks better on these weeks: its interval lies above the other's."
        return "The two rank alike on these weeks: their intervals overlap, so the difference may be chance."

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def compare_models(workspace: Workspace, registry: Registry, first_id: str, second_id: str) -> Comparison:
    """Score both models on the newer one's validation weeks of the workspace's history, with their outcomes."""
    if first_id == second_id:
        raise UsageError("give two different models to compare", hint="See `nba-toolkit model list`.")
    records = (_record(workspace, first_id), _record(workspace, second_id))
    newer = max(records, key=lambda r: r.trained_at)
    window = read_sidecar(workspace.root / newer.path).get("training_window", {}).get("validation")
    recorded = newer.metrics.get("out_of_time") or {}
    if not window:
        raise BadInput("the model's sidecar does not say its validation weeks", file=workspace.root / newer.path)
    first_monday, last_monday = parse_week(window[0]), parse_week(window[1])
    config = workspace.config
    engines = [registry.engine(r.engine, config.features).obj for r in records]
    schema = {**CORE_COLUMNS}
    for engine in engines:
        schema.update(engine.required_columns)
    must, may = loading_schema(schema, engines[0])
    outcomes = load_snapshot(workspace.outcomes_path, mapping=config.columns, denylist=config.denylist, schema=OUTCOME_COLUMNS)
    history = load_history(
        workspace.history_path,
        mapping=config.columns,
        denylist=config.denylist,
        schema=must,
        optional=may,
        last_day=last_monday + timedelta(days=6),
    )
    weeks = history.frame.filter(pl.col("snapshot_date") >= first_monday)
    newer_sidecar = read_sidecar(workspace.root / newer.path)
    recorded_known = (newer_sidecar.get("outcomes_known_until") or {}).get("date")
    known = date.fromisoformat(recorded_known) if recorded_known else day(outcomes.frame["opened_date"].max())
    labelled = label_history(weeks, outcomes.frame, window_weeks=config.engine.label_window_weeks, known_until=known)
    if labelled.height == 0:
        raise BadInput(
            f"the history has no customer-weeks from {window[0]} to {window[1]} whose outcomes are known",
            file=workspace.history_path,
        )
    if recorded.get("rows") != labelled.height:
        raise BadInput(
            f"the history's weeks {window[0]} to {window[1]} hold {labelled.height:,} labelled customer-weeks now, "
            f"{recorded.get('rows', 0):,} when {newer.model_id} was validated on them: the history changed since",
            file=workspace.history_path,
            hint="Two models compare only on the same customers; retrain the challenger on the history as it is now.",
        )
    capacity = training_capacity(config, labelled)
    dates = labelled["snapshot_date"].unique()
    figures = tuple(
        _recorded(record, recorded) if record is newer else _scored(workspace, record, engine, labelled, capacity, dates)
        for record, engine in zip(records, engines)
    )
    return Comparison(
        weeks=(week_of(day(dates.min())), week_of(day(dates.max()))),
        week_count=dates.len(),
        customer_weeks=labelled.height,
        conversions=int(labelled["label"].sum()),
        capacity=capacity,
        models=(figures[0], figures[1]),
    )


def _record(workspace: Workspace, model_id: str) -> ModelRecord:
    record = workspace.ledger.model(model_id)
    if record is None:
        raise UsageError(f"there is no model '{model_id}'", hint="See `nba-toolkit model list`.")
    return record


def _recorded(record: ModelRecord, figures: dict[str, Any]) -> ModelFigures:
    """The newer model on its validation weeks, as measured at training by the fit that never saw them."""
    return _model_figures(record, figures, seen=0)


def _scored(
    workspace: Workspace, record: ModelRecord, engine: Any, labelled: pl.DataFrame, capacity: int, dates: pl.Series
) -> ModelFigures:
    path = workspace.root / record.path
    sidecar = read_sidecar(path)
    require_model_fits_engine(engine, sidecar, recorded_version=record.engine_version)
    model = load_model(path, models_dir=workspace.models_dir, expected_sha256=record.sha256)
    frame, _ = impute(labelled, engine, path=workspace.history_path)
    validated = score_validation_weeks(engine, model, frame, keep=[])
    result = evaluate_scores(validated.label, validated.score, validated.weeks, capacity)
    trained_until = (sidecar.get("training_window", {}).get("validation") or [None, None])[1]
    seen = 0 if trained_until is None else int((dates <= parse_week(trained_until)).sum())
    return _model_figures(record, result, seen=seen)


def _model_figures(record: ModelRecord, result: dict[str, Any], *, seen: int) -> ModelFigures:
    auc, se = result.get("auc_within_week"), result.get("auc_within_week_se")
    base_rate = result.get("base_rate")
    return ModelFigures(
        model_id=record.model_id,
        trained_at=record.trained_at,
        active=record.active,
        auc_within_week=auc,
        auc_interval=None if auc is None or se is None else (round(auc - 1.96 * se, 6), round(auc + 1.96 * se, 6)),
        lift_at_capacity=result.get("lift_at_capacity"),
        calibration_ratio=round(result["mean_score"] / base_rate, 6) if base_rate else None,
        weeks_seen_in_training=seen,
    )
