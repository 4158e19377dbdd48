"""A small profile of each accepted snapshot, so next week can tell a unit change.

A unit change (balances in cents, durations in milliseconds) keeps every
value plausible on its own; only the comparison with last week shows it. So
each run that passes its input checks leaves ``runs/<id>/profile.json`` with
the median, the 99th percentile and the number of distinct values of every
numeric column it used: a few numbers, no customer data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.core.files import atomic_write_bytes

PROFILE_FILE = "profile.json"
NUMERIC_KINDS = ("int", "float")


def snapshot_profile(frame: pl.DataFrame, columns: Mapping[str, str], *, key: str = "customer_id") -> dict[str, dict[str, Any]]:
    """Median, 99th percentile and distinct count of each numeric column of ``columns`` (name -> kind)."""
    numeric = [c for c, kind in columns.items() if kind in NUMERIC_KINDS and c in frame.columns and c != key]
    if not numeric:
        return {}
    row = frame.select(
        *[pl.col(c).cast(pl.Float64).median().alias(f"{c}\0median") for c in numeric],
        *[pl.col(c).cast(pl.Float64).quantile(0.99).alias(f"{c}\0p99") for c in numeric],
        *[pl.col(c).drop_nulls().n_unique().alias(f"{c}\0distinct") for c in numeric],
    ).row(0, named=True)
    return {c: {stat: row[f"{c}\0{stat}"] for stat in ("median", "p99", "distinct")} for c in numeric}


def write_profile(run_dir: Path, profile: Mapping[str, Any]) -> None:
    atomic_write_bytes(run_dir / PROFILE_FILE, json.dumps(profile, indent=2, sort_keys=True).encode("utf-8"))


def read_profile(run_dir: Path) -> dict[str, dict[str, Any]] | None:
    """The stored profile, or None when the run left none (older runs) or it cannot be read."""
    try:
        return json.loads((run_dir / PROFILE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
