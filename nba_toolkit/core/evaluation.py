"""Evaluation of runs against their control groups (R-V1): did the mailing work, and how much?

Every run splits the eligible customers into four groups:

* mailed by the model (``selected_mailed``) and the holdout (selected, not
  mailed): their difference is the uplift of the model's mailing;
* the random control (not selected, mailed anyway) and the eligible not
  selected (``below_threshold`` and ``over_capacity``, not mailed): their
  difference is the uplift of mailing at random, which says how much of the
  model's effect is the model and how much is the mail itself.

A fallback list (core/fallback.py) has no model: everyone it mails is random
control and the eligible it did not draw (``not_drawn``) are its eligible not
selected. Its weeks add to the random arm only, never to the model's.

A conversion counts when the customer opens an investment account within the
window (default 4 weeks) from the Monday of the run's week, as in training.
A run whose window has not closed by the last date the outcomes cover is
listed as open and left out of the pooled figures: its "not yet" is not a no.

One run is compared with Newcombe's interval; several runs are pooled per
run (a stratum), each weighted by the population its treated group stands
for (the sum of 1 / assignment probability, from the probabilities each run
recorded), with a standard error clustered by customer. See
:mod:`nba_toolkit.core.uplift` and docs/evaluation.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import polars as pl

from nba_toolkit.core.outcomes import outcomes_known, window_end, with_conversions
from nba_toolkit.core.planner import Plan, detectable_uplift, plan_holdout
from nba_toolkit.core.scalars import number
from nba_toolkit.core.selection import BELOW_THRESHOLD, HOLDOUT, NOT_DRAWN, OVER_CAPACITY, RANDOM_CONTROL, SELECTED
from nba_toolkit.core.uplift import (
    CONFIDENCE,
    STRATIFIED_RATES,
    Interval,
    Moments,
    newcombe_difference,
    stratified_difference,
    stratified_newcombe,
    welch_difference,
    wider,
)

#: evaluation group -> the selection reasons it holds
GROUPS = {
    "mailed_by_model": (SELECTED,),
    "holdout": (HOLDOUT,),
    "random_control": (RANDOM_CONTROL,),
    "eligible_not_selected": (BELOW_THRESHOLD, OVER_CAPACITY, NOT_DRAWN),
}
GROUP_OF_REASON = {reason: group for group, reasons in GROUPS.items() for reason in reasons}

#: a holdout share off by more than this part of the expected share, and with |z| beyond Z_IMPLAUSIBLE
#: (a 1-in-1,000 chance), was not formed as the recorded probabilities say
SHARE_TOLERANCE = 0.5
Z_IMPLAUSIBLE = 3.29

#: the columns ``evaluate_runs`` needs from each run's selection
SELECTION_COLUMNS = ("run_id", "week", "week_start", "customer_id", "reason", "p_holdout", "p_random_control")


@dataclass(frozen=True)
class Arm:
    """One comparison: a mailed group against its unmailed control, and the probability of being mailed."""

    name: str
    treatment: str
    control: str
    #: P(mailed) per row, from the recorded assignment probabilities
    probability: pl.Expr


ARMS = (
    Arm("model", "mailed_by_model", "holdout", 1.0 - pl.col("p_holdout")),
    Arm("random", "random_control", "eligible_not_selected", pl.col("p_random_control")),
)


@dataclass(frozen=True)
class GroupResult:
    n: int
    #: whole for a yes/no outcome (the usual); the sum as it is for any other
    conversions: int | float
    rate: float | None
    invested: float
    value_per_head: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArmResult:
    """Uplift of one arm: per head in conversion rate and money, and in total for the customers mailed."""

    name: str
    treatment: str
    control: str
    mailed: int
    uplift: Interval
    value_uplift: Interval
    incremental_conversions: Interval
    incremental_value: Interval

    def to_dict(self) -> dict[str, Any]:
        return {
            "treatment": self.treatment,
            "control": self.control,
            "mailed": self.mailed,
            "uplift": self.uplift.to_dict(),
            "value_uplift": self.value_uplift.to_dict(),
            "incremental_conversions": self.incremental_conversions.to_dict(),
            "incremental_value": self.incremental_value.to_dict(),
        }


@dataclass(frozen=True)
class HoldoutShare:
    """How much of the selected was held out, against what the recorded probabilities make likely.

    The hash holds out each selected customer with the recorded probability,
    so the share held out should lie close to it. Some drift upwards is
    normal: mailed customers convert and leave the pool faster than held-out
    ones, so a persistent holdout slowly grows among those still eligible
    (10.6% instead of 10% in the sample's past mailings). A share off by
    more than half of the expected one, and not by chance (|z| above 3.29, a
    1-in-1,000 chance), means the groups were not formed as the policy says
    and their comparison deserves caution: for example when held-out
    customers are not in the cooldown and are selected again week after week
    while the mailed ones rest.
    """

    selected: int
    held_out: int
    share: float | None
    expected_share: float | None
    z: float | None

    @property
    def plausible(self) -> bool:
        if self.z is None or self.share is None or not self.expected_share:
            return True
        far = abs(self.share - self.expected_share) > SHARE_TOLERANCE * self.expected_share
        return not (far and abs(self.z) > Z_IMPLAUSIBLE)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "plausible": self.plausible}


@dataclass(frozen=True)
class RunEvaluation:
    run_id: str
    week: str
    window_end: date
    complete: bool
    groups: dict[str, GroupResult]
    arms: dict[str, ArmResult]
    contacted: int
    holdout: HoldoutShare

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "week": self.week,
            "window_end": self.window_end.isoformat(),
            "complete": self.complete,
            "contacted": self.contacted,
            "holdout_share": self.holdout.to_dict(),
            "groups": {k: v.to_dict() for k, v in self.groups.items()},
            **{f"{name}_uplift": arm.to_dict() for name, arm in self.arms.items()},
        }


@dataclass(frozen=True)
class Planner:
    """The sample-size planner as shown with an evaluation: what these runs can detect, and how long more would take."""

    weeks_evaluated: int
    selected_per_week: float
    holdout_share: float
    baseline: float | None
    detectable_uplift: float | None
    plan: Plan | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["plan"] = self.plan.to_dict() if self.plan else None
        return data


@dataclass(frozen=True)
class Evaluation:
    window_weeks: int
    known_until: date | None
    confidence: float
    runs: list[RunEvaluation]
    pooled_runs: list[str]
    groups: dict[str, GroupResult]
    arms: dict[str, ArmResult]
    contacted: int
    holdout: HoldoutShare
    planner: Planner | None

    @property
    def open_runs(self) -> list[str]:
        return [r.run_id for r in self.runs if not r.complete]

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_weeks": self.window_weeks,
            "outcomes_known_until": self.known_until.isoformat() if self.known_until else None,
            "confidence": self.confidence,
            "runs": [r.to_dict() for r in self.runs],
            "open_runs": self.open_runs,
            "pooled": {
                "runs": self.pooled_runs,
                "contacted": self.contacted,
                "holdout_share": self.holdout.to_dict(),
                "groups": {k: v.to_dict() for k, v in self.groups.items()},
                **{f"{name}_uplift": arm.to_dict() for name, arm in self.arms.items()},
            },
            "planner": self.planner.to_dict() if self.planner else None,
        }

    def runs_frame(self) -> pl.DataFrame:
        """One row per run: week, uplift of each arm with its interval, and the volumes; for plots and tables."""
        rows = []
        for r in self.runs:
            row: dict[str, Any] = {"run_id": r.run_id, "week": r.week, "complete": r.complete, "contacted": r.contacted}
            for group, result in r.groups.items():
                row[f"{group}_n"] = result.n
                row[f"{group}_rate"] = result.rate
            for name, arm in r.arms.items():
                row[f"{name}_uplift"] = arm.uplift.estimate
                row[f"{name}_ci_low"] = arm.uplift.ci_low
                row[f"{name}_ci_high"] = arm.uplift.ci_high
            rows.append(row)
        return pl.DataFrame(rows, infer_schema_length=None)


def evaluate_runs(
    selections: pl.DataFrame,
    outcomes: pl.DataFrame,
    *,
    window_weeks: int,
    known_until: date | None,
    confidence: float = CONFIDENCE,
) -> Evaluation:
    """Per run and pooled over the runs whose window is complete.

    ``selections`` stacks the runs' selections (:data:`SELECTION_COLUMNS`);
    ``outcomes`` is :func:`~nba_toolkit.core.outcomes.validated_outcomes`'s frame.
    """
    rows = with_conversions(
        selections.select(SELECTION_COLUMNS)
        .filter(pl.col("reason").is_in(list(GROUP_OF_REASON)))
        .with_columns(pl.col("reason").replace_strict(GROUP_OF_REASON).alias("group")),
        outcomes,
        window_weeks=window_weeks,
    )
    runs = []
    for key, run_rows in rows.sort("week_start", "run_id").group_by("run_id", maintain_order=True):
        first = run_rows.row(0, named=True)
        end = window_end(first["week_start"], window_weeks)
        runs.append(
            RunEvaluation(
                run_id=str(key[0]),
                week=first["week"],
                window_end=end,
                complete=outcomes_known(first["week_start"], window_weeks, known_until),
                groups=_groups(run_rows),
                arms={arm.name: _single_run_arm(arm, run_rows, confidence) for arm in ARMS},
                contacted=int(run_rows.filter(pl.col("group").is_in(["mailed_by_model", "random_control"])).height),
                holdout=holdout_share(run_rows),
            )
        )
    pooled_ids = [r.run_id for r in runs if r.complete]
    pooled = rows.filter(pl.col("run_id").is_in(pooled_ids))
    groups = _groups(pooled)
    arms = {arm.name: _pooled_arm(arm, pooled, confidence) for arm in ARMS}
    return Evaluation(
        window_weeks=window_weeks,
        known_until=known_until,
        confidence=confidence,
        runs=runs,
        pooled_runs=pooled_ids,
        groups=groups,
        arms=arms,
        contacted=groups["mailed_by_model"].n + groups["random_control"].n,
        holdout=holdout_share(pooled),
        planner=_planner(pooled, groups, arms["model"], len(pooled_ids)),
    )


def contacted_outside(selections: pl.DataFrame, contacts: pl.DataFrame, *, window_weeks: int) -> dict[str, int]:
    """Per evaluation group, the evaluated customers (one per run) also mailed outside the toolkit in the window.

    ``contacts`` holds the contacts no run of the toolkit made (``customer_id``
    as text, ``contact_date``), such as another campaign's mailing imported
    with ``contacts import``. These customers stay in their groups: the
    groups were drawn at random before anyone knew of the other mailing, and
    dropping them afterwards from the controls alone would compare groups no
    longer drawn alike. The uplift therefore measures the toolkit's mail
    against the bank's usual mail, other campaigns included; these counts say
    how much of a control group was not left alone (docs/evaluation.md).
    """
    rows = selections.select(SELECTION_COLUMNS).filter(pl.col("reason").is_in(list(GROUP_OF_REASON)))
    outside = contacts.select(pl.col("customer_id").cast(pl.String), "contact_date")
    hits = (
        rows.with_columns(pl.col("customer_id").cast(pl.String))
        .join(outside, on="customer_id")
        .filter(
            (pl.col("contact_date") >= pl.col("week_start"))
            & (pl.col("contact_date") < pl.col("week_start") + pl.duration(weeks=window_weeks))
        )
        .unique(["run_id", "customer_id"])
    )
    found = dict(hits.group_by(pl.col("reason").replace_strict(GROUP_OF_REASON)).len().iter_rows())
    return {group: int(found.get(group, 0)) for group in GROUPS}


def holdout_share(rows: pl.DataFrame) -> HoldoutShare:
    """The realised holdout share of the selected, and its z against the recorded probabilities."""
    selected = rows.filter(pl.col("group").is_in(["mailed_by_model", "holdout"]))
    held = int((selected["group"] == "holdout").sum())
    if selected.height == 0:
        return HoldoutShare(0, 0, None, None, None)
    expected = float(selected["p_holdout"].sum())
    spread = math.sqrt(float((selected["p_holdout"] * (1 - selected["p_holdout"])).sum()))
    return HoldoutShare(
        selected=selected.height,
        held_out=held,
        share=held / selected.height,
        expected_share=expected / selected.height,
        z=(held - expected) / spread if spread > 0 else None,
    )


def group_result(n: int, conversions: float, invested: float) -> GroupResult:
    return GroupResult(
        n=n,
        conversions=int(conversions) if float(conversions).is_integer() else conversions,
        rate=conversions / n if n else None,
        invested=float(invested),
        value_per_head=invested / n if n else None,
    )


def _groups(rows: pl.DataFrame) -> dict[str, GroupResult]:
    sums = {
        g: (n, c, v)
        for g, n, c, v in rows.group_by("group").agg(pl.len(), pl.col("converted").sum(), pl.col("invested").sum()).iter_rows()
    }
    return {group: group_result(*sums.get(group, (0, 0, 0.0))) for group in GROUPS}


def _single_run_arm(arm: Arm, rows: pl.DataFrame, confidence: float) -> ArmResult:
    treated = rows.filter(pl.col("group") == arm.treatment)
    control = rows.filter(pl.col("group") == arm.control)
    uplift = newcombe_difference(
        int(treated["converted"].sum()), treated.height, int(control["converted"].sum()), control.height, confidence
    )
    value = welch_difference(Moments.of(treated["invested"]), Moments.of(control["invested"]), confidence)
    return ArmResult(
        name=arm.name,
        treatment=arm.treatment,
        control=arm.control,
        mailed=treated.height,
        uplift=uplift,
        value_uplift=value,
        incremental_conversions=uplift.scaled(treated.height),
        incremental_value=value.scaled(treated.height),
    )


def _pooled_arm(arm: Arm, rows: pl.DataFrame, confidence: float) -> ArmResult:
    """Strata are (run, assignment probability); a stratum needs both a mailed and an unmailed customer."""
    both = (
        rows.filter(pl.col("group").is_in([arm.treatment, arm.control]))
        .with_columns(
            (pl.col("group") == arm.treatment).alias("treated"),
            pl.concat_str(pl.col("run_id"), pl.lit("|"), arm.probability.round(12).cast(pl.String)).alias("stratum"),
            arm.probability.alias("_p"),
        )
        .filter(pl.col("treated").any().over("stratum") & (~pl.col("treated")).any().over("stratum"))
    )
    mailed = both.filter(pl.col("treated"))
    sizes = mailed.group_by("stratum").agg((1.0 / pl.col("_p")).sum().alias("population"), pl.len().alias("mailed"))
    share = sizes.select("stratum", (pl.col("population") / pl.col("population").sum()).alias("weight"))
    count = sizes.select("stratum", pl.col("mailed").cast(pl.Float64).alias("weight"))
    rows_in = both.select("stratum", "treated", "customer_id", pl.col("converted").cast(pl.Float64), "invested")
    cells = rows_in.group_by("stratum", "treated").agg(pl.len().alias("n"), pl.col("converted").sum().alias("successes"))

    def rates(weights: pl.DataFrame) -> Interval:
        clustered = stratified_difference(rows_in, weights, value="converted", confidence=confidence)
        return wider(clustered, stratified_newcombe(cells, weights, confidence=confidence), STRATIFIED_RATES)

    return ArmResult(
        name=arm.name,
        treatment=arm.treatment,
        control=arm.control,
        mailed=mailed.height,
        uplift=rates(share),
        value_uplift=stratified_difference(rows_in, share, value="invested", confidence=confidence),
        incremental_conversions=rates(count),
        incremental_value=stratified_difference(rows_in, count, value="invested", confidence=confidence),
    )


def _planner(rows: pl.DataFrame, groups: dict[str, GroupResult], model: ArmResult, weeks: int) -> Planner | None:
    """The planner fed with what the evaluated runs show: their volume, holdout share and holdout conversion."""
    selected = rows.filter(pl.col("group").is_in(["mailed_by_model", "holdout"]))
    if weeks == 0 or selected.height == 0:
        return None
    per_week = selected.height / weeks
    share = number(selected["p_holdout"].mean())
    baseline = groups["holdout"].rate
    usable = baseline is not None and 0 < baseline < 1 and 0 < share < 1
    uplift = model.uplift.estimate
    plan = None
    if usable and baseline is not None and uplift is not None and uplift > 0 and baseline + uplift < 1:
        plan = plan_holdout(capacity=per_week, holdout_share=share, baseline=baseline, uplift=uplift)
    return Planner(
        weeks_evaluated=weeks,
        selected_per_week=per_week,
        holdout_share=share,
        baseline=baseline,
        detectable_uplift=detectable_uplift(capacity=per_week, holdout_share=share, baseline=baseline, weeks=weeks)
        if usable and baseline is not None
        else None,
        plan=plan,
    )
