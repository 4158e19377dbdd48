"""Drift bins: each finite value counted in exactly the bin its edges say."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_toolkit.core.drift import bin_shares, decile_edges

VALUES = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0, 2.0, 2.5])), max_size=200)


def _by_binary_search(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """The definition: the bin of ``v`` is the number of edges at or below it."""
    finite = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(np.asarray(edges, dtype=float), finite, side="right"), minlength=len(edges) + 1)
    return counts / max(finite.size, 1)


@settings(max_examples=300, deadline=None)
@given(VALUES, VALUES)
def test_bin_shares_follow_the_edges(reference: list[float], current: list[float]) -> None:
    reference, current = np.array(reference, dtype=float), np.array(current, dtype=float)
    edges = decile_edges(reference)
    for values in (reference, current):
        assert np.array_equal(bin_shares(values, edges), _by_binary_search(values, edges))


def test_a_value_on_an_edge_belongs_to_the_bin_above() -> None:
    shares = bin_shares(np.array([1.0, 2.0, 2.0, 3.0, np.nan, np.inf]), [2.0, 3.0])
    assert shares.tolist() == [0.25, 0.5, 0.25]


def test_no_edges_one_bin() -> None:
    assert bin_shares(np.array([1.0, 2.0]), []).tolist() == [1.0]
    assert bin_shares(np.array([]), []).tolist() == [0.0]
