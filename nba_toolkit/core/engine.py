"""The engine contract: what a selection engine must provide (R-E1).

An engine turns a snapshot into features, fits a model on history, scores
customers with a probability of converting (0 to 1), and explains each score
as contributions in plain feature names. The engine object itself holds no
fitted state: the fitted model is a separate value the toolkit saves, hashes
and loads, so the workspace, not the plugin, decides which model is in use.

Inputs are critical unless the engine lists them in ``optional_columns``
with the stand-in to use when they are missing. The toolkit, not the engine,
fills those stand-ins in, counts them and marks the run as degraded; an
engine never fills in an input silently (see core/degraded.py).

An engine may also provide ``refit``: the same fit started from a previous
model, which a weekly-retraining simulation uses to refit quickly on a history
that grew by one week. Engines without it are fitted from scratch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

ENGINE_ATTRIBUTES = ("name", "version", "required_columns", "feature_labels")
ENGINE_METHODS = ("features", "fit", "score", "explain", "model_card")
#: what an engine may leave out: ``optional_columns`` (every input is then critical) and ``refit`` (fit from scratch)
ENGINE_OPTIONAL = ("optional_columns", "refit")

#: the stand-in for a missing optional input: "median" (of this snapshot's values) or a constant
Imputation = str | bool | int | float | date
MEDIAN = "median"
#: the Python types a constant stand-in may have, per column type (bool is not an int here)
_CONSTANT_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "date": (date,),
}


def optional_columns(engine: Any) -> dict[str, Imputation]:
    """The engine's optional inputs and their stand-ins; none when it declares none (every input is critical)."""
    return dict(getattr(engine, "optional_columns", None) or {})


def imputation_problems(engine: Any) -> list[str]:
    """Why the engine's ``optional_columns`` declaration is unusable, in plain words; empty when it is fine."""
    problems = []
    for column, value in optional_columns(engine).items():
        kind = engine.required_columns.get(column)
        if kind is None:
            problems.append(f"optional column '{column}' is not in required_columns")
        elif isinstance(value, str) and value == MEDIAN:
            if kind not in ("int", "float"):
                problems.append(f"optional column '{column}' ({kind}) cannot use the median; declare a constant")
        elif (isinstance(value, bool) and kind != "bool") or not isinstance(value, _CONSTANT_TYPES.get(kind, ())):
            problems.append(f"optional column '{column}' ({kind}) has the stand-in {value!r}, which is not a {kind} value")
    return problems


def refit_method(engine: Any) -> Callable[..., Any] | None:
    """The engine's ``refit``, or None when it has none and must be fitted from scratch."""
    method = getattr(engine, "refit", None)
    return method if callable(method) else None


@runtime_checkable
class Engine(Protocol):
    """An engine may also declare ``optional_columns`` (see ``optional_columns()``): inputs among
    ``required_columns`` that may be missing from the snapshot or empty in some rows, each with its
    stand-in, a constant of the column's type or ``"median"`` (the median of this snapshot's values).

    It may also provide ``refit(previous, features, label, *, seed) -> model`` (see ``refit_method()``):
    a model fitted on these data starting from ``previous``, a model of this engine (last week's in a
    weekly-retraining simulation). It must converge to the same model ``fit`` would give. Neither
    is a member of this protocol, so engines without them still conform.
    """

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
