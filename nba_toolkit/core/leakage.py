"""Signs that a model learned the calendar, or the answer, instead of the customers (R-E3).

The bank's first model overfit through a *period key*: the fund index change
over 1 and 4 weeks is the same for everyone in a week and, as a pair,
different in every week, so the model could recognise weeks (May, when
holiday pay arrives; the crash) rather than learn what makes a customer
convert. With 1.5 years of history that looks like skill in time and fails
out of time. The measures here find such features, measure what the model
does without them, and find single features that predict the label on their
own suspiciously well (usually information from after the snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from nba_toolkit.core.training import auc

if TYPE_CHECKING:
    from nba_toolkit.core.training import TrainingEvidence


@dataclass(frozen=True)
class PeriodKey:
    """Features that are constant within each week and, together, tell the weeks apart."""

    features: tuple[str, ...]
    distinct_weeks: int
    weeks: int


def week_constant_features(features: pl.DataFrame, weeks: pl.Series, names: Sequence[str]) -> list[str]:
    """The features with one value per week for everyone."""
    if not names:
        return []
    most = features.select(names).with_columns(weeks.alias("__week__")).group_by("__week__").agg(pl.all().n_unique()).max()
    return [name for name in names if most[name].item() == 1]


def find_period_key(features: pl.DataFrame, weeks: pl.Series, names: Sequence[str], *, distinct_share: float) -> PeriodKey | None:
    """The week-constant features, if their combined values differ in at least ``distinct_share`` of the weeks."""
    constant = week_constant_features(features, weeks, names)
    n_weeks = weeks.n_unique()
    if not constant or n_weeks < 2:
        return None
    per_week = features.select(constant).with_columns(weeks.alias("__week__")).unique(subset="__week__")
    distinct = per_week.select(constant).unique().height
    if distinct < distinct_share * n_weeks:
        return None
    return PeriodKey(features=tuple(constant), distinct_weeks=distinct, weeks=n_weeks)


def single_feature_aucs(features: pl.DataFrame, label: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """How well each feature alone separates converters, as an AUC folded to 0.5-1 (direction does not matter).

    A numeric feature is its own score; a category scores as its conversion rate.
    """
    found = {}
    for name in names:
        column = features[name]
        if column.dtype.is_numeric():
            values = column.cast(pl.Float64)
            score = values.fill_null(values.median() if values.null_count() < values.len() else 0.0).to_numpy()
        else:
            frame = pl.DataFrame({"value": column.cast(pl.String), "label": label})
            score = frame.select(pl.col("label").mean().over("value")).to_series().to_numpy()
        if np.all(score == score[0]):
            found[name] = 0.5
            continue
        value = auc(label, score)
        found[name] = max(value, 1.0 - value)
    return found


def out_of_time_auc_without(evidence: TrainingEvidence, names: Sequence[str]) -> float:
    """Refit on the training weeks with ``names`` set to one value for everyone, and measure out of time.

    Neutralising rather than dropping keeps the engine's feature set intact,
    so any engine can be measured this way: a feature with one value carries
    no information, so the model cannot use it.
    """
    fixed = {}
    for name in names:
        column = evidence.train_features[name]
        value = column.median() if column.dtype.is_numeric() else column.mode().sort().first()
        fixed[name] = pl.lit(value, dtype=column.dtype).alias(name)

    def neutral(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(fixed.values())

    engine = evidence.engine
    model = engine.fit(neutral(evidence.train_features), evidence.train_label, seed=evidence.seed)
    return auc(evidence.test_label, engine.score(model, neutral(evidence.test_features)))
