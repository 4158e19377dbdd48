"""The residual group (R-V3): eligible customers the engine never selects, and why.

The business wanted to understand this group before any random exploration:
who are they, how do they differ from the customers the engine does select,
and which features keep their scores down? A customer is in the residual
group when they are eligible in the latest run and were selected (mailed or
held out) in none of the runs looked at. Mailed at random does not count as
selected: the random control is not the engine's choice.

The profile compares concrete values (balances, logins, age band) as an
operator would read them: medians for numbers, shares for yes/no and
categories, ordered by the standardised difference so that the biggest
differences come first. What holds the scores down comes from the engine's
own explanation: each feature's mean contribution (log-odds) in the residual
group against the selected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from nba_toolkit.core.scalars import number_or_none
from nba_toolkit.core.selection import HOLDOUT, SELECTED
from nba_toolkit.words import column_words


@dataclass(frozen=True)
class ResidualGroup:
    runs: list[str]
    eligible: int
    residual: int
    selected: int
    residual_median_score: float | None
    selected_median_score: float | None
    #: feature, kind, residual, selected, difference (standardised), ordered by |difference|
    profile: pl.DataFrame
    #: feature, label, residual, selected, gap (residual - selected), most negative gap first
    contributions: pl.DataFrame
    customers: pl.DataFrame

    @property
    def share(self) -> float | None:
        return self.residual / self.eligible if self.eligible else None

    def to_dict(self, *, with_customers: bool = False) -> dict[str, Any]:
        data = {
            "runs": self.runs,
            "eligible_in_latest_run": self.eligible,
            "residual": self.residual,
            "share": self.share,
            "selected": self.selected,
            "residual_median_score": self.residual_median_score,
            "selected_median_score": self.selected_median_score,
            "profile": self.profile.to_dicts(),
            "holding_scores_down": self.contributions.to_dicts(),
        }
        if with_customers:
            data["customers"] = self.customers["customer_id"].to_list()
        return data


def residual_ids(selections: pl.DataFrame, latest_run: str) -> tuple[pl.Series, pl.Series, int]:
    """(residual ids, ever-selected ids, eligible in the latest run) from stacked selections.

    ``selections`` has ``run_id``, ``customer_id``, ``reason`` and ``exclusion``.
    """
    selected = selections.filter(pl.col("reason").is_in([SELECTED, HOLDOUT]))["customer_id"].unique()
    eligible = selections.filter((pl.col("run_id") == latest_run) & pl.col("exclusion").is_null())["customer_id"]
    residual = eligible.filter(~eligible.is_in(selected.implode()))
    return residual, selected, eligible.len()


def residual_group(
    selections: pl.DataFrame,
    snapshot: pl.DataFrame,
    *,
    latest_run: str,
    profile_columns: Mapping[str, str],
    engine: Any,
    model: Any,
    feature_labels: Mapping[str, str],
) -> ResidualGroup:
    """Profile the residual group of ``selections`` on the latest run's ``snapshot`` (canonical columns)."""
    residual, selected, eligible = residual_ids(selections, latest_run)
    latest = selections.filter(pl.col("run_id") == latest_run).select("customer_id", "score")
    group = snapshot.join(latest, on="customer_id", how="left").with_columns(
        pl.when(pl.col("customer_id").is_in(residual.implode()))
        .then(pl.lit("residual"))
        .when(pl.col("customer_id").is_in(selected.implode()))
        .then(pl.lit("selected"))
        .alias("_group")
    )
    residual_rows = group.filter(pl.col("_group") == "residual")
    selected_rows = group.filter(pl.col("_group") == "selected")
    return ResidualGroup(
        runs=selections["run_id"].unique(maintain_order=True).to_list(),
        eligible=eligible,
        residual=residual.len(),
        selected=selected_rows.height,
        residual_median_score=number_or_none(residual_rows["score"].median()),
        selected_median_score=number_or_none(selected_rows["score"].median()),
        profile=profile(residual_rows, selected_rows, profile_columns, feature_labels),
        contributions=contributions(engine, model, residual_rows, selected_rows, feature_labels),
        customers=residual_rows.select("customer_id", "score"),
    )


