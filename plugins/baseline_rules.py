"""A rules baseline engine (R-E5): points an analyst can add up by hand, to compare the model against.

Practitioners keep a simple rules engine next to any model: if the model
cannot beat a points card that marketing could have written on a napkin,
it is not earning its complexity. Every customer gets points:

=====================  ======================================================
savings balance        0 under 1,000; 1 from 1,000; 2 from 10,000; 3 from 50,000
engagement             1 each for: the app installed, 3 or more accounts,
                       10 or more internet-banking logins a month
products held          1 for 3 or more products
age band               1 for 35-44 and 45-54
=====================  ======================================================

The points are fixed; only their translation into a probability is learned:
``fit`` fits one logistic curve, probability = 1 / (1 + exp(-(a + b x
points))), on the training weeks, so a score means "customers with this
many points converted this often". The explanation of a score is each
item's points times ``b``, against the average training customer, in
log-odds: the same scale the default engine uses. The market climate (fund
prices) is left out on purpose: a points card cannot weigh it honestly.

To use it, copy this file into the workspace's ``plugins/`` folder, set
``[engine] name = "baseline_rules"`` in nba.toml and train.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1
__version__ = "1.0.0"

POINTS = {
    "savings_points": pl.when(pl.col("savings_balance") >= 50_000)
    .then(3)
    .when(pl.col("savings_balance") >= 10_000)
    .then(2)
    .when(pl.col("savings_balance") >= 1_000)
    .then(1)
    .otherwise(0),
    "engagement_points": pl.sum_horizontal(
        pl.col("app_installed").fill_null(False).cast(pl.Int32),
        (pl.col("n_accounts") >= 3).fill_null(False).cast(pl.Int32),
        (pl.col("logins_per_month") >= 10).fill_null(False).cast(pl.Int32),
    ),
    "products_points": (pl.col("n_products") >= 3).cast(pl.Int32),
    "age_points": pl.col("age_band").is_in(["35-44", "45-54"]).cast(pl.Int32),
}


class BaselineRulesEngine:
    name = "baseline_rules"
    version = __version__
    required_columns = {
        "savings_balance": "float",
        "app_installed": "bool",
        "n_accounts": "int",
        "logins_per_month": "int",
        "n_products": "int",
        "age_band": "str",
    }
    feature_labels = {
        "savings_points": "Savings balance (points 0-3)",
        "engagement_points": "Engagement: app, 3+ accounts, 10+ logins (points 0-3)",
        "products_points": "3 or more products (1 point)",
        "age_points": "Age 35-54 (1 point)",
    }

    def features(self, snapshot: pl.LazyFrame) -> pl.LazyFrame:
        """Missing values earn no points, so a gap in the data never pushes a customer up."""
        return snapshot.select(pl.col("customer_id"), *[expr.fill_null(0).alias(name) for name, expr in POINTS.items()])

    def fit(self, features: pl.DataFrame, label: np.ndarray, *, seed: int) -> dict[str, Any]:
        from sklearn.linear_model import LogisticRegression

        points = _points(features)
        curve = LogisticRegression(C=1e6, random_state=seed).fit(points.reshape(-1, 1), label)
        return {
            "intercept": float(curve.intercept_[0]),
            "per_point": float(curve.coef_[0][0]),
            "average_points": {name: float(features[name].mean()) for name in self.feature_labels},
        }

    def score(self, model: dict[str, Any], features: pl.DataFrame) -> np.ndarray:
        log_odds = model["intercept"] + model["per_point"] * _points(features)
        return 1.0 / (1.0 + np.exp(-log_odds))

    def explain(self, model: dict[str, Any], features: pl.DataFrame) -> pl.DataFrame:
        return features.select(
            ((pl.col(name) - model["average_points"][name]) * model["per_point"]).cast(pl.Float64).alias(name)
            for name in self.feature_labels
        )

    def model_card(self) -> dict[str, Any]:
        return {
            "purpose": "A baseline to compare the model against: if a fixed points card selects customers who convert "
            "as often as the model's, the model adds nothing.",
            "population": "Retail customers with a savings or current account, not yet investing.",
            "method": "Fixed points per customer (savings 0-3, engagement 0-3, products 0-1, age 0-1); one logistic "
            "curve fitted on the training weeks turns total points into a probability.",
            "features": dict(self.feature_labels),
            "excluded_data": [
                "gender, postcode, name, address (never used)",
                "fund prices: the market climate is left out, so the baseline does not react to it",
            ],
            "weaknesses": [
                "Only 9 possible point totals: many customers share a score, and ties are broken at random by the "
                "selection, so the baseline cannot rank within a point total.",
                "The points were set by judgement, not learned; they can be wrong for this bank.",
            ],
            "do_not_use_when": [
                "as the production engine without comparing it with the model over several months",
                "the product or the mailing changes substantially",
            ],
        }


def _points(features: pl.DataFrame) -> np.ndarray:
    return features.select(pl.sum_horizontal(list(POINTS))).to_series().to_numpy().astype(np.float64)


@hookimpl
def nba_register_engines(register):
    register(BaselineRulesEngine())
