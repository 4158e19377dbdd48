"""The backtest (R-V4): what the engine and the selection policy would have done, week by week.

Before go-live, and whenever a setting changes, people want to see the mail
volumes the engine would have produced over past weeks, crash weeks
included. The replay carries its own state forward like the weekly job
does: whoever it "mails" in a week is in the cooldown for the next weeks,
in an in-memory contact history that starts from the real one before the
first week and never touches the ledger. Holdout and random-control
membership come from the same hash of customer id and salt as the real
runs, so they persist across the replayed weeks exactly as they would have.
Each week is :func:`~nba_toolkit.core.decision.decide_week`, the run's
own selection code, so the replay of a recorded week reproduces it.

Weeks are flagged where a person should look: mail volume outside the
configured band, a jump against the recent weeks, or a market (the bank's
fund index) outside its normal band.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from nba_toolkit.core.decision import CONTACT_SCHEMA, decide_week
from nba_toolkit.core.market import band_of
from nba_toolkit.core.rules import RuleContext
from nba_toolkit.core.scalars import number, number_or_none
from nba_toolkit.core.selection import (
    COOLDOWN_REASONS,
    HOLDOUT,
    MAILED_GROUPS,
    REASONS,
    SELECTED,
    Policy,
    cooldown_start,
)
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import NbaError

#: a week mailing more than this many times the median of the weeks before is a jump (20,000 instead of 2,000)
VOLUME_JUMP = 3.0
VOLUME_JUMP_WEEKS = 8

FLAG_TEXT = {
    "volume_band": "mail volume outside the configured band",
    "volume_jump": f"more than {VOLUME_JUMP:g}x the median mail volume of the {VOLUME_JUMP_WEEKS} weeks before",
    "market": "fund index change outside its normal band: people must take the wheel",
}

#: (model, description) to score a week with, given the week's Monday
ModelFor = Callable[[date], tuple[Any, str]]
Progress = Callable[[int, int, str], None]


class BacktestCancelled(NbaError):
    """The operator stopped the backtest; nothing was recorded, so nothing needs undoing."""


@dataclass
class Backtest:
    """One configuration replayed: a row per week, and every customer's simulated selection."""

    label: str
    policy: Policy
    weekly: pl.DataFrame
    selections: pl.DataFrame
    #: the contact history as the replay built it: the real one before the first week, then the replay's own
    contacts: pl.DataFrame
    market_band: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "policy": {k: v for k, v in self.policy.__dict__.items() if k != "salt"},
            "market_band": {k: list(v) for k, v in self.market_band.items()},
            "weeks": self.weekly.to_dicts(),
            "totals": totals(self.weekly),
        }


