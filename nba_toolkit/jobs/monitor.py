"""Monitoring the exported weeks against the model's validation: ``nba-toolkit monitor``.

The figures live in :mod:`nba_toolkit.core.monitoring`; this module finds the
exported runs, their stored scores, the imported outcomes and the model each
run used, and decides per week whether the figures are below the band
(``[monitoring]`` in nba.toml).

Which customers: every customer the run scored (the eligible, whatever their
reason: mailed, held out, mailed at random, below the threshold, over
capacity). That is the population the validation AUC within the week was
measured on, and the one the estimate is computed on, so the two figures
compare. The mail lifts the conversions of those it reaches, mostly the top
scores, so when the mail works the labelled AUC reads slightly high; a model
that stops ranking still shows, and that is what this is for.

The two figures have different references. The labelled AUC is compared
with the validation AUC within the week. The estimate is not: it is what the
AUC would be if the scores were exact probabilities, and a model's scores are
rarely calibrated that finely, so it sits at its own level (below the
validation AUC on the sample). Validation does not store that level, so each
model's first exported weeks (``[monitoring] reference_weeks``) are its
reference, and only the weeks after them can be flagged; the output says so.

Whether a week's outcomes are known is the evaluation's rule
(:func:`nba_toolkit.core.outcomes.outcomes_known`): its whole conversion
window lies within the dates the imported outcomes cover.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.monitoring import AucInterval, auc_with_interval, estimate_below, expected_auc, labelled_below
from nba_toolkit.core.outcomes import outcomes_known, with_conversions
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import UsageError
from nba_toolkit.jobs.evaluate import Outcomes, exported_runs, stored_selection, workspace_outcomes
from nba_toolkit.ledger.store import RunRecord
from nba_toolkit.workspace import Workspace


@dataclass(frozen=True)
class WeekMonitoring:
    """One exported week: the estimate always, the labelled figures once its outcomes are known."""

    run_id: str
    week: str
    model_id: str
    scored: int
    #: the model's out-of-time AUC within the week, from its validation (the reference of both bands)
    validation_auc: float | None
    #: expected AUC (CBPE): an estimate, from the scores alone
    estimate: float | None
    #: the mean estimate over the model's first exported weeks, the estimate's reference; None while this is one of them
    estimate_reference: float | None
    mean_score: float | None
    outcomes_known: bool
    labelled: AucInterval | None
    observed_rate: float | None
    estimate_alert: bool
    labelled_alert: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "week": self.week,
            "model_id": self.model_id,
            "scored": self.scored,
            "validation_auc": self.validation_auc,
            "estimated_auc": self.estimate,
            "estimate_reference": self.estimate_reference,
            "mean_score": self.mean_score,
            "outcomes_known": self.outcomes_known,
            "labelled_auc": self.labelled.to_dict() if self.labelled else None,
            "observed_rate": self.observed_rate,
            "estimate_alert": self.estimate_alert,
            "labelled_alert": self.labelled_alert,
        }


@dataclass(frozen=True)
class Monitoring:
    weeks: list[WeekMonitoring]
    #: exported runs that have no model scores (a fallback list), with why they are left out
    skipped: dict[str, str]
    outcomes_source: str | None
    known_until: str | None
    window_weeks: int
    auc_drop: float
    estimate_drop: float
    reference_weeks: int
    min_positives: int

    @property
    def pooled_estimate(self) -> float | None:
        values = [w.estimate for w in self.weeks if w.estimate is not None]
        return float(np.mean(values)) if values else None

    @property
    def pooled_labelled(self) -> float | None:
        """The labelled AUC within the week over all labelled weeks: each week weighted by its pairs, as validation pools it."""
        labelled = [w.labelled for w in self.weeks if w.labelled is not None]
        pairs = sum(a.positives * a.negatives for a in labelled)
        return sum(a.auc * a.positives * a.negatives for a in labelled) / pairs if pairs else None

    @property
    def alerts(self) -> list[dict[str, str]]:
        found = []
        for w in self.weeks:
            if w.estimate_alert:
                found.append({"week": w.week, "run_id": w.run_id, "kind": "estimate"})
            if w.labelled_alert:
                found.append({"week": w.week, "run_id": w.run_id, "kind": "labelled"})
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "weeks": [w.to_dict() for w in self.weeks],
            "skipped": self.skipped,
            "pooled": {
                "estimated_auc": self.pooled_estimate,
                "labelled_auc_within_week": self.pooled_labelled,
                "weeks_labelled": sum(w.labelled is not None for w in self.weeks),
            },
            "alerts": self.alerts,
            "outcomes": self.outcomes_source,
            "outcomes_known_until": self.known_until,
            "window_weeks": self.window_weeks,
            "band": {
                "auc_drop": self.auc_drop,
                "estimate_drop": self.estimate_drop,
                "reference_weeks": self.reference_weeks,
                "min_positives": self.min_positives,
            },
        }


def monitor_workspace(workspace: Workspace) -> Monitoring:
    """Every exported week with model scores, oldest first, against the validation of the model that scored it."""
    runs = exported_runs(workspace)
    if not runs:
        raise UsageError("there are no exported runs to monitor", hint="`nba-toolkit runs` lists the runs.")
    settings = workspace.config.monitoring
    window = workspace.config.engine.label_window_weeks
    outcomes = _outcomes_if_any(workspace)
    known_until = outcomes.known_until if outcomes else None
    weeks, skipped = [], {}
    for run in runs:
        if run.kind != "weekly" or not run.model_id:
            skipped[run.run_id] = f"{run.week}: a {run.kind} list drawn without a model has no scores to monitor"
            continue
        weeks.append(_week(workspace, run, outcomes, window, settings.auc_drop, settings.min_positives))
    weeks = _against_first_weeks(weeks, settings.reference_weeks, settings.estimate_drop)
    return Monitoring(
        weeks=weeks,
        skipped=skipped,
        outcomes_source=outcomes.source if outcomes else None,
        known_until=known_until.isoformat() if known_until else None,
        window_weeks=window,
        auc_drop=settings.auc_drop,
        estimate_drop=settings.estimate_drop,
        reference_weeks=settings.reference_weeks,
        min_positives=settings.min_positives,
    )


def _outcomes_if_any(workspace: Workspace) -> Outcomes | None:
    """The outcomes, or None before any exist: the estimate needs none."""
    try:
        return workspace_outcomes(workspace)
    except UsageError:
        return None


def _week(
    workspace: Workspace,
    run: RunRecord,
    outcomes: Outcomes | None,
    window: int,
    auc_drop: float,
    min_positives: int,
) -> WeekMonitoring:
    model_id = run.model_id or ""
    model = workspace.ledger.model(model_id)
    reference = (model.metrics.get("out_of_time") or {}).get("auc_within_week") if model else None
    week_start = parse_week(run.week)
    scored = (
        stored_selection(workspace, run)
        .filter(pl.col("score").is_not_null())
        .select(pl.col("customer_id").cast(pl.String), "score", pl.lit(week_start).alias("week_start"))
    )
    scores = scored["score"].to_numpy()
    estimate = expected_auc(scores)
    known = outcomes is not None and outcomes_known(week_start, window, outcomes.known_until)
    labelled = observed = None
    if known and outcomes is not None and scored.height:
        converted = with_conversions(scored, outcomes.frame, window_weeks=window)["converted"].to_numpy()
        labelled = auc_with_interval(scores, converted)
        observed = float(converted.mean())
    return WeekMonitoring(
        run_id=run.run_id,
        week=run.week,
        model_id=model_id,
        scored=scored.height,
        validation_auc=reference,
        estimate=estimate,
        estimate_reference=None,
        mean_score=float(scores.mean()) if scores.size else None,
        outcomes_known=known,
        labelled=labelled,
        observed_rate=observed,
        estimate_alert=False,
        labelled_alert=labelled_below(labelled, reference, auc_drop, min_positives),
    )


def _against_first_weeks(weeks: list[WeekMonitoring], reference_weeks: int, drop: float) -> list[WeekMonitoring]:
    """Each week's estimate against the mean estimate of its model's first ``reference_weeks`` weeks."""
    first: dict[str, list[float]] = {}
    compared = []
    for week in weeks:
        seen = first.setdefault(week.model_id, [])
        if len(seen) < reference_weeks:
            if week.estimate is not None:
                seen.append(week.estimate)
            compared.append(week)
            continue
        reference = float(np.mean(seen))
        compared.append(
            replace(week, estimate_reference=reference, estimate_alert=estimate_below(week.estimate, reference, drop))
        )
    return compared
