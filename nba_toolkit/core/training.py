"""Training an engine on history, validated out of time (R-E2).

The label: did the customer open an investment account within the label
window (default 4 weeks) from the snapshot? Weeks whose window is not over
yet are left out, because their "no" is not known to be a no.

Validation is out of time: the model is fitted on earlier weeks and measured
on the most recent ones, as it will be used. Measuring on a random split of
the same weeks would reward a model that memorises weeks, which is exactly
how the bank's first model overfit. The saved model is then refitted on all
labelled weeks; the metrics reported are the out-of-time ones.

The split itself is handed on as ``TrainingEvidence``, so the model checks
(period keys, single features that predict too well, results too good to be
true) can look at exactly what the model learned from and was measured on.
The reference saved with the model holds, per feature, the bins and shares
the drift checks compare each week's snapshot with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.drift import bin_shares, decile_edges
from nba_toolkit.core.engine import refit_method, takes_weights
from nba_toolkit.core.sampling import Sampling, draw_sample
from nba_toolkit.core.validation import (
    reference_rankings,
    single_feature_aucs,
    strongest_feature,
    weekly_figures,
    within_week_auc,
)
from nba_toolkit.errors import BadInput, UsageError

MIN_TRAINING_WEEKS = 8


@dataclass(frozen=True)
class TrainResult:
    model: Any
    metrics: dict[str, Any]
    train_weeks: tuple[date, date]
    validation_weeks: tuple[date, date]
    rows: int
    positives: int
    reference: dict[str, Any]
    evidence: TrainingEvidence
    #: how the rows fitted on were drawn, None when every labelled row was
    sampling: Sampling | None = None


@dataclass(frozen=True)
class TrainingEvidence:
    """The out-of-time split as the model saw it: features, labels and weeks of both parts."""

    engine: Any
    train_features: pl.DataFrame
    train_label: np.ndarray
    train_weeks: pl.Series
    test_features: pl.DataFrame
    test_label: np.ndarray
    test_weeks: pl.Series
    metrics: dict[str, Any]
    seed: int
    #: a sampled training's weight per training row (core/sampling.py), None when every row was used
    train_weight: np.ndarray | None = None


def label_history(history: pl.DataFrame, outcomes: pl.DataFrame, *, window_weeks: int, known_until: date) -> pl.DataFrame:
    """Non-investor rows of complete weeks, with ``label`` 1 if they opened within the window."""
    first_opening = outcomes.group_by("customer_id").agg(pl.col("opened_date").min())
    window = timedelta(weeks=window_weeks)
    # Each row's first opening is looked up rather than joined on: a join copies the whole history once
    # more, and at a bank's size that copy is what decides whether training fits in memory.
    opened = pl.col("customer_id").replace_strict(
        first_opening["customer_id"], first_opening["opened_date"], default=None, return_dtype=pl.Date
    )
    return (
        history.lazy()
        .filter(~pl.col("is_investor").fill_null(False) & (pl.col("snapshot_date") + window - timedelta(days=1) <= known_until))
        .with_columns(
            ((opened >= pl.col("snapshot_date")) & (opened < pl.col("snapshot_date") + window))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("label")
        )
        .collect()
    )


@dataclass(frozen=True)
class HistorySplit:
    """The labelled history as training uses it: the rows fitted on and every row of the validation weeks.

    Without sampling, ``fitted`` is the whole labelled history. With it
    (core/sampling.py), ``fitted`` is the sample, with ``weight`` and
    ``in_reference``, and ``validation`` keeps every row of the validation
    weeks, so the calibration and the lift are measured on the customers as
    they are; the rest of the history is let go.
    """

    weeks: pl.Series
    cutoff: date
    fitted: pl.DataFrame
    validation: pl.DataFrame
    rows: int
    positives: int
    sampling: Sampling | None


def split_history(
    labelled: pl.DataFrame, *, validation_weeks: int, sample_rows: int | None = None, seed: int = 0
) -> HistorySplit:
    """The out-of-time split, and the sample to fit on when the history has more than ``sample_rows`` rows."""
    weeks = labelled["snapshot_date"].unique().sort()
    if weeks.len() < validation_weeks + MIN_TRAINING_WEEKS:
        raise BadInput(
            f"only {weeks.len()} weeks of history have a complete label window; training needs at least "
            f"{validation_weeks + MIN_TRAINING_WEEKS} ({MIN_TRAINING_WEEKS} to learn from and {validation_weeks} "
            "to validate on)",
            hint="Add more history, or lower [engine] validation_weeks.",
        )
    cutoff = weeks[-validation_weeks]
    validation = labelled.filter(pl.col("snapshot_date") >= cutoff)
    # counted, not copied: the training weeks are most of the history
    learned = labelled.lazy().filter(pl.col("snapshot_date") < cutoff).select(pl.col("label").n_unique()).collect().item()
    for distinct, name in ((learned, "training"), (validation["label"].n_unique(), "validation")):
        if distinct < 2:
            raise BadInput(
                f"the {name} weeks hold no conversions (or only conversions); nothing can be learned or measured",
                hint="Check that the outcomes file covers the history's weeks.",
            )
    drawn = draw_sample(labelled, limit=sample_rows, seed=seed) if sample_rows else None
    fitted, sampling = drawn if drawn else (labelled, None)
    return HistorySplit(
        weeks=weeks,
        cutoff=cutoff,
        fitted=fitted,
        validation=validation,
        rows=labelled.height,
        positives=int(labelled["label"].sum()),
        sampling=sampling,
    )


def train_engine(engine: Any, split: HistorySplit, *, capacity: int, seed: int = 0) -> TrainResult:
    weeks, cutoff, fitted = split.weeks, split.cutoff, split.fitted
    weight = _weights(engine, split)
    train = fitted.filter(pl.col("snapshot_date") < cutoff)
    test = fitted.filter(pl.col("snapshot_date") >= cutoff)
    train_weight = None if weight is None else train["weight"].to_numpy()
    train_features = engine.features(train.lazy()).collect()
    test_features = engine.features(test.lazy()).collect()
    refuse_constant_features(engine, train_features)
    model = engine.fit(train_features, train["label"].to_numpy(), seed=seed, **_weighted(train_weight))
    in_time = engine.score(model, train_features)
    train_label, test_label = train["label"].to_numpy(), test["label"].to_numpy()
    metrics: dict[str, Any] = {
        "in_time_auc": auc(train_label, in_time),
        "in_time_auc_within_week": within_week_auc(train_label, in_time, train["snapshot_date"]),
    }
    metrics["single_feature_auc_within_week"] = single_feature_aucs(
        train_features, train_label, train["snapshot_date"], list(engine.feature_labels)
    )
    strongest = strongest_feature(metrics["single_feature_auc_within_week"])
    validated = score_validation_weeks(engine, model, split.validation, [strongest[0]] if strongest else [])
    metrics = {"out_of_time": evaluate_scores(validated.label, validated.score, validated.weeks, capacity), **metrics}
    metrics["references"] = reference_rankings(
        metrics["single_feature_auc_within_week"],
        train_features,
        train_label,
        validated.features,
        validated.label,
        validated.weeks,
        capacity,
    )
    if split.sampling is not None:
        metrics["sampling"] = split.sampling.to_dict()
    del validated
    all_features = engine.features(fitted.lazy()).collect()
    # The final model also learns from the validation weeks. An engine that can refit starts from the
    # validated model, a step or two from the final one, and ends at the model a fit from scratch gives.
    refit = refit_method(engine)
    if refit is not None and (weight is None or takes_weights(refit)):
        final = refit(model, all_features, fitted["label"].to_numpy(), seed=seed, **_weighted(weight))
    else:
        final = engine.fit(all_features, fitted["label"].to_numpy(), seed=seed, **_weighted(weight))
    profiled = fitted["in_reference"].to_numpy() if split.sampling is not None else None
    return TrainResult(
        model=final,
        metrics=metrics,
        train_weeks=(weeks[0], weeks.filter(weeks < cutoff)[-1]),
        validation_weeks=(cutoff, weeks[-1]),
        rows=split.rows,
        positives=split.positives,
        reference=reference_profile(
            all_features if profiled is None else all_features.filter(profiled),
            engine,
            fitted["snapshot_date"] if profiled is None else fitted["snapshot_date"].filter(profiled),
        ),
        evidence=TrainingEvidence(
            engine=engine,
            train_features=train_features,
            train_label=train_label,
            train_weeks=train["snapshot_date"],
            test_features=test_features,
            test_label=test_label,
            test_weeks=test["snapshot_date"],
            metrics=metrics,
            seed=seed,
            train_weight=train_weight,
        ),
        sampling=split.sampling,
    )


@dataclass(frozen=True)
class _Validated:
    """Every row of the validation weeks: label, week, score and the feature columns kept for the references."""

    label: np.ndarray
    weeks: pl.Series
    score: np.ndarray
    features: pl.DataFrame


def score_validation_weeks(engine: Any, model: Any, validation: pl.DataFrame, keep: list[str]) -> _Validated:
    """Score the validation weeks a week's worth of rows at a time, in their order, keeping only ``keep``.

    Made into features all at once, a bank's twelve validation weeks would
    be the largest thing training holds; a week's rows at a time, only the
    scores and the columns the references need are kept.
    """
    chunk = max(1, -(-validation.height // max(1, validation["snapshot_date"].n_unique())))
    scores, kept = [], []
    for start in range(0, validation.height, chunk):
        features = engine.features(validation.slice(start, chunk).lazy()).collect()
        scores.append(np.asarray(engine.score(model, features)))
        kept.append(features.select(keep))
    return _Validated(
        label=validation["label"].to_numpy(),
        weeks=validation["snapshot_date"],
        score=np.concatenate(scores) if scores else np.empty(0),
        features=pl.concat(kept) if kept else pl.DataFrame(),
    )


def _weights(engine: Any, split: HistorySplit) -> np.ndarray | None:
    """The rows' weights when training samples, or ``UsageError`` when the engine cannot take them."""
    if split.sampling is None:
        return None
    if not takes_weights(engine.fit):
        raise UsageError(
            f"the history has {split.rows:,} labelled customer-weeks, more than [engine] training_sample_rows "
            f"({split.sampling.limit:,}), and the engine '{engine.name}' cannot be fitted on a weighted sample "
            "(its fit takes no sample_weight)",
            hint=f"Raise [engine] training_sample_rows in nba.toml to at least {split.rows:,} if the memory allows, "
            "train on fewer weeks with --until, or ask the engine's maintainer for sample_weight in fit.",
        )
    return split.fitted["weight"].to_numpy()


