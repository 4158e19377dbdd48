"""Weekly retraining (``simulate --retrain weekly``) refits from last week's model: faster, and the same models.

An engine may offer ``refit``, the same fit started from a previous model.
These tests hold it to its contract, that it converges to the model a fit
from scratch gives, both for the engine alone and for a whole simulation,
and check that an engine without ``refit`` is still fitted every week.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.core.training import label_history
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.default_plugins.logistic_engine import LogisticEngine
from nba_toolkit.errors import UsageError
from nba_toolkit.jobs.backtest import backtest_workspace
from nba_toolkit.jobs.evaluate import workspace_outcomes
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.plugin.manager import Registered, load_plugins

#: early weeks, so that each week's history is small and the tests are quick
FIRST, LAST = "2025-W40", "2025-W43"


class FromScratch:
    """The default engine without ``refit``, counting its fits: what an engine without the method gets."""

    def __init__(self) -> None:
        self.inner = LogisticEngine()
        self.fits = 0

    def __getattr__(self, name: str):
        if name == "refit":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def configure(self, declaration):
        return self

    def fit(self, features, label, *, seed):
        self.fits += 1
        return self.inner.fit(features, label, seed=seed)


class CountingRefits(LogisticEngine):
    """The default engine, counting how often the simulation refits rather than fits."""

    def __init__(self) -> None:
        super().__init__()
        self.fits = 0
        self.refits = 0

    def configure(self, declaration):
        return self

    def fit(self, features, label, *, seed):
        self.fits += 1
        return super().fit(features, label, seed=seed)

    def refit(self, previous, features, label, *, seed):
        self.refits += 1
        return super().refit(previous, features, label, seed=seed)


def simulate(workspace, engine):
    registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
    registry.engines["logistic"] = Registered(obj=engine, plugin="test")
    return backtest_workspace(workspace, registry, from_week=FIRST, to_week=LAST, retrain="weekly")


def labelled_until(workspace, engine: LogisticEngine, week: str) -> tuple[pl.DataFrame, np.ndarray]:
    """The features and labels that a weekly retraining before ``week`` learns from (4-week window)."""
    config = workspace.config
    schema = {**CORE_COLUMNS, **engine.required_columns}
    history = load_snapshot(workspace.history_path, mapping=config.columns, denylist=config.denylist, schema=schema).frame
    outcomes = workspace_outcomes(workspace)
    known = outcomes.frame.with_columns(pl.col("customer_id").cast(history.schema["customer_id"]))
    labelled = label_history(history, known, window_weeks=4, known_until=outcomes.known_until).filter(
        pl.col("snapshot_date") <= parse_week(week) - timedelta(weeks=4)
    )
    return engine.features(labelled.lazy()).collect(), labelled["label"].to_numpy()


def test_the_logistic_refit_starts_from_exactly_the_scores_of_the_previous_model(sample_workspace):
    """Last week's model is restated for this week's standardisation, not copied: the start loses nothing.

    The previous model here is this week's optimum, standardised with last
    week's means and spreads; refitted, it must stop at once where it is.
    """
    engine = LogisticEngine()
    features, label = labelled_until(sample_workspace, engine, "2025-W40")
    model = engine.fit(features, label, seed=0)
    last_week_scaler = engine.fit(*labelled_until(sample_workspace, engine, "2025-W39"), seed=0).estimator[0]
    fitted = model.estimator
    assert not np.allclose(last_week_scaler.mean_, fitted[0].mean_)
    previous = copy.deepcopy(model)
    previous.estimator.steps[0] = (previous.estimator.steps[0][0], last_week_scaler)
    per_unit = fitted[-1].coef_ / fitted[0].scale_
    previous.estimator[-1].coef_ = per_unit * last_week_scaler.scale_
    previous.estimator[-1].intercept_ = fitted[-1].intercept_ + per_unit @ (last_week_scaler.mean_ - fitted[0].mean_)
    scores = engine.score(model, features)
    assert np.abs(engine.score(previous, features) - scores).max() < 1e-12

    refitted = engine.refit(previous, features, label, seed=0)
    assert refitted.estimator[-1].n_iter_[0] <= 1  # one step to see that it is there
    assert np.abs(engine.score(refitted, features) - scores).max() < 1e-6


def test_the_logistic_refit_converges_to_the_model_a_fit_from_scratch_gives(sample_workspace):
    engine = LogisticEngine()
    last_week, last_label = labelled_until(sample_workspace, engine, "2025-W39")
    features, label = labelled_until(sample_workspace, engine, "2025-W40")
    assert features.height > last_week.height  # one more week to learn from
    previous = engine.fit(last_week, last_label, seed=0)
    scores_before = engine.score(previous, features)

    cold = engine.fit(features, label, seed=0)
    warm = engine.refit(previous, features, label, seed=0)

    # it started from last week's model (fewer solver steps), left that model as it was, kept no trace of it
    assert warm.estimator[-1].n_iter_[0] < cold.estimator[-1].n_iter_[0]
    assert np.array_equal(engine.score(previous, features), scores_before)
    assert warm.estimator[-1].get_params() == cold.estimator[-1].get_params()
    # Both stopped at the optimum of the one objective: its gradient is nil, the models are the same.
    for model in (cold, warm):
        assert objective_gradient(model, features, label) < 1e-7
    assert np.abs(engine.score(warm, features) - engine.score(cold, features)).max() < 1e-5
    np.testing.assert_allclose(warm.estimator[-1].coef_, cold.estimator[-1].coef_, atol=1e-5)


def objective_gradient(model, features: pl.DataFrame, label: np.ndarray) -> float:
    """The largest component of the gradient of what the solver minimises: mean log-loss plus ||w||^2 / (2 C n)."""
    standardised = model.estimator[0].transform(model.layout.indicators(features))
    regression = model.estimator[-1]
    error = 1 / (1 + np.exp(-(standardised @ regression.coef_[0] + regression.intercept_[0]))) - label
    n = len(label)
    gradient = np.append(standardised.T @ error / n + regression.coef_[0] / (regression.C * n), error.mean())
    return float(np.abs(gradient).max())


def test_a_weekly_simulation_with_refits_selects_as_one_fitted_from_scratch(sample_workspace):
    counting, scratch = CountingRefits(), FromScratch()
    refitted = simulate(sample_workspace, counting).results[0].backtest
    from_scratch = simulate(sample_workspace, scratch).results[0].backtest

    assert refitted.weekly.height == 4 and (counting.fits, counting.refits) == (1, 3)
    assert refitted.weekly["model"].to_list() == from_scratch.weekly["model"].to_list()
    both = refitted.selections.join(from_scratch.selections, on=["week", "customer_id"], suffix="_scratch")
    assert both.height == refitted.selections.height == from_scratch.selections.height
    assert both["reason"].equals(both["reason_scratch"])
    assert (both["score"] - both["score_scratch"]).abs().max() < 1e-6


def test_an_engine_without_refit_is_fitted_from_scratch_every_week(sample_workspace):
    engine = FromScratch()
    report = simulate(sample_workspace, engine)
    weeks = report.results[0].backtest.weekly
    assert engine.fits == weeks.height == 4
    assert weeks["model"].to_list() == [f"fitted on 2025-W22 to 2025-W{n}" for n in (36, 37, 38, 39)]


def test_a_week_with_too_little_history_is_still_refused(sample_workspace):
    registry = load_plugins(sample_workspace.plugin_folders(), entry_points_enabled=False)
    with pytest.raises(UsageError, match="before 2025-W29 only 4 weeks .* retraining needs 8"):
        backtest_workspace(sample_workspace, registry, from_week="2025-W29", to_week="2025-W30", retrain="weekly")
