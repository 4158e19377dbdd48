"""Features declared in nba.toml: parsing names the key at fault, categories learn levels, both engines explain.

The engines here are the built-in ones, configured with declarations; the
data are ``nba_toolkit.testing.sample_snapshot``, whose label follows a known
logistic formula of savings, engagement, products and age band.
"""

from __future__ import annotations

import tomllib

import numpy as np
import polars as pl
import pytest

from nba_toolkit.config import parse_config
from nba_toolkit.config_template import config_template
from nba_toolkit.core.engine import require_model_fits_engine
from nba_toolkit.core.features import DEFAULT_DECLARATION, DEFAULT_FEATURES, OTHER, parse_features, unseen_levels
from nba_toolkit.core.validation import within_week_auc
from nba_toolkit.default_plugins.logistic_engine import GradientBoostingEngine, LogisticEngine, _log_odds
from nba_toolkit.errors import BadInput, PluginError
from nba_toolkit.testing import assert_engine_conforms, sample_snapshot


def test_the_template_declares_exactly_the_default_features() -> None:
    """A new workspace's nba.toml spells the default engine out; the two cannot drift apart."""
    raw = tomllib.loads(config_template(salt="x"))
    assert parse_features(raw["features"]) == DEFAULT_DECLARATION
    assert parse_config(raw).features == DEFAULT_DECLARATION


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kind": "text"}, "[features.savings_balance] kind = 'text' is not a kind"),
        ({"transform": "sqrt"}, "transform = 'sqrt' is not possible here"),
        ({"clip": [10, 0]}, "clip = [10, 0] must be [low, high]"),
        ({"bands": [3, 1]}, "bands = [3, 1] must be cut points in increasing order"),
        ({"levels": ["a"]}, "'levels' is only for categories"),
        ({"stand_in": "lots"}, "stand_in = 'lots' must be a number"),
        ({"colour": "red"}, "has the unknown key 'colour'"),
        ({"label": ""}, "needs a label"),
    ],
)
def test_a_wrong_feature_key_is_named_with_its_value(change: dict, named: str) -> None:
    features = {**DEFAULT_FEATURES, "savings_balance": {**DEFAULT_FEATURES["savings_balance"], **change}}
    with pytest.raises(BadInput, match=named.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        parse_config({"features": features})


def test_a_composite_part_is_named_by_its_position() -> None:
    engagement = {**DEFAULT_FEATURES["engagement"]}
    engagement["parts"] = [*engagement["parts"][:2], {"column": "logins_per_month", "kind": "number", "scale": 0}]
    with pytest.raises(BadInput, match=r"\[features.engagement\] part 3 scale = 0 must be a number above 0"):
        parse_features({**DEFAULT_FEATURES, "engagement": engagement})


def test_one_column_read_two_ways_is_refused() -> None:
    features = {**DEFAULT_FEATURES, "logins": {"label": "Logins", "column": "logins_per_month", "kind": "number"}}
    with pytest.raises(BadInput, match="reads 'logins_per_month' as a float with stand-in None, but .* with stand-in 6"):
        parse_features(features)


def test_a_column_may_feed_several_features() -> None:
    features = {**DEFAULT_FEATURES, "accounts": {"label": "Accounts", "column": "n_accounts", "kind": "number"}}
    engine = LogisticEngine(parse_features(features))
    sample = sample_snapshot(3000)
    model = engine.fit(engine.features(sample.lazy()).collect(), sample["label"].to_numpy(), seed=0)
    explained = engine.explain(model, engine.features(sample.head(5).lazy()).collect())
    assert {"accounts", "engagement"} <= set(explained.columns)


def test_labels_are_words_not_inputs() -> None:
    """Rewording a label keeps the model; changing what is computed does not."""
    relabelled = {**DEFAULT_FEATURES, "savings_balance": {**DEFAULT_FEATURES["savings_balance"], "label": "Savings"}}
    recomputed = {**DEFAULT_FEATURES, "savings_balance": {**DEFAULT_FEATURES["savings_balance"], "transform": ""}}
    assert parse_features(relabelled).digest() == DEFAULT_DECLARATION.digest()
    assert parse_features(recomputed).digest() != DEFAULT_DECLARATION.digest()


@pytest.mark.parametrize("engine", [LogisticEngine(), GradientBoostingEngine()], ids=["logistic", "gradient_boosting"])
def test_both_built_in_engines_conform(engine) -> None:
    assert_engine_conforms(engine, sample_snapshot(3000))


def test_an_unseen_level_is_scored_as_other_and_counted() -> None:
    engine = LogisticEngine()
    sample = sample_snapshot(4000)
    model = engine.fit(engine.features(sample.lazy()).collect(), sample["label"].to_numpy(), seed=0)
    week = sample.head(200).with_columns(
        pl.when(pl.int_range(pl.len()) < 30).then(pl.lit("70+")).otherwise(pl.col("age_band")).alias("age_band")
    )
    features = engine.features(week.lazy()).collect()
    assert unseen_levels(model.layout.levels, features) == {"age_band": 30}
    explained = engine.explain(model, features)
    # training saw no "other", so an unseen band adds nothing: it is scored like training's mix of bands
    assert np.abs(explained["age_band"].head(30).to_numpy()).max() < 1e-12
    assert np.abs(explained["age_band"].tail(170).to_numpy()).max() > 0
    assert np.isfinite(engine.score(model, features)).all()


def test_rare_values_learn_no_level_of_their_own() -> None:
    declared = {**DEFAULT_FEATURES, "age_band": {k: v for k, v in DEFAULT_FEATURES["age_band"].items() if k != "levels"}}
    engine = LogisticEngine(parse_features(declared))
    sample = sample_snapshot(3000).with_columns(
        pl.when(pl.int_range(pl.len()) < 5).then(pl.lit("unknown")).otherwise(pl.col("age_band")).alias("age_band")
    )
    model = engine.fit(engine.features(sample.lazy()).collect(), sample["label"].to_numpy(), seed=0)
    assert model.layout.levels["age_band"] == ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
    assert OTHER not in model.layout.levels["age_band"]


def test_a_category_from_the_wrong_column_is_refused_at_training() -> None:
    """Mapped from a column none of whose values is a declared level, it would give a constant model."""
    wrong = {**DEFAULT_FEATURES, "age_band": {**DEFAULT_FEATURES["age_band"], "column": "job"}}
    engine = LogisticEngine(parse_features(wrong))
    sample = sample_snapshot(2000).with_columns(job=pl.lit("clerk"))
    with pytest.raises(BadInput, match=r"none of the training values of 'Age band' \(column 'job': 'clerk'\)"):
        engine.fit(engine.features(sample.lazy()).collect(), sample["label"].to_numpy(), seed=0)


def test_a_category_that_looks_like_an_id_is_refused_at_training() -> None:
    declared = {**DEFAULT_FEATURES, "branch": {"label": "Branch", "column": "branch", "kind": "category"}}
    engine = LogisticEngine(parse_features(declared))
    sample = sample_snapshot(6000).with_columns(branch=(pl.int_range(pl.len()) % 100).cast(pl.String))
    with pytest.raises(BadInput, match="'Branch' .* has 100 different common values"):
        engine.fit(engine.features(sample.lazy()).collect(), sample["label"].to_numpy(), seed=0)


def test_bands_cut_a_number_into_levels() -> None:
    declared = {**DEFAULT_FEATURES, "products_held": {**DEFAULT_FEATURES["products_held"], "bands": [2, 5]}}
    engine = LogisticEngine(parse_features(declared))
    sample = sample_snapshot(3000)
    features = engine.features(sample.lazy()).collect()
    assert set(features["products_held"].unique()) == {"under 2", "2 to under 5", "5 and over"}
    model = engine.fit(features, sample["label"].to_numpy(), seed=0)
    assert model.layout.levels["products_held"] == ("under 2", "2 to under 5", "5 and over")


def test_the_boosting_explanation_adds_up_to_the_score() -> None:
    """Each row's contributions sum to its log-odds minus the reference customer's, to rounding."""
    engine = GradientBoostingEngine()
    sample = sample_snapshot(4000)
    model = engine.fit(engine.features(sample.lazy()).collect(), sample["label"].to_numpy(), seed=0)
    week = engine.features(sample.tail(300).lazy()).collect()
    explained = engine.explain(model, week).to_numpy().sum(axis=1)
    reference = _log_odds(model.estimator.predict_proba(model.reference)[:, 1])[0]
    np.testing.assert_allclose(explained, _log_odds(engine.score(model, week)) - reference, atol=1e-9)


def test_both_engines_learn_the_known_truth() -> None:
    """The sample's label follows savings and engagement, not the fund index: both rank well and know it."""
    sample = sample_snapshot(8000, seed=1)
    train, test = sample.head(6000), sample.tail(2000)
    for engine in (LogisticEngine(), GradientBoostingEngine()):
        model = engine.fit(engine.features(train.lazy()).collect(), train["label"].to_numpy(), seed=0)
        features = engine.features(test.lazy()).collect()
        scores = engine.score(model, features)
        one_week = pl.Series([0] * test.height)
        assert within_week_auc(test["label"].to_numpy(), scores, one_week) > 0.65, engine.name
        weight = engine.explain(model, features).select(pl.all().abs().mean()).row(0, named=True)
        strongest = sorted(weight, key=weight.get, reverse=True)[:2]
        assert set(strongest) <= {"savings_balance", "engagement", "products_held"}, (engine.name, weight)


def test_a_model_of_the_engine_before_declared_features_is_refused_with_a_way_out() -> None:
    """Models trained by engine 1.x (features fixed in code) are not guessed at: the message says to retrain."""
    old = {"model_id": "logistic-20261101T000000", "engine": "logistic", "engine_version": "1.1.0"}
    old["features"] = dict(DEFAULT_DECLARATION.labels)
    with pytest.raises(PluginError, match="trained with engine version 1.1.0, 2.0.0 is installed") as refused:
        require_model_fits_engine(LogisticEngine(), old, recorded_version="1.1.0")
    assert "Retrain with `nba-toolkit train`" in refused.value.hint
