"""Evaluation of the toolkit's own exported runs (R-V1), through the command line and the core."""

from __future__ import annotations

import json

import polars as pl
import pytest
from conftest import EVALUATED_WEEKS, RECENT_WEEKS

from nba_toolkit.cli import main
from nba_toolkit.core.outcomes import with_conversions
from nba_toolkit.core.uplift import newcombe_difference
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.jobs.evaluate import evaluate_workspace


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_runs_with_a_closed_window_are_evaluated_and_pooled(recorded, capsys):
    code, result = cli(capsys, "evaluate", "--workspace", str(recorded.root))
    assert code == 0, result
    runs = {r["week"]: r for r in result["runs"]}
    assert set(runs) == {*EVALUATED_WEEKS, *RECENT_WEEKS}
    assert result["open_runs"] == [runs[w]["run_id"] for w in RECENT_WEEKS]
    assert result["pooled"]["runs"] == [runs[w]["run_id"] for w in EVALUATED_WEEKS]
    assert result["outcomes_known_until"] == "2026-11-15"

    outcomes = pl.read_csv(recorded.outcomes_path, try_parse_dates=True).select(
        pl.col("RELATION_NO").cast(pl.String).alias("customer_id"),
        pl.col("OPENED_DATE").alias("opened_date"),
        pl.col("INVESTED_AMOUNT").cast(pl.Float64).alias("invested_amount"),
    )
    for week in EVALUATED_WEEKS:
        run = runs[week]
        record = recorded.ledger.run(run["run_id"])
        selection = pl.read_parquet(recorded.root / record.selection_path)
        counted = with_conversions(
            selection.select(pl.col("customer_id").cast(pl.String), "reason").with_columns(
                pl.lit(parse_week(week)).alias("week_start")
            ),
            outcomes,
            window_weeks=4,
        )
        per_reason = {
            r: (n, c, v)
            for r, n, c, v in counted.group_by("reason")
            .agg(pl.len(), pl.col("converted").sum(), pl.col("invested").sum())
            .iter_rows()
        }
        groups = run["groups"]
        assert groups["mailed_by_model"]["n"] == record.counts["selected_mailed"] == per_reason["selected_mailed"][0]
        assert groups["holdout"]["n"] == record.counts["holdout"]
        assert groups["random_control"]["n"] == record.counts["random_control"]
        assert groups["eligible_not_selected"]["n"] == record.counts["below_threshold"] + record.counts["over_capacity"]
        assert groups["mailed_by_model"]["conversions"] == per_reason["selected_mailed"][1]
        assert groups["holdout"]["conversions"] == per_reason.get("holdout", (0, 0, 0))[1]
        assert groups["mailed_by_model"]["value_per_head"] == pytest.approx(
            per_reason["selected_mailed"][2] / per_reason["selected_mailed"][0]
        )
        assert run["contacted"] == record.export_rows
        if groups["holdout"]["n"] == 0:
            # a week whose few selected all fell outside the holdout: no comparison can be made, and none is claimed
            assert run["model_uplift"]["uplift"]["estimate"] is None
            continue
        expected = newcombe_difference(
            groups["mailed_by_model"]["conversions"],
            groups["mailed_by_model"]["n"],
            groups["holdout"]["conversions"],
            groups["holdout"]["n"],
        )
        uplift = run["model_uplift"]["uplift"]
        assert (uplift["estimate"], uplift["ci_low"], uplift["ci_high"]) == pytest.approx(
            (expected.estimate, expected.ci_low, expected.ci_high)
        )
        assert run["model_uplift"]["incremental_conversions"]["estimate"] == pytest.approx(
            expected.estimate * groups["mailed_by_model"]["n"]
        )

    pooled = result["pooled"]
    for group in ("mailed_by_model", "holdout", "random_control", "eligible_not_selected"):
        assert pooled["groups"][group]["n"] == sum(runs[w]["groups"][group]["n"] for w in EVALUATED_WEEKS)
        assert pooled["groups"][group]["conversions"] == sum(runs[w]["groups"][group]["conversions"] for w in EVALUATED_WEEKS)
    assert pooled["contacted"] == sum(runs[w]["contacted"] for w in EVALUATED_WEEKS)
    for arm in ("model_uplift", "random_uplift"):
        for key in ("uplift", "value_uplift", "incremental_conversions", "incremental_value"):
            interval = pooled[arm][key]
            assert interval["ci_low"] <= interval["estimate"] <= interval["ci_high"]
    # pooled with equal assignment probabilities in every run: between the smallest and largest run's uplift
    per_run = [
        runs[w]["model_uplift"]["uplift"]["estimate"]
        for w in EVALUATED_WEEKS
        if runs[w]["model_uplift"]["uplift"]["estimate"] is not None
    ]
    assert min(per_run) <= pooled["model_uplift"]["uplift"]["estimate"] <= max(per_run)
    held = pooled["holdout_share"]
    assert held["held_out"] == pooled["groups"]["holdout"]["n"]
    assert held["selected"] == pooled["groups"]["holdout"]["n"] + pooled["groups"]["mailed_by_model"]["n"]
    assert held["expected_share"] == pytest.approx(0.10)
    planner = result["planner"]
    assert planner["weeks_evaluated"] == 3
    assert planner["holdout_share"] == pytest.approx(0.10)
    assert planner["selected_per_week"] == pytest.approx(
        (pooled["groups"]["mailed_by_model"]["n"] + pooled["groups"]["holdout"]["n"]) / 3
    )


