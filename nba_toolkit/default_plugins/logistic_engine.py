"""The built-in engines: the features nba.toml declares, scored by a logistic regression or by boosted trees.

The bank changes its engine by editing ``[features]`` in nba.toml (see
core/features.py), not by writing a plugin: each built-in engine is
configured with the workspace's declaration before it is used
(``configure``), and the declaration's fingerprint is stored with the model,
so a model trained on other features refuses to score.

``logistic`` (the default) is simple on purpose. The bank's own engine used a
handful of understandable features so that the organisation could follow what
happens; a logistic regression keeps every score decomposable into
per-feature contributions that add up exactly, which is what the review
screen shows next to each customer.

``gradient_boosting`` is scikit-learn's histogram gradient boosting: trees
find thresholds and interactions a straight line cannot, at the price of a
model nobody can read off a page. Its explanation (``_sequential_parts``)
still adds up exactly to the customer's log-odds against a reference
customer, by a documented approximation of Shapley values.

Without ``[features]`` in nba.toml, both use the seven features the sample
bank's engine used (``DEFAULT_DECLARATION``): savings and current-account
balance on a log scale, engagement (app installed, accounts and logins merged
into one 0-1 measure), products held, age band, and the bank's fund index
change over 1 and 4 weeks as the market climate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.features import (
    DEFAULT_DECLARATION,
    Declaration,
    Layout,
    feature_frame,
    refuse_empty,
    training_layout,
)
from nba_toolkit.plugin import hookimpl

#: probabilities are clipped this far from 0 and 1 before taking log-odds, so an explanation is never infinite
EPSILON = 1e-9

EXCLUDED_DATA = [
    "gender (men are more often main account holders; using it would inform men more often)",
    "postcode (a proxy for ethnicity)",
    "name, address (never needed)",
    "customer-since date (known to be unreliable in the warehouse)",
]


@dataclass
class DeclaredModel:
    """What training stores: the fitted estimator with the layout (levels and shares) it was fitted on."""

    layout: Layout
    estimator: Any
    #: trees only: the reference customer explanations are measured against (codes matrix, one row)
    reference: np.ndarray | None = None


class DeclaredEngine(ABC):
    """An engine whose features come from nba.toml; subclasses choose the model (``_fit``, ``_probabilities``)."""

    name = ""
    version = "2.0.0"
    method = ""

    def __init__(self, declaration: Declaration = DEFAULT_DECLARATION) -> None:
        self.declaration = declaration

    @property
    def required_columns(self) -> dict[str, str]:
        return self.declaration.required_columns()

    @property
    def optional_columns(self) -> dict[str, Any]:
        return self.declaration.stand_ins()

    @property
    def feature_labels(self) -> dict[str, str]:
        return self.declaration.labels

    @property
    def market_features(self) -> tuple[str, ...]:
        return self.declaration.market

    @property
    def declaration_digest(self) -> str:
        return self.declaration.digest()

    def configure(self, declaration: Declaration) -> DeclaredEngine:
        """This engine with the workspace's declared features."""
        return type(self)(declaration)

    def features(self, snapshot: pl.LazyFrame) -> pl.LazyFrame:
        return feature_frame(self.declaration, snapshot)

    def fit(
        self, features: pl.DataFrame, label: np.ndarray, *, seed: int, sample_weight: np.ndarray | None = None
    ) -> DeclaredModel:
        """The model; ``sample_weight`` (per row) is how many rows of the history a sampled row stands for."""
        refuse_empty(self.declaration, features)
        layout = training_layout(self.declaration, features, sample_weight)
        return self._fit(layout, features, label, seed=seed, start=None, weight=sample_weight)

    def score(self, model: DeclaredModel, features: pl.DataFrame) -> np.ndarray:
        if features.height == 0:
            return np.empty(0)
        refuse_empty(self.declaration, features)
        return self._probabilities(model, features)

    def model_card(self) -> dict[str, Any]:
        weaknesses = [
            "Probabilities are only as calibrated as the validation shows; treat 80% as 'quite high', not as a promise.",
        ]
        if self.market_features:
            market = ", ".join(self.feature_labels[f] for f in self.market_features)
            weaknesses.insert(
                0,
                f"{market}: the same for everyone in a week, so with little history the model can memorise weeks "
                "(for example May, when holiday pay arrives) instead of learning customers. Validate out of time "
                "over a long history before trusting a new model.",
            )
        return {
            "purpose": "Rank retail customers without an investment account by their chance of opening "
            "one within the label window, to choose who receives the weekly informative e-mail.",
            "population": "Retail customers with a savings or current account, not yet investing.",
            "method": self.method + " Features as declared in [features] in nba.toml; a category value never seen "
            "in training is scored as the level 'other'.",
            "features": dict(self.feature_labels),
            "excluded_data": list(EXCLUDED_DATA),
            "weaknesses": weaknesses,
            "do_not_use_when": [
                "the market moves outside the band seen in training (a crash): people must take the wheel",
                "the product or the mailing changes substantially",
                "the snapshot is late or incomplete",
            ],
        }

    @abstractmethod
    def _fit(
        self, layout: Layout, features: pl.DataFrame, label: np.ndarray, *, seed: int, start: Any, weight: np.ndarray | None
    ) -> DeclaredModel:
        """The model fitted on ``features`` laid out by ``layout``, from ``start`` when given, rows weighted by ``weight``."""

    @abstractmethod
    def _probabilities(self, model: DeclaredModel, features: pl.DataFrame) -> np.ndarray:
        """The model's probability of converting, per row."""


