"""The selection's invariants, as properties over random weeks (Hypothesis)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_toolkit.core.assignment import uniform
from nba_toolkit.core.selection import (
    BELOW_THRESHOLD,
    EXCLUDED_COOLDOWN,
    EXCLUDED_INVESTOR,
    EXCLUDED_NO_CONSENT,
    HOLDOUT,
    MAILED_GROUPS,
    OVER_CAPACITY,
    RANDOM_CONTROL,
    REASONS,
    SELECTED,
    Policy,
    exclusions,
    reason_counts,
    select,
)

EXCLUSIONS = [None, None, None, EXCLUDED_INVESTOR, EXCLUDED_NO_CONSENT, EXCLUDED_COOLDOWN]


@st.composite
def weeks(draw: st.DrawFn) -> tuple[pl.DataFrame, Policy]:
    n = draw(st.integers(min_value=0, max_value=3000))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    ids = rng.choice(10**8, size=n, replace=False) + 10**7
    exclusion = [EXCLUSIONS[i] for i in rng.integers(0, len(EXCLUSIONS), size=n)]
    score = rng.beta(1, 20, size=n)
    customers = pl.DataFrame(
        {"customer_id": ids, "score": score, "exclusion": exclusion},
        schema={"customer_id": pl.Int64, "score": pl.Float64, "exclusion": pl.String},
    ).with_columns(pl.when(pl.col("exclusion").is_null()).then(pl.col("score")).alias("score"))
    policy = Policy(
        capacity=draw(st.integers(min_value=0, max_value=2500)),
        threshold=draw(st.floats(min_value=0.0, max_value=0.3)),
        cooldown_weeks=4,
        holdout_share=draw(st.floats(min_value=0.0, max_value=0.5)),
        random_control_share=draw(st.floats(min_value=0.0, max_value=0.2)),
        salt=draw(st.text(min_size=1, max_size=12)),
    )
    return customers, policy


@settings(max_examples=60, deadline=None)
@given(weeks())
def test_selection_invariants(week: tuple[pl.DataFrame, Policy]) -> None:
    customers, policy = week
    result = select(customers, policy)
    counts = reason_counts(result)

    # everyone in comes out once, in order, with exactly one known reason
    assert result["customer_id"].to_list() == customers["customer_id"].to_list()
    assert result["reason"].null_count() == 0
    assert set(result["reason"].unique()) <= set(REASONS)

    # capacity is never exceeded
    assert counts[SELECTED] + counts[HOLDOUT] <= policy.capacity

    # nobody excluded is selected, held out or mailed; exported rows are a subset of the eligible
    excluded = result.filter(pl.col("exclusion").is_not_null())
    assert (excluded["reason"] == excluded["exclusion"]).all()
    assert not excluded["mailed"].any()
    mailed = result.filter(pl.col("mailed"))
    assert mailed["exclusion"].null_count() == mailed.height
    assert set(mailed["reason"].unique()) <= {SELECTED, RANDOM_CONTROL}

    # everyone selected scores at least the threshold and at least anyone over capacity
    chosen = result.filter(pl.col("reason").is_in([SELECTED, HOLDOUT]))
    assert (chosen["score"] >= policy.threshold).all()
    over = result.filter(pl.col("reason") == OVER_CAPACITY)
    if chosen.height and over.height:
        assert chosen["score"].min() >= over["score"].max()
    below = result.filter(pl.col("reason") == BELOW_THRESHOLD)
    assert (below["score"] < policy.threshold).all()

    # the random control is the configured size (or the whole pool if smaller), drawn from the pool
    pool = result.filter(pl.col("exclusion").is_null() & ~pl.col("reason").is_in([SELECTED, HOLDOUT]))
    assert counts[RANDOM_CONTROL] == min(policy.random_control_size, pool.height)

    # holdout share within tolerance: binomial, so allow four standard deviations plus one
    n_selected = chosen.height
    expected = policy.holdout_share * n_selected
    tolerance = 4 * math.sqrt(n_selected * policy.holdout_share * (1 - policy.holdout_share)) + 1
    assert abs(counts[HOLDOUT] - expected) <= tolerance


@settings(max_examples=25, deadline=None)
@given(weeks())
def test_same_inputs_and_salt_give_the_same_selection(week: tuple[pl.DataFrame, Policy]) -> None:
    customers, policy = week
    first = select(customers, policy)
    assert first.equals(select(customers, policy))
    # row order of the input does not change who is chosen
    shuffled = select(customers.sample(fraction=1.0, shuffle=True, seed=7), policy)
    assert first.sort("customer_id").equals(shuffled.sort("customer_id"))


def _by_the_rules(customers: pl.DataFrame, policy: Policy) -> list[dict]:
    """The selection worked out row by row, straight from the rules in the module's docstring."""
    rows = customers.to_dicts()
    u_holdout = uniform(customers["customer_id"], policy.salt, "holdout")
    u_random = uniform(customers["customer_id"], policy.salt, "random_control")
    eligible = [i for i, row in enumerate(rows) if row["exclusion"] is None]
    above = [i for i in eligible if rows[i]["score"] >= policy.threshold]
    rank = {i: n for n, i in enumerate(sorted(above, key=lambda i: (-rows[i]["score"], u_random[i])), start=1)}
    selected = {i for i, n in rank.items() if n <= policy.capacity}
    pool = [i for i in eligible if i not in selected]
    k = min(policy.random_control_size, len(pool))
    cutoff = sorted(u_random[i] for i in pool)[k - 1] if k > 0 else -1.0
    drawn = {i for i in pool if u_random[i] <= cutoff}
    result = []
    for i, row in enumerate(rows):
        if row["exclusion"] is not None:
            reason = row["exclusion"]
        elif i in selected:
            reason = HOLDOUT if u_holdout[i] < policy.holdout_share else SELECTED
        elif i in drawn:
            reason = RANDOM_CONTROL
        else:
            reason = OVER_CAPACITY if i in rank else BELOW_THRESHOLD
        result.append(
            {
                **row,
                "rank": rank.get(i),
                "reason": reason,
                "mailed": reason in MAILED_GROUPS,
                "group": MAILED_GROUPS.get(reason),
                "p_holdout": policy.holdout_share if i in selected else None,
                "p_random_control": (k / len(pool)) if row["exclusion"] is None and i not in selected else None,
            }
        )
    return result


