"""On the sample data, whose generator knows the true uplift, the evaluation recovers it within its 95% interval."""

from __future__ import annotations

import json

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.evaluation import evaluate_runs
from nba_toolkit.core.outcomes import validated_outcomes
from nba_toolkit.paths import sample_data_dir

SAMPLE = sample_data_dir()
TRUTH = json.loads((SAMPLE / "ground_truth.json").read_text())["past_mailings"]


def from_csv(capsys, treatment: str, control: str) -> dict:
    capsys.readouterr()
    code = main(
        [
            "evaluate",
            "--from-csv",
            str(SAMPLE / "past_mailings.csv"),
            "--group-col",
            "GROUP",
            "--treatment",
            treatment,
            "--control",
            control,
            "--outcome",
            "CONVERTED_4W",
            "--value",
            "INVESTED_4W",
            "--json",
        ]
    )
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_the_model_s_mailing_against_the_holdout(capsys):
    result = from_csv(capsys, "model", "holdout")
    uplift = result["uplift"]
    truth = TRUTH["model_vs_holdout"]
    assert uplift["estimate"] == pytest.approx(truth["observed_uplift"], abs=1e-6)
    assert uplift["ci_low"] < truth["true_uplift"] < uplift["ci_high"]
    assert uplift["ci_low"] > 0, "the sample's mailing effect is large enough to show"
    assert result["treatment"]["n"] == TRUTH["model"]["n"]
    assert result["control"]["n"] == TRUTH["holdout"]["n"]
    assert result["treatment"]["value_per_head"] == pytest.approx(TRUTH["model"]["observed_invested_per_row"], abs=0.01)
    assert result["ignored_rows"] == TRUTH["random_control"]["n"] + TRUTH["eligible_not_selected"]["n"]


def test_mailing_at_random_against_the_eligible_not_selected(capsys):
    uplift = from_csv(capsys, "random_control", "eligible_not_selected")["uplift"]
    truth = TRUTH["random_control_vs_eligible_not_selected"]
    assert uplift["estimate"] == pytest.approx(truth["observed_uplift"], abs=1e-6)
    assert uplift["ci_low"] < truth["true_uplift"] < uplift["ci_high"]


def test_the_run_evaluation_recovers_it_from_the_past_mailings_as_weekly_runs():
    """The pooled estimator of `evaluate` (per run, weighted by assignment probabilities, clustered by customer),
    fed the previous engine's 66 weekly mailings as runs, with each week's probabilities as that engine drew them."""
    mailings = pl.read_csv(SAMPLE / "past_mailings.csv", try_parse_dates=True)
    sizes = mailings.group_by("WEEK").agg(
        (pl.col("GROUP") == "random_control").sum().alias("random"),
        (pl.col("GROUP") == "eligible_not_selected").sum().alias("logged"),
    )
    share = json.loads((SAMPLE / "ground_truth.json").read_text())["past_mailings"]["rules"]
    reasons = {
        "model": "selected_mailed",
        "holdout": "holdout",
        "random_control": "random_control",
        "eligible_not_selected": "below_threshold",
    }
    selections = mailings.join(sizes, on="WEEK").select(
        pl.col("WEEK").alias("run_id"),
        pl.col("WEEK").alias("week"),
        pl.col("SNAPSHOT_DATE").alias("week_start"),
        pl.col("RELATION_NO").cast(pl.String).alias("customer_id"),
        pl.col("GROUP").replace_strict(reasons).alias("reason"),
        pl.when(pl.col("GROUP").is_in(["model", "holdout"])).then(0.10).alias("p_holdout"),
        # the random control was drawn from all eligible non-selected; the rest were logged as a 2% sample
        pl.when(pl.col("GROUP").is_in(["random_control", "eligible_not_selected"]))
        .then(pl.col("random") / (pl.col("random") + pl.col("logged") / share["eligible_not_selected_sample_share"]))
        .alias("p_random_control"),
    )
    raw = pl.read_csv(SAMPLE / "outcomes.csv", try_parse_dates=True)
    outcomes = validated_outcomes(
        raw.rename({"RELATION_NO": "customer_id", "OPENED_DATE": "opened_date", "INVESTED_AMOUNT": "invested_amount"}),
        file="outcomes.csv",
        names={},
    )
    evaluation = evaluate_runs(selections, outcomes, window_weeks=4, known_until=outcomes["opened_date"].max())
    assert len(evaluation.pooled_runs) == 66
    assert evaluation.groups["mailed_by_model"].conversions == round(
        TRUTH["model"]["observed_conversion_rate"] * TRUTH["model"]["n"]
    )
    model = evaluation.arms["model"].uplift
    assert model.ci_low < TRUTH["model_vs_holdout"]["true_uplift"] < model.ci_high
    random = evaluation.arms["random"].uplift
    assert random.ci_low < TRUTH["random_control_vs_eligible_not_selected"]["true_uplift"] < random.ci_high
    incremental = evaluation.arms["model"].incremental_conversions
    true_extra = TRUTH["model_vs_holdout"]["true_uplift"] * TRUTH["model"]["n"]
    assert incremental.ci_low < true_extra < incremental.ci_high


def test_the_previous_engine_s_holdout_share_is_plausible():
    """Its cooldown covered the holdout: 10.6% held out against 10% drawn is the normal drift, not a warning."""
    from nba_toolkit.core.evaluation import holdout_share

    mailings = pl.read_csv(SAMPLE / "past_mailings.csv").filter(pl.col("GROUP").is_in(["model", "holdout"]))
    share = holdout_share(
        mailings.select(
            pl.col("GROUP").replace_strict({"model": "mailed_by_model", "holdout": "holdout"}).alias("group"),
            pl.lit(0.10).alias("p_holdout"),
        )
    )
    assert share.held_out == TRUTH["holdout"]["n"]
    assert share.share == pytest.approx(0.1065, abs=1e-4)
    assert share.z > 3.29, "significant with 72,000 selected..."
    assert share.plausible, "...but well within half of the expected share"
