"""The backtest (R-V4): replaying the history week by week, reproducing recorded runs, two configurations side by side."""

from __future__ import annotations

import json
import threading

import polars as pl
import pytest
from conftest import RECENT_WEEKS

from nba_toolkit.cli import main
from nba_toolkit.core.backtest import BacktestCancelled, run_backtest
from nba_toolkit.core.decision import CONTACT_SCHEMA
from nba_toolkit.core.selection import Policy
from nba_toolkit.jobs.backtest import backtest_workspace
from nba_toolkit.plugin.manager import load_plugins

CRASH_WEEKS = ("2026-W10", "2026-W11", "2026-W12", "2026-W13")


def cli(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_replay_reproduces_the_recorded_runs(recorded, capsys):
    """Same configuration, model, salt and contact history: the same selection, customer for customer."""
    code, result = cli(capsys, "simulate", "--from", "2026-W44", "--workspace", str(recorded.root))
    assert code == 0, result
    weeks = {w["week"]: w for w in result["configurations"][0]["weeks"]}
    assert list(weeks) == list(RECENT_WEEKS)  # W44-W46 from the history, W47 from data/snapshots
    for row in result["recorded_runs"]:
        assert row["week"] in RECENT_WEEKS
        assert row["differing_customers"] == 0, row
        assert row["same_counts"] and row["same_contact_history"]
        counts = recorded.ledger.run(row["run_id"]).counts
        replayed = weeks[row["week"]]
        assert {reason: replayed[reason] for reason in counts} == counts
        assert replayed["mailed"] == row["recorded_mailed"] == recorded.ledger.run(row["run_id"]).export_rows
    assert [r["week"] for r in result["recorded_runs"]] == list(RECENT_WEEKS)


def test_a_replay_that_starts_earlier_carries_its_own_contact_history(recorded, capsys):
    code, result = cli(capsys, "simulate", "--from", "2026-W40", "--workspace", str(recorded.root))
    assert code == 0, result
    w44 = next(r for r in result["recorded_runs"] if r["week"] == "2026-W44")
    # the previous engine mailed in W40-W43 (imported contacts); the replay mailed its own choice in those weeks
    assert not w44["same_contact_history"]
    assert w44["differing_customers"] > 0


def test_the_whole_history_flags_the_crash(sample_workspace, capsys):
    code, result = cli(capsys, "simulate", "--workspace", str(sample_workspace.root))
    assert code == 0, result
    config = result["configurations"][0]
    weeks = config["weeks"]
    assert len(weeks) == 78 and weeks[0]["week"] == "2025-W22" and weeks[-1]["week"] == "2026-W47"
    flagged = {w["week"]: w["flags"] for w in weeks if w["flags"]}
    for week in CRASH_WEEKS:
        assert "market" in flagged[week], week
    low, high = config["market_band"]["fund_change_4w"]
    assert low < 0 < high
    assert all(low <= w["fund_change_4w"] <= high for w in weeks if "market" not in w["flags"])
    crash = [w["selected"] for w in weeks if w["week"] in CRASH_WEEKS]
    normal = sorted(w["selected"] for w in weeks if not w["flags"])
    assert max(crash) < normal[len(normal) // 2] / 5, "in a crash the engine selects almost nobody"
    for w in weeks:
        assert w["selected"] == w["selected_mailed"] + w["holdout"] <= sample_workspace.config.selection.capacity
        assert w["mailed"] == w["selected_mailed"] + w["random_control"]
        counted = sum(
            v
            for k, v in w.items()
            if k in ("selected_mailed", "holdout", "random_control", "below_threshold", "over_capacity")
            or k.startswith("excluded_")
        )
        assert counted == 20_000
    totals = config["totals"]
    assert totals["mailed"] == sum(w["mailed"] for w in weeks)
    assert set(totals["flagged_weeks"]) == set(flagged)
    assert result["recorded_runs"] == []
    assert config["evaluation"]["pooled"]["runs"], "the history's outcomes give realised conversions"
    assert any("zero by construction" in note for note in result["notes"])


def test_nobody_is_mailed_twice_within_the_cooldown(sample_workspace):
    registry = load_plugins(sample_workspace.plugin_folders(), entry_points_enabled=False)
    report = backtest_workspace(sample_workspace, registry, from_week="2026-W30", to_week="2026-W40")
    mailed = report.results[0].backtest.selections.filter(pl.col("reason").is_in(["selected_mailed", "random_control"]))
    gaps = (
        mailed.sort("week_start")
        .with_columns(pl.col("week_start").diff().over("customer_id").alias("gap"))
        .filter(pl.col("gap").is_not_null())
    )
    assert gaps.height > 0
    assert gaps["gap"].min().days > 7 * sample_workspace.config.selection.cooldown_weeks
    holdout = report.results[0].backtest.selections.filter(pl.col("reason") == "holdout")["customer_id"].unique()
    model = report.results[0].backtest.selections.filter(pl.col("reason") == "selected_mailed")["customer_id"].unique()
    assert not set(holdout.to_list()) & set(model.to_list()), "holdout membership persists from week to week"


def test_two_configurations_side_by_side(sample_workspace, capsys, tmp_path):
    code, result = cli(
        capsys,
        "simulate",
        "--from",
        "2026-W20",
        "--to",
        "2026-W30",
        "--compare",
        "selection.capacity=300",
        "--workspace",
        str(sample_workspace.root),
    )
    assert code == 0, result
    first, second = result["configurations"]
    assert second["changes"] == {"selection.capacity": 300}
    assert second["policy"]["capacity"] == 300 and first["policy"]["capacity"] == 2000
    assert all(w["selected"] <= 300 for w in second["weeks"])
    assert sum(w["selected"] for w in second["weeks"]) < sum(w["selected"] for w in first["weeks"])
    assert [c["week"] for c in result["comparison"]] == [w["week"] for w in first["weeks"]]
    for row, a, b in zip(result["comparison"], first["weeks"], second["weeks"]):
        assert row["mailed_difference"] == b["mailed"] - a["mailed"]

    other = tmp_path / "other.toml"
    other.write_text(sample_workspace.config_path.read_text().replace("threshold = 0.015", "threshold = 0.03"))
    code, result = cli(
        capsys,
        "simulate",
        "--from",
        "2026-W20",
        "--to",
        "2026-W22",
        "--config",
        str(other),
        "--workspace",
        str(sample_workspace.root),
    )
    assert code == 0, result
    assert result["configurations"][1]["label"] == "other.toml"
    assert result["configurations"][1]["policy"]["threshold"] == 0.03


def test_set_changes_the_first_configuration_and_bad_settings_are_refused(sample_workspace, capsys):
    code, result = cli(
        capsys,
        "simulate",
        "--from",
        "2026-W20",
        "--to",
        "2026-W21",
        "--set",
        "selection.threshold=0.9",
        "--workspace",
        str(sample_workspace.root),
    )
    assert code == 0
    assert all(w["selected"] == 0 for w in result["configurations"][0]["weeks"])
    assert cli(capsys, "simulate", "--compare", "capacity=3", "--workspace", str(sample_workspace.root))[0] == 2
    assert cli(capsys, "simulate", "--compare", "selection.capacty=3", "--workspace", str(sample_workspace.root))[0] == 4
    assert cli(capsys, "simulate", "--from", "2030-W01", "--workspace", str(sample_workspace.root))[0] == 2


def test_retraining_once_fits_on_the_weeks_before(sample_workspace, capsys):
    code, result = cli(
        capsys,
        "simulate",
        "--from",
        "2026-W30",
        "--to",
        "2026-W32",
        "--retrain",
        "once",
        "--workspace",
        str(sample_workspace.root),
    )
    assert code == 0, result
    labels = {w["model"] for w in result["configurations"][0]["weeks"]}
    assert labels == {"fitted on 2025-W22 to 2026-W26"}  # the last week whose 4-week window closed before W30
    code, result = cli(capsys, "simulate", "--from", "2025-W24", "--retrain", "once", "--workspace", str(sample_workspace.root))
    assert code == 2 and "retraining needs 8" in result["error"]


def test_a_backtest_can_be_cancelled(sample_workspace):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BacktestCancelled):
        run_backtest(
            [("2026-W47", pl.DataFrame())],
            label="x",
            engine=None,
            model_for=lambda monday: (None, ""),
            policy=Policy.from_config(sample_workspace.config),
            volume_band=(0, 10),
            initial_contacts=pl.DataFrame(schema=CONTACT_SCHEMA),
            cancel=cancel,
        )


def test_the_human_report(recorded, capsys):
    capsys.readouterr()
    assert main(["simulate", "--from", "2026-W44", "--workspace", str(recorded.root)]) == 0
    text = capsys.readouterr().out
    assert "Recorded run 2026-W47.1" in text and "the same selection" in text


def test_the_command_is_simulate_with_no_old_name_left():
    from nba_toolkit.cli.app import build_parser

    commands = next(a for a in build_parser()._actions if a.choices and "evaluate" in a.choices).choices
    assert "simulate" in commands and "backtest" not in commands
