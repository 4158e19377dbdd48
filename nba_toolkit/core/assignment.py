"""Deterministic random numbers per customer, from their id and the campaign salt.

Holdout and random-control membership must be reproducible (a replay gives the
same groups) and persistent (a customer in the holdout stays there while the
salt stays the same), so the "random" draw is a hash, not a generator seeded
from the clock. Integer relation numbers go through splitmix64, vectorised in
NumPy; text ids through BLAKE2b. Both are stable across Python, NumPy and
Polars versions, unlike Polars' own ``hash``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def uniform(ids: pl.Series, salt: str, stream: str) -> np.ndarray:
    """A number in [0, 1) per id, fixed for a given salt and stream ("holdout", "random_control")."""
    key = int.from_bytes(hashlib.blake2b(f"{salt}\x00{stream}".encode(), digest_size=8).digest(), "little")
    if ids.dtype.is_integer():
        mixed = _splitmix64(ids.cast(pl.Int64).to_numpy().astype(np.uint64) ^ np.uint64(key))
    else:
        prefix = key.to_bytes(8, "little")
        mixed = np.fromiter(
            (int.from_bytes(hashlib.blake2b(prefix + str(v).encode(), digest_size=8).digest(), "little") for v in ids.to_list()),
            dtype=np.uint64,
            count=len(ids),
        )
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))
