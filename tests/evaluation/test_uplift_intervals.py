"""The interval estimators, against published values and arithmetic done by hand."""

from __future__ import annotations

import math

import polars as pl
import pytest

from nba_toolkit.core.uplift import Moments, newcombe_difference, stratified_difference, welch_difference, wilson

# Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score, no continuity correction)
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_hybrid_score_interval_matches_the_published_table(counts, expected):
    interval = newcombe_difference(*counts)
    assert interval.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (round(interval.ci_low, 4), round(interval.ci_high, 4)) == expected


def test_wilson_interval_by_hand():
    # 9 of 10, z = 1.959964: (2*9 + z^2 -/+ z*sqrt(z^2 + 4*9*0.1)) / (2*(10 + z^2))
    z = 1.959964
    low = (18 + z * z - z * math.sqrt(z * z + 3.6)) / (2 * (10 + z * z))
    high = (18 + z * z + z * math.sqrt(z * z + 3.6)) / (2 * (10 + z * z))
    assert wilson(9, 10) == pytest.approx((low, high), abs=1e-6)
    assert (round(low, 4), round(high, 4)) == (0.5958, 0.9821)


def test_an_empty_group_gives_no_estimate():
    assert newcombe_difference(0, 0, 3, 10).estimate is None
    assert welch_difference(Moments(0, 0.0, 0.0), Moments(5, 1.0, 1.0)).estimate is None


def test_welch_interval_by_hand():
    # [3, 5, 7]: mean 5, variance 4; [1, 1, 2, 4]: mean 2, variance 2
    # se = sqrt(4/3 + 2/4) = 1.354006; df = (4/3 + 1/2)^2 / ((4/3)^2/2 + (1/2)^2/3) = 3.457143
    interval = welch_difference(Moments.of(pl.Series([3.0, 5.0, 7.0])), Moments.of(pl.Series([1.0, 1.0, 2.0, 4.0])))
    from scipy.stats import t

    half = t.ppf(0.975, 3.457143) * 1.354006
    assert interval.estimate == 3.0
    assert (interval.ci_low, interval.ci_high) == pytest.approx((3.0 - half, 3.0 + half), abs=1e-5)
    assert half == pytest.approx(4.004, abs=1e-3)


def _rows(treated: list[float], control: list[float], stratum: str = "s", prefix: str = "") -> pl.DataFrame:
    values = treated + control
    return pl.DataFrame(
        {
            "stratum": [stratum] * len(values),
            "treated": [True] * len(treated) + [False] * len(control),
            "customer_id": [f"{prefix}{i}" for i in range(len(values))],
            "y": values,
        }
    )


def test_stratified_difference_weights_the_strata():
    rows = pl.concat([_rows([1, 1, 0, 0], [0, 0, 0, 1], "a", "a"), _rows([1, 1, 1, 0], [1, 0, 0, 0], "b", "b")])
    weights = pl.DataFrame({"stratum": ["a", "b"], "weight": [0.25, 0.75]})
    interval = stratified_difference(rows, weights, value="y")
    assert interval.estimate == pytest.approx(0.25 * (0.5 - 0.25) + 0.75 * (0.75 - 0.25))
    assert interval.ci_low < interval.estimate < interval.ci_high


