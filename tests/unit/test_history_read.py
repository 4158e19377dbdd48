"""The history is read lazily: only the columns asked for, only the weeks up to a date, checked as a snapshot is."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.snapshot import load_history, load_snapshot
from nba_toolkit.errors import BadInput

MONDAYS = [dt.date(2025, 1, 6) + dt.timedelta(weeks=i) for i in range(4)]


def _history(tmp_path, **extra):
    frame = pl.DataFrame(
        {
            "RELATION_NO": [10 + i for _ in MONDAYS for i in range(3)],
            "SNAPSHOT_DATE": [d for d in MONDAYS for _ in range(3)],
            "SAVINGS_BAL": [float(i) for i in range(12)],
            "POSTCODE": ["1234AB"] * 12,
            **extra,
        }
    )
    path = tmp_path / "history.parquet"
    frame.write_parquet(path)
    return path


SCHEMA = {"snapshot_date": "date", "savings_balance": "float"}
MAPPING = {"customer_id": "RELATION_NO", "snapshot_date": "SNAPSHOT_DATE", "savings_balance": "SAVINGS_BAL"}


def test_only_the_weeks_up_to_the_last_day_and_the_columns_asked_for_are_read(tmp_path) -> None:
    path = _history(tmp_path, CURRENT_BAL=[1.0] * 12)
    mapping = {**MAPPING, "current_balance": "CURRENT_BAL"}
    read = load_history(path, mapping=mapping, denylist=("postcode",), schema=SCHEMA, last_day=MONDAYS[1])
    assert read.frame.columns == ["customer_id", "snapshot_date", "savings_balance"]
    assert read.frame["snapshot_date"].unique().sort().to_list() == MONDAYS[:2]
    assert read.rows == 6
    assert read.sha256 == sha256_of(path)
    whole = load_snapshot(path, mapping=mapping, denylist=("postcode",), schema=SCHEMA)
    assert read.frame.equals(whole.frame.select(read.frame.columns).filter(pl.col("snapshot_date") <= MONDAYS[1]))


def test_without_a_last_day_every_week_is_read(tmp_path) -> None:
    read = load_history(_history(tmp_path), mapping=MAPPING, denylist=(), schema=SCHEMA)
    assert read.frame.height == 12


def test_a_bad_value_is_reported_at_its_row_in_the_file_not_in_the_weeks_read(tmp_path) -> None:
    balances = [float(i) for i in range(12)]
    balances[4] = float("inf")  # row 5 of the file, row 2 of the weeks after the first
    frame = pl.DataFrame(
        {
            "RELATION_NO": [10 + i for _ in MONDAYS for i in range(3)],
            "SNAPSHOT_DATE": [d for d in reversed(MONDAYS) for _ in range(3)],
            "SAVINGS_BAL": balances,
        }
    )
    path = tmp_path / "history.parquet"
    frame.write_parquet(path)
    with pytest.raises(BadInput) as caught:
        load_history(path, mapping=MAPPING, denylist=(), schema=SCHEMA, last_day=MONDAYS[2])
    assert caught.value.row == 5
    assert caught.value.column == "SAVINGS_BAL"


def test_a_missing_history_is_bad_input_naming_the_file(tmp_path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        load_history(tmp_path / "history.parquet", mapping=MAPPING, denylist=(), schema=SCHEMA)
