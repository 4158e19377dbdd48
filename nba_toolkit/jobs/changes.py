"""What changed since last week: two runs compared from what they recorded.

The operator's first question about a new week is "what is different?":
who entered or left the mail file and why, whether a setting, the engine or
the model changed, whether the snapshot grew or shrank, and whether the
customers' values moved. Working that out by hand means opening two runs
side by side. This module compares them from the ledger's records and the
runs' own verified selections and snapshots (the same ones review reads);
nothing is recomputed with today's settings.

Only relation numbers leave this module, and only when asked for; by
default it reports counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from nba_toolkit.core.review import RunReview
from nba_toolkit.core.scalars import number_or_none
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import UsageError
from nba_toolkit.ledger.store import RunRecord
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace

#: statuses of a run whose checks let it through: its selection is a week's answer
ACCEPTED = ("exported", "awaiting_approval")
#: why someone is in one run's mail file and not the other's, besides the run's own reason
NOT_IN_SNAPSHOT = "not_in_snapshot"
EXCLUDED_BY_OPERATOR = "excluded_by_operator"


@dataclass(frozen=True)
class Setting:
    """One recorded setting that differs between the two runs."""

    name: str
    before: Any
    after: Any


@dataclass(frozen=True)
class FeatureShift:
    """How one feature's distribution moved; numbers by mean and median, categories by share of each value."""

    feature: str
    kind: str  # number | category
    before: dict[str, float | None]
    after: dict[str, float | None]


@dataclass(frozen=True)
class RunChanges:
    run_id: str
    week: str
    against: str
    against_week: str
    rows_in: tuple[int, int]
    in_mail_file: tuple[int, int]
    entered: int
    left: int
    #: the earlier run's decision about those who entered, counted
    entered_from: dict[str, int]
    #: this run's decision about those who left, counted
    left_because: dict[str, int]
    settings: list[Setting]
    features: list[FeatureShift]
    #: why the features could not be compared, when they could not
    features_problem: str | None
    entered_ids: list[str] = field(default_factory=list)
    left_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def what_changed(
    workspace: Workspace, registry: Registry, run_id: str | None = None, *, against: str | None = None, listed: bool = False
) -> RunChanges:
    """Compare ``run_id`` (default: the newest accepted weekly run) with ``against`` (default: the week before it)."""
    ledger = workspace.ledger
    run = ledger.run(run_id) if run_id else _newest_accepted(ledger.runs())
    earlier = ledger.run(against) if against else _accepted_before(ledger.runs(), run)
    if earlier.run_id == run.run_id:
        raise UsageError(f"run {run.run_id} cannot be compared with itself")
    now, before = _opened(workspace, registry, run), _opened(workspace, registry, earlier)
    mailed_now, mailed_before = _mail_file(now), _mail_file(before)
    entered = mailed_now.join(mailed_before, on="_id", how="anti")
    left = mailed_before.join(mailed_now, on="_id", how="anti")
    shifts, problem = _feature_shifts(before, now)
    return RunChanges(
        run_id=run.run_id,
        week=run.week,
        against=earlier.run_id,
        against_week=earlier.week,
        rows_in=(before.selection.height, now.selection.height),
        in_mail_file=(mailed_before.height, mailed_now.height),
        entered=entered.height,
        left=left.height,
        entered_from=_decisions(before, entered["_id"]),
        left_because=_decisions(now, left["_id"]),
        settings=_settings(earlier, run),
        features=shifts,
        features_problem=problem,
        entered_ids=sorted(entered["_id"].to_list()) if listed else [],
        left_ids=sorted(left["_id"].to_list()) if listed else [],
    )


def _newest_accepted(runs: list[RunRecord]) -> RunRecord:
    accepted = _accepted(runs)
    if not accepted:
        raise UsageError("there is no weekly run that passed its checks yet", hint="`nba-toolkit runs` lists the runs.")
    return accepted[-1]


def _accepted_before(runs: list[RunRecord], run: RunRecord) -> RunRecord:
    earlier = [r for r in _accepted(runs) if parse_week(r.week) < parse_week(run.week)]
    if not earlier:
        raise UsageError(
            f"there is no accepted weekly run before {run.week} to compare run {run.run_id} with",
            hint="Name one with --against RUN_ID; `nba-toolkit runs` lists the runs.",
        )
    return earlier[-1]


