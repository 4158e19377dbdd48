"""How far a distribution moved: the population stability index (PSI).

PSI compares the share of rows per bin now against a reference:
``sum((now - then) * ln(now / then))``. It is a distance, not a test, so it
does not flag everything once samples are large (the pain of p-value based
drift tests); rules of thumb read below 0.1 as stable, 0.1 to 0.25 as moved,
above 0.25 as a different population. Bins come from the reference's
deciles, merged where values tie (a feature with few distinct values, such
as products held, gets fewer bins), and the reference's own share per bin is
stored, so ties do not pretend to be ten equal bins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: a bin that is empty on one side counts as this share, so the logarithm stays finite
_FLOOR = 1e-4


def decile_edges(values: np.ndarray) -> list[float]:
    """The distinct inner decile boundaries of ``values`` (at most 9)."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    return [float(x) for x in np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))]


def bin_shares(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Share of the finite ``values`` per bin; bin ``i`` holds ``edges[i-1] <= v < edges[i]`` (edges ascending).

    Counted as the values below each edge, one comparison pass per edge: with
    at most nine edges that is several times cheaper than a binary search per
    value (``searchsorted``) over a million values, and the counts are the same.
    """
    values = values[np.isfinite(values)]
    below = [np.count_nonzero(values < edge) for edge in edges]
    return np.diff(below, prepend=0, append=values.size) / max(values.size, 1)


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    e = np.maximum(np.asarray(expected, dtype=float), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of ``current`` against ``reference``, binned by the reference's deciles."""
    edges = decile_edges(reference)
    return psi(bin_shares(reference, edges), bin_shares(current, edges))


def category_psi(reference_shares: Mapping[str, float], current_shares: Mapping[str, float]) -> float:
    """PSI over categories; a category one side never saw counts as the floor share there."""
    categories = sorted(set(reference_shares) | set(current_shares))
    return psi([reference_shares.get(c, 0.0) for c in categories], [current_shares.get(c, 0.0) for c in categories])
