"""Signs that a model learned the calendar, or the answer, instead of the customers.

The bank's first model overfit through a *period key*: the fund index change
over 1 and 4 weeks is the same for everyone in a week and different from
week to week, so the model could recognise weeks (May, when holiday pay
arrives; the crash) rather than learn what makes a customer convert. A near
key does the same: monthly macro-economic columns with a few stray values
within a month, or coarse ones with five values over nine months. What they
share is that their variance lies between weeks, not between the customers
of a week, which is what is measured here. The cost of such features is
measured by refitting without them, and single features that rank a week's
customers suspiciously well on their own (usually information from after the
snapshot) are found as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from nba_toolkit.core.validation import folded, single_feature_aucs, within_week_auc

if TYPE_CHECKING:
    from nba_toolkit.core.training import TrainingEvidence


@dataclass(frozen=True)
class PeriodKey:
    """Features whose variance lies mostly between weeks: feature -> share of its variance between weeks."""

    shares: dict[str, float]
    weeks: int

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.shares)


def between_week_shares(features: pl.DataFrame, weeks: pl.Series, names: Sequence[str]) -> dict[str, float]:
    """Per numeric (or yes/no) feature, the share of its variance that lies between weeks rather than within them.

    1.0 means the same value for everyone within each week; 0.0 means every
    week has the same mean. A feature with no variance at all (the same for
    everyone in every week) carries nothing and is left out: it is never
    part of a key. Categories are left out too (they have no variance to
    split); the single-feature measure covers them.
    """
    numeric = [n for n in names if features[n].dtype.is_numeric() or features[n].dtype == pl.Boolean]
    if not numeric:
        return {}
    frame = features.select(pl.col(numeric).cast(pl.Float64)).with_columns(weeks.alias("__week__"))
    total = frame.select(((pl.col(numeric) - pl.col(numeric).mean()) ** 2).sum())
    within = frame.select(((pl.col(numeric) - pl.col(numeric).mean().over("__week__")) ** 2).sum())
    shares = {}
    for name in numeric:
        spread = total[name].item()
        if spread is None or spread <= 1e-12 * max(1, frame.height):
            continue
        shares[name] = max(0.0, min(1.0, 1.0 - within[name].item() / spread))
    return shares


def find_period_key(features: pl.DataFrame, weeks: pl.Series, names: Sequence[str], *, max_share: float) -> PeriodKey | None:
    """The features with at least ``max_share`` of their variance between weeks, if any (and if there are weeks to tell apart)."""
    if weeks.n_unique() < 2:
        return None
    shares = between_week_shares(features, weeks, names)
    flagged = {name: share for name, share in shares.items() if share >= max_share}
    return PeriodKey(shares=flagged, weeks=weeks.n_unique()) if flagged else None


def single_feature_strengths(evidence: TrainingEvidence) -> dict[str, float]:
    """How well each feature alone ranks the customers of a training week (AUC within the week, folded to 0.5-1).

    Training measures them once (``single_feature_auc_within_week`` in its
    metrics); evidence without them is measured here.
    """
    recorded = evidence.metrics.get("single_feature_auc_within_week")
    if recorded is None:
        recorded = single_feature_aucs(
            evidence.train_features, evidence.train_label, evidence.train_weeks, list(evidence.engine.feature_labels)
        )
    return folded(recorded)


def out_of_time_auc_without(evidence: TrainingEvidence, names: Sequence[str]) -> float | None:
    """Refit on the training weeks with ``names`` set to one value for everyone; its AUC within the validation weeks.

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
    # a sampled training's rows stand for the rows left out, as in the fit itself (core/sampling.py)
    weighted = {} if evidence.train_weight is None else {"sample_weight": evidence.train_weight}
    model = engine.fit(neutral(evidence.train_features), evidence.train_label, seed=evidence.seed, **weighted)
    score = engine.score(model, neutral(evidence.test_features))
    return within_week_auc(evidence.test_label, score, evidence.test_weeks)
