"""What-if (R-V5): turn a knob on a snapshot and see what the selection would do.

Before go-live the bank's engineer pretended fund prices rose, to see
whether more mail would go out. Here a change applies to the snapshot's
canonical columns (``fund_change_4w``, ``savings_balance``, ...) before the
engine computes its features, so the question is asked in the operator's
terms, and the selection is computed by the run's own code both times
(:func:`~nba_toolkit.core.decision.decide_week`). Eligibility does not
move: the changed columns are the engine's inputs, not investor, consent or
cooldown.

Three kinds of change:

* ``shift``: add a number (``fund_change_4w=+5`` adds 5 percentage points);
* ``scale``: a percentage (``savings_balance=+10%`` multiplies by 1.10);
* ``set``: one value for everyone (``app_installed=1``, ``age_band=35-44``).

Whole-number columns are rounded back to whole numbers after a shift or scale.

The monotonicity report nudges each numeric feature up a little for every
eligible customer and counts whose score goes up, down or stays. It
compares that with what the model claims: the engine's model card
(``expected_directions``: feature -> "up"/"down"), else the engine's own
explanation (the change in the summed contributions). A feature whose
scores move both ways, or against the claim, deserves a closer look.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.decision import decide_week, engine_scores
from nba_toolkit.core.rules import RuleContext
from nba_toolkit.core.scalars import number_or_none
from nba_toolkit.core.selection import HOLDOUT, SELECTED, Policy
from nba_toolkit.errors import UsageError
from nba_toolkit.words import column_words

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TRUE = {"1", "true", "yes", "y", "j", "ja"}
_FALSE = {"0", "false", "no", "n", "nee"}
#: a score change smaller than this is no change (floating-point noise)
TOLERANCE = 1e-12


@dataclass(frozen=True)
class Change:
    column: str
    kind: str  # shift | scale | set
    value: Any

    def __str__(self) -> str:
        if self.kind == "scale":
            return f"{self.column} {(self.value - 1) * 100:+g}%"
        if self.kind == "shift":
            return f"{self.column} {self.value:+g}"
        return f"{self.column} = {self.value}"


def parse_change(text: str, *, kind: str, columns: Mapping[str, str]) -> Change:
    """``feature=+0.10`` (shift), ``feature=+10%`` (scale) or, with ``kind='set'``, ``feature=value``."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise UsageError(f"'{text}' is not a change; write it as feature=+0.10, feature=+10% or feature=value")
    if name not in columns:
        raise UsageError(f"'{name}' is not a column the engine reads; it reads: {', '.join(columns)}")
    column_type = columns[name]
    if kind == "set":
        return Change(name, "set", _typed(name, raw, column_type))
    if column_type not in ("int", "float"):
        raise UsageError(f"'{name}' is not a number and cannot be shifted; set it instead (--set {name}=...)")
    if raw.endswith("%") and _NUMBER.match(raw[:-1].strip()):
        return Change(name, "scale", 1 + float(raw[:-1]) / 100)
    if _NUMBER.match(raw):
        return Change(name, "shift", float(raw))
    raise UsageError(f"'{raw}' is not a shift for '{name}'; write a number such as +0.10 or -5, or a percentage such as +10%")


def apply_changes(snapshot: pl.DataFrame, changes: Sequence[Change]) -> pl.DataFrame:
    """The snapshot with every change applied, each column keeping its type."""
    exprs = []
    for change in changes:
        dtype = snapshot.schema[change.column]
        column = pl.col(change.column)
        if change.kind == "set" and dtype == pl.String:
            levels = sorted(snapshot[change.column].drop_nulls().unique().to_list())
            if change.value not in levels:
                raise UsageError(
                    f"'{change.value}' is not a value of '{change.column}' in the snapshot; values: {', '.join(levels)}"
                )
        if change.kind == "set":
            value = pl.lit(change.value)
        elif change.kind == "shift":
            value = column.cast(pl.Float64) + change.value
        else:
            value = column.cast(pl.Float64) * change.value
        if dtype.is_integer() and change.kind != "set":
            value = value.round(0)
        exprs.append(value.cast(dtype).alias(change.column))
    return snapshot.with_columns(exprs)


@dataclass(frozen=True)
class WhatIf:
    week: str
    changes: list[str]
    eligible: int
    selected_before: int
    selected_after: int
    mailed_before: int
    mailed_after: int
    mean_score_before: float | None
    mean_score_after: float | None
    #: customer_id, score_before, score_after
    entering: pl.DataFrame
    leaving: pl.DataFrame
    monotonicity: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "changes": self.changes,
            "eligible": self.eligible,
            "selected": {"before": self.selected_before, "after": self.selected_after},
            "mailed": {"before": self.mailed_before, "after": self.mailed_after},
            "mean_score": {"before": self.mean_score_before, "after": self.mean_score_after},
            "entering": self.entering.to_dicts(),
            "leaving": self.leaving.to_dicts(),
            "monotonicity": self.monotonicity.to_dicts(),
        }


