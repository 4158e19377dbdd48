"""Who gets mailed this week, and why everyone else does not (R-S1 to R-S3).

The order is fixed and every row ends with exactly one reason:

1. eligibility: existing investors, customers without marketing consent and
   customers contacted within the cooldown are excluded (first reason wins);
2. the score threshold: eligible customers below it are ``below_threshold``;
3. the capacity: the highest scores above the threshold are selected, the
   rest are ``over_capacity``;
4. the holdout: a fixed share of the selected is not mailed (``holdout``),
   decided by a hash of the customer id and the campaign salt, so the same
   customer stays in the holdout week after week;
5. the random control: a number of eligible, non-selected customers equal
   to a share of the capacity is mailed anyway (``random_control``), drawn by
   the same kind of hash. Each row records its assignment probability, which
   evaluation needs to weigh the groups correctly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from nba_toolkit.core.assignment import uniform

if TYPE_CHECKING:
    from nba_toolkit.config import Config

SELECTED = "selected_mailed"
HOLDOUT = "holdout"
RANDOM_CONTROL = "random_control"
BELOW_THRESHOLD = "below_threshold"
OVER_CAPACITY = "over_capacity"
EXCLUDED_INVESTOR = "excluded_investor"
EXCLUDED_NO_CONSENT = "excluded_no_consent"
EXCLUDED_COOLDOWN = "excluded_cooldown"

#: every reason code, in the order a summary lists them
REASONS = (
    SELECTED,
    HOLDOUT,
    RANDOM_CONTROL,
    BELOW_THRESHOLD,
    OVER_CAPACITY,
    EXCLUDED_INVESTOR,
    EXCLUDED_NO_CONSENT,
    EXCLUDED_COOLDOWN,
)

#: the reasons whose customers receive the mail, and the group name the mail file carries
MAILED_GROUPS = {SELECTED: "model", RANDOM_CONTROL: "random_control"}

#: the reasons that start a cooldown: everyone mailed, and the holdout, whom the model chose but
#: did not mail. Without the holdout here, held-out customers would be chosen again every week
#: while the mailed rest, and the holdout would swell far past its share.
COOLDOWN_REASONS = (SELECTED, RANDOM_CONTROL, HOLDOUT)

REASON_TEXT = {
    SELECTED: "selected and mailed",
    HOLDOUT: "selected, held out (not mailed, to measure the effect)",
    RANDOM_CONTROL: "not selected, mailed at random (to measure the model)",
    BELOW_THRESHOLD: "score below the threshold",
    OVER_CAPACITY: "above the threshold, but over this week's capacity",
    EXCLUDED_INVESTOR: "already has an investment account",
    EXCLUDED_NO_CONSENT: "no marketing consent",
    EXCLUDED_COOLDOWN: "contacted within the cooldown",
}


@dataclass(frozen=True)
class Policy:
    capacity: int
    threshold: float
    cooldown_weeks: int
    holdout_share: float
    random_control_share: float
    salt: str

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        s = config.selection
        return cls(
            capacity=s.capacity,
            threshold=s.threshold,
            cooldown_weeks=s.cooldown_weeks,
            holdout_share=s.holdout_share,
            random_control_share=s.random_control_share,
            salt=config.campaign.salt,
        )

    @property
    def random_control_size(self) -> int:
        return round(self.random_control_share * self.capacity)


def cooldown_start(week_start: date, cooldown_weeks: int) -> date:
    """The first week whose contacts put a customer in the cooldown.

    A contact in any of the ``cooldown_weeks`` weeks before the run's week (or
    in that week itself) excludes the customer: with 4 weeks, someone mailed
    in week 43 is next eligible in week 48.
    """
    return week_start - timedelta(weeks=cooldown_weeks)


def exclusions(snapshot: pl.DataFrame, contacted: pl.DataFrame) -> pl.Series:
    """The exclusion reason per snapshot row, null when eligible.

    ``contacted`` lists the customers in the cooldown (column ``customer_id``
    as text), as the ledger's contact history reports them.
    """
    in_cooldown = snapshot["customer_id"].cast(pl.String).is_in(contacted["customer_id"].cast(pl.String).implode())
    return snapshot.select(
        pl.when(pl.col("is_investor").fill_null(False))
        .then(pl.lit(EXCLUDED_INVESTOR))
        .when(~pl.col("marketing_consent").fill_null(False))
        .then(pl.lit(EXCLUDED_NO_CONSENT))
        .when(in_cooldown)
        .then(pl.lit(EXCLUDED_COOLDOWN))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("exclusion")
    ).to_series()


def select(customers: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Assign every customer a reason.

    ``customers`` has ``customer_id``, ``score`` (probability, null for the
    excluded) and ``exclusion`` (null for the eligible). The result keeps the
    input's row order and adds ``reason``, ``mailed``, ``group``, ``rank``
    (position by score among those above the threshold), ``p_holdout`` and
    ``p_random_control``.
    """
    ids = customers["customer_id"]
    frame = customers.with_columns(
        pl.Series("_u_holdout", uniform(ids, policy.salt, "holdout")),
        pl.Series("_u_random", uniform(ids, policy.salt, "random_control")),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
    )
    eligible = pl.col("exclusion").is_null()
    above = eligible & (pl.col("score") >= policy.threshold)
    ranked = (
        frame.filter(above)
        .sort(["score", "_u_random"], descending=[True, False])
        .select("_row", pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
    )
    frame = frame.join(ranked, on="_row", how="left").sort("_row")
    selected = pl.col("rank").is_not_null() & (pl.col("rank") <= policy.capacity)
    pool = eligible & ~selected.fill_null(False)
    pool_size = frame.select(pool.sum()).item()
    k = min(policy.random_control_size, pool_size)
    cutoff = frame.filter(pool).select(pl.col("_u_random").sort().gather(k - 1)).item() if k > 0 else None
    in_random = pool & (pl.col("_u_random") <= cutoff) if cutoff is not None else pl.lit(False)
    reason = (
        pl.when(~eligible)
        .then(pl.col("exclusion"))
        .when(selected & (pl.col("_u_holdout") < policy.holdout_share))
        .then(pl.lit(HOLDOUT))
        .when(selected)
        .then(pl.lit(SELECTED))
        .when(in_random)
        .then(pl.lit(RANDOM_CONTROL))
        .when(pl.col("rank").is_not_null())
        .then(pl.lit(OVER_CAPACITY))
        .otherwise(pl.lit(BELOW_THRESHOLD))
    )
    return (
        frame.with_columns(reason.alias("reason"))
        .with_columns(
            pl.col("reason").is_in(list(MAILED_GROUPS)).alias("mailed"),
            pl.col("reason").replace_strict(MAILED_GROUPS, default=None, return_dtype=pl.String).alias("group"),
            pl.when(selected).then(pl.lit(policy.holdout_share)).otherwise(None).alias("p_holdout"),
            pl.when(pool).then(pl.lit(k / pool_size if pool_size else 0.0)).otherwise(None).alias("p_random_control"),
        )
        .drop("_u_holdout", "_u_random", "_row")
    )


def reason_counts(selection: pl.DataFrame) -> dict[str, int]:
    """Customers per reason, every reason listed (zeros included) in summary order."""
    counted = dict(selection.group_by("reason").len().iter_rows())
    extra = sorted(set(counted) - set(REASONS))
    return {reason: int(counted.get(reason, 0)) for reason in (*REASONS, *extra)}
