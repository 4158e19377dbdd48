"""Values taken out of polars columns are the numbers and dates the toolkit computes with, or a TypeError."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest

from nba_toolkit.core.scalars import day, day_or_none, number, number_or_none


def test_aggregates_of_numeric_columns_are_floats():
    assert number(pl.Series([1, 2, 4]).max()) == 4.0 and isinstance(number(pl.Series([1, 2]).sum()), float)
    assert number(pl.Series([True, False]).mean()) == 0.5
    assert number(Decimal("2.5")) == 2.5
    assert number_or_none(pl.Series([], dtype=pl.Float64).median()) is None
    assert number_or_none(pl.Series([1.5, None]).median()) == 1.5


@pytest.mark.parametrize("value", [None, "3", date(2025, 1, 6)])
def test_a_null_or_another_kind_of_value_is_not_a_number(value):
    with pytest.raises(TypeError, match="expected a number"):
        number(value)


def test_aggregates_of_date_columns_are_dates():
    assert day(pl.Series([date(2025, 1, 6), date(2025, 1, 13)]).max()) == date(2025, 1, 13)
    assert day_or_none(pl.Series([None], dtype=pl.Date).max()) is None
    with pytest.raises(TypeError, match="expected a date"):
        day(None)
    with pytest.raises(TypeError, match="expected a date"):
        day(datetime(2025, 1, 6, 12))