def what_if(
    snapshot: pl.DataFrame,
    contacted: pl.DataFrame,
    *,
    week: str,
    changes: Sequence[Change],
    engine: Any,
    model: Any,
    policy: Policy,
    rules: Sequence[tuple[Any, str]] = (),
    rule_context: RuleContext | None = None,
) -> WhatIf:
    """The week's selection before and after ``changes``, and the monotonicity report on the unchanged snapshot."""

    def run(frame: pl.DataFrame) -> pl.DataFrame:
        return decide_week(frame, contacted, engine=engine, model=model, policy=policy, rules=rules, rule_context=rule_context)

    before = run(snapshot)
    after = run(apply_changes(snapshot, changes))
    chosen = [SELECTED, HOLDOUT]
    both = before.select(
        "customer_id",
        pl.col("score").alias("score_before"),
        pl.col("reason").is_in(chosen).alias("_before"),
    ).with_columns(after.select(pl.col("score").alias("score_after"), pl.col("reason").is_in(chosen).alias("_after")))
    eligible = before.filter(pl.col("exclusion").is_null())
    eligible_after = after.filter(pl.col("exclusion").is_null())
    return WhatIf(
        week=week,
        changes=[str(c) for c in changes],
        eligible=eligible.height,
        selected_before=int(before["reason"].is_in(chosen).sum()),
        selected_after=int(after["reason"].is_in(chosen).sum()),
        mailed_before=int(before["mailed"].sum()),
        mailed_after=int(after["mailed"].sum()),
        mean_score_before=number_or_none(eligible["score"].mean()),
        mean_score_after=number_or_none(eligible_after["score"].mean()),
        entering=both.filter(pl.col("_after") & ~pl.col("_before"))
        .drop("_before", "_after")
        .sort("score_after", descending=True),
        leaving=both.filter(pl.col("_before") & ~pl.col("_after"))
        .drop("_before", "_after")
        .sort("score_before", descending=True),
        monotonicity=monotonicity(
            snapshot.filter(pl.col("customer_id").is_in(eligible["customer_id"].implode())), engine=engine, model=model
        ),
    )


def monotonicity(customers: pl.DataFrame, *, engine: Any, model: Any) -> pl.DataFrame:
    """For each numeric or yes/no input: nudge it up, and compare how scores move with what the model claims."""
    claims = (engine.model_card() or {}).get("expected_directions") or {}
    base_features = engine.features(customers.lazy()).collect()
    base_scores = engine_scores(engine, model, base_features)
    base_explained = _explained_total(engine, model, base_features)
    rows = []
    for column, kind in engine.required_columns.items():
        if kind not in ("int", "float", "bool") or column not in customers.columns or customers.height == 0:
            continue
        nudged, step = _nudge(customers, column, kind)
        features = engine.features(nudged.lazy()).collect()
        change = engine_scores(engine, model, features) - base_scores
        observed = _direction(change)
        if column in claims:
            claimed, source = str(claims[column]), "model card"
        else:
            claimed, source = _direction(_explained_total(engine, model, features) - base_explained), "explanation"
        rows.append(
            {
                "feature": column,
                "label": column_words(column, engine.feature_labels),
                "nudge": step,
                "up": int((change > TOLERANCE).sum()),
                "down": int((change < -TOLERANCE).sum()),
                "unchanged": int((np.abs(change) <= TOLERANCE).sum()),
                "mean_score_change": float(change.mean()),
                "observed": observed,
                "claimed": claimed,
                "claim_source": source,
                "consistent": observed == claimed,
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def _nudge(customers: pl.DataFrame, column: str, kind: str) -> tuple[pl.DataFrame, str]:
    """A small step up: +1 for whole numbers, yes for yes/no, a tenth of a standard deviation for amounts.

    An amount that is the same for everyone (the fund index change) has no
    spread to take a tenth of: it moves by one unit (one percentage point).
    """
    if kind == "bool":
        return customers.with_columns(pl.lit(True).alias(column)), "set to yes"
    if kind == "int":
        return customers.with_columns(pl.col(column) + 1), "+1"
    values = customers[column].cast(pl.Float64)
    sd = values.std() if values.n_unique() > 1 else None
    step = 0.1 * sd if sd else 1.0
    return customers.with_columns(pl.col(column).cast(pl.Float64) + step), f"+{step:.4g}"


def _explained_total(engine: Any, model: Any, features: pl.DataFrame) -> np.ndarray:
    explained = engine.explain(model, features)
    return explained.select(pl.sum_horizontal(pl.all().cast(pl.Float64))).to_series().to_numpy()


def _direction(change: np.ndarray) -> str:
    up, down = bool((change > TOLERANCE).any()), bool((change < -TOLERANCE).any())
    return "mixed" if up and down else "up" if up else "down" if down else "none"


def _typed(name: str, raw: str, column_type: str) -> Any:
    if column_type == "bool":
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise UsageError(f"'{raw}' is not yes/no for '{name}'; use 1 or 0")
    if column_type in ("int", "float"):
        if not _NUMBER.match(raw):
            raise UsageError(f"'{raw}' is not a number for '{name}'")
        number = float(raw)
        if column_type == "int" and not number.is_integer():
            raise UsageError(f"'{name}' holds whole numbers; '{raw}' is not one")
        return int(number) if column_type == "int" else number
    return raw
