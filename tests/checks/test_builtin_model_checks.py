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
from nba_toolkit.core.training import TrainingEvidence, auc
from nba_toolkit.default_plugins.model_checks import AucGapCheck, OutOfTimeAucCheck, PeriodKeyCheck, SingleFeatureAucCheck
from nba_toolkit.workspace import Workspace

FIRST = date(2026, 1, 5)


def evidence(*, market_per_customer: bool = False, leak: bool = False, weeks: int = 12, test_weeks: int = 4) -> TrainingEvidence:
    """A labelled history: conversion follows savings and, in some weeks, a holiday-pay bump."""
    rng = np.random.default_rng(11)
    frames, labels = [], []
    for k in range(weeks):
        frame = snapshot(
            600, seed=k, week_start=FIRST + timedelta(weeks=k), fund=(round(rng.normal(0, 2), 2), round(rng.normal(0, 5), 2))
        )
        if market_per_customer:
            frame = frame.with_columns(
                pl.col("fund_change_1w") + rng.normal(0, 1, frame.height),
                pl.col("fund_change_4w") + rng.normal(0, 1, frame.height),
            )
        logit = -4 + 0.8 * (np.log1p(frame["savings_balance"].to_numpy()) - 8.5) + (1.0 if k % 5 == 0 else 0.0)
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
    metrics = {
        "out_of_time": {"auc": auc(label[cut.to_numpy()], ENGINE.score(model, test))},
        "in_time_auc": auc(label[~cut.to_numpy()], ENGINE.score(model, train)),
    }
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
    assert "fund_change_1w, fund_change_4w are the same for every customer within a week" in found.message
    assert "different in 8 of the 8 training weeks" in found.message and "AUC" in found.message
    assert found.measured.startswith("8 of 8 weeks distinct; out-of-time AUC")
    # market values that differ between customers of one week are not a period key
    assert PeriodKeyCheck().run(model_context(evidence(market_per_customer=True))).passed


def test_single_feature_auc() -> None:
    honest = SingleFeatureAucCheck().run(model_context(evidence()))
    assert honest.passed, honest.message
    leaked = SingleFeatureAucCheck().run(model_context(evidence(leak=True)))
    assert not leaked.passed and leaked.severity == "warn" and "savings_balance (AUC" in leaked.message


def _with_metrics(in_time: float, out_of_time: float) -> TrainingEvidence:
    base = evidence(weeks=10)
    return TrainingEvidence(**{**base.__dict__, "metrics": {"out_of_time": {"auc": out_of_time}, "in_time_auc": in_time}})


def test_out_of_time_auc() -> None:
    assert OutOfTimeAucCheck().run(model_context(_with_metrics(0.75, 0.73))).passed
    too_good = OutOfTimeAucCheck().run(model_context(_with_metrics(0.98, 0.97)))
    assert too_good.blocks and "too good to be true" in too_good.message and "not made active" in too_good.action


def test_auc_gap() -> None:
    assert AucGapCheck().run(model_context(_with_metrics(0.76, 0.73))).passed
    gap = AucGapCheck().run(model_context(_with_metrics(0.90, 0.70)))
    assert not gap.passed and gap.severity == "warn" and "does much better on the weeks it learned from" in gap.message


def test_sample_training_flags_the_market_features_as_a_period_key(trained_sample: Path) -> None:
    """The sample data's fund index pair is unique per week by construction (sample_data/README.md)."""
    sidecar = json.loads(next((trained_sample / "models").glob("*.json")).read_text())
    results = {c["check"]: c for c in sidecar["checks"]}
    assert set(results) == {"period_key", "single_feature_auc", "out_of_time_auc", "auc_gap"}
    key = results["period_key"]
    weeks = len(pl.read_parquet(trained_sample / "data" / "history.parquet", columns=["SNAPSHOT_DATE"]).unique())
    training_weeks = weeks - 4 - 12 + 1  # label window not over for the last 3 weeks; 12 validation weeks
    assert key["status"] == "fail" and key["severity"] == "warn"
    assert key["message"].startswith("fund_change_1w, fund_change_4w are the same for every customer within a week")
    assert f"{training_weeks} of {training_weeks} weeks distinct" in key["measured"]
    assert all(results[name]["status"] == "pass" for name in ("single_feature_auc", "out_of_time_auc", "auc_gap"))
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
