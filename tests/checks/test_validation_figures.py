"""Validation figures that a random ranking cannot score well on, whatever the week sizes and base rates.

The weeks here are built like a real bank's campaign lists rather than the
sample: sizes from 40 to 8,000 customers and base rates from 3% to 60%. The
truth is known: either the score carries no information, or the label
follows the score.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.training import auc, evaluate_scores
from nba_toolkit.core.validation import weekly_figures
from nba_toolkit.workspace import Workspace

SIZES = [8000, 40, 3000, 200, 5000, 600, 1200, 90, 7000, 350]
RATES = [0.03, 0.6, 0.05, 0.5, 0.04, 0.3, 0.09, 0.45, 0.03, 0.2]
CAPACITY = 500


def weeks_unlike_the_sample(seed: int, *, signal: float = 0.0) -> tuple[np.ndarray, np.ndarray, pl.Series]:
    """Labels per week at that week's base rate; with ``signal``, the score follows the label."""
    rng = np.random.default_rng(seed)
    labels, scores, weeks = [], [], []
    for k, (size, rate) in enumerate(zip(SIZES, RATES)):
        label = (rng.random(size) < rate).astype(np.int8)
        # a higher score in weeks that convert more: what a pooled figure rewards and a weekly one must not
        score = rng.random(size) + rate + signal * label
        labels.append(label)
        scores.append(score)
        weeks += [date(2025, 1, 6) + timedelta(weeks=k)] * size
    return np.concatenate(labels), np.concatenate(scores), pl.Series("week", weeks)


def test_random_scores_get_a_lift_of_one_and_an_auc_of_a_half() -> None:
    lifts, aucs = [], []
    for seed in range(30):
        label, score, week = weeks_unlike_the_sample(seed)
        figures = weekly_figures(label, score, week, CAPACITY)
        lifts.append(figures["lift_at_capacity"])
        aucs.append(figures["auc_within_week"])
        if seed == 0:
            # the same random scores pooled over weeks look like a model: the flaw the weekly figures mend
            assert auc(label, score) > 0.55
    assert 0.95 <= np.mean(lifts) <= 1.05, lifts
    assert 0.48 <= np.mean(aucs) <= 0.52, aucs
    label, score, week = weeks_unlike_the_sample(0)
    one = weekly_figures(label, score, week, CAPACITY)
    assert 0.9 <= one["lift_at_capacity"] <= 1.1 and abs(one["auc_within_week"] - 0.5) < 3 * one["auc_within_week_se"]


def test_a_constant_score_gets_exactly_a_lift_of_one() -> None:
    label, _, week = weeks_unlike_the_sample(1)
    figures = weekly_figures(label, np.zeros(label.shape[0]), week, CAPACITY)
    assert figures["lift_at_capacity"] == pytest.approx(1.0)
    assert figures["auc_within_week"] == pytest.approx(0.5)


def test_a_small_week_is_not_counted_whole() -> None:
    """A week smaller than the capacity counts its top fifth, so its lift measures the ranking, not the week."""
    label, score, week = weeks_unlike_the_sample(2, signal=1.0)
    per_week = {w["customers"]: w for w in weekly_figures(label, score, week, CAPACITY)["per_week"]}
    assert per_week[40]["top"] == 8 and per_week[8000]["top"] == CAPACITY
    assert per_week[40]["lift"] > 1.0


def test_a_real_ranking_keeps_its_meaning() -> None:
    label, score, week = weeks_unlike_the_sample(3, signal=0.8)
    figures = evaluate_scores(label, score, week, CAPACITY)
    assert figures["auc_within_week"] > 0.7
    assert figures["lift_at_capacity"] > 1.3
    assert figures["lift_at_capacity_range"][0] >= 1.0
    assert len(figures["per_week"]) == len(SIZES)
    # the pooled AUC is still reported, as such
    assert "auc" in figures


def _random_outcomes(ws: Workspace) -> None:
    """The same openings, dates and amounts, given to customers drawn at random: nothing left to learn."""
    outcomes = pl.read_csv(ws.outcomes_path, schema_overrides={"RELATION_NO": pl.String})
    customers = pl.read_parquet(ws.history_path, columns=["RELATION_NO"]).unique()["RELATION_NO"].cast(pl.String)
    rng = np.random.default_rng(7)
    drawn = customers.sample(outcomes.height, with_replacement=False, seed=int(rng.integers(1 << 30)))
    outcomes.with_columns(drawn.alias("RELATION_NO")).write_csv(ws.outcomes_path)


def test_a_model_of_random_outcomes_is_not_promoted_and_says_why_in_one_line(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    before = ws.ledger.active_model("logistic").model_id
    _random_outcomes(ws)
    capsys.readouterr()
    code = main(["train", "--workspace", str(ws.root), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 3 and result["promoted"] is False
    floor = next(c for c in result["checks"] if c["check"] == "ranking_floor")
    assert floor["status"] == "fail" and floor["severity"] == "block"
    assert "not clearly better than chance" in floor["message"]
    references = result["metrics"]["references"]
    assert abs(references["random"]["auc_within_week"] - 0.5) < 0.05
    assert Workspace.open(ws.root).ledger.active_model("logistic").model_id == before

    capsys.readouterr()
    assert main(["train", "--workspace", str(ws.root)]) == 3
    printed = capsys.readouterr().out
    (refusal,) = [line for line in printed.splitlines() if line.startswith("The model was not made active")]
    assert "ranking_floor" in refusal and "not clearly better than chance" in refusal


def test_a_feature_not_registered_as_known_by_the_snapshot_date_is_refused_at_training(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the people who register the data can say a value was known in time; training asks them."""
    ws = sample_workspace
    register = ws.root / "governance.toml"
    text = register.read_text(encoding="utf-8")
    marker = "[features.current_balance]"
    head, tail = text.split(marker, 1)
    register.write_text(head + marker + tail.replace("known_by_snapshot = true", "known_by_snapshot = false", 1))
    capsys.readouterr()
    code = main(["train", "--workspace", str(ws.root), "--json"])
    refused = json.loads(capsys.readouterr().out)
    assert code == 2 and "not confirm as known on the snapshot date" in refused["error"], refused
    assert "current_balance" in refused["error"] and "savings_balance" not in refused["error"]
    assert "--known-by-snapshot yes" in refused["hint"]

    approver = ["govern", "approve", "current_balance", "--by", "Data owner", "--known-by-snapshot", "yes"]
    assert main([*approver, "--workspace", str(ws.root), "--json"]) == 0
    capsys.readouterr()
    assert main(["train", "--workspace", str(ws.root), "--json"]) == 0
