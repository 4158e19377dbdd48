"""The monitoring figures against their definitions: a brute-force pair count, sklearn, and known truths."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from nba_toolkit.core.monitoring import (
    auc_with_interval,
    estimate_below,
    expected_auc,
    hanley_mcneil,
    labelled_auc,
    labelled_below,
)


def brute_force_expected_auc(p: np.ndarray) -> float:
    numerator = denominator = 0.0
    for i in range(p.size):
        for j in range(p.size):
            if i == j:
                continue
            weight = p[i] * (1 - p[j])
            denominator += weight
            if p[i] > p[j]:
                numerator += weight
            elif p[i] == p[j]:
                numerator += 0.5 * weight
    return numerator / denominator


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expected_auc_is_the_pair_count(seed):
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 20, size=150)
    p[:30] = np.round(p[:30], 2)  # ties
    assert expected_auc(p) == pytest.approx(brute_force_expected_auc(p), abs=1e-12)


def test_expected_auc_matches_labels_drawn_from_the_scores():
    rng = np.random.default_rng(7)
    p = rng.beta(0.6, 12, size=4000)
    drawn = [roc_auc_score(rng.random(p.size) < p, p) for _ in range(200)]
    assert expected_auc(p) == pytest.approx(float(np.mean(drawn)), abs=0.01)


def test_constant_scores_and_uninformative_labels_give_one_half():
    rng = np.random.default_rng(3)
    assert expected_auc(np.full(500, 0.04)) == pytest.approx(0.5)
    scores = rng.random(20000)
    labels = rng.random(20000) < 0.3
    assert labelled_auc(scores, labels) == pytest.approx(0.5, abs=0.02)


def test_labelled_auc_is_sklearns_with_ties():
    rng = np.random.default_rng(11)
    scores = np.round(rng.random(3000), 2)
    labels = rng.random(3000) < 0.2 + 0.5 * scores
    assert labelled_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert labelled_auc(scores, np.zeros(3000)) is None
    assert expected_auc(np.array([0.3])) is None


def test_hanley_mcneil_interval_covers_the_truth_at_about_95_percent():
    rng = np.random.default_rng(5)
    truth = 0.75  # two normals one d' apart: AUC = Phi(d' / sqrt 2)
    shift = np.sqrt(2) * 0.6744897501960817
    covered = 0
    for _ in range(400):
        pos, neg = rng.normal(shift, 1, 60), rng.normal(0, 1, 600)
        interval = auc_with_interval(np.concatenate([pos, neg]), np.r_[np.ones(60), np.zeros(600)])
        assert interval is not None and interval.positives == 60 and interval.negatives == 600
        covered += interval.low <= truth <= interval.high
    assert 0.91 <= covered / 400 <= 0.99
    low, high = hanley_mcneil(0.7, 10, 1000)
    narrow_low, narrow_high = hanley_mcneil(0.7, 1000, 1000)
    assert high - low > narrow_high - narrow_low > 0


def test_the_band_alerts_only_on_a_clear_drop():
    weak = auc_with_interval(np.r_[np.full(50, 0.4), np.full(50, 0.6)], np.r_[np.ones(50), np.zeros(50)])
    assert weak is not None and weak.auc == 0.0
    assert labelled_below(weak, 0.7, 0.05, min_positives=20)
    assert not labelled_below(weak, 0.7, 0.05, min_positives=51)  # too few conversions to say
    assert not labelled_below(weak, None, 0.05, min_positives=1)
    assert estimate_below(0.6, 0.7, 0.05) and not estimate_below(0.66, 0.7, 0.05) and not estimate_below(None, 0.7, 0.05)
