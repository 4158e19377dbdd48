"""The fallback list: a number of eligible customers drawn uniformly at random, with no model.

When the engine is switched off, its model cannot be used or a week is
blocked on the model's account, the bank still mails: "send 500 random
people", with the usual exclusions. The eligibility is the weekly run's
(:func:`~nba_toolkit.core.decision.eligibility`); the draw is a hash of the
relation number with the campaign salt and the run id
(:func:`~nba_toolkit.core.assignment.uniform`): the ``size`` customers with the
lowest numbers are drawn. That is a uniform sample without replacement,
reproducible from what the ledger records (salt and run id), and a new run of
the same week draws afresh.

Every drawn customer is random control (``random_control``, group
``random_control`` in the mail file and the contact history), mailed with
the probability ``p_random_control`` = drawn / eligible; the eligible not
drawn are ``not_drawn``, their comparison group. No row is ``selected_mailed``
or ``holdout``: the evaluation never counts a fallback customer as chosen by
the model, and the fallback weeks measure the effect of mailing at random.
"""

from __future__ import annotations

import polars as pl

from nba_toolkit.core.assignment import uniform
from nba_toolkit.core.selection import MAILED_GROUPS, NOT_DRAWN, RANDOM_CONTROL


def draw_stream(run_id: str) -> str:
    """The hash stream of one fallback run's draw, next to the campaign salt: the run id decides it."""
    return f"fallback {run_id}"


def draw(customers: pl.DataFrame, size: int, *, salt: str, run_id: str) -> pl.DataFrame:
    """The fallback selection: ``customers`` (``customer_id``, ``exclusion``) with the columns ``select`` gives.

    ``size`` eligible customers are drawn (all of them when fewer are
    eligible). ``score`` and ``rank`` stay empty, as nothing was scored.
    """
    if size < 1:
        raise ValueError("a fallback list draws at least one customer")
    eligible = customers.with_row_index("_row").filter(pl.col("exclusion").is_null())
    drawn = min(size, eligible.height)
    ranked = eligible.select(
        "_row", pl.Series("_u", uniform(eligible["customer_id"], salt, draw_stream(run_id)), dtype=pl.Float64)
    )
    # ties in the hash are all but impossible; the row position settles them the same way every time
    chosen = ranked.sort("_u", "_row").head(drawn)["_row"]
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    is_eligible = pl.col("exclusion").is_null()
    is_drawn = row.is_in(chosen.implode())
    probability = drawn / eligible.height if eligible.height else 0.0
    return customers.with_columns(
        pl.lit(None, dtype=pl.Float64).alias("score"),
        pl.lit(None, dtype=pl.Int64).alias("rank"),
        pl.when(~is_eligible)
        .then(pl.col("exclusion"))
        .when(is_drawn)
        .then(pl.lit(RANDOM_CONTROL))
        .otherwise(pl.lit(NOT_DRAWN))
        .alias("reason"),
        is_drawn.alias("mailed"),
        pl.when(is_drawn).then(pl.lit(MAILED_GROUPS[RANDOM_CONTROL])).otherwise(None).alias("group"),
        pl.lit(None, dtype=pl.Float64).alias("p_holdout"),
        pl.when(is_eligible).then(pl.lit(probability)).otherwise(None).alias("p_random_control"),
    )