def _weighted(weight: np.ndarray | None) -> dict[str, Any]:
    """``sample_weight`` for a sampled fit; nothing otherwise, so an engine without weights is called as ever."""
    return {} if weight is None else {"sample_weight": weight}


def refuse_constant_features(engine: Any, features: pl.DataFrame) -> None:
    """A feature with one value in all of training cannot rank anyone: most likely the wrong column was mapped.

    Refused before fitting, because the model would otherwise come out as a
    constant for that feature while every check passed.
    """
    for name, label in engine.feature_labels.items():
        values = features[name].drop_nulls()
        if values.n_unique() < 2:
            shown = repr(values.first()) if values.len() else "no value at all"
            raise BadInput(
                f"the feature '{label}' has the same value for every training row ({shown}); the model cannot "
                "rank customers by it",
                hint="Check that [columns] and [features] in nba.toml read the right extract column, or remove the feature.",
            )


def evaluate_scores(label: np.ndarray, score: np.ndarray, week: pl.Series, capacity: int) -> dict[str, Any]:
    """The validation figures: per week and combined (``core/validation.py``), plus the pooled AUC and calibration.

    The pooled AUC is kept, labelled as such, because it is what most tools
    report; the figures the gates and the operator read are the weekly ones.
    """
    frame = pl.DataFrame({"label": label, "score": score, "week": week})
    deciles = (
        frame.with_columns((pl.col("score").rank("ordinal") * 10 / (pl.len() + 1)).floor().cast(pl.Int8).alias("decile"))
        .group_by("decile")
        .agg(
            pl.len().alias("customers"),
            pl.col("score").mean().alias("mean_score"),
            pl.col("label").mean().alias("conversion_rate"),
        )
        .sort("decile")
    )
    return {
        "auc": auc(label, score),
        **weekly_figures(label, score, week, capacity),
        "base_rate": float(label.mean()),
        "mean_score": float(score.mean()),
        "brier": float(np.mean((score - label) ** 2)),
        "calibration": [
            {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()} for row in deciles.iter_rows(named=True)
        ],
        "rows": int(label.shape[0]),
        "weeks": int(week.n_unique()),
    }


