"""What-if (R-V5): turn a knob on this week's snapshot and see the selection move."""

from __future__ import annotations

import json

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.whatif import Change, apply_changes, monotonicity, parse_change
from nba_toolkit.default_plugins.logistic_engine import LogisticEngine
from nba_toolkit.errors import UsageError
from nba_toolkit.jobs.run import run_week
from nba_toolkit.plugin.manager import load_plugins


def whatif(capsys, workspace, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["whatif", *args, "--workspace", str(workspace.root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_rising_fund_prices_select_more(sample_workspace, capsys):
    """The generator makes conversion rise with the fund index; the model learned it; more customers get mail."""
    code, up = whatif(capsys, sample_workspace, "--shift", "fund_change_4w=+5", "--shift", "fund_change_1w=+2")
    assert code == 0, up
    assert up["week"] == "2026-W47"
    assert up["selected"]["after"] > up["selected"]["before"] + 100
    assert up["mailed"]["after"] > up["mailed"]["before"]
    assert up["mean_score"]["after"] > up["mean_score"]["before"]
    assert len(up["entering"]) == up["selected"]["after"] - up["selected"]["before"]
    assert up["leaving"] == []
    assert all(c["score_after"] > c["score_before"] for c in up["entering"])

    # this week is close to the capacity of 2,000, so small steps show the rise best: each step selects more
    steps = [
        whatif(capsys, sample_workspace, "--shift", f"fund_change_4w=+{step}")[1]["selected"]["after"] for step in (0.25, 0.5, 1)
    ]
    assert up["selected"]["before"] < steps[0] < steps[1] < steps[2] <= sample_workspace.config.selection.capacity

    code, down = whatif(capsys, sample_workspace, "--shift", "fund_change_4w=-10", "--shift", "fund_change_1w=-5")
    assert code == 0
    assert down["selected"]["after"] < down["selected"]["before"]
    assert len(down["leaving"]) == down["selected"]["before"] - down["selected"]["after"]


def test_before_is_what_the_run_selects(sample_workspace, capsys):
    code, result = whatif(capsys, sample_workspace, "--set", "app_installed=1")
    assert code == 0
    run = run_week(sample_workspace, load_plugins(sample_workspace.plugin_folders(), entry_points_enabled=False))
    assert result["selected"]["before"] == run.counts["selected_mailed"] + run.counts["holdout"]
    assert result["mailed"]["before"] == run.counts["selected_mailed"] + run.counts["random_control"]
    assert result["eligible"] == sum(v for k, v in run.counts.items() if not k.startswith("excluded_"))


def test_the_monotonicity_report_of_the_default_engine(sample_workspace, capsys):
    code, result = whatif(capsys, sample_workspace, "--shift", "savings_balance=+10%")
    assert code == 0
    assert result["selected"]["after"] > result["selected"]["before"]
    rows = {r["feature"]: r for r in result["monotonicity"]}
    assert set(rows) == {
        "savings_balance",
        "current_balance",
        "n_accounts",
        "app_installed",
        "logins_per_month",
        "n_products",
        "fund_change_1w",
        "fund_change_4w",
    }
    assert rows["logins_per_month"]["label"] == "Logins per month" and rows["savings_balance"]["label"] == "Savings balance"
    for feature, row in rows.items():
        assert row["observed"] == "up", feature
        assert row["down"] == 0
        assert row["consistent"] and row["claim_source"] == "explanation"
        assert row["up"] + row["down"] + row["unchanged"] == result["eligible"]
    # engagement caps accounts at 4 and logins at 30: nudging them up does nothing for those already there
    assert rows["n_accounts"]["unchanged"] > 0
    assert rows["fund_change_4w"]["nudge"] == "+1"


def test_a_model_card_claim_the_scores_contradict_is_shown():
    class Claiming(LogisticEngine):
        def model_card(self):
            return {**super().model_card(), "expected_directions": {"savings_balance": "down"}}

    engine = Claiming()
    customers = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "savings_balance": [100.0, 5000.0, 20000.0],
            "current_balance": [10.0, 2000.0, -50.0],
            "n_accounts": [1, 2, 5],
            "app_installed": [False, True, True],
            "logins_per_month": [0, 10, 40],
            "n_products": [1, 2, 3],
            "age_band": ["18-24", "35-44", "65+"],
            "fund_change_1w": [0.5] * 3,
            "fund_change_4w": [2.0] * 3,
        }
    )
    labels = pl.Series([0, 1, 1, 0, 1, 0])
    training = pl.concat([customers, customers.with_columns(pl.col("customer_id") + 10)])
    model = engine.fit(engine.features(training.lazy()).collect(), labels.to_numpy(), seed=0)
    rows = {r["feature"]: r for r in monotonicity(customers, engine=engine, model=model).to_dicts()}
    assert rows["savings_balance"]["claim_source"] == "model card"
    assert rows["savings_balance"]["claimed"] == "down"
    assert rows["savings_balance"]["consistent"] is (rows["savings_balance"]["observed"] == "down")
    assert rows["n_products"]["claim_source"] == "explanation"


def test_changes_keep_types_and_whole_numbers():
    frame = pl.DataFrame({"n_products": [1, 2, 3], "savings_balance": [100.0, 0.0, 50.0], "age_band": ["18-24", "65+", "18-24"]})
    changed = apply_changes(
        frame, [Change("n_products", "scale", 1.5), Change("savings_balance", "shift", -10.0), Change("age_band", "set", "65+")]
    )
    assert changed.schema == frame.schema
    assert changed["n_products"].to_list() == [2, 3, 4]  # 1.5, 3.0, 4.5 rounded half to even
    assert changed["savings_balance"].to_list() == [90.0, -10.0, 40.0]
    assert changed["age_band"].to_list() == ["65+"] * 3
    with pytest.raises(UsageError, match="not a value of 'age_band'"):
        apply_changes(frame, [Change("age_band", "set", "35")])


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("gender=1", "set", "not a column the engine reads"),
        ("age_band=+1", "shift", "cannot be shifted"),
        ("savings_balance", "shift", "not a change"),
        ("savings_balance=a lot", "shift", "not a shift"),
        ("app_installed=maybe", "set", "not yes/no"),
        ("n_children=1.5", "set", "whole numbers"),
    ],
)
def test_bad_changes_are_usage_errors(text, kind, message):
    with pytest.raises(UsageError, match=message):
        # n_children: a whole-number column, as a rule plugin may read one
        parse_change(text, kind=kind, columns={**LogisticEngine().required_columns, "n_children": "int"})


def test_the_human_report(sample_workspace, capsys):
    capsys.readouterr()
    assert main(["whatif", "--shift", "fund_change_4w=+5", "--workspace", str(sample_workspace.root)]) == 0
    text = capsys.readouterr().out
    assert "What if fund_change_4w +5 in 2026-W47" in text
    assert "customers enter the selection" in text
    assert whatif(capsys, sample_workspace, "--shift", "gender=+1")[0] == 2
