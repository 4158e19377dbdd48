"""The statistics behind every uplift the toolkit reports, with their 95% intervals.

Three estimators, each chosen for where it is used:

* :func:`newcombe_difference`: a difference of two conversion rates from one
  comparison (one run, or a mailing evaluated from a file). Newcombe's hybrid
  score interval (method 10 in Newcombe, Statistics in Medicine 1998) combines
  the two groups' Wilson intervals; it stays inside -1..1 and keeps its
  coverage with few conversions, where the textbook Wald interval is too narrow.
* :func:`welch_difference`: a difference of two means (money invested per
  head, or conversions per head when the outcome is a count), with Welch's
  unequal-variance t interval.
* :func:`stratified_difference`: many runs pooled. Each run is a stratum with
  its own assignment probability; the per-run differences are combined with
  weights the caller gives (from the recorded probabilities), and the
  standard error is clustered by customer, because a customer held out week
  after week appears in several runs and those rows are not independent.
* :func:`stratified_newcombe`: the same weighted difference of conversion
  rates with the Newcombe interval carried over to a weighted sum (the MOVER
  method of Zou and Donner, 2008, from each run's Wilson intervals). With few
  conversions the clustered normal interval is too narrow (one run, 100
  controls, 2 conversions: -8.67 to -2.92 points against Newcombe's -7.51 to
  -0.73); pooled conversion uplifts therefore report the wider of the two,
  which is exactly Newcombe's when one run contributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import polars as pl

from nba_toolkit.core.scalars import number

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval; the bounds are None when the data cannot give one."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high, "method": self.method}

    def scaled(self, factor: float) -> Interval:
        """The same interval for a total: e.g. an uplift per head times the number mailed."""

        def times(value: float | None) -> float | None:
            return None if value is None else value * factor

        return Interval(times(self.estimate), times(self.ci_low), times(self.ci_high), self.method)


NEWCOMBE = "Newcombe hybrid score interval (method 10) for a difference of proportions"
WELCH = "Welch unequal-variance t interval for a difference of means"
STRATIFIED = "difference per run, weighted by the recorded assignment probabilities; normal interval, clustered by customer"
STRATIFIED_RATES = (
    "difference per run, weighted by the recorded assignment probabilities; the wider of the Newcombe interval "
    "carried over to the weighted sum (MOVER, from each run's Wilson intervals) and the normal interval clustered by customer"
)


def z_value(confidence: float = CONFIDENCE) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval for one proportion."""
    z = z_value(confidence)
    p = successes / n
    centre = 2 * n * p + z * z
    spread = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    denominator = 2 * (n + z * z)
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def newcombe_difference(successes_1: float, n_1: int, successes_0: float, n_0: int, confidence: float = CONFIDENCE) -> Interval:
    """Rate of group 1 minus rate of group 0, with Newcombe's method 10 interval."""
    if n_1 == 0 or n_0 == 0:
        return Interval(None, None, None, NEWCOMBE)
    p1, p0 = successes_1 / n_1, successes_0 / n_0
    l1, u1 = wilson(successes_1, n_1, confidence)
    l0, u0 = wilson(successes_0, n_0, confidence)
    difference = p1 - p0
    low = difference - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Interval(difference, low, high, NEWCOMBE)


@dataclass(frozen=True)
class Moments:
    """What a difference of means needs from one group."""

    n: int
    mean: float
    variance: float  # sample variance (n - 1 in the denominator); 0.0 for n < 2

    @classmethod
    def of(cls, values: pl.Series) -> Moments:
        n = values.len()
        mean = number(values.mean()) if n else 0.0
        variance = number(values.var(ddof=1)) if n > 1 else 0.0
        return cls(n, mean, variance)


def welch_difference(group_1: Moments, group_0: Moments, confidence: float = CONFIDENCE) -> Interval:
    """Mean of group 1 minus mean of group 0, with Welch's t interval (Welch-Satterthwaite degrees of freedom)."""
    if group_1.n == 0 or group_0.n == 0:
        return Interval(None, None, None, WELCH)
    difference = group_1.mean - group_0.mean
    if group_1.n < 2 or group_0.n < 2:
        return Interval(difference, None, None, WELCH)
    v1, v0 = group_1.variance / group_1.n, group_0.variance / group_0.n
    se = math.sqrt(v1 + v0)
    if se == 0:
        return Interval(difference, difference, difference, WELCH)
    df = (v1 + v0) ** 2 / (v1**2 / (group_1.n - 1) + v0**2 / (group_0.n - 1))
    from scipy.stats import t

    half = float(t.ppf(0.5 + confidence / 2, df)) * se
    return Interval(difference, difference - half, difference + half, WELCH)