def reference_profile(features: pl.DataFrame, engine: Any, weeks: pl.Series) -> dict[str, Any]:
    """Each feature as training saw it, for the drift and market regime checks on later weeks.

    Numeric features get their deciles, range, drift bins (``edges``) with
    training's own share per bin (``shares``), and whether they were the same
    for everyone within each week (the market features): such a feature has
    no distribution within a week to drift; its value per training week
    (``weekly``) gives the market band instead.
    """
    names = list(engine.feature_labels)
    by_week = features.select(names).with_columns(weeks.alias("__week__")).group_by("__week__")
    per_week = by_week.agg(pl.all().n_unique()).max()
    numeric = [n for n in names if features[n].dtype.is_numeric()]
    medians = by_week.agg(pl.col(numeric).median()).sort("__week__") if numeric else None
    profile = {}
    for name in names:
        column = features[name]
        if column.dtype.is_numeric():
            values = column.drop_nulls().sort()  # sorted once, each of the eleven quantiles is a lookup
            finite = values.cast(pl.Float64).to_numpy()
            edges = decile_edges(finite)
            same_within_week = bool(per_week[name].item() == 1)
            profile[name] = {
                "quantiles": [float(values.quantile(q / 10)) for q in range(11)],
                "min": float(values.min()),
                "max": float(values.max()),
                "edges": edges,
                "shares": [float(x) for x in bin_shares(finite, edges)],
                "same_within_week": same_within_week,
            }
            if same_within_week and medians is not None:
                # one value per training week: what the market band (core/market.py) is built from
                profile[name]["weekly"] = [float(v) for v in medians[name].drop_nulls()]
        else:
            profile[name] = {"shares": {str(k): float(v) for k, v in column.value_counts(normalize=True).iter_rows()}}
    return profile


def auc(label: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(label, score))
