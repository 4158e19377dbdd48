"""Validation figures that measure what the weekly selection does, week by week.

The selection ranks the customers of one week and mails the top of that
week. Pooled over weeks, an AUC also rewards knowing *which week* converts
more, which the selection never uses, and a pooled "top capacity" lift
rewards weeks that are small (they enter whole) or convert a lot. A real
bank's lists of 10 to 7,700 customers with base rates of 3% to 63% made
random scores look like a model that way.

So each validation week is measured on its own, against its own base rate,
and the weeks are then combined:

* **AUC within the week**: of two customers of the same week, one who
  converted and one who did not, the chance the model ranks the converter
  higher (ties count half). Combined over weeks by their number of such
  pairs, with a standard error (Hanley and McNeil, per week).
* **Lift at capacity**: the conversion rate of the week's top ``capacity``
  customers (its top fifth when the week is smaller than five times the
  capacity, so a small week is not mailed whole) divided by that week's
  base rate. Customers tied at the cut count by their share of the places
  left, so a constant score gets a lift of exactly 1. Combined as the mean
  over weeks weighted by the week's customers, with the lowest and highest.

A random ranking scores an AUC near 0.5 and a lift near 1 on any weeks, and
every figure is reported next to two references measured on the same weeks:
a random ranking and the best single feature of the training weeks used as
the ranking (the simplest rule a person could write). Many single features
are measured at training, so the AUC alone has its own one-pass function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.scalars import number

#: the largest share of a week counted as its "top" when the capacity would take in more
MAX_TOP_SHARE = 0.2
#: the seed of the random reference ranking, so the figures are reproducible
RANDOM_REFERENCE_SEED = 20_240_501


def weekly_figures(label: np.ndarray, score: np.ndarray, week: pl.Series, capacity: int) -> dict[str, Any]:
    """AUC within the week and lift at capacity, per week and combined (see the module docstring)."""
    per_week = _per_week(label, score, week, capacity)
    ranked = per_week.filter((pl.col("positives") > 0) & (pl.col("positives") < pl.col("customers")))
    pairs = (ranked["positives"] * (ranked["customers"] - ranked["positives"])).cast(pl.Float64)
    auc = number((ranked["auc"] * pairs).sum()) / number(pairs.sum()) if ranked.height else None
    se = float(np.sqrt(number((ranked["auc_var"] * pairs**2).sum()) / number(pairs.sum()) ** 2)) if ranked.height else None
    lifted = per_week.filter(pl.col("positives") > 0)
    weights = lifted["customers"].cast(pl.Float64)
    lift = number((lifted["lift"] * weights).sum()) / number(weights.sum()) if lifted.height else None
    return {
        "auc_within_week": None if auc is None else round(auc, 6),
        "auc_within_week_se": None if se is None else round(se, 6),
        "lift_at_capacity": None if lift is None else round(lift, 6),
        "lift_at_capacity_range": [round(number(lifted["lift"].min()), 6), round(number(lifted["lift"].max()), 6)]
        if lifted.height
        else None,
        "conversion_rate_at_capacity": round(number(per_week["top_conversions"].sum()) / number(per_week["top"].sum()), 6)
        if per_week.height
        else None,
        "per_week": [
            {
                "week": str(row["week"]),
                "customers": int(row["customers"]),
                "conversions": int(row["positives"]),
                "base_rate": round(float(row["base_rate"]), 6),
                "mean_score": round(float(row["mean_score"]), 6),
                "top": int(row["top"]),
                "top_conversion_rate": round(float(row["top_conversions"] / row["top"]), 6),
                "lift": None if row["lift"] is None else round(float(row["lift"]), 6),
                "auc": None if row["auc"] is None or not np.isfinite(row["auc"]) else round(float(row["auc"]), 6),
            }
            for row in per_week.iter_rows(named=True)
        ],
    }


def within_week_auc(label: np.ndarray, score: np.ndarray, week: pl.Series) -> float | None:
    """The AUC within the week alone (no lift), with one ranking pass: for measuring many single features."""
    frame = pl.DataFrame({"label": np.asarray(label, dtype=np.int64), "score": np.asarray(score, dtype=np.float64), "week": week})
    weekly = (
        frame.with_columns(pl.col("score").rank("average").over("week").alias("rank"))
        .group_by("week")
        .agg(
            pl.len().alias("n"),
            pl.col("label").sum().alias("p"),
            (pl.col("rank") * pl.col("label")).sum().alias("rank_sum"),
        )
        .with_columns(q=pl.col("n") - pl.col("p"))
        .filter((pl.col("p") > 0) & (pl.col("q") > 0))
        .with_columns(pairs=(pl.col("p") * pl.col("q")).cast(pl.Float64))
    )
    if weekly.height == 0:
        return None
    concordant = (weekly["rank_sum"] - weekly["p"] * (weekly["p"] + 1) / 2).sum()
    return round(number(concordant) / number(weekly["pairs"].sum()), 6)


def _per_week(label: np.ndarray, score: np.ndarray, week: pl.Series, capacity: int) -> pl.DataFrame:
    frame = pl.DataFrame({"label": np.asarray(label, dtype=np.int64), "score": np.asarray(score, dtype=np.float64), "week": week})
    by_week = pl.col("week")
    descending_min = pl.col("score").rank("min", descending=True).over(by_week)
    descending_max = pl.col("score").rank("max", descending=True).over(by_week)
    n = pl.len().over(by_week)
    top = pl.min_horizontal(pl.lit(capacity), pl.max_horizontal(pl.lit(1), (n * MAX_TOP_SHARE).floor().cast(pl.Int64)))
    # a row's chance of being in the top when ties at the cut are broken at random
    inside = ((top - (descending_min - 1)) / (descending_max - descending_min + 1)).clip(0.0, 1.0)
    weekly = (
        frame.with_columns(pl.col("score").rank("average").over(by_week).alias("rank"), top.alias("top"), inside.alias("inside"))
        .group_by("week")
        .agg(
            pl.len().alias("customers"),
            pl.col("label").sum().alias("positives"),
            pl.col("rank").filter(pl.col("label") == 1).sum().alias("rank_sum"),
            pl.col("top").first(),
            (pl.col("inside") * pl.col("label")).sum().alias("top_conversions"),
            pl.col("score").mean().alias("mean_score"),
        )
        .sort("week")
    )
    p = pl.col("positives").cast(pl.Float64)
    q = (pl.col("customers") - pl.col("positives")).cast(pl.Float64)
    auc = (pl.col("rank_sum") - p * (p + 1) / 2) / (p * q)
    return weekly.with_columns(
        (p / pl.col("customers")).alias("base_rate"),
        pl.when((p > 0) & (q > 0)).then(auc).otherwise(None).alias("auc"),
    ).with_columns(
        pl.when(p > 0).then(pl.col("top_conversions") / pl.col("top") / pl.col("base_rate")).otherwise(None).alias("lift"),
        _hanley_mcneil(pl.col("auc"), p, q).alias("auc_var"),
    )


def _hanley_mcneil(a: pl.Expr, positives: pl.Expr, negatives: pl.Expr) -> pl.Expr:
    """The variance of one week's AUC (Hanley and McNeil, 1982)."""
    q1 = a / (2 - a)
    q2 = 2 * a**2 / (1 + a)
    return (a * (1 - a) + (positives - 1) * (q1 - a**2) + (negatives - 1) * (q2 - a**2)) / (positives * negatives)


