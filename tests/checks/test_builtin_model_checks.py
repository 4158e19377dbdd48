"""The model checks at training: on small made-up histories, and on the sample data through `train`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from check_frames import ENGINE, context, snapshot

from nba_toolkit.cli import main
from nba_toolkit.core.training import TrainingEvidence, auc, evaluate_scores
from nba_toolkit.core.validation import reference_rankings, single_feature_aucs, weekly_figures
from nba_toolkit.default_plugins.model_checks import (
    AucGapCheck,
    OutOfTimeAucCheck,
    PeriodKeyCheck,
    RankingFloorCheck,
    SingleFeatureAucCheck,
)
from nba_toolkit.workspace import Workspace

FIRST = date(2026, 1, 5)
CAPACITY = 60


def evidence(
    *,
    market_per_customer: bool = False,
    leak: bool = False,
    weeks: int = 12,
    test_weeks: int = 4,
    flip_later: bool = False,
) -> TrainingEvidence:
    """A labelled history: conversion follows savings, logins and, in some weeks, a holiday-pay bump."""
    rng = np.random.default_rng(11)
    frames, labels = [], []
    for k in range(weeks):
        frame = snapshot(
            600, seed=k, week_start=FIRST + timedelta(weeks=k), fund=(round(rng.normal(0, 2), 2), round(rng.normal(0, 5), 2))
        )
        if market_per_customer:
            frame = frame.with_columns(
                pl.col("fund_change_1w") + rng.normal(0, 10, frame.height),
                pl.col("fund_change_4w") + rng.normal(0, 10, frame.height),
            )
        # flip_later: what made customers convert in the training weeks holds them back in the later ones
        direction = -1.0 if flip_later and k >= weeks - test_weeks else 1.0
        logit = (
            -4
            + direction * 0.8 * (np.log1p(frame["savings_balance"].to_numpy()) - 8.5)
            + direction * 0.03 * (frame["logins_per_month"].to_numpy() - 30)
            + (1.0 if k % 5 == 0 else 0.0)
        )
        label = (rng.random(frame.height) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        if leak:
            frame = frame.with_columns(
                pl.Series("savings_balance", np.where(label == 1, 250_000.0, frame["savings_balance"].to_numpy()))
            )
        frames.append(frame)
        labels.append(label)
    frame, label = pl.concat(frames), np.concatenate(labels)
    cut = frame["snapshot_date"] >= FIRST + timedelta(weeks=weeks - test_weeks)
    features = ENGINE.features(frame.lazy()).collect()
    train, test = features.filter(~cut), features.filter(cut)
    model = ENGINE.fit(train, label[~cut.to_numpy()], seed=0)
    train_weeks, test_weeks = frame.filter(~cut)["snapshot_date"], frame.filter(cut)["snapshot_date"]
    train_label, test_label = label[~cut.to_numpy()], label[cut.to_numpy()]
    in_time = ENGINE.score(model, train)
    metrics = {
        "out_of_time": evaluate_scores(test_label, ENGINE.score(model, test), test_weeks, CAPACITY),
        "in_time_auc": auc(train_label, in_time),
        "in_time_auc_within_week": weekly_figures(train_label, in_time, train_weeks, CAPACITY)["auc_within_week"],
    }
    metrics["references"] = reference_rankings(
        single_feature_aucs(train, train_label, train_weeks, list(ENGINE.feature_labels)),
        train,
        train_label,
        test,
        test_label,
        test_weeks,
        CAPACITY,
    )
    return TrainingEvidence(
        engine=ENGINE,
        train_features=train,
        train_label=label[~cut.to_numpy()],
        train_weeks=frame.filter(~cut)["snapshot_date"],
        test_features=test,
        test_label=label[cut.to_numpy()],
        test_weeks=frame.filter(cut)["snapshot_date"],
        metrics=metrics,
        seed=0,
    )


def model_context(training: TrainingEvidence, **fields):
    return context(snapshot(10), training=training, **fields)


def test_period_key() -> None:
    found = PeriodKeyCheck().run(model_context(evidence()))
    assert not found.passed and found.severity == "warn"
    assert found.message.startswith("fund_change_1w, fund_change_4w vary almost only between weeks")
    assert "fund_change_1w 100.0%" in found.measured and "AUC within the week" in found.measured
    assert "with," in found.measured and "without" in found.measured
    # values that differ mostly between the customers of a week are not a period key
    assert PeriodKeyCheck().run(model_context(evidence(market_per_customer=True))).passed


def _with_features(base: TrainingEvidence, **columns: np.ndarray) -> TrainingEvidence:
    return TrainingEvidence(
        **{**base.__dict__, "train_features": base.train_features.with_columns(pl.Series(k, v) for k, v in columns.items())}
    )


def test_a_near_period_key_with_a_few_values_within_each_week_is_flagged() -> None:
    """A monthly macro column with stray values inside a month: not constant in any week, yet a key."""
    base = evidence()
    rng = np.random.default_rng(5)
    week_value = base.train_weeks.rank("dense").cast(pl.Float64).to_numpy() * 1.7
    stray = rng.random(week_value.shape[0]) < 0.03
    near = np.where(stray, week_value + rng.normal(0, 0.5, week_value.shape[0]), week_value)
    found = PeriodKeyCheck().run(model_context(_with_features(base, fund_change_1w=near)))
    assert not found.passed
    assert "fund_change_1w" in found.message


def test_a_coarse_key_is_flagged_and_a_constant_column_is_never_part_of_a_key() -> None:
    """Five values over the weeks (like a quarterly rate) is a key; a column the same everywhere carries nothing."""
    base = evidence()
    coarse = (base.train_weeks.rank("dense").cast(pl.Int64).to_numpy() // 2).astype(np.float64)
    constant = np.full(coarse.shape[0], 3.0)
    found = PeriodKeyCheck().run(model_context(_with_features(base, fund_change_1w=coarse, fund_change_4w=constant)))
    assert not found.passed
    assert "fund_change_1w" in found.message and "fund_change_4w" not in found.message


def test_single_feature_auc() -> None:
    honest = SingleFeatureAucCheck().run(model_context(evidence()))
    assert honest.passed, honest.message
    leaked = SingleFeatureAucCheck().run(model_context(evidence(leak=True)))
    assert not leaked.passed and leaked.severity == "warn" and "savings_balance (AUC" in leaked.message


def _with_metrics(in_time: float, out_of_time: float) -> TrainingEvidence:
    base = evidence(weeks=10)
    metrics = {
        **base.metrics,
        "out_of_time": {**base.metrics["out_of_time"], "auc": out_of_time, "auc_within_week": out_of_time},
        "in_time_auc": in_time,
        "in_time_auc_within_week": in_time,
    }
    return TrainingEvidence(**{**base.__dict__, "metrics": metrics})


def test_out_of_time_auc() -> None:
    assert OutOfTimeAucCheck().run(model_context(_with_metrics(0.75, 0.73))).passed
    too_good = OutOfTimeAucCheck().run(model_context(_with_metrics(0.98, 0.97)))
    assert too_good.blocks and "too good to be true" in too_good.message and "not made active" in too_good.action


def test_auc_gap_looks_both_ways() -> None:
    assert AucGapCheck().run(model_context(_with_metrics(0.76, 0.73))).passed
    gap = AucGapCheck().run(model_context(_with_metrics(0.90, 0.70)))
    assert not gap.passed and gap.severity == "warn" and "ranks much better on the weeks it learned from" in gap.message
    better_later = AucGapCheck().run(model_context(_with_metrics(0.62, 0.75)))
    assert not better_later.passed and "ranks much better on later weeks" in better_later.message


def test_the_ranking_floor_blocks_a_model_no_better_than_chance() -> None:
    assert RankingFloorCheck().run(model_context(evidence())).passed
    for worse in (0.48, 0.52):
        floor = RankingFloorCheck().run(model_context(_with_metrics(0.7, worse)))
        assert floor.blocks and "not clearly better than chance" in floor.message, floor.message
        assert "at least 0.55" in floor.threshold


def test_a_model_worse_than_random_out_of_time_is_not_promoted() -> None:
    """Fitted on weeks where savings meant conversion, measured on weeks where it means the opposite."""
    worse = evidence(flip_later=True)
    assert worse.metrics["out_of_time"]["auc_within_week"] < 0.5
    floor = RankingFloorCheck().run(model_context(worse))
    assert floor.blocks and floor.message.startswith("The model was not made active:")
    assert "not clearly better than chance" in floor.message and "\n" not in floor.message


def test_the_ranking_floor_blocks_a_model_worse_than_its_best_single_feature() -> None:
    single = _with_metrics(0.7, 0.7).metrics["references"]["single_feature"]
    weaker = _with_metrics(0.7, single["auc_within_week"] - 0.15)
    floor = RankingFloorCheck().run(model_context(weaker))
    assert floor.blocks and f"ranking by {single['feature']} alone does better" in floor.message


def test_a_feature_far_ahead_of_every_other_is_named_as_a_leak() -> None:
    """A value known only after the outcome (a call's duration) below the 0.9 limit, but far ahead of the rest."""
    base = evidence()
    rng = np.random.default_rng(3)
    duration = base.train_label * 1.7 + rng.normal(0, 1.0, base.train_label.shape[0])
    leaked = SingleFeatureAucCheck().run(model_context(_with_features(base, current_balance=duration)))
    assert not leaked.passed and "On its own, current_balance ranks at AUC" in leaked.message, leaked.message
    assert "far above every other feature" in leaked.message


def test_sample_training_flags_the_market_features_as_a_period_key(trained_sample: Path) -> None:
    """The sample data's fund index pair is unique per week by construction (sample_data/README.md)."""
    sidecar = json.loads(next((trained_sample / "models").glob("*.json")).read_text())
    results = {c["check"]: c for c in sidecar["checks"]}
    assert set(results) == {"ranking_floor", "period_key", "single_feature_auc", "out_of_time_auc", "auc_gap"}
    key = results["period_key"]
    assert key["status"] == "fail" and key["severity"] == "warn"
    assert key["message"].startswith("fund_change_1w, fund_change_4w vary almost only between weeks")
    assert "fund_change_1w 100.0%, fund_change_4w 100.0%" in key["measured"]
    passing = ("ranking_floor", "single_feature_auc", "out_of_time_auc", "auc_gap")
    assert all(results[name]["status"] == "pass" for name in passing), results
    assert sidecar["promoted"] is True


def test_train_blocked_by_a_model_check_keeps_the_previous_model(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    before = ws.ledger.active_model("logistic")
    with ws.config_path.open("a") as toml:
        toml.write("\n[checks.out_of_time_auc]\nmax_auc = 0.6\n")
    capsys.readouterr()
    code = main(["train", "--workspace", str(ws.root), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 3 and result["promoted"] is False
    blocked = next(c for c in result["checks"] if c["check"] == "out_of_time_auc")
    assert blocked["status"] == "fail" and blocked["severity"] == "block" and blocked["threshold"] == "at most 0.6"
    assert Workspace.open(ws.root).ledger.active_model("logistic").model_id == before.model_id
    assert json.loads(Path(result["path"]).with_suffix(".json").read_text())["promoted"] is False


def test_the_model_screen_lists_every_model_check(trained_sample: Path) -> None:
    from nba_toolkit.tui.screens.model import card_text

    sidecar = json.loads(next((trained_sample / "models").glob("*.json")).read_text())
    shown = card_text(sidecar).plain
    assert "Model checks at training" in shown
    for check in sidecar["checks"]:
        assert f"{check['check']} ({check['severity']})" in shown
    assert "Within a validation week the model ranks customers at AUC" in shown
