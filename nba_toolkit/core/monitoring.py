"""Monitoring the model week by week: does what the exported weeks realise match what validation promised?

Two figures per week, shown side by side:

* the **expected AUC**, an estimate that needs no outcomes (confidence-based
  performance estimation, CBPE): each calibrated score ``p_i`` is taken as
  the customer's probability to convert, so the AUC the week would show if
  the model were right is
  ``sum_{s_i > s_j} p_i (1 - p_j) / sum_{i != j} p_i (1 - p_j)`` (ties count
  half). It moves when the scores' distribution moves (a provider sending
  broken data), weeks before the conversions are in; it cannot see a change
  in behaviour that leaves the scores as they were.
* the **labelled AUC** within the week, once the week's outcomes are known,
  with a Hanley-McNeil 95% interval: a small week's AUC is noisy, so a week
  only counts as below the band when the whole interval is.

Pure: numpy in, figures out; the job (jobs/monitor.py) finds the runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: two-sided 95% normal quantile
Z95 = 1.959963984540054


def expected_auc(scores: np.ndarray) -> float | None:
    """The AUC expected if each score is the customer's true probability to convert (CBPE).

    Sorted by score, every customer ``i`` is the positive of a pair with each
    lower-scored ``j`` with weight ``p_i (1 - p_j)``; cumulative sums of
    ``1 - p`` over the lower groups give this in one pass, and a tie of
    scores counts half, as in the AUC. None when no pair can be formed.
    """
    p = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    if p.size < 2:
        return None
    values, inverse = np.unique(p, return_inverse=True)
    pos = np.bincount(inverse, weights=p)  # sum of p per distinct score
    neg = np.bincount(inverse, weights=1.0 - p)  # sum of 1 - p per distinct score
    neg_below = np.cumsum(neg) - neg
    # within a tied group: sum over i != j of p_i (1 - p_j) = pos * neg - sum p_i (1 - p_i)
    self_pairs = np.bincount(inverse, weights=p * (1.0 - p))
    tied = pos * neg - self_pairs
    numerator = float(np.sum(pos * neg_below) + 0.5 * np.sum(tied))
    denominator = float(p.sum() * (1.0 - p).sum() - np.sum(p * (1.0 - p)))
    if denominator <= 0 or values.size == 0:
        return None
    return numerator / denominator


def labelled_auc(scores: np.ndarray, converted: np.ndarray) -> float | None:
    """The AUC of the scores against 0/1 conversions (ties half); None without both a positive and a negative."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(converted).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=float)
    sorted_scores = s[order]
    # average ranks for ties
    _, start, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = start + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass(frozen=True)
class AucInterval:
    """A labelled AUC with its Hanley-McNeil (1982) 95% interval and what it was counted on."""

    auc: float
    low: float
    high: float
    positives: int
    negatives: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hanley_mcneil(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """The 95% interval of an AUC from its counts of positives and negatives, clipped to [0, 1]."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (
        positives * negatives
    )
    half = Z95 * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def auc_with_interval(scores: np.ndarray, converted: np.ndarray) -> AucInterval | None:
    """The labelled AUC and its interval; None without both a conversion and a non-conversion."""
    value = labelled_auc(scores, converted)
    if value is None:
        return None
    y = np.asarray(converted).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    low, high = hanley_mcneil(value, positives, negatives)
    return AucInterval(auc=value, low=low, high=high, positives=positives, negatives=negatives)


def estimate_below(estimate: float | None, reference: float | None, drop: float) -> bool:
    """The estimate is below the band: more than ``drop`` under the reference."""
    return estimate is not None and reference is not None and estimate < reference - drop


def labelled_below(interval: AucInterval | None, reference: float | None, drop: float, min_positives: int) -> bool:
    """The labelled AUC is below the band: enough conversions, and the whole interval under the reference minus ``drop``."""
    if interval is None or reference is None or interval.positives < min_positives:
        return False
    return interval.high < reference - drop
