"""Sampled training: every conversion and a weighted share of the others recovers the truth and stays calibrated.

The data come from a known truth: a logistic outcome with stated
coefficients. Training on a small forced ``sample_rows`` must find those
coefficients within a stated tolerance and give scores whose mean on every
row of the validation weeks lies near the observed conversion rate; an
unweighted fit on the same sample would overstate it about sevenfold. A
history within the limit is trained exactly as without sampling.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from nba_toolkit.core.features import parse_features
from nba_toolkit.core.sampling import draw_sample
from nba_toolkit.core.training import evaluate_scores, split_history, train_engine
from nba_toolkit.default_plugins.logistic_engine import GradientBoostingEngine, LogisticEngine
from nba_toolkit.errors import BadInput, UsageError

#: the known truth: log-odds of converting within the window = intercept + sum(coefficient x value)
TRUE_INTERCEPT = -4.2
TRUE_COEFFICIENTS = {"wealth": 0.8, "age": -0.5, "app": 0.6}
#: how far a recovered coefficient may lie from the truth (about four standard errors at this size)
TOLERANCE = 0.15
CUSTOMERS, WEEKS, VALIDATION_WEEKS = 3_000, 30, 6
SAMPLE_ROWS = 12_000
DECLARATION = parse_features(
    {
        "wealth": {"label": "Wealth", "column": "wealth", "kind": "number"},
        "age": {"label": "Age", "column": "age", "kind": "number"},
        "app": {"label": "App installed", "column": "app", "kind": "flag"},
    }
)


def known_truth(seed: int = 7) -> pl.DataFrame:
    """Labelled customer-weeks drawn from the true model: about 2.5% convert."""
    rng = np.random.default_rng(seed)
    rows = CUSTOMERS * WEEKS
    wealth, age = rng.normal(size=rows), rng.normal(size=rows)
    app = rng.random(rows) < 0.4
    log_odds = TRUE_INTERCEPT + TRUE_COEFFICIENTS["wealth"] * wealth + TRUE_COEFFICIENTS["age"] * age
    log_odds = log_odds + TRUE_COEFFICIENTS["app"] * app
    label = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(np.int8)
    mondays = [dt.date(2025, 1, 6) + dt.timedelta(weeks=w) for w in range(WEEKS)]
    return pl.DataFrame(
        {
            "customer_id": np.tile(np.arange(1, CUSTOMERS + 1), WEEKS),
            "snapshot_date": np.repeat(np.array(mondays, dtype="datetime64[D]"), CUSTOMERS),
            "wealth": wealth,
            "age": age,
            "app": app,
            "label": label,
        }
    ).with_columns(pl.col("snapshot_date").cast(pl.Date))


def per_unit(model) -> tuple[float, dict[str, float]]:
    """The fitted logistic model's intercept and coefficients per unit of each feature (undoing the scaler)."""
    scaler, regression = model.estimator[0], model.estimator[-1]
    slope = regression.coef_[0] / scaler.scale_
    intercept = float(regression.intercept_[0] - slope @ scaler.mean_)
    return intercept, dict(zip(TRUE_COEFFICIENTS, (float(s) for s in slope)))


@pytest.fixture(scope="module")
def labelled() -> pl.DataFrame:
    return known_truth()


def test_sampled_training_recovers_the_true_coefficients(labelled) -> None:
    split = split_history(labelled, validation_weeks=VALIDATION_WEEKS, sample_rows=SAMPLE_ROWS)
    assert split.sampling is not None and split.fitted.height == pytest.approx(SAMPLE_ROWS, abs=WEEKS)
    result = train_engine(LogisticEngine(DECLARATION), split, capacity=100)
    intercept, coefficients = per_unit(result.model)
    for name, truth in TRUE_COEFFICIENTS.items():
        assert coefficients[name] == pytest.approx(truth, abs=TOLERANCE), name
    assert intercept == pytest.approx(TRUE_INTERCEPT, abs=2 * TOLERANCE)


@pytest.mark.parametrize("engine", [LogisticEngine(DECLARATION), GradientBoostingEngine(DECLARATION)], ids=lambda e: e.name)
def test_sampled_scores_stay_calibrated_on_every_row_of_the_validation_weeks(labelled, engine) -> None:
    split = split_history(labelled, validation_weeks=VALIDATION_WEEKS, sample_rows=SAMPLE_ROWS)
    figures = train_engine(engine, split, capacity=100).metrics["out_of_time"]
    assert figures["rows"] == CUSTOMERS * VALIDATION_WEEKS  # every row, not the sample's
    # within 15% of the observed rate; the sample's own conversion rate is about seven times it
    assert figures["mean_score"] == pytest.approx(figures["base_rate"], rel=0.15)
    sample_rate = split.fitted["label"].mean()
    assert sample_rate > 5 * figures["base_rate"]