class LogisticEngine(DeclaredEngine):
    name = "logistic"
    method = (
        "Standardised features, logistic regression (scikit-learn, Newton-Cholesky solver, fitted to the optimum). "
        "Scores are probabilities. Each feature's contribution says how far it moves the customer's score up or down "
        "against the average trained customer; the contributions add up exactly to that difference (measured in "
        "log-odds, the scale on which the model adds its effects)."
    )

    def refit(
        self,
        previous: DeclaredModel,
        features: pl.DataFrame,
        label: np.ndarray,
        *,
        seed: int,
        sample_weight: np.ndarray | None = None,
    ) -> DeclaredModel:
        """The same fit, with the solver started from ``previous`` instead of from zero.

        A weekly-retraining simulation refits on a history that grew by one
        week, whose optimum is close to last week's: started there, the
        solver needs one or two steps instead of seven. The objective is the
        same and the solver stops at its optimum, so it gives the model
        ``fit`` gives. The levels stay the ones ``previous`` learned, so the
        coefficients line up.
        """
        refuse_empty(self.declaration, features)
        layout = training_layout(self.declaration, features, sample_weight)
        start = previous.estimator if layout.levels == previous.layout.levels else None
        return self._fit(layout, features, label, seed=seed, start=start, weight=sample_weight)

    def explain(self, model: DeclaredModel, features: pl.DataFrame) -> pl.DataFrame:
        """Each feature's share of the log-odds, against the average customer in training.

        A category is one feature to the operator even though the model sees
        one indicator per level, so its indicators' contributions are summed.
        """
        names = list(self.feature_labels)
        if features.height == 0:
            return pl.DataFrame(schema=dict.fromkeys(names, pl.Float64))
        scaler, regression = model.estimator[0], model.estimator[-1]
        parts = scaler.transform(model.layout.indicators(features)) * regression.coef_[0]
        groups = model.layout.groups()
        return pl.DataFrame({name: parts[:, groups[name]].sum(axis=1) for name in names})

    def _fit(
        self, layout: Layout, features: pl.DataFrame, label: np.ndarray, *, seed: int, start: Any, weight: np.ndarray | None
    ) -> DeclaredModel:
        """Standardise, then fit the regression, from zero or from the estimator ``start``.

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
        estimator = make_pipeline(StandardScaler(), regression)
        scaler = estimator[0]
        # Weighted, a column that is the same for every row (a level nobody has) can come out with a variance
        # a rounding error below zero; the scaler counts it as constant all the same, so its warning is noise.
        with np.errstate(invalid="ignore"):
            standardised = scaler.fit_transform(layout.indicators(features), sample_weight=weight)
        if start is not None:
            start_scaler, start_regression = start[0], start[-1]
            per_unit = start_regression.coef_ / start_scaler.scale_
            regression.coef_ = per_unit * scaler.scale_
            regression.intercept_ = start_regression.intercept_ + per_unit @ (scaler.mean_ - start_scaler.mean_)
            regression.set_params(warm_start=True)
        regression.fit(standardised, label, sample_weight=weight)
        # the model is kept and may be refitted later: only an explicit refit starts from its coefficients
        regression.set_params(warm_start=False)
        return DeclaredModel(layout=layout, estimator=estimator)

    def _probabilities(self, model: DeclaredModel, features: pl.DataFrame) -> np.ndarray:
        return model.estimator.predict_proba(model.layout.indicators(features))[:, 1]


class GradientBoostingEngine(DeclaredEngine):
    name = "gradient_boosting"
    method = (
        "scikit-learn HistGradientBoostingClassifier: 150 rounds of trees with at most 15 leaves and 100 customers "
        "per leaf, learning rate 0.1, no early stopping; categories as native categorical splits. Scores are its "
        "probabilities. Each feature's contribution says how far it moves the score up or down against a reference "
        "customer (every number at its training median, every category at its most common level); the contributions "
        "add up exactly to that difference (measured in log-odds, the scale on which the trees add their effects): "
        "each feature's "
        "contribution is the mean of its effect when the features are set from the reference to the customer's "
        "values in the declared order and in the reverse order (an approximation of Shapley values, which it "
        "matches exactly when features do not interact)."
    )

    def explain(self, model: DeclaredModel, features: pl.DataFrame) -> pl.DataFrame:
        names = list(self.feature_labels)
        if features.height == 0:
            return pl.DataFrame(schema=dict.fromkeys(names, pl.Float64))
        assert model.reference is not None, "a tree model keeps its reference customer from training"
        parts = _sequential_parts(model.estimator, model.layout.codes(features), model.reference)
        return pl.DataFrame({name: parts[:, i] for i, name in enumerate(names)})

    def _fit(
        self, layout: Layout, features: pl.DataFrame, label: np.ndarray, *, seed: int, start: Any, weight: np.ndarray | None
    ) -> DeclaredModel:
        """A fixed number of boosting rounds, no early stopping: the same data and seed give the same model."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        matrix = layout.codes(features)
        categorical = [f.categorical for f in layout.declaration]
        classifier = HistGradientBoostingClassifier(
            max_iter=150,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=100,
            l2_regularization=1.0,
            early_stopping=False,
            categorical_features=categorical if any(categorical) else None,
            random_state=seed,
        ).fit(matrix, label, sample_weight=weight)
        return DeclaredModel(layout=layout, estimator=classifier, reference=_reference_customer(matrix, categorical))

    def _probabilities(self, model: DeclaredModel, features: pl.DataFrame) -> np.ndarray:
        return _predict(model.estimator, model.layout.codes(features))


