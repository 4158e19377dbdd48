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
from nba_toolkit.core.engine import refit_method
from nba_toolkit.core.validation import reference_rankings, single_feature_aucs, weekly_figures, within_week_auc
from nba_toolkit.errors import BadInput

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


def label_history(history: pl.DataFrame, outcomes: pl.DataFrame, *, window_weeks: int, known_until: date) -> pl.DataFrame:
    """Non-investor rows of complete weeks, with ``label`` 1 if they opened within the window."""
    first_opening = outcomes.group_by("customer_id").agg(pl.col("opened_date").min())
    window = timedelta(weeks=window_weeks)
    return (
        history.filter(~pl.col("is_investor").fill_null(False))
        .filter(pl.col("snapshot_date") + window - timedelta(days=1) <= known_until)
        .join(first_opening, on="customer_id", how="left")
        .with_columns(
            ((pl.col("opened_date") >= pl.col("snapshot_date")) & (pl.col("opened_date") < pl.col("snapshot_date") + window))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("label")
        )
        .drop("opened_date")
    )


def train_engine(engine: Any, labelled: pl.DataFrame, *, validation_weeks: int, capacity: int, seed: int = 0) -> TrainResult:
    weeks = labelled["snapshot_date"].unique().sort()
    if weeks.len() < validation_weeks + MIN_TRAINING_WEEKS:
        raise BadInput(
            f"only {weeks.len()} weeks of history have a complete label window; training needs at least "
            f"{validation_weeks + MIN_TRAINING_WEEKS} ({MIN_TRAINING_WEEKS} to learn from and {validation_weeks} "
            "to validate on)",
            hint="Add more history, or lower [engine] validation_weeks.",
        )
    cutoff = weeks[-validation_weeks]
    train = labelled.filter(pl.col("snapshot_date") < cutoff)
    test = labelled.filter(pl.col("snapshot_date") >= cutoff)
    for part, name in ((train, "training"), (test, "validation")):
        if part["label"].n_unique() < 2:
            raise BadInput(
                f"the {name} weeks hold no conversions (or only conversions); nothing can be learned or measured",
                hint="Check that the outcomes file covers the history's weeks.",
            )
    train_features = engine.features(train.lazy()).collect()
    test_features = engine.features(test.lazy()).collect()
    refuse_constant_features(engine, train_features)
    model = engine.fit(train_features, train["label"].to_numpy(), seed=seed)
    in_time = engine.score(model, train_features)
    out_of_time = engine.score(model, test_features)
    train_label, test_label = train["label"].to_numpy(), test["label"].to_numpy()
    metrics: dict[str, Any] = {
        "out_of_time": evaluate_scores(test_label, out_of_time, test["snapshot_date"], capacity),
        "in_time_auc": auc(train_label, in_time),
        "in_time_auc_within_week": within_week_auc(train_label, in_time, train["snapshot_date"]),
    }
    metrics["single_feature_auc_within_week"] = single_feature_aucs(
        train_features, train_label, train["snapshot_date"], list(engine.feature_labels)
    )
    metrics["references"] = reference_rankings(
        metrics["single_feature_auc_within_week"],
        train_features,
        train_label,
        test_features,
        test_label,
        test["snapshot_date"],
        capacity,
    )
    all_features = engine.features(labelled.lazy()).collect()
    # The final model also learns from the validation weeks. An engine that can refit starts from the
    # validated model, a step or two from the final one, and ends at the model a fit from scratch gives.
    refit = refit_method(engine)
    if refit is not None:
        final = refit(model, all_features, labelled["label"].to_numpy(), seed=seed)
    else:
        final = engine.fit(all_features, labelled["label"].to_numpy(), seed=seed)
    return TrainResult(
        model=final,
        metrics=metrics,
        train_weeks=(weeks[0], weeks[-validation_weeks - 1]),
        validation_weeks=(cutoff, weeks[-1]),
        rows=labelled.height,
        positives=int(labelled["label"].sum()),
        reference=reference_profile(all_features, engine, labelled["snapshot_date"]),
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
        ),
    )


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
