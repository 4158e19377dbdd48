"""The engine contract: what a selection engine must provide (R-E1).

An engine turns a snapshot into features, fits a model on history, scores
customers with a probability of converting (0 to 1), and explains each score
as contributions in plain feature names. The engine object itself holds no
fitted state: the fitted model is a separate value the toolkit saves, hashes
and loads, so the workspace, not the plugin, decides which model is in use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

ENGINE_ATTRIBUTES = ("name", "version", "required_columns", "feature_labels")
ENGINE_METHODS = ("features", "fit", "score", "explain", "model_card")


@runtime_checkable
class Engine(Protocol):
    name: str
    version: str
    #: canonical snapshot columns the engine reads, with their type ("int", "float", "bool", "date", "str")
    required_columns: Mapping[str, str]
    #: feature name -> the plain words an operator reads
    feature_labels: Mapping[str, str]

    def features(self, snapshot: pl.LazyFrame) -> pl.LazyFrame:
        """``customer_id`` plus one column per feature in ``feature_labels``."""
        ...

    def fit(self, features: pl.DataFrame, label: np.ndarray, *, seed: int) -> Any:
        """Return a fitted model; it must be picklable with joblib."""
        ...

    def score(self, model: Any, features: pl.DataFrame) -> np.ndarray:
        """Probability of converting, one float in [0, 1] per row, in row order."""
        ...

    def explain(self, model: Any, features: pl.DataFrame) -> pl.DataFrame:
        """One column per feature: its contribution to each row's score (log-odds)."""
        ...

    def model_card(self) -> dict[str, Any]:
        """The engine's part of the model card: purpose, features, exclusions, weaknesses."""
        ...