#: fewer rows than this are predicted on one thread: starting the OpenMP threads costs more than they save
_ONE_THREAD_ROWS = 20_000


def _predict(classifier: Any, matrix: np.ndarray) -> np.ndarray:
    """The trees' probabilities; one customer's explanation on a busy machine takes milliseconds, not a second."""
    if matrix.shape[0] >= _ONE_THREAD_ROWS:
        return classifier.predict_proba(matrix)[:, 1]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return classifier.predict_proba(matrix)[:, 1]


def _reference_customer(matrix: np.ndarray, categorical: list[bool]) -> np.ndarray:
    """Numbers at their training median, categories at their most common level."""
    reference = np.nanmedian(matrix, axis=0) if matrix.shape[0] else np.zeros(matrix.shape[1])
    for i, is_category in enumerate(categorical):
        if is_category:
            values, counts = np.unique(matrix[~np.isnan(matrix[:, i]), i], return_counts=True)
            reference[i] = values[np.argmax(counts)] if values.size else np.nan
    return reference.reshape(1, -1)


#: rows explained per batch: each is predicted 2 x features times, so memory stays bounded on a big week
_EXPLAIN_BATCH = 50_000


def _sequential_parts(classifier: Any, matrix: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per row and feature, the feature's share of log-odds(row) - log-odds(reference), adding up exactly.

    Forward: start from the reference customer and set the features to the
    row's values one at a time in the declared order; each step's change in
    log-odds is that feature's part. Backward: the same in the reverse order.
    Both sums telescope to the same difference, so their mean does too.
    """
    rows, width = matrix.shape
    parts = np.empty((rows, width))
    for start in range(0, rows, _EXPLAIN_BATCH):
        block = matrix[start : start + _EXPLAIN_BATCH]
        forward = _steps(classifier, block, reference, list(range(width)))
        backward = _steps(classifier, block, reference, list(reversed(range(width))))
        parts[start : start + block.shape[0]] = (forward + backward) / 2
    return parts


def _steps(classifier: Any, block: np.ndarray, reference: np.ndarray, order: list[int]) -> np.ndarray:
    n, width = block.shape
    states = np.repeat(reference, n, axis=0)
    stacked = [states.copy()]
    for feature in order:
        states[:, feature] = block[:, feature]
        stacked.append(states.copy())
    probability = _predict(classifier, np.vstack(stacked))
    log_odds = _log_odds(probability).reshape(width + 1, n)
    steps = np.diff(log_odds, axis=0)
    parts = np.empty((n, width))
    for position, feature in enumerate(order):
        parts[:, feature] = steps[position]
    return parts


def _log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return np.log(p / (1 - p))


@hookimpl
def nba_register_engines(register):
    register(LogisticEngine())
    register(GradientBoostingEngine())