def reference_rankings(
    single_feature: dict[str, float],
    train_features: pl.DataFrame,
    train_label: np.ndarray,
    test_features: pl.DataFrame,
    test_label: np.ndarray,
    test_weeks: pl.Series,
    capacity: int,
) -> dict[str, Any]:
    """The validation figures of a random ranking and of the best single feature, on the same weeks.

    ``single_feature`` is each feature's AUC within the training weeks
    (:func:`single_feature_aucs`): the best feature is chosen there, in
    whichever direction ranks better, and only then measured on the
    validation weeks, as the model is.
    """
    rng = np.random.default_rng(RANDOM_REFERENCE_SEED)
    random = weekly_figures(test_label, rng.random(len(test_label)), test_weeks, capacity)
    references: dict[str, Any] = {"random": _summary(random)}
    strongest = strongest_feature(single_feature)
    if strongest:
        name, sign = strongest
        score = sign * rule_score(train_features[name], train_label, test_features[name])
        references["single_feature"] = {"feature": name, **_summary(weekly_figures(test_label, score, test_weeks, capacity))}
    return references


def strongest_feature(single_feature: Mapping[str, float | None]) -> tuple[str, float] | None:
    """The feature that alone ranks the training weeks best, in either direction, with that direction (1 or -1)."""
    informative = {name: value for name, value in single_feature.items() if value is not None}
    if not informative:
        return None
    name = max(informative, key=lambda n: abs(informative[n] - 0.5))
    return name, 1.0 if informative[name] >= 0.5 else -1.0


def single_feature_aucs(features: pl.DataFrame, label: np.ndarray, weeks: pl.Series, names: list[str]) -> dict[str, float | None]:
    """Each feature alone as the ranking: its AUC within the week (None when it has one value only).

    Below 0.5 the feature ranks the other way round; :func:`folded` gives the
    strength whatever the direction.
    """
    found: dict[str, float | None] = {}
    for name in names:
        score = rule_score(features[name], label, features[name])
        found[name] = None if np.all(score == score[0]) else within_week_auc(label, score, weeks)
    return found


def folded(aucs: dict[str, float | None]) -> dict[str, float]:
    """AUCs folded to 0.5-1: how well each feature ranks, in whichever direction."""
    return {name: 0.5 if value is None else max(value, 1 - value) for name, value in aucs.items()}


def rule_score(learned_from: pl.Series, label: np.ndarray, values: pl.Series) -> np.ndarray:
    """A single feature as a score: a number is its own score (nulls at the median), a category its conversion rate."""
    if learned_from.dtype.is_numeric() or learned_from.dtype == pl.Boolean:
        known = learned_from.cast(pl.Float64).drop_nulls()
        fill = number(known.median()) if known.len() else 0.0
        return values.cast(pl.Float64).fill_null(fill).to_numpy()
    rates = (
        pl.DataFrame({"value": learned_from.cast(pl.String), "label": label})
        .group_by("value")
        .agg(pl.col("label").mean().alias("rate"))
    )
    overall = float(np.mean(label)) if len(label) else 0.0
    return (
        pl.DataFrame({"value": values.cast(pl.String)})
        .join(rates, on="value", how="left", maintain_order="left")["rate"]
        .fill_null(overall)
        .to_numpy()
    )


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    return {key: figures[key] for key in ("auc_within_week", "lift_at_capacity", "lift_at_capacity_range")}
