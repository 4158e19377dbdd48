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

An engine's ``fit`` (and ``refit``) may take ``sample_weight``, one weight per
row: training a large history fits on a sample whose rows are weighted back to
the history (core/sampling.py). An engine without it can only be trained on a
history within ``[engine] training_sample_rows``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nba_toolkit.errors import PluginError

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


def takes_weights(method: Callable[..., Any]) -> bool:
    """Whether an engine's ``fit`` or ``refit`` takes ``sample_weight``, which a sampled training needs."""
    try:
        return "sample_weight" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def declared_features(engine: Any, model: Any) -> dict[str, Any]:
    """What a model of an engine configured from nba.toml records about its features (none for other engines).

    ``declaration``: the fingerprint of the ``[features]`` the model was
    trained on, so a later edit of them refuses the model until it is
    retrained; ``levels``: each category's levels as training learned them,
    for the ``category_levels`` check; ``market_features``: the features the
    market band watches (``market = true``), for the model card.
    """
    digest = getattr(engine, "declaration_digest", None)
    if digest is None:
        return {}
    layout = getattr(model, "layout", None)
    levels = {name: list(values) for name, values in layout.levels.items()} if layout is not None else {}
    return {"declaration": digest, "levels": levels, "market_features": list(getattr(engine, "market_features", ()))}


def require_model_fits_engine(engine: Any, sidecar: Mapping[str, Any], *, recorded_version: str | None = None) -> None:
    """Refuse to score with a model the installed engine did not make (exit 5): retrain, or roll the engine back.

    ``sidecar`` is the model's metadata (``core/models.py``), which records
    the engine's name, version and features at training; ``recorded_version``
    is the engine version in the model's ledger record. An engine upgrade
    that renames, adds or drops a feature would otherwise fail deep inside
    scikit-learn, or, worse, score with features in the wrong places; one
    that keeps the names may still compute them differently.
    """
    problems = model_engine_differences(engine, sidecar, recorded_version=recorded_version)
    if problems:
        model_id = sidecar.get("model_id", "?")
        trained = sidecar.get("engine_version") or recorded_version or "?"
        raise PluginError(
            f"the model {model_id} does not fit the installed engine '{engine.name}': " + "; ".join(problems),
            hint=f"Retrain with `nba-toolkit train` so the model matches engine version {engine.version}, or roll "
            f"the engine plugin back to version {trained}, the one the model was trained with. Nothing was scored.",
        )


def model_engine_differences(engine: Any, sidecar: Mapping[str, Any], *, recorded_version: str | None = None) -> list[str]:
    """How the engine that trained the model differs from the installed one, in plain words; empty when it does not."""
    problems = []
    if sidecar.get("engine") not in (None, engine.name):
        problems.append(f"it was trained by the engine '{sidecar['engine']}'")
    versions = {v for v in (sidecar.get("engine_version"), recorded_version) if v is not None}
    if versions and versions != {engine.version}:
        problems.append(f"it was trained with engine version {' / '.join(sorted(versions))}, {engine.version} is installed")
    digest = getattr(engine, "declaration_digest", None)
    if digest is not None and sidecar.get("declaration") not in (None, digest) and not problems:
        problems.append("the features declared in [features] in nba.toml changed since it was trained")
    trained = list(sidecar.get("features") or {})
    installed = list(engine.feature_labels)
    # The sidecar is written with sorted keys, so the features compare as a set.
    if trained and set(trained) != set(installed):
        gone = [f for f in trained if f not in installed]
        new = [f for f in installed if f not in trained]
        parts = []
        if gone:
            parts.append(f"without {', '.join(gone)}")
        if new:
            parts.append(f"with the new {', '.join(new)}")
        problems.append("the engine's features changed (" + "; ".join(parts) + ")")
    return problems


@runtime_checkable
class Engine(Protocol):
    """An engine may also declare ``optional_columns`` (see ``optional_columns()``): inputs among
    ``required_columns`` that may be missing from the snapshot or empty in some rows, each with its
    stand-in, a constant of the column's type or ``"median"`` (the median of this snapshot's values).

    It may also provide ``refit(previous, features, label, *, seed) -> model`` (see ``refit_method()``):
    a model fitted on these data starting from ``previous``, a model of this engine (last week's in a
    weekly-retraining simulation). It must converge to the same model ``fit`` would give. Neither
    is a member of this protocol, so engines without them still conform. ``fit`` and ``refit``
    may take a keyword ``sample_weight`` (see ``takes_weights()``), which sampled training needs.
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