def profile(
    residual: pl.DataFrame, selected: pl.DataFrame, columns: Mapping[str, str], labels: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """Medians (numbers) and shares (yes/no, categories) side by side, biggest standardised difference first.

    Each row names its column as the operator reads it (``label``: the declared
    label, else the column's name in words) beside the column itself (``feature``).

    Columns that are the same for everyone (the market) tell nothing and are left out.
    """
    rows = []
    for column, kind in columns.items():
        if column not in residual.columns:
            continue
        r, s = residual[column], selected[column]
        label = column_words(column, labels)
        if pl.concat([r, s]).n_unique() < 2:
            continue
        if kind in ("int", "float"):
            r, s = r.cast(pl.Float64).drop_nulls(), s.cast(pl.Float64).drop_nulls()
            difference = _standardised(r.mean(), s.mean(), r.var(), s.var())
            rows.append((column, label, "median", r.median(), s.median(), difference))
        elif kind == "bool":
            rows.append(
                _share_row(column, label, number_or_none(r.cast(pl.Float64).mean()), number_or_none(s.cast(pl.Float64).mean()))
            )
        elif kind == "str":
            for level in sorted(set(r.drop_nulls().unique()) | set(s.drop_nulls().unique())):
                rows.append(
                    _share_row(
                        f"{column} = {level}",
                        f"{label} = {level}",
                        number_or_none((r == level).mean()),
                        number_or_none((s == level).mean()),
                    )
                )
    frame = pl.DataFrame(
        rows,
        schema=["feature", "label", "statistic", "residual", "selected", "difference"],
        orient="row",
        infer_schema_length=None,
    )
    return (
        frame.filter(pl.col("difference").is_not_null() & pl.col("difference").is_finite())
        .sort(pl.col("difference").abs(), descending=True)
        .with_columns(pl.col("residual", "selected", "difference").cast(pl.Float64))
    )


def contributions(
    engine: Any, model: Any, residual: pl.DataFrame, selected: pl.DataFrame, labels: Mapping[str, str]
) -> pl.DataFrame:
    """Each feature's mean contribution in both groups; the most negative gap holds the residual down most."""
    means: dict[str, dict[str, float]] = {}
    for name, rows in (("residual", residual), ("selected", selected)):
        if rows.height == 0:
            means[name] = {}
            continue
        explained = engine.explain(model, engine.features(rows.lazy()).collect())
        means[name] = explained.select(pl.all().cast(pl.Float64).mean()).row(0, named=True)
    features = list(means["residual"] or means["selected"])
    return (
        pl.DataFrame(
            {
                "feature": features,
                "label": [labels.get(f, f) for f in features],
                "residual": [means["residual"].get(f) for f in features],
                "selected": [means["selected"].get(f) for f in features],
            },
            schema={"feature": pl.String, "label": pl.String, "residual": pl.Float64, "selected": pl.Float64},
        )
        .with_columns((pl.col("residual") - pl.col("selected")).alias("gap"))
        .sort("gap", nulls_last=True)
    )


def _share_row(name: str, label: str, r: float | None, s: float | None) -> tuple[str, str, str, Any, Any, float | None]:
    if r is None or s is None:
        return (name, label, "share", r, s, None)
    return (name, label, "share", r, s, _standardised(r, s, r * (1 - r), s * (1 - s)))


def _standardised(mean_r: Any, mean_s: Any, var_r: Any, var_s: Any) -> float | None:
    """Standardised mean difference: the gap in units of the two groups' pooled spread."""
    if None in (mean_r, mean_s, var_r, var_s):
        return None
    spread = math.sqrt((var_r + var_s) / 2)
    return (mean_r - mean_s) / spread if spread > 0 else None
