"""Outcomes: who opened an investment account, when, and how much they invested (R-D5).

The outcomes file comes from the warehouse like a snapshot and goes through
the same loader (column mapping, denylist, whole-file types). This module
adds what only outcomes need: every row has a date and a non-negative amount,
and several openings of one customer on one day are one outcome (summed), so
that importing the same file twice, or a later file that repeats earlier
rows, changes nothing.

A mailing's conversions are counted from the Monday of the run's week (the
snapshot date) through the end of the window, as the training label counts
them, so that evaluation and training speak of the same event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from nba_toolkit.errors import BadInput

if TYPE_CHECKING:
    from nba_toolkit.core.snapshot import ColumnType

#: what an outcomes file must hold, in canonical names (the workspace's [columns] may map them)
OUTCOME_SCHEMA: dict[str, ColumnType] = {"customer_id": "id", "opened_date": "date", "invested_amount": "float"}


def validated_outcomes(frame: pl.DataFrame, *, file: str, names: Mapping[str, str]) -> pl.DataFrame:
    """One row per customer and opening date, or ``BadInput`` naming the first bad row.

    ``names`` maps canonical names to the file's own, for the message.
    """
    for column, problem, message in (
        ("opened_date", pl.col("opened_date").is_null(), "the opening date is empty"),
        ("invested_amount", pl.col("invested_amount").is_null(), "the invested amount is empty (write 0 for none)"),
        ("invested_amount", pl.col("invested_amount") < 0, "the invested amount is negative"),
    ):
        bad = frame.select(problem.arg_true()).to_series()
        if bad.len():
            raise BadInput(message, file=file, column=names.get(column, column), row=int(bad[0]) + 1)
    return (
        frame.select(pl.col("customer_id").cast(pl.String), "opened_date", "invested_amount")
        .group_by("customer_id", "opened_date")
        .agg(pl.col("invested_amount").sum())
        .sort("opened_date", "customer_id")
    )


def with_conversions(rows: pl.DataFrame, outcomes: pl.DataFrame, *, window_weeks: int) -> pl.DataFrame:
    """``rows`` (``customer_id``, ``week_start``) plus ``converted`` (0/1) and ``invested`` in the window.

    A conversion is the customer's first opening within ``window_weeks``
    weeks from ``week_start``; ``invested`` is everything they invested in
    that window.
    """
    window = timedelta(weeks=window_weeks)
    keyed = rows.with_columns(pl.col("customer_id").cast(pl.String).alias("_id"), pl.int_range(pl.len()).alias("_row"))
    opened = outcomes.select(pl.col("customer_id").alias("_id"), "opened_date", "invested_amount")
    hits = (
        keyed.select("_row", "_id", "week_start")
        .join(opened, on="_id")
        .filter((pl.col("opened_date") >= pl.col("week_start")) & (pl.col("opened_date") < pl.col("week_start") + window))
        .group_by("_row")
        .agg(pl.col("invested_amount").sum().alias("invested"))
    )
    return (
        keyed.join(hits, on="_row", how="left")
        .sort("_row")
        .with_columns(
            pl.col("invested").is_not_null().cast(pl.Int8).alias("converted"),
            pl.col("invested").fill_null(0.0),
        )
        .drop("_id", "_row")
    )


def window_end(week_start: date, window_weeks: int) -> date:
    """The last day whose openings count for a run of the week starting ``week_start``."""
    return week_start + timedelta(weeks=window_weeks, days=-1)


def outcomes_known(week_start: date, window_weeks: int, known_until: date | None) -> bool:
    """A run's outcomes are known once its whole window lies within the dates the outcomes cover."""
    return known_until is not None and window_end(week_start, window_weeks) <= known_until
