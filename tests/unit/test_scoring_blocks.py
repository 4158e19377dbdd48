"""The engine scores a week block by block: the same scores, matrices the size of a block."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from nba_toolkit.core import decision
from nba_toolkit.errors import PluginError


class Recording:
    """Scores each row by its value and remembers how many rows each call got."""

    name = "recording"

    def __init__(self, broken_at: int | None = None) -> None:
        self.calls: list[int] = []
        self.broken_at = broken_at

    def score(self, model, features: pl.DataFrame) -> np.ndarray:
        self.calls.append(features.height)
        scores = features["x"].to_numpy() / 100
        return scores[:-1] if self.broken_at is not None and len(self.calls) == self.broken_at else scores


@pytest.mark.parametrize(("rows", "block", "calls"), [(10, 4, [4, 4, 2]), (8, 4, [4, 4]), (3, 4, [3]), (0, 4, [0])])
def test_scores_come_block_by_block_in_row_order(monkeypatch, rows: int, block: int, calls: list[int]) -> None:
    monkeypatch.setattr(decision, "SCORE_BLOCK", block)
    engine = Recording()
    features = pl.DataFrame({"x": np.arange(rows, dtype=np.float64)})
    scores = decision.engine_scores(engine, None, features)
    assert engine.calls == calls
    assert np.array_equal(scores, np.arange(rows) / 100)


def test_a_block_with_the_wrong_number_of_scores_is_the_engines_fault(monkeypatch) -> None:
    monkeypatch.setattr(decision, "SCORE_BLOCK", 4)
    features = pl.DataFrame({"x": np.arange(10, dtype=np.float64)})
    with pytest.raises(PluginError, match="'recording' returned 3 scores for 4 customers"):
        decision.engine_scores(Recording(broken_at=2), None, features)
