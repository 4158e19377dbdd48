"""The default engine: a logistic regression on seven features an analyst can explain.

Simple on purpose. The bank's own engine used a handful of understandable
features so that the organisation could follow what happens; a logistic
regression keeps every score decomposable into per-feature contributions
that add up, which is what the review screen shows next to each customer.

Features: savings balance, current-account balance, engagement (app
installed, number of accounts and internet-banking logins merged into one
0-1 measure), products held, age band, and the bank's fund index change over
1 and 4 weeks as the market climate. The fund features are the same for
everyone in a week, so the model can learn weeks rather than customers; the
model card says so, and the training checks watch for it.

Only app use and internet-banking logins are optional inputs: they feed one
of three parts of the engagement measure, so a week without them is worse
but still usable, and the toolkit marks it as degraded. Balances, accounts,
products, age band and the market features are critical: the run stops
rather than guess them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.errors import BadInput
from nba_toolkit.plugin import hookimpl

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
NUMERIC = (
    "savings_balance",
    "current_balance",
    "engagement",
    "products_held",
    "fund_change_1w",
    "fund_change_4w",
)


class LogisticEngine:
    name = "logistic"
    version = "1.1.0"
    required_columns = {
        "savings_balance": "float",
        "current_balance": "float",
        "n_accounts": "int",
        "app_installed": "bool",
        "logins_per_month": "int",
        "n_products": "int",
        "age_band": "str",
        "fund_change_1w": "float",
        "fund_change_4w": "float",
    }
    #: stand-ins when missing: what most customers in the sample training history have
    #: (6 logins a month is its median; about 64% have the app installed)
    optional_columns = {
        "logins_per_month": 6,
        "app_installed": True,
    }
    feature_labels = {
        "savings_balance": "Savings balance",
        "current_balance": "Current account balance",
        "engagement": "Engagement (app, accounts, logins)",
        "products_held": "Products held",
        "age_band": "Age band",
        "fund_change_1w": "Fund prices, change over 1 week (%)",
        "fund_change_4w": "Fund prices, change over 4 weeks (%)",
    }

    def features(self, snapshot: pl.LazyFrame) -> pl.LazyFrame:
        """Balances on a log scale: the difference between 1k and 10k matters, not 100k and 109k."""
        return snapshot.select(
            pl.col("customer_id"),
            pl.col("savings_balance").clip(lower_bound=0).log1p().alias("savings_balance"),
            pl.col("current_balance").clip(lower_bound=0).log1p().alias("current_balance"),
            (
                (
                    pl.col("app_installed").cast(pl.Float64)
                    + (pl.col("n_accounts") / 4).clip(upper_bound=1.0)
                    + (pl.col("logins_per_month") / 30).clip(upper_bound=1.0)
                )
                / 3
            ).alias("engagement"),
            pl.col("n_products").cast(pl.Float64).alias("products_held"),
            pl.col("age_band"),
            pl.col("fund_change_1w").cast(pl.Float64),
            pl.col("fund_change_4w").cast(pl.Float64),
        )

    def fit(self, features: pl.DataFrame, label: np.ndarray, *, seed: int) -> Any:
        return _fitted(_matrix(features), label, seed=seed)

    def refit(self, previous: Any, features: pl.DataFrame, label: np.ndarray, *, seed: int) -> Any:
        """The same fit, with the solver started from ``previous`` instead of from zero.

        A weekly-retraining simulation refits on a history that grew by one
        week, whose optimum is close to last week's: started there, the
        solver needs one or two steps instead of seven. The objective is the
        same and the solver stops at its optimum, so it gives the model
        ``fit`` gives (on the sample history, a whole weekly simulation mails
        99.6% the same customers either way).
        """
        return _fitted(_matrix(features), label, seed=seed, start=previous)

    def score(self, model: Any, features: pl.DataFrame) -> np.ndarray:
        if features.height == 0:
            return np.empty(0)
        return model.predict_proba(_matrix(features))[:, 1]

    def explain(self, model: Any, features: pl.DataFrame) -> pl.DataFrame:
        """Each feature's share of the log-odds, against the average customer in training.

        The age band is one feature to the operator even though the model sees
        one indicator per band, so its indicators' contributions are summed.
        """
        scaler, regression = model[0], model[-1]
        standardised = scaler.transform(_matrix(features)) if features.height else np.empty((0, len(_COLUMNS)))
        parts = standardised * regression.coef_[0]
        by_feature = {name: parts[:, i] for i, name in enumerate(NUMERIC)}
        by_feature["age_band"] = parts[:, len(NUMERIC) :].sum(axis=1)
        return pl.DataFrame({name: by_feature[name] for name in self.feature_labels})

    def model_card(self) -> dict[str, Any]:
        return {
            "purpose": "Rank retail customers without an investment account by their chance of opening "
            "one within the label window, to choose who receives the weekly informative e-mail.",
            "population": "Retail customers with a savings or current account, not yet investing.",
            "method": "Standardised features, logistic regression (scikit-learn, Newton-Cholesky solver, "
            "fitted to the optimum). Scores are "
            "probabilities; contributions are in log-odds against the average trained customer.",
            "features": dict(self.feature_labels),
            "excluded_data": [
                "gender (men are more often main account holders; using it would inform men more often)",
                "postcode (a proxy for ethnicity)",
                "name, address (never needed)",
                "customer-since date (known to be unreliable in the warehouse)",
            ],
            "weaknesses": [
                "Fund index changes are the same for everyone in a week: with little history the model "
                "can memorise weeks (for example May, when holiday pay arrives) instead of learning "
                "customers. Validate out of time over a long history before trusting a new model.",
                "Probabilities are only as calibrated as the validation shows; treat 80% as 'quite high', not as a promise.",
            ],
            "do_not_use_when": [
                "the fund index moves outside the band seen in training (a market crash): people must take the wheel",
                "the product or the mailing changes substantially",
                "the snapshot is late or incomplete",
            ],
        }


_COLUMNS = (*NUMERIC, *(f"age_{band}" for band in AGE_BANDS))


def _fitted(matrix: np.ndarray, label: np.ndarray, *, seed: int, start: Any = None) -> Any:
    """Standardise, then fit the regression, from zero or from the model ``start``.

    ``start`` was standardised with last week's means and spreads, so its
    coefficients are first restated for this week's scaler: the solver then
    starts from exactly the scores ``start`` gives.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Newton-Cholesky, made for many rows and few features, stops at the optimum itself rather than
    # near it: the customers chosen then follow from the data, not from where a solver gave up, and a
    # refit from last week's model lands on the model a fit from scratch gives.
    regression = LogisticRegression(C=1.0, max_iter=1000, random_state=seed, solver="newton-cholesky", tol=1e-8)
    model = make_pipeline(StandardScaler(), regression)
    scaler = model[0]
    standardised = scaler.fit_transform(matrix)
    if start is not None:
        start_scaler, start_regression = start[0], start[-1]
        per_unit = start_regression.coef_ / start_scaler.scale_
        regression.coef_ = per_unit * scaler.scale_
        regression.intercept_ = start_regression.intercept_ + per_unit @ (scaler.mean_ - start_scaler.mean_)
        regression.set_params(warm_start=True)
    regression.fit(standardised, label)
    # the model is kept and may be refitted later: only an explicit refit starts from its coefficients
    regression.set_params(warm_start=False)
    return model


def _matrix(features: pl.DataFrame) -> np.ndarray:
    """Fixed column order with one indicator per age band, so every week's matrix lines up.

    An empty value is refused, never filled in: optional inputs arrive filled
    (the toolkit imputes them as declared), so an empty feature means a
    critical input is missing and any stand-in would be scored as if real.
    """
    empty = {c: n for c, n in features.select(*NUMERIC, "age_band").null_count().row(0, named=True).items() if n}
    if empty:
        raise BadInput(
            "the engine cannot work with empty values: "
            + ", ".join(f"'{LogisticEngine.feature_labels[c]}' is empty for {n:,} customers" for c, n in empty.items()),
            hint="Fill in the critical inputs (balances, accounts, products, age band, fund changes) in the extract.",
        )
    indicators = [(pl.col("age_band") == band).cast(pl.Float64).alias(f"age_{band}") for band in AGE_BANDS]
    return features.select(*[pl.col(c).cast(pl.Float64) for c in NUMERIC], *indicators).to_numpy()


@hookimpl
def nba_register_engines(register):
    register(LogisticEngine())
