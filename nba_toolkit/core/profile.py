"""A small profile of each accepted snapshot, so next week can tell a unit change.

A unit change (balances in cents, durations in milliseconds) keeps every
value plausible on its own; only the comparison with last week shows it. So
each run that passes its input checks leaves ``runs/<id>/profile.json`` with
the median, the 99th percentile and the number of distinct values of every
numeric column it used: a few numbers, no customer data. The run records
the file's SHA-256, so a profile changed afterwards is not taken as next
week's yardstick (see core/history.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.files import atomic_write_bytes, sha256_of

PROFILE_FILE = "profile.json"
NUMERIC_KINDS = ("int", "float")


def snapshot_profile(frame: pl.DataFrame, columns: Mapping[str, str], *, key: str = "customer_id") -> dict[str, dict[str, Any]]:
    """Median, 99th percentile and distinct count of each numeric column of ``columns`` (name -> kind)."""
    numeric = [c for c, kind in columns.items() if kind in NUMERIC_KINDS and c in frame.columns and c != key]
    return {c: _column_profile(frame[c].drop_nulls()) for c in numeric}


def _column_profile(values: pl.Series) -> dict[str, Any]:
    """The three figures of one column (no nulls), read off one sort of its values.

    On a column it knows to be sorted, Polars takes the median, a quantile
    and the distinct count without another pass; on an unsorted one each is a
    pass of its own (a selection or a hash). NumPy sorts a million numbers
    several times faster than Polars. Numbers are sorted as they are, so
    distinct integers stay distinct even beyond 2**53, where two can share a
    float; anything else is read as floats, as the median always is.
    """
    ordered = _ascending(values if values.dtype.is_numeric() else values.cast(pl.Float64))
    as_float = ordered.cast(pl.Float64).set_sorted()  # a cast to float keeps the order
    return {"median": as_float.median(), "p99": as_float.quantile(0.99), "distinct": ordered.n_unique()}


def _ascending(values: pl.Series) -> pl.Series:
    """Numeric ``values`` (no nulls) sorted ascending and flagged so; NaN sorts last, as in Polars."""
    return pl.Series(values.name, np.sort(values.to_numpy())).set_sorted()


def write_profile(run_dir: Path, profile: Mapping[str, Any]) -> str:
    """Write the profile; returns its SHA-256, for the run's record."""
    atomic_write_bytes(run_dir / PROFILE_FILE, json.dumps(profile, indent=2, sort_keys=True).encode("utf-8"))
    return sha256_of(run_dir / PROFILE_FILE)


def profile_changed(run_dir: Path, recorded_sha256: str | None) -> bool:
    """The run recorded its profile's hash and the file there now differs (a missing file is just absent)."""
    path = run_dir / PROFILE_FILE
    return bool(recorded_sha256) and path.is_file() and sha256_of(path) != recorded_sha256


def read_profile(run_dir: Path) -> dict[str, dict[str, Any]] | None:
    """The stored profile, or None when the run left none (older runs) or it cannot be read."""
    try:
        return json.loads((run_dir / PROFILE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