def _accepted(runs: list[RunRecord]) -> list[RunRecord]:
    """Weekly runs that passed their checks, oldest first (by week, then by when they started)."""
    chosen = [r for r in runs if r.kind == "weekly" and r.status in ACCEPTED]
    return sorted(chosen, key=lambda r: (parse_week(r.week), r.started_at, r.run_id))


def _opened(workspace: Workspace, registry: Registry, run: RunRecord) -> RunReview:
    if run.purged_at is not None:
        raise UsageError(
            f"retention purged the customer data of run {run.run_id} on {run.purged_at[:10]}; it can no longer be compared"
        )
    return RunReview.open(workspace, registry, run.run_id)


def _mail_file(review: RunReview) -> pl.DataFrame:
    """The run's mail file: mailed by the selection, less the operator's exclusions at review."""
    excluded = [cid for cid, items in review.overrides.items() if any(o["action"] == "exclude" for o in items)]
    return review.selection.filter(pl.col("mailed") & ~pl.col("_id").is_in(excluded)).select("_id")


def _decisions(review: RunReview, ids: pl.Series) -> dict[str, int]:
    """The run's reason for each of these customers, counted; the operator's exclusion and absence named as such."""
    excluded = [cid for cid, items in review.overrides.items() if any(o["action"] == "exclude" for o in items)]
    found = review.selection.filter(pl.col("_id").is_in(ids.to_list())).select(
        pl.when(pl.col("_id").is_in(excluded) & pl.col("mailed"))
        .then(pl.lit(EXCLUDED_BY_OPERATOR))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )
    counts = dict(found.group_by("reason").len().sort("len", descending=True).iter_rows())
    missing = ids.len() - found.height
    if missing:
        counts[NOT_IN_SNAPSHOT] = missing
    return {str(reason): int(n) for reason, n in counts.items()}


def _settings(before: RunRecord, after: RunRecord) -> list[Setting]:
    """Engine, model, the week's resolved capacity and every configuration key whose recorded value differs."""
    changed = [
        Setting(name, old, new)
        for name, old, new in (
            ("engine", before.engine, after.engine),
            ("engine version", before.engine_version, after.engine_version),
            ("model", before.model_id, after.model_id),
            ("capacity this week", before.capacity, after.capacity),
        )
        if old != new
    ]
    old_config, new_config = _flat(before.config), _flat(after.config)
    for key in sorted(set(old_config) | set(new_config)):
        if old_config.get(key) != new_config.get(key):
            changed.append(Setting(key, old_config.get(key), new_config.get(key)))
    return changed


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"selection": {"threshold": 0.1}}`` as ``{"selection.threshold": 0.1}``, the way nba.toml names keys."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _feature_shifts(before: RunReview, after: RunReview) -> tuple[list[FeatureShift], str | None]:
    if after.engine is None:
        return [], f"the engine '{after.run.engine}' of run {after.run.run_id} is not installed now"
    old, problem_before = before.features()
    new, problem_after = after.features()
    if old is None or new is None:
        return [], problem_before or problem_after
    shifts = []
    for name, label in after.engine.feature_labels.items():
        if name not in old.columns or name not in new.columns:
            continue
        if new.schema[name].is_numeric():
            shifts.append(FeatureShift(label, "number", _centre(old[name]), _centre(new[name])))
        else:  # text, categories and yes/no: the share of each value
            shifts.append(FeatureShift(label, "category", *_aligned_shares(old[name], new[name])))
    return shifts, None


def _centre(values: pl.Series) -> dict[str, float | None]:
    numbers = values.cast(pl.Float64)
    return {"mean": number_or_none(numbers.mean()), "median": number_or_none(numbers.median())}


def _aligned_shares(old: pl.Series, new: pl.Series) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Share of each value in both runs, over the values either run has (a value one run lacks has share 0)."""
    before, after = _shares(old), _shares(new)
    values = sorted(set(before) | set(after))
    return {v: before.get(v, 0.0) for v in values}, {v: after.get(v, 0.0) for v in values}


def _shares(values: pl.Series) -> dict[str, float]:
    total = values.len()
    counts = values.cast(pl.String).fill_null("(empty)").value_counts()
    return {str(v): int(n) / total for v, n in counts.iter_rows()} if total else {}
