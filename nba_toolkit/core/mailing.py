"""Evaluation of any mailing from a file (R-V2): one group mailed, one not, and an outcome per row.

For mailings done outside the toolkit, such as the previous engine's contact
log: the operator names the group column, the treatment and control values,
the outcome (0/1, or a count such as accounts opened) and optionally a value
(money invested). Rows of other groups are left out and counted, so a
typo in a group value shows instead of silently shrinking the comparison.

A 0/1 outcome gets Newcombe's interval for the difference of rates; a count
gets Welch's interval for the difference of means, like the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from nba_toolkit.core.evaluation import GroupResult, group_result
from nba_toolkit.core.planner import detectable_uplift, plan_holdout
from nba_toolkit.core.uplift import CONFIDENCE, Interval, Moments, newcombe_difference, welch_difference
from nba_toolkit.errors import BadInput, UsageError

EMPTY_GROUP = "(empty)"


@dataclass(frozen=True)
class MailingEvaluation:
    file: str
    group_column: str
    outcome_column: str
    value_column: str | None
    outcome_kind: str  # "0/1" or "count"
    treatment_value: str
    control_value: str
    treatment: GroupResult
    control: GroupResult
    uplift: Interval
    value_uplift: Interval | None
    ignored_rows: int
    ignored_groups: dict[str, int]
    confidence: float
    planner: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        def group(value: str, result: GroupResult) -> dict[str, Any]:
            data: dict[str, Any] = {"group": value, "n": result.n, "conversions": result.conversions, "rate": result.rate}
            if self.value_column:
                data["value_per_head"] = result.value_per_head
            return data

        data: dict[str, Any] = {
            "file": self.file,
            "group_column": self.group_column,
            "outcome": {"column": self.outcome_column, "kind": self.outcome_kind},
            "treatment": group(self.treatment_value, self.treatment),
            "control": group(self.control_value, self.control),
            "uplift": self.uplift.to_dict(),
        }
        if self.value_uplift is not None:
            data["value"] = {"column": self.value_column}
            data["value_uplift"] = self.value_uplift.to_dict()
        data["confidence"] = self.confidence
        data["ignored_rows"] = self.ignored_rows
        data["ignored_groups"] = self.ignored_groups
        data["planner"] = self.planner
        return data


def evaluate_mailing(
    frame: pl.DataFrame,
    *,
    file: str,
    group: str,
    treatment: str,
    control: str,
    outcome: str,
    value: str | None = None,
    names: Mapping[str, str] | None = None,
    confidence: float = CONFIDENCE,
) -> MailingEvaluation:
    """Compare the ``treatment`` rows with the ``control`` rows of ``frame``.

    ``frame`` has the columns ``group`` (text), ``outcome`` and ``value``
    (numbers), as the loader typed them; ``names`` maps them to the file's
    own names for messages.
    """
    names = names or {}
    if treatment == control:
        raise UsageError("the treatment and the control are the same group; name two different values")
    labels = frame[group].fill_null(EMPTY_GROUP)
    found = labels.value_counts(sort=True)
    counts = dict(found.iter_rows())
    for role, wanted in (("treatment", treatment), ("control", control)):
        if counts.get(wanted, 0) == 0:
            shown = ", ".join(f"'{g}' ({n:,})" for g, n in found.head(12).iter_rows())
            raise UsageError(
                f"no rows have {names.get(group, group)} = '{wanted}' (the {role}); values found: {shown}",
            )
    in_scope = labels.is_in([treatment, control])
    _refuse_bad_values(frame, in_scope, outcome, value, file=file, names=names)
    kind = "0/1" if frame.filter(in_scope)[outcome].is_in([0.0, 1.0]).all() else "count"
    rows = frame.filter(in_scope).with_columns(labels.filter(in_scope).alias("_group"))
    t = rows.filter(pl.col("_group") == treatment)
    c = rows.filter(pl.col("_group") == control)
    t_value = t[value] if value else pl.Series([0.0] * t.height)
    c_value = c[value] if value else pl.Series([0.0] * c.height)
    treated = group_result(t.height, float(t[outcome].sum()), float(t_value.sum()))
    controls = group_result(c.height, float(c[outcome].sum()), float(c_value.sum()))
    if kind == "0/1":
        uplift = newcombe_difference(treated.conversions, treated.n, controls.conversions, controls.n, confidence)
    else:
        uplift = welch_difference(Moments.of(t[outcome]), Moments.of(c[outcome]), confidence)
    ignored = {g: n for g, n in counts.items() if g not in (treatment, control)}
    return MailingEvaluation(
        file=file,
        group_column=names.get(group, group),
        outcome_column=names.get(outcome, outcome),
        value_column=names.get(value, value) if value else None,
        outcome_kind=kind,
        treatment_value=treatment,
        control_value=control,
        treatment=treated,
        control=controls,
        uplift=uplift,
        value_uplift=welch_difference(Moments.of(t_value), Moments.of(c_value), confidence) if value else None,
        ignored_rows=sum(ignored.values()),
        ignored_groups=ignored,
        confidence=confidence,
        planner=_planner(treated, controls, uplift) if kind == "0/1" else None,
    )


def _refuse_bad_values(
    frame: pl.DataFrame, in_scope: pl.Series, outcome: str, value: str | None, *, file: str, names: Mapping[str, str]
) -> None:
    """The first compared row whose outcome is not 0/1 or a count, or whose value is missing."""
    checks = [
        (outcome, pl.col(outcome).is_null(), "the outcome is empty"),
        (outcome, (pl.col(outcome) < 0) | (pl.col(outcome) != pl.col(outcome).floor()), "the outcome is not 0/1 or a count"),
    ]
    if value:
        checks.append((value, pl.col(value).is_null() | pl.col(value).is_nan(), "the value is empty"))
    for column, problem, message in checks:
        bad = frame.select((pl.lit(in_scope) & problem.fill_null(False)).arg_true()).to_series()
        if bad.len():
            row = int(bad[0])
            shown = frame[column][row]
            raise BadInput(
                message if shown is None else f"{message} ({shown!r})", file=file, column=names.get(column, column), row=row + 1
            )


def _planner(treated: GroupResult, control: GroupResult, uplift: Interval) -> dict[str, Any] | None:
    """What these group sizes can detect, and the sizes the observed uplift would need."""
    total = treated.n + control.n
    share = control.n / total
    baseline = control.rate
    if baseline is None or not 0 < baseline < 1:
        return None
    needed = None
    if uplift.estimate is not None and uplift.estimate > 0 and baseline + uplift.estimate < 1:
        plan = plan_holdout(capacity=total, holdout_share=share, baseline=baseline, uplift=uplift.estimate)
        needed = {"control": plan.holdout_needed, "treatment": plan.mailed_needed}
    return {
        "control_share": share,
        "baseline": baseline,
        "detectable_uplift": detectable_uplift(capacity=total, holdout_share=share, baseline=baseline, weeks=1),
        "needed_to_detect_observed_uplift": needed,
    }