def test_one_stratum_of_distinct_customers_gives_the_plain_difference_and_its_standard_error():
    treated, control = [1.0, 0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    interval = stratified_difference(_rows(treated, control), pl.DataFrame({"stratum": ["s"], "weight": [1.0]}), value="y")
    # sum over customers of (coefficient * residual)^2, times G/(G-1): residuals from each group's own mean
    t_mean, c_mean = 0.6, 1 / 6
    variance = (sum((y - t_mean) ** 2 for y in treated) / 25 + sum((y - c_mean) ** 2 for y in control) / 36) * 11 / 10
    half = 1.959964 * math.sqrt(variance)
    assert interval.estimate == pytest.approx(t_mean - c_mean)
    assert (interval.ci_low, interval.ci_high) == pytest.approx((t_mean - c_mean - half, t_mean - c_mean + half), abs=1e-6)


def test_a_customer_counted_in_several_runs_is_not_counted_as_independent_evidence():
    """The same customers in two runs with the same outcomes: the estimate stays, and the interval does not shrink."""
    once = _rows([1.0, 0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], "r1")
    twice = pl.concat([once, once.with_columns(pl.lit("r2").alias("stratum"))])
    single = stratified_difference(once, pl.DataFrame({"stratum": ["r1"], "weight": [1.0]}), value="y")
    double = stratified_difference(twice, pl.DataFrame({"stratum": ["r1", "r2"], "weight": [0.5, 0.5]}), value="y")
    assert double.estimate == pytest.approx(single.estimate)
    assert double.ci_high - double.ci_low == pytest.approx(single.ci_high - single.ci_low)


@pytest.mark.parametrize(
    ("selected", "held_out", "plausible"),
    [(1000, 100, True), (1000, 140, True), (1000, 160, False), (1000, 40, False), (20, 5, True), (20, 8, False)],
)
def test_a_holdout_far_from_its_drawn_share_is_flagged(selected, held_out, plausible):
    from nba_toolkit.core.evaluation import holdout_share

    rows = pl.DataFrame(
        {
            "group": ["holdout"] * held_out + ["mailed_by_model"] * (selected - held_out),
            "p_holdout": [0.10] * selected,
        }
    )
    share = holdout_share(rows)
    assert share.share == held_out / selected
    assert share.expected_share == pytest.approx(0.10)
    assert share.plausible is plausible


def _study(rng, runs: int, arm: tuple[int, int] = (100, 500), rate: tuple[float, float] = (0.01, 0.03)):
    """Runs of ``arm`` customers per arm at ``rate`` conversion, each its own stratum: rows, weights, true uplift."""
    frames, weights, truth = [], [], 0.0
    for k in range(runs):
        n1, n0 = int(rng.integers(arm[0], arm[1] + 1)), int(rng.integers(arm[0], arm[1] + 1))
        p0 = float(rng.uniform(*rate))
        p1 = p0 + 0.005
        treated = (rng.random(n1) < p1).astype(float).tolist()
        control = (rng.random(n0) < p0).astype(float).tolist()
        frames.append(_rows(treated, control, stratum=f"run{k}", prefix=f"{k}-"))
        weights.append((f"run{k}", 1.0 / runs))
        truth += (p1 - p0) / runs
    return pl.concat(frames), pl.DataFrame(weights, schema=["stratum", "weight"], orient="row"), truth


def _pooled_rates(rows: pl.DataFrame, weights: pl.DataFrame):
    from nba_toolkit.core.uplift import STRATIFIED_RATES, stratified_newcombe, wider

    cells = rows.group_by("stratum", "treated").agg(pl.len().alias("n"), pl.col("y").sum().alias("successes"))
    clustered = stratified_difference(rows, weights, value="y")
    return wider(clustered, stratified_newcombe(cells, weights), STRATIFIED_RATES)


@pytest.mark.parametrize(
    ("runs", "arm", "rate"),
    [
        ("1-4", (100, 500), (0.01, 0.03)),
        # one run with small arms at the lowest rates: where the normal interval alone covers under 93%
        ("1", (100, 150), (0.01, 0.015)),
    ],
)
def test_the_pooled_conversion_interval_keeps_its_coverage_with_few_conversions(runs, arm, rate):
    """95% nominal must cover the true uplift in at least 93% of 2,000 simulated studies."""
    import numpy as np

    rng = np.random.default_rng(7)
    studies, covered = 2000, 0
    for i in range(studies):
        rows, weights, truth = _study(rng, 1 + i % 4 if runs == "1-4" else 1, arm, rate)
        interval = _pooled_rates(rows, weights)
        covered += interval.ci_low <= truth <= interval.ci_high
    assert covered / studies >= 0.93, covered / studies


def test_one_run_pooled_is_never_narrower_than_its_newcombe_interval():
    """The probe's case: 100 random controls with 2 conversions against a mailed group."""
    treated = [1.0] * 2 + [0.0] * 98
    control = [1.0] * 7 + [0.0] * 93
    rows = _rows(treated, control)
    weights = pl.DataFrame({"stratum": ["s"], "weight": [1.0]})
    pooled = _pooled_rates(rows, weights)
    single = newcombe_difference(2, 100, 7, 100)
    assert pooled.ci_low <= single.ci_low and pooled.ci_high >= single.ci_high
    assert pooled.estimate == pytest.approx(single.estimate)
