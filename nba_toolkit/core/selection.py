"""Who gets mailed this week, and why everyone else does not (R-S1 to R-S3).

The order is fixed and every row ends with exactly one reason:

1. eligibility: existing investors, customers without marketing consent and
   customers contacted within the cooldown are excluded (first reason wins);
2. the score threshold: eligible customers below it are ``below_threshold``;
3. the capacity: the highest scores above the threshold are selected, the
   rest are ``over_capacity``. The capacity is a number, or a share of the
   week's eligible customers (``capacity_share``), resolved per week;
4. the holdout: a fixed share of the selected is not mailed (``holdout``),
   decided by a hash of the customer id and the campaign salt, so the same
   customer stays in the holdout week after week;
5. the random control: a number of eligible, non-selected customers equal
   to a share of the capacity is mailed anyway (``random_control``), drawn by
   the same kind of hash. Each row records its assignment probability, which
   evaluation needs to weigh the groups correctly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from nba_toolkit.core import ids as relation_numbers
from nba_toolkit.core.assignment import uniform

if TYPE_CHECKING:
    from nba_toolkit.config import Config
    from nba_toolkit.ledger.store import Ledger

SELECTED = "selected_mailed"
HOLDOUT = "holdout"
RANDOM_CONTROL = "random_control"
BELOW_THRESHOLD = "below_threshold"
OVER_CAPACITY = "over_capacity"
EXCLUDED_INVESTOR = "excluded_investor"
EXCLUDED_NO_CONSENT = "excluded_no_consent"
EXCLUDED_COOLDOWN = "excluded_cooldown"
EXCLUDED_SUPPRESSED = "excluded_suppressed"
#: a fallback list's eligible customers who were not drawn (core/fallback.py); no weekly run gives it
NOT_DRAWN = "not_drawn"

#: every reason code, in the order a summary lists them
REASONS = (
    SELECTED,
    HOLDOUT,
    RANDOM_CONTROL,
    BELOW_THRESHOLD,
    OVER_CAPACITY,
    EXCLUDED_INVESTOR,
    EXCLUDED_NO_CONSENT,
    EXCLUDED_SUPPRESSED,
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
    EXCLUDED_SUPPRESSED: "kept out by a standing exclusion",
    EXCLUDED_COOLDOWN: "contacted within the cooldown",
    NOT_DRAWN: "eligible, not drawn for the random list",
}


@dataclass(frozen=True)
class Policy:
    capacity: int
    threshold: float
    cooldown_weeks: int
    holdout_share: float
    random_control_share: float
    salt: str
    #: the capacity as a share of the week's eligible customers; None: ``capacity`` is the number
    capacity_share: float | None = None

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
            capacity_share=s.capacity_share,
        )

    def capacity_for(self, eligible: int) -> int:
        """This week's capacity: the fixed number, or the share of the ``eligible`` customers, rounded down.

        The share is taken in decimal, so 29% of 100 is 29, never 28 by a
        binary fraction.
        """
        if self.capacity_share is None:
            return self.capacity
        return int(Decimal(str(self.capacity_share)) * eligible)

    def for_eligible(self, eligible: int) -> Policy:
        """The policy of one week: its capacity resolved to a number for ``eligible`` customers."""
        return replace(self, capacity=self.capacity_for(eligible), capacity_share=None)

    @property
    def random_control_size(self) -> int:
        return round(self.random_control_share * self.capacity)

    @property
    def most_mailed(self) -> int:
        """The most a correct selection can mail: the whole capacity plus the random control."""
        return self.capacity + self.random_control_size


def week_policy(config: Config, customers: pl.DataFrame) -> Policy:
    """The configured policy with its capacity resolved for ``customers`` (eligible: ``exclusion`` is null).

    The weekly run records this capacity, and the output checks use it, so
    both see the number ``select`` worked with.
    """
    return Policy.from_config(config).for_eligible(eligible_count(customers))


def eligible_count(customers: pl.DataFrame) -> int:
    """Customers not excluded by the eligibility rules or a business rule."""
    return int(customers["exclusion"].is_null().sum())


def cooldown_start(week_start: date, cooldown_weeks: int) -> date:
    """The first week whose contacts put a customer in the cooldown.

    A contact in any of the ``cooldown_weeks`` weeks before the run's week (or
    in that week itself) excludes the customer: with 4 weeks, someone mailed
    in week 43 is next eligible in week 48.
    """
    return week_start - timedelta(weeks=cooldown_weeks)


def cooldown_contacts(ledger: Ledger, week_start: date, cooldown_weeks: int, *, upto: int | None) -> pl.DataFrame:
    """The customers in the cooldown of the week starting ``week_start``: ``customer_id`` and latest ``week_start`` (text).

    The cooldown is an interval, from ``cooldown_start`` up to and including
    the run's own week. A contact recorded for a later week (a future week
    exported by mistake) says nothing about this one: counting it would keep
    those customers out of every real week until then. ``upto`` is the
    contact history's high-water mark the run read (see the ledger), so a
    replay finds the same customers.
    """
    first = cooldown_start(week_start, cooldown_weeks)
    known = {customer for customer, _ in ledger.contacted_since(first, upto=upto)}
    within = [row for row in ledger.contacts_between(first, week_start + timedelta(weeks=1), upto=upto) if row[0] in known]
    contacts = pl.DataFrame(within, schema={"customer_id": pl.String, "week_start": pl.String}, orient="row")
    # An older ledger may hold relation numbers in another form (see core/ids.py).
    return (
        contacts.with_columns(relation_numbers.in_form(contacts["customer_id"]))
        .group_by("customer_id", maintain_order=True)
        .agg(pl.col("week_start").max())
    )


def standing_exclusions(ledger: Ledger, week_start: date, *, upto: int | None) -> pl.Series:
    """The relation numbers under a standing exclusion in the week starting ``week_start`` (as of event ``upto``)."""
    ids = [customer for customer, _ in ledger.suppressed_on(week_start, upto=upto)]
    return relation_numbers.in_form(pl.Series("customer_id", ids, dtype=pl.String))


def exclusions(snapshot: pl.DataFrame, contacted: pl.DataFrame, suppressed: pl.Series | None = None) -> pl.Series:
    """The exclusion reason per snapshot row, null when eligible.

    ``contacted`` lists the customers in the cooldown (column ``customer_id``
    as text), as the ledger's contact history reports them; ``suppressed``
    the relation numbers (text) under a standing exclusion, which keeps a
    customer out whether or not they were mailed lately.
    """
    in_cooldown = _contacted(snapshot["customer_id"], contacted["customer_id"])
    kept_out = _contacted(snapshot["customer_id"], suppressed if suppressed is not None else pl.Series([], dtype=pl.String))
    code = snapshot.select(
        pl.when(pl.col("is_investor").fill_null(False))
        .then(0)
        .when(~pl.col("marketing_consent").fill_null(False))
        .then(1)
        .when(kept_out)
        .then(2)
        .when(in_cooldown)
        .then(3)
    ).to_series()
    names = (EXCLUDED_INVESTOR, EXCLUDED_NO_CONSENT, EXCLUDED_SUPPRESSED, EXCLUDED_COOLDOWN)
    return _named(code, names).alias("exclusion")


def _contacted(ids: pl.Series, contacted: pl.Series) -> pl.Series:
    """Whether each relation number is among ``contacted``, compared as text (as the ledger keeps them).

    Turning a million relation numbers into text costs more than the rest of
    the eligibility. So the few thousand contacted ones are turned into the
    snapshot's type instead, keeping only those that turn back into the same
    text (``"0042"`` is no number's text): exactly the same matches.
    """
    text = contacted.cast(pl.String)
    native = text.cast(ids.dtype, strict=False)
    return ids.is_in(native.filter(native.cast(pl.String) == text).implode())


def _named(codes: pl.Series, names: tuple[str | None, ...]) -> pl.Series:
    """The name of each code, its position in ``names`` (null stays null).

    One gather from a short table: choosing between text literals row by row
    (when/then) copies text once per branch, several times dearer at a
    million rows.
    """
    return pl.Series(names, dtype=pl.String).gather(codes)


#: what ``select`` decides for an eligible customer, as a code: the reason's position here
_DECIDED = (SELECTED, HOLDOUT, RANDOM_CONTROL, OVER_CAPACITY, BELOW_THRESHOLD)
_CODE = {reason: code for code, reason in enumerate(_DECIDED)}
_CHOSEN = [_CODE[SELECTED], _CODE[HOLDOUT]]
_POOL = [_CODE[RANDOM_CONTROL], _CODE[OVER_CAPACITY], _CODE[BELOW_THRESHOLD]]
_MAILED = [_CODE[reason] for reason in MAILED_GROUPS]
_GROUP_BY_CODE = tuple(MAILED_GROUPS.get(reason) for reason in _DECIDED)


def select(customers: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Assign every customer a reason.

    ``customers`` has ``customer_id``, ``score`` (probability, null for the
    excluded) and ``exclusion`` (null for the eligible). The result keeps the
    input's row order and adds ``reason``, ``mailed``, ``group``, ``rank``
    (position by score among those above the threshold), ``p_holdout`` and
    ``p_random_control``.

    Each step works on the rows it decides about (the hash draws on the
    eligible, the ranking on those above the threshold, the holdout on the
    selected); the decisions then become one code per row, by position, from
    which every column follows. No step makes a pass over the whole week that
    it does not need.
    """
    eligible = customers.with_row_index("_row").filter(pl.col("exclusion").is_null()).select("_row", "customer_id", "score")
    policy = policy.for_eligible(eligible.height)
    eligible = eligible.with_columns(pl.Series("_u_random", uniform(eligible["customer_id"], policy.salt, "random_control")))
    ranked = (
        eligible.filter(pl.col("score") >= policy.threshold)
        .sort(["score", "_u_random"], descending=[True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
    )
    chosen = ranked.filter(pl.col("rank") <= policy.capacity)
    held = uniform(chosen["customer_id"], policy.salt, "holdout") < policy.holdout_share
    pool = eligible.filter(~pl.col("_row").is_in(chosen["_row"].implode()))
    k = min(policy.random_control_size, pool.height)
    drawn = pool.filter(pl.col("_u_random") <= pool["_u_random"].bottom_k(k).max()) if k > 0 else pool.head(0)

    rows = customers.height
    code = _codes(customers["exclusion"].is_null(), ranked["_row"], drawn["_row"], chosen["_row"], held)
    mailed = code.is_in(_MAILED).fill_null(False)
    mailed_at = mailed.arg_true()
    return customers.with_columns(
        _by_row(rows, ranked["_row"], ranked["rank"]).alias("rank"),
        _reasons(customers["exclusion"], eligible["_row"], code).alias("reason"),
        mailed.alias("mailed"),
        _by_row(rows, mailed_at, _named(code.gather(mailed_at), _GROUP_BY_CODE)).alias("group"),
        pl.when(code.is_in(_CHOSEN)).then(pl.lit(policy.holdout_share)).otherwise(None).alias("p_holdout"),
        pl.when(code.is_in(_POOL))
        .then(pl.lit(k / pool.height if pool.height else 0.0))
        .otherwise(None)
        .alias("p_random_control"),
    )


def _codes(eligible: pl.Series, ranked: pl.Series, drawn: pl.Series, chosen: pl.Series, held: np.ndarray) -> pl.Series:
    """What was decided for each row, as its code in ``_DECIDED``; null for the excluded.

    ``ranked``, ``drawn`` and ``chosen`` are row positions, written in the
    order in which the decisions override one another. NumPy writes by
    position several times faster than Polars' scatter.
    """
    code = np.full(eligible.len(), _CODE[BELOW_THRESHOLD], dtype=np.uint32)
    code[ranked.to_numpy()] = _CODE[OVER_CAPACITY]
    code[drawn.to_numpy()] = _CODE[RANDOM_CONTROL]
    code[chosen.to_numpy()] = np.where(held, _CODE[HOLDOUT], _CODE[SELECTED])
    return pl.select(pl.when(eligible).then(pl.Series(code))).to_series()


def _reasons(exclusion: pl.Series, eligible: pl.Series, code: pl.Series) -> pl.Series:
    """Each row's reason: its exclusion, or for the eligible (row positions) the name of their code.

    Written by position into a copy of the exclusions, half the cost of
    merging two text columns of a million rows.
    """
    return exclusion.clone().scatter(eligible, _named(code.gather(eligible), _DECIDED))


def _by_row(rows: int, at: pl.Series, values: pl.Series) -> pl.Series:
    """A column of ``rows`` rows holding ``values`` at the positions ``at``, null elsewhere."""
    return pl.repeat(None, rows, dtype=values.dtype, eager=True).scatter(at, values)


def reason_counts(selection: pl.DataFrame) -> dict[str, int]:
    """Customers per reason, every reason listed (zeros included) in summary order."""
    counted = dict(selection.group_by("reason").len().iter_rows())
    extra = sorted(set(counted) - set(REASONS))
    return {reason: int(counted.get(reason, 0)) for reason in (*REASONS, *extra)}