@settings(max_examples=40, deadline=None)
@given(weeks())
def test_every_row_gets_what_the_rules_say(week: tuple[pl.DataFrame, Policy]) -> None:
    customers, policy = week
    result = select(customers, policy)
    assert result.columns == [*customers.columns, "rank", "reason", "mailed", "group", "p_holdout", "p_random_control"]
    assert result.to_dicts() == _by_the_rules(customers, policy)


def test_holdout_membership_persists_across_weeks_and_changes_with_the_salt() -> None:
    ids = np.arange(10_000_000, 10_020_000)
    week = pl.DataFrame(
        {"customer_id": ids, "score": np.full(ids.size, 0.5), "exclusion": [None] * ids.size},
        schema_overrides={"exclusion": pl.String},
    )
    policy = Policy(
        capacity=20_000, threshold=0.1, cooldown_weeks=4, holdout_share=0.1, random_control_share=0.0, salt="campaign-a"
    )
    held = set(select(week, policy).filter(pl.col("reason") == HOLDOUT)["customer_id"])
    # next week only half the customers are selected; whoever was held out and is selected again stays held out
    half = week.with_columns(pl.when(pl.col("customer_id") % 2 == 0).then(0.5).otherwise(0.01).alias("score"))
    held_again = set(select(half, policy).filter(pl.col("reason") == HOLDOUT)["customer_id"])
    assert held_again == {c for c in held if c % 2 == 0}
    other_salt = set(
        select(week, Policy(**{**policy.__dict__, "salt": "campaign-b"})).filter(pl.col("reason") == HOLDOUT)["customer_id"]
    )
    assert len(held & other_salt) < 0.2 * len(held)
    assert abs(len(held) - 2000) < 4 * math.sqrt(20_000 * 0.09)


