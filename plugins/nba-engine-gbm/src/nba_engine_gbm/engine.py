"""A gradient-boosting engine: scikit-learn's HistGradientBoostingClassifier on five customer features.

Why it exists: a consultant's candidate to challenge the default logistic
regression. Trees find thresholds and interactions a straight line cannot
(a high balance matters more for an engaged customer), at the price of a
model nobody can read off a page; the explanation below makes up for part
of that.

What it leaves out, on purpose: the bank's fund-price changes. They are the
same for every customer in a week and unique to that week, so a tree can
split on them and memorise weeks (May's holiday pay, say) instead of
learning customers: the bank's first model overfit exactly that way. This
engine therefore scores customers only; the market regime is left to the
input checks and to people.

How a score is explained: for each feature, the score in log-odds minus the
score with that one feature set to its training median (the most common
band for the age band). That answers "how much does this customer's value
move the score, against a typical value" honestly for one feature at a
time. Unlike a logistic regression's contributions, these do not add up to
the score: with interactions, moving two features together is not the sum
of moving each. The model card says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
FEATURES = ("savings_balance", "current_balance", "engagement", "products_held", "age_band")
#: probabilities are clipped this far from 0 and 1 before taking log-odds, so an explanation is never infinite
EPSILON = 1e-6


class GbmEngine:
    name = "gbm"
    version = "1.0.0"
    required_columns = {
        "savings_balance": "float",
        "current_balance": "float",
        "n_accounts": "int",
        "app_installed": "bool",
        "logins_per_month": "int",
        "n_products": "int",
        "age_band": "str",
    }
    feature_labels = {
        "savings_balance": "Savings balance",
        "current_balance": "Current account balance",
        "engagement": "Engagement (app, accounts, logins)",
        "products_held": "Products held",
        "age_band": "Age band",
    }

    def features(self, snapshot: pl.LazyFrame) -> pl.LazyFrame:
        """Balances as they are (trees need no log scale); the age band as its position, youngest first."""
        return snapshot.select(
            pl.col("customer_id"),
            pl.col("savings_balance").cast(pl.Float64),
            pl.col("current_balance").cast(pl.Float64),
            (
                (
                    pl.col("app_installed").cast(pl.Float64)
                    + (pl.col("n_accounts") / 4).clip(upper_bound=1.0)
                    + (pl.col("logins_per_month") / 30).clip(upper_bound=1.0)
                )
                / 3
            ).alias("engagement"),
            pl.col("n_products").cast(pl.Float64).alias("products_held"),
            pl.col("age_band").replace_strict(AGE_BANDS, list(range(len(AGE_BANDS))), default=None, return_dtype=pl.Float64),
        )

    def fit(self, features: pl.DataFrame, label: np.ndarray, *, seed: int) -> dict[str, Any]:
        """A fixed number of boosting rounds, no early stopping: the same data and seed give the same model."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        matrix = _matrix(features)
        classifier = HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=200,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=seed,
        ).fit(matrix, label)
        return {"classifier": classifier, "medians": np.nanmedian(matrix, axis=0)}

    def score(self, model: dict[str, Any], features: pl.DataFrame) -> np.ndarray:
        if features.height == 0:
            return np.empty(0)
        return model["classifier"].predict_proba(_matrix(features))[:, 1]

    def explain(self, model: dict[str, Any], features: pl.DataFrame) -> pl.DataFrame:
        """Per feature: log-odds of the score minus log-odds with that feature at its training median."""
        matrix = _matrix(features)
        if features.height == 0:
            return pl.DataFrame({name: [] for name in FEATURES}, schema=dict.fromkeys(FEATURES, pl.Float64))
        classifier = model["classifier"]
        # one batch: the rows as they are, then one copy per feature with that feature at its median
        copies = np.repeat(matrix[np.newaxis], len(FEATURES), axis=0)
        for i in range(len(FEATURES)):
            copies[i, :, i] = model["medians"][i]
        stacked = np.vstack([matrix, copies.reshape(-1, matrix.shape[1])])
        log_odds = _log_odds(classifier.predict_proba(stacked)[:, 1]).reshape(len(FEATURES) + 1, -1)
        return pl.DataFrame({name: log_odds[0] - log_odds[i + 1] for i, name in enumerate(FEATURES)})

    def model_card(self) -> dict[str, Any]:
        return {
            "purpose": "Rank retail customers without an investment account by their chance of opening one within "
            "the label window, as a challenger to the default logistic engine.",
            "population": "Retail customers with a savings or current account, not yet investing.",
            "method": "scikit-learn HistGradientBoostingClassifier: 100 rounds of trees with at most 15 leaves and "
            "200 customers per leaf, learning rate 0.1, no early stopping. Scores are its probabilities. "
            "Explanations: per feature, the log-odds of the score minus the log-odds with that feature set to its "
            "training median; they do not add up to the score, because trees combine features.",
            "features": dict(self.feature_labels),
            "excluded_data": [
                "gender (men are more often main account holders; using it would inform men more often)",
                "postcode (a proxy for ethnicity)",
                "name, address (never needed)",
                "customer-since date (known to be unreliable in the warehouse)",
                "fund price changes: the same for everyone in a week, so trees would learn weeks, not customers",
            ],
            "weaknesses": [
                "Harder to read than the logistic engine: explanations are per feature and do not sum to the score.",
                "Does not react to the market climate at all; a crash must be caught by the input checks.",
                "Trees can put a lot of weight on a narrow range of a balance; check the explanations of the top "
                "customers before trusting a new model.",
            ],
            "do_not_use_when": [
                "it has not beaten the logistic engine and the rules baseline out of time on this bank's history",
                "the fund index moves outside the band seen in training (a market crash): people must take the wheel",
                "the product or the mailing changes substantially",
            ],
        }


def _matrix(features: pl.DataFrame) -> np.ndarray:
    """Fixed column order; missing values stay NaN, which the trees route on their own."""
    return features.select(pl.col(name).cast(pl.Float64) for name in FEATURES).to_numpy()


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))