def stratified_difference(
    rows: pl.DataFrame,
    weights: pl.DataFrame,
    *,
    value: str,
    confidence: float = CONFIDENCE,
) -> Interval:
    """Σ over strata of weight × (treated mean − control mean), clustered by customer.

    ``rows`` has ``stratum``, ``treated`` (bool), ``customer_id`` and the
    ``value`` column; ``weights`` has ``stratum`` and ``weight``. Strata
    without both a treated and a control row must already be left out. The
    estimate is linear in the outcomes, so its variance is the sum over
    customers of the squared sum of their rows' coefficient times residual
    (the residual from their own group's mean), with the usual G/(G-1)
    small-sample factor for G customers.
    """
    if rows.height == 0 or weights.height == 0:
        return Interval(None, None, None, STRATIFIED)
    cells = rows.group_by("stratum", "treated").agg(pl.len().alias("n"), pl.col(value).mean().alias("mean"))
    terms = (
        rows.join(cells, on=["stratum", "treated"])
        .join(weights, on="stratum")
        .with_columns(
            (pl.when(pl.col("treated")).then(1.0).otherwise(-1.0) * pl.col("weight") / pl.col("n")).alias("coefficient")
        )
    )
    estimate = float(terms.select((pl.col("coefficient") * pl.col(value)).sum()).item())
    per_customer = terms.group_by("customer_id").agg((pl.col("coefficient") * (pl.col(value) - pl.col("mean"))).sum().alias("s"))
    clusters = per_customer.height
    if clusters < 2:
        return Interval(estimate, None, None, STRATIFIED)
    variance = float(per_customer.select((pl.col("s") ** 2).sum()).item()) * clusters / (clusters - 1)
    half = z_value(confidence) * math.sqrt(variance)
    return Interval(estimate, estimate - half, estimate + half, STRATIFIED)


def stratified_newcombe(cells: pl.DataFrame, weights: pl.DataFrame, *, confidence: float = CONFIDENCE) -> Interval:
    """Σ weight × (treated rate − control rate) with the MOVER-Wilson interval; Newcombe's own for one stratum.

    ``cells`` has ``stratum``, ``treated`` (bool), ``n`` and ``successes``;
    ``weights`` has ``stratum`` and ``weight``. Every stratum needs both a
    treated and a control cell.
    """
    joined = (
        cells.join(weights, on="stratum").pivot(on="treated", index=["stratum", "weight"], values=["n", "successes"]).drop_nulls()
    )
    if joined.height == 0:
        return Interval(None, None, None, STRATIFIED_RATES)
    estimate = 0.0
    below = above = 0.0
    for row in joined.iter_rows(named=True):
        w = row["weight"]
        n1, s1, n0, s0 = row["n_true"], row["successes_true"], row["n_false"], row["successes_false"]
        p1, p0 = s1 / n1, s0 / n0
        l1, u1 = wilson(s1, n1, confidence)
        l0, u0 = wilson(s0, n0, confidence)
        estimate += w * (p1 - p0)
        below += w * w * ((p1 - l1) ** 2 + (u0 - p0) ** 2)
        above += w * w * ((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Interval(estimate, estimate - math.sqrt(below), estimate + math.sqrt(above), STRATIFIED_RATES)


def wider(first: Interval, second: Interval, method: str) -> Interval:
    """The same estimate with the bounds of whichever interval is wider on each side."""
    if first.ci_low is None or second.ci_low is None:
        known = first if first.ci_low is not None else second
        return Interval(first.estimate, known.ci_low, known.ci_high, method)
    assert first.ci_high is not None and second.ci_high is not None, "an interval has both bounds or neither"
    return Interval(first.estimate, min(first.ci_low, second.ci_low), max(first.ci_high, second.ci_high), method)