def run_backtest(
    weeks: Sequence[tuple[str, pl.DataFrame]],
    *,
    label: str,
    engine: Any,
    model_for: ModelFor,
    policy: Policy,
    volume_band: tuple[int, int | None],
    initial_contacts: pl.DataFrame,
    market_band: dict[str, tuple[float, float]] | None = None,
    rules: Sequence[tuple[Any, str]] = (),
    rule_context: Callable[[str, date], RuleContext] | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Backtest:
    """Replay ``weeks`` ((week label, snapshot in canonical columns), oldest first).

    ``initial_contacts`` is the contact history before the first week
    (``customer_id`` and ``week_start`` as text, like the ledger's).
    ``volume_band`` is (min, max); a max of None follows each week's
    capacity, as the weekly ``volume_band`` check does.
    """
    contacts = [initial_contacts.select(pl.col("customer_id").cast(pl.String), pl.col("week_start").cast(pl.String))]
    rows: list[dict[str, Any]] = []
    selections: list[pl.DataFrame] = []
    highest: list[int] = []
    for done, (week, snapshot) in enumerate(weeks):
        if cancel is not None and cancel.is_set():
            raise BacktestCancelled("the backtest was stopped; nothing was recorded")
        if on_progress:
            on_progress(done, len(weeks), week)
        monday = parse_week(week)
        since = cooldown_start(monday, policy.cooldown_weeks).isoformat()
        contacted = pl.concat(contacts).filter(pl.col("week_start") >= since)
        model, model_label = model_for(monday)
        selection = decide_week(
            snapshot,
            contacted,
            engine=engine,
            model=model,
            policy=policy,
            rules=rules,
            rule_context=rule_context(week, monday) if rule_context else None,
        )
        cooled = selection.filter(pl.col("reason").is_in(COOLDOWN_REASONS)).select(pl.col("customer_id").cast(pl.String))
        contacts.append(cooled.with_columns(pl.lit(monday.isoformat()).alias("week_start")).cast(CONTACT_SCHEMA))
        rows.append(_week_row(week, monday, snapshot, selection, model_label, market=list(market_band or {})))
        resolved = policy.for_eligible(rows[-1]["eligible"])
        rows[-1]["capacity"] = resolved.capacity
        highest.append(resolved.most_mailed if volume_band[1] is None else volume_band[1])
        selections.append(
            selection.select(
                pl.lit(week).alias("run_id"),
                pl.lit(week).alias("week"),
                pl.lit(monday).alias("week_start"),
                "customer_id",
                "reason",
                "score",
                "p_holdout",
                "p_random_control",
            )
        )
    if on_progress:
        on_progress(len(weeks), len(weeks), "done")
    weekly = pl.DataFrame()
    if rows:
        weekly = _with_flags(
            _reason_columns_first(pl.DataFrame(rows, infer_schema_length=None)), (volume_band[0], highest), market_band or {}
        )
    return Backtest(
        label=label,
        policy=policy,
        weekly=weekly,
        selections=pl.concat(selections, how="diagonal_relaxed") if selections else pl.DataFrame(),
        contacts=pl.concat(contacts),
        market_band=market_band or {},
    )


def market_band(
    weeks: Sequence[pl.DataFrame], names: Sequence[str], *, width: float, margin: float
) -> dict[str, tuple[float, float]]:
    """The band of each market feature over the replayed weekly snapshots, by the weekly check's own rule.

    For a replay whose model has no training reference of its own (retrained
    as it goes); with a registered model the band comes from that model, as
    in the weekly run.
    """
    present = [c for c in names if weeks and all(c in frame.columns for frame in weeks)]
    band = {}
    for column in present:
        found = band_of([number_or_none(frame[column].median()) for frame in weeks], width=width, margin=margin)
        if found is not None:
            band[column] = (found.low, found.high)
    return band


def totals(weekly: pl.DataFrame) -> dict[str, Any]:
    """Sums over the weeks, and which weeks were flagged."""
    if weekly.height == 0:
        return {"weeks": 0}
    counts = [c for c in weekly.columns if c in REASONS or c.startswith("excluded_") or c in ("mailed", "selected")]
    summed = weekly.select(pl.col(counts).sum()).row(0, named=True)
    flagged = weekly.filter(pl.col("flags").list.len() > 0)
    return {
        "weeks": weekly.height,
        **{k: int(v) for k, v in summed.items()},
        "mailed_per_week": {
            "median": number(weekly["mailed"].median()),
            "min": int(number(weekly["mailed"].min())),
            "max": int(number(weekly["mailed"].max())),
        },
        "flagged_weeks": flagged["week"].to_list(),
    }


def compare(first: Backtest, second: Backtest) -> pl.DataFrame:
    """Two configurations side by side: mailed and selected per week, and the difference."""
    columns = ["week", "mailed", "selected", "holdout", "random_control"]
    a = first.weekly.select(columns)
    b = second.weekly.select(columns)
    joined = a.join(b, on="week", how="full", coalesce=True, suffix="_b").sort("week")
    return joined.rename({c: f"{c}_a" for c in columns[1:]}).with_columns(
        (pl.col("mailed_b") - pl.col("mailed_a")).alias("mailed_difference")
    )


def _week_row(
    week: str, monday: date, snapshot: pl.DataFrame, selection: pl.DataFrame, model_label: str, *, market: list[str]
) -> dict[str, Any]:
    counts = dict(selection.group_by("reason").len().iter_rows())
    row: dict[str, Any] = {"week": week, "week_start": monday}
    row.update({reason: int(counts.get(reason, 0)) for reason in REASONS})
    row.update({reason: int(n) for reason, n in counts.items() if reason not in REASONS})
    row["selected"] = row[SELECTED] + row[HOLDOUT]
    row["mailed"] = sum(row[r] for r in MAILED_GROUPS)
    eligible = selection.filter(pl.col("exclusion").is_null())
    row["eligible"] = eligible.height
    row["mean_score"] = number(eligible["score"].mean()) if eligible.height else None
    for column in market:
        if column in snapshot.columns:
            row[column] = snapshot[column].median()
    row["model"] = model_label
    return row


def _reason_columns_first(weekly: pl.DataFrame) -> pl.DataFrame:
    head = ["week", "week_start", "mailed", "selected", "eligible", "mean_score"]
    reasons = [c for c in weekly.columns if c in REASONS or c.startswith("excluded_")]
    rest = [c for c in weekly.columns if c not in head and c not in reasons]
    # a rule's reason appears only in the weeks it excluded someone: zero elsewhere
    return weekly.select(*head, pl.col(reasons).fill_null(0), *rest)


def _with_flags(weekly: pl.DataFrame, volume_band: tuple[int, list[int]], band: dict[str, tuple[float, float]]) -> pl.DataFrame:
    """``flags`` per week; ``volume_band`` is the band's min and its max for each week in turn."""
    low, highest = volume_band
    high = pl.lit(pl.Series(highest, dtype=pl.Int64))
    recent = pl.col("mailed").shift(1).rolling_median(VOLUME_JUMP_WEEKS, min_samples=1)
    flags = [
        pl.when((pl.col("mailed") < low) | (pl.col("mailed") > high)).then(pl.lit("volume_band")),
        pl.when((recent >= 1) & (pl.col("mailed") > VOLUME_JUMP * recent)).then(pl.lit("volume_jump")),
    ]
    outside = [(pl.col(c) < lo) | (pl.col(c) > hi) for c, (lo, hi) in band.items() if c in weekly.columns]
    if outside:
        flags.append(pl.when(pl.any_horizontal(outside)).then(pl.lit("market")))
    return weekly.with_columns(pl.concat_list(flags).list.drop_nulls().alias("flags"))
