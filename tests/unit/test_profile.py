"""The snapshot profile holds Polars' own median, 99th percentile and distinct count of every numeric column."""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_toolkit.core.profile import snapshot_profile

FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.5, 2.0, 1388.58]),
)
INTS = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-3, 3), st.sampled_from([2**53, 2**53 + 1]))


def _same(a: float | None, b: float | None) -> bool:
    """Equal as figures: NaN equals NaN, and -0.0 equals 0.0 (a tie whose sign no order decides)."""
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


def _expected(column: pl.Series) -> dict:
    values = column.drop_nulls()
    as_float = values.cast(pl.Float64)
    return {"median": as_float.median(), "p99": as_float.quantile(0.99), "distinct": values.n_unique()}


@settings(max_examples=300, deadline=None)
@given(st.lists(FLOATS, max_size=80), st.lists(INTS, max_size=80))
def test_the_figures_are_polars_own(floats: list, ints: list) -> None:
    for values, dtype, kind in ((floats, pl.Float64, "float"), (ints, pl.Int64, "int")):
        frame = pl.DataFrame({"customer_id": range(len(values)), "x": pl.Series(values, dtype=dtype)})
        found = snapshot_profile(frame, {"customer_id": "id", "x": kind})["x"]
        expected = _expected(frame["x"])
        assert found["distinct"] == expected["distinct"]
        assert _same(found["median"], expected["median"]) and _same(found["p99"], expected["p99"]), (found, expected)


def test_integers_beyond_two_to_the_53_stay_distinct() -> None:
    frame = pl.DataFrame({"n_products": [2**53, 2**53 + 1, None]})
    assert snapshot_profile(frame, {"n_products": "int"})["n_products"]["distinct"] == 2


def test_an_empty_column_has_no_median() -> None:
    frame = pl.DataFrame({"savings_balance": [None, None]}, schema={"savings_balance": pl.Float64})
    assert snapshot_profile(frame, {"savings_balance": "float"}) == {
        "savings_balance": {"median": None, "p99": None, "distinct": 0}
    }


def test_only_numeric_columns_other_than_the_key_are_profiled() -> None:
    frame = pl.DataFrame({"customer_id": [1, 2], "age_band": ["18-24", "65+"], "n_accounts": [1, 3]})
    profile = snapshot_profile(frame, {"customer_id": "int", "age_band": "str", "n_accounts": "int", "absent": "float"})
    assert profile == {"n_accounts": {"median": 2.0, "p99": 3.0, "distinct": 2}}
