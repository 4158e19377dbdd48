"""How many weeks of holdout it takes to see an uplift (R-V6).

Each week the model selects up to ``capacity`` customers and holds out a
share of them. The holdout is small, so it is the holdout that decides how
long an evaluation needs. The question the operator asks is "how many weeks
until the holdout can show an uplift of D?": a two-sided test of two
proportions at significance ``alpha`` (0.05) with ``power`` (0.8), with the
usual normal-approximation sample size for unequal groups (Fleiss, Levin and
Paik, Statistical Methods for Rates and Proportions, 3rd ed., 4.2, without
continuity correction):

    n_control = (z_a * sqrt(p̄ q̄ (1 + 1/k)) + z_b * sqrt(p0 q0 + p1 q1 / k))² / D²

with p0 the baseline (holdout) conversion, p1 = p0 + D, k the mailed
customers per held-out one, and p̄ = (p0 + k p1) / (1 + k).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

from nba_toolkit.errors import UsageError

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Plan:
    capacity: float
    holdout_share: float
    baseline: float
    uplift: float
    alpha: float
    power: float
    holdout_per_week: float
    mailed_per_week: float
    holdout_needed: int
    mailed_needed: int
    weeks_needed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_holdout(
    *, capacity: float, holdout_share: float, baseline: float, uplift: float, alpha: float = ALPHA, power: float = POWER
) -> Plan:
    """Weeks of holdout needed to detect ``uplift`` (an absolute difference in conversion rate)."""
    _check(capacity, holdout_share, baseline)
    if uplift == 0 or not 0.0 < baseline + uplift < 1.0:
        raise UsageError(
            f"the uplift to detect must be non-zero and keep the mailed conversion between 0 and 1 "
            f"(baseline {baseline:.4f} + uplift {uplift:.4f})"
        )
    holdout_week = capacity * holdout_share
    mailed_week = capacity - holdout_week
    k = mailed_week / holdout_week
    holdout_needed = math.ceil(_control_size(baseline, uplift, k, alpha, power))
    return Plan(
        capacity=capacity,
        holdout_share=holdout_share,
        baseline=baseline,
        uplift=uplift,
        alpha=alpha,
        power=power,
        holdout_per_week=holdout_week,
        mailed_per_week=mailed_week,
        holdout_needed=holdout_needed,
        mailed_needed=math.ceil(holdout_needed * k),
        weeks_needed=math.ceil(holdout_needed / holdout_week - 1e-9),
    )


def detectable_uplift(
    *, capacity: float, holdout_share: float, baseline: float, weeks: int, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """The smallest positive uplift ``weeks`` of holdout can detect; None if none below 1 - baseline can."""
    _check(capacity, holdout_share, baseline)
    if weeks < 1:
        return None
    holdout = capacity * holdout_share * weeks
    k = (1 - holdout_share) / holdout_share
    low, high = 0.0, 1.0 - baseline - 1e-9
    if _control_size(baseline, high, k, alpha, power) > holdout:
        return None
    for _ in range(60):  # bisection: the needed size falls as the uplift grows
        middle = (low + high) / 2
        if _control_size(baseline, middle, k, alpha, power) > holdout:
            low = middle
        else:
            high = middle
    return high


def _control_size(p0: float, uplift: float, k: float, alpha: float, power: float) -> float:
    if uplift == 0:
        return math.inf
    p1 = p0 + uplift
    pooled = (p0 + k * p1) / (1 + k)
    z_alpha = NormalDist().inv_cdf(1 - alpha / 2)
    z_beta = NormalDist().inv_cdf(power)
    root = z_alpha * math.sqrt(pooled * (1 - pooled) * (1 + 1 / k)) + z_beta * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1) / k)
    return root**2 / uplift**2


def _check(capacity: float, holdout_share: float, baseline: float) -> None:
    if capacity <= 0:
        raise UsageError("the capacity (customers selected a week) must be more than 0")
    if not 0.0 < holdout_share < 1.0:
        raise UsageError("the holdout share must lie between 0 and 1 (for example 0.10)")
    if not 0.0 < baseline < 1.0:
        raise UsageError("the baseline conversion must lie between 0 and 1 (for example 0.017 for 1.7%)")