def test_an_unweighted_fit_on_the_same_sample_would_not_be_calibrated(labelled) -> None:
    """What the weights are for: the same sample fitted without them overstates every chance."""
    split = split_history(labelled, validation_weeks=VALIDATION_WEEKS, sample_rows=SAMPLE_ROWS)
    engine = LogisticEngine(DECLARATION)
    features = engine.features(split.fitted.lazy()).collect()
    unweighted = engine.fit(features, split.fitted["label"].to_numpy(), seed=0)
    validation = engine.features(split.validation.lazy()).collect()
    assert engine.score(unweighted, validation).mean() > 3 * split.validation["label"].mean()


def test_the_sample_keeps_every_conversion_and_each_week_its_share(labelled) -> None:
    drawn, sampling = draw_sample(labelled, limit=SAMPLE_ROWS, seed=3)
    positives = int(labelled["label"].sum())
    assert int(drawn["label"].sum()) == positives == sampling.positives
    per_week = (
        labelled.filter(pl.col("label") == 0)
        .group_by("snapshot_date")
        .len("all")
        .join(drawn.filter(pl.col("label") == 0).group_by("snapshot_date").len("kept"), on="snapshot_date")
    )
    shares = per_week["kept"] / per_week["all"]
    assert (shares - sampling.rate).abs().max() <= 1 / per_week["all"].min()
    # each kept row stands for the rows of its week: the weights add up to the history's rows
    assert drawn["weight"].sum() == pytest.approx(labelled.height)
    again, _ = draw_sample(labelled, limit=SAMPLE_ROWS, seed=3)
    other, _ = draw_sample(labelled, limit=SAMPLE_ROWS, seed=4)
    assert again.equals(drawn) and not other.equals(drawn)


def test_a_history_within_the_limit_is_trained_as_without_sampling(labelled) -> None:
    """Not sampled: the figures are those of fitting every training row and scoring every validation row at once."""
    split = split_history(labelled, validation_weeks=VALIDATION_WEEKS, sample_rows=labelled.height)
    assert split.sampling is None and split.fitted is labelled
    engine = LogisticEngine(DECLARATION)
    result = train_engine(engine, split, capacity=100)
    cutoff = split.cutoff
    train, test = labelled.filter(pl.col("snapshot_date") < cutoff), labelled.filter(pl.col("snapshot_date") >= cutoff)
    model = engine.fit(engine.features(train.lazy()).collect(), train["label"].to_numpy(), seed=0)
    scores = engine.score(model, engine.features(test.lazy()).collect())
    expected = evaluate_scores(test["label"].to_numpy(), scores, test["snapshot_date"], 100)
    assert result.metrics["out_of_time"] == expected
    assert "sampling" not in result.metrics
    final = engine.fit(engine.features(labelled.lazy()).collect(), labelled["label"].to_numpy(), seed=0)
    (got_intercept, got), (want_intercept, want) = per_unit(result.model), per_unit(final)
    assert got_intercept == pytest.approx(want_intercept, rel=1e-6)
    assert got == pytest.approx(want, rel=1e-6)


def test_more_conversions_than_the_limit_cannot_be_sampled(labelled) -> None:
    with pytest.raises(BadInput, match="training_sample_rows"):
        draw_sample(labelled, limit=1_000, seed=0)


class _NoWeights:
    """An engine whose fit takes no sample_weight (as a plugin engine may)."""

    name = "no_weights"

    def __init__(self) -> None:
        self.inner = LogisticEngine(DECLARATION)
        self.feature_labels = self.inner.feature_labels

    def features(self, snapshot):
        return self.inner.features(snapshot)

    def fit(self, features, label, *, seed):
        return self.inner.fit(features, label, seed=seed)

    def score(self, model, features):
        return self.inner.score(model, features)


def test_an_engine_that_cannot_take_weights_is_refused_rather_than_fitted_uncalibrated(labelled) -> None:
    split = split_history(labelled, validation_weeks=VALIDATION_WEEKS, sample_rows=SAMPLE_ROWS)
    with pytest.raises(UsageError, match="cannot be fitted on a weighted sample"):
        train_engine(_NoWeights(), split, capacity=100)