def test_the_per_run_frame_for_plots(recorded):
    evaluation = evaluate_workspace(recorded).evaluation
    frame = evaluation.runs_frame()
    assert frame["week"].to_list() == [*EVALUATED_WEEKS, *RECENT_WEEKS]
    assert frame["complete"].to_list() == [True] * 3 + [False] * 4
    first = evaluation.runs[0].arms["model"].uplift
    assert frame.row(0, named=True)["model_ci_low"] == first.ci_low
    assert {"mailed_by_model_n", "holdout_rate", "random_uplift", "random_ci_high"} <= set(frame.columns)


def test_from_and_to_select_weeks_and_the_window_can_change(recorded, capsys):
    code, result = cli(
        capsys, "evaluate", "--from", "2026-W37", "--to", "2026-W44", "--window-weeks", "2", "--workspace", str(recorded.root)
    )
    assert code == 0, result
    assert [r["week"] for r in result["runs"]] == ["2026-W37", "2026-W38", "2026-W44"]
    assert result["window_weeks"] == 2
    assert len(result["pooled"]["runs"]) == 3  # W44's 2-week window closed on 2026-11-08


def test_customers_the_operator_excluded_are_left_out(recorded, capsys):
    run_id = recorded.ledger.exported_run_for_week("2026-W36")
    selection = pl.read_parquet(recorded.root / recorded.ledger.run(run_id).selection_path)
    chosen = selection.filter(pl.col("reason") == "selected_mailed")["customer_id"].head(3).cast(pl.String).to_list()
    with recorded.ledger.transaction() as db:  # as review would have recorded them before the export
        db.executemany(
            "INSERT INTO overrides (run_id, customer_id, action, reason, made_by, made_at)"
            " VALUES (?, ?, 'exclude', 'test', 'x', 'now')",
            [(run_id, c) for c in chosen],
        )
    code, result = cli(capsys, "evaluate", "--to", "2026-W36", "--workspace", str(recorded.root))
    assert code == 0, result
    assert result["excluded_by_operator"] == {run_id: 3}
    assert result["runs"][0]["groups"]["mailed_by_model"]["n"] == recorded.ledger.run(run_id).counts["selected_mailed"] - 3


def test_imported_outcomes_are_used_once_there_are_any(recorded, capsys, tmp_path):
    partial = tmp_path / "outcomes.csv"
    pl.read_csv(recorded.outcomes_path).filter(pl.col("OPENED_DATE") < "2026-09-15").write_csv(partial)
    assert cli(capsys, "outcomes", "import", str(partial), "--workspace", str(recorded.root))[0] == 0
    code, result = cli(capsys, "evaluate", "--workspace", str(recorded.root))
    assert code == 0
    assert result["outcomes"] == "imported outcomes (ledger)"
    assert result["outcomes_known_until"] < "2026-09-15"
    assert result["pooled"]["runs"] == []  # no window closed within what the imported outcomes cover
    assert result["planner"] is None


def test_a_changed_selection_file_is_refused(recorded, capsys):
    run = recorded.ledger.run(recorded.ledger.exported_run_for_week("2026-W37"))
    path = recorded.root / run.selection_path
    pl.read_parquet(path).with_columns(pl.lit("holdout").alias("reason")).write_parquet(path)
    code, result = cli(capsys, "evaluate", "--workspace", str(recorded.root))
    assert code == 1
    assert "was changed after the run" in result["error"]


def test_no_exported_runs_is_a_usage_error(sample_workspace, capsys):
    code, result = cli(capsys, "evaluate", "--workspace", str(sample_workspace.root))
    assert code == 2
    assert "no exported runs" in result["error"]


def test_the_human_summary_reads(recorded, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--workspace", str(recorded.root)]) == 0
    text = capsys.readouterr().out
    assert "The model's mailing changed conversion by" in text
    assert "95% interval" in text
    assert "Planner:" in text
