"""One value out of a polars column, as the Python type the toolkit computes with.

Polars types an aggregate such as ``Series.max()`` as any Python value a
column can hold (a number, a date, text, ``None``), because the column's
type is only known when the query runs. The toolkit always knows: a score is
a number, a snapshot date a date. These functions say so where the value is
taken, and refuse anything else with a ``TypeError`` naming what came
instead, just as ``float(None)`` would, rather than compute on with it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal


def number(value: object) -> float:
    """An aggregate of a numeric (or boolean) column as a float; ``TypeError`` for a null or anything else."""
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def number_or_none(value: object) -> float | None:
    """An aggregate of a numeric column that may have no values at all (``None``), as a float."""
    return None if value is None else number(value)


def day(value: object) -> date:
    """An aggregate of a date column as a date; ``TypeError`` for a null or anything else."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise TypeError(f"expected a date, got {type(value).__name__}")


def day_or_none(value: object) -> date | None:
    """An aggregate of a date column that may have no values at all (``None``)."""
    return None if value is None else day(value)