def test_text_relation_numbers_are_selected_like_numbers() -> None:
    week = pl.DataFrame(
        {"customer_id": [f"R{i:07d}" for i in range(500)], "score": np.linspace(0, 1, 500), "exclusion": [None] * 500},
        schema_overrides={"exclusion": pl.String},
    )
    policy = Policy(capacity=100, threshold=0.5, cooldown_weeks=4, holdout_share=0.1, random_control_share=0.1, salt="s")
    counts = reason_counts(select(week, policy))
    assert counts[SELECTED] + counts[HOLDOUT] == 100
    assert counts[RANDOM_CONTROL] == 10


@pytest.mark.parametrize(
    ("investor", "consent", "contacted", "expected"),
    [
        (True, True, False, EXCLUDED_INVESTOR),
        (True, False, True, EXCLUDED_INVESTOR),
        (False, False, True, EXCLUDED_NO_CONSENT),
        (False, None, False, EXCLUDED_NO_CONSENT),
        (False, True, True, EXCLUDED_COOLDOWN),
        (False, True, False, None),
    ],
)
def test_exclusion_reasons_first_reason_wins(investor, consent, contacted, expected) -> None:
    snapshot = pl.DataFrame(
        {"customer_id": [42], "is_investor": [investor], "marketing_consent": [consent]},
        schema={"customer_id": pl.Int64, "is_investor": pl.Boolean, "marketing_consent": pl.Boolean},
    )
    contacted_frame = pl.DataFrame({"customer_id": ["42"] if contacted else []}, schema={"customer_id": pl.String})
    assert exclusions(snapshot, contacted_frame).to_list() == [expected]


def test_the_cooldown_compares_relation_numbers_as_text() -> None:
    """The ledger keeps relation numbers as text: only the exact text of a number matches it."""
    snapshot = pl.DataFrame({"customer_id": [7, 42, 43, None], "is_investor": [False] * 4, "marketing_consent": [True] * 4})
    contacted = pl.DataFrame({"customer_id": ["7", "042", " 43", None, "x"]}, schema={"customer_id": pl.String})
    assert exclusions(snapshot, contacted).to_list() == [EXCLUDED_COOLDOWN, None, None, None]
    as_text = snapshot.with_columns(pl.col("customer_id").cast(pl.String).str.zfill(3))
    contacted = pl.DataFrame({"customer_id": ["007", "42"]})
    assert exclusions(as_text, contacted).to_list() == [EXCLUDED_COOLDOWN, None, None, None]


@pytest.mark.parametrize(("share", "eligible", "capacity"), [(0.29, 100, 29), (0.05, 12_345, 617), (1.0, 7, 7), (0.05, 0, 0)])
def test_a_capacity_share_is_taken_of_the_eligible_and_rounded_down(share: float, eligible: int, capacity: int) -> None:
    policy = Policy(capacity=2000, threshold=0.0, cooldown_weeks=4, holdout_share=0.1, random_control_share=0.05, salt="s")
    shared = replace(policy, capacity_share=share)

    assert shared.capacity_for(eligible) == capacity
    assert policy.capacity_for(eligible) == 2000  # a number stays a number
    assert shared.for_eligible(eligible).random_control_size == round(0.05 * capacity)


def test_select_resolves_a_capacity_share_among_the_eligible_only() -> None:
    n = 1000
    customers = pl.DataFrame(
        {
            "customer_id": np.arange(10**7, 10**7 + n),
            "score": np.linspace(0.9, 0.1, n),
            "exclusion": [EXCLUDED_INVESTOR if i % 2 else None for i in range(n)],
        },
        schema={"customer_id": pl.Int64, "score": pl.Float64, "exclusion": pl.String},
    ).with_columns(pl.when(pl.col("exclusion").is_null()).then(pl.col("score")).alias("score"))
    policy = Policy(
        capacity=2000, threshold=0.0, cooldown_weeks=4, holdout_share=0.0, random_control_share=0.1, salt="s", capacity_share=0.1
    )

    counts = reason_counts(select(customers, policy))

    assert counts[SELECTED] == 50  # 10% of the 500 eligible, not of the 1,000 rows nor the fixed 2,000
    assert counts[RANDOM_CONTROL] == 5
