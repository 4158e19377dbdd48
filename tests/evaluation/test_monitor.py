"""``nba-toolkit monitor`` on the sample's exported weeks: the estimate every week, the labelled AUC once known."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from conftest import EVALUATED_WEEKS, RECENT_WEEKS
from sklearn.metrics import roc_auc_score

from nba_toolkit.cli import main
from nba_toolkit.core.monitoring import expected_auc
from nba_toolkit.core.outcomes import with_conversions
from nba_toolkit.core.weeks import parse_week


def monitor(capsys: pytest.CaptureFixture[str], root, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["monitor", "--workspace", str(root), *extra])
    return code, capsys.readouterr().out


def test_monitor_lists_each_exported_week_against_the_models_validation(recorded, capsys):
    code, out = monitor(capsys, recorded.root, "--json")
    assert code == 0, out
    result = json.loads(out)
    weeks = {w["week"]: w for w in result["weeks"]}
    assert list(weeks) == [*EVALUATED_WEEKS, *RECENT_WEEKS]
    outcomes = pl.read_csv(recorded.outcomes_path, try_parse_dates=True).select(
        pl.col("RELATION_NO").cast(pl.String).alias("customer_id"),
        pl.col("OPENED_DATE").alias("opened_date"),
        pl.col("INVESTED_AMOUNT").cast(pl.Float64).alias("invested_amount"),
    )
    for week, figures in weeks.items():
        record = recorded.ledger.run(figures["run_id"])
        model = recorded.ledger.model(record.model_id)
        assert figures["validation_auc"] == model.metrics["out_of_time"]["auc_within_week"]
        scored = pl.read_parquet(recorded.root / record.selection_path).filter(pl.col("score").is_not_null())
        assert figures["scored"] == scored.height
        assert figures["estimated_auc"] == pytest.approx(expected_auc(scored["score"].to_numpy()))
        assert figures["outcomes_known"] == (week in EVALUATED_WEEKS)
        if week in RECENT_WEEKS:
            assert figures["labelled_auc"] is None
            continue
        labels = with_conversions(
            scored.select(pl.col("customer_id").cast(pl.String), "score").with_columns(
                pl.lit(parse_week(week)).alias("week_start")
            ),
            outcomes,
            window_weeks=4,
        )["converted"].to_numpy()
        labelled = figures["labelled_auc"]
        assert labelled["auc"] == pytest.approx(roc_auc_score(labels, scored["score"].to_numpy()))
        assert labelled["positives"] == int(labels.sum()) > 0
        assert labelled["low"] < labelled["auc"] < labelled["high"]
        assert figures["observed_rate"] == pytest.approx(float(np.mean(labels)))
    assert result["pooled"]["weeks_labelled"] == len(EVALUATED_WEEKS)
    # the estimate's reference: the mean estimate of the model's first four exported weeks, which have none
    ordered = list(weeks.values())
    reference = float(np.mean([w["estimated_auc"] for w in ordered[:4]]))
    assert [w["estimate_reference"] for w in ordered[:4]] == [None] * 4
    assert [w["estimate_reference"] for w in ordered[4:]] == pytest.approx([reference] * 3)
    # the sample's scores rank as validation said: nothing below the default band
    assert result["alerts"] == []

    code, text = monitor(capsys, recorded.root)
    assert code == 0
    assert "estimate" in text and "No week is below the band." in text
    assert "outcomes not known yet" in text


def test_a_band_of_zero_flags_every_week_below_its_reference(recorded, capsys):
    path = recorded.root / "nba.toml"
    text = path.read_text(encoding="utf-8")
    assert "[monitoring]" in text  # the sample's nba.toml writes the section with its defaults
    for key, value in (("estimate_drop", "0.05"), ("auc_drop", "0.05"), ("min_positives", "20")):
        assert f"{key} = {value}" in text
        text = text.replace(f"{key} = {value}", f"{key} = {'1' if key == 'min_positives' else '0.0'}")
    path.write_text(text, encoding="utf-8")
    code, out = monitor(capsys, recorded.root, "--json")
    assert code == 0, out
    result = json.loads(out)
    flagged = {(a["week"], a["kind"]) for a in result["alerts"]}
    assert flagged, "with no room below the references, some week of the sample falls below one"
    for w in result["weeks"]:
        reference = w["estimate_reference"]
        assert ((w["week"], "estimate") in flagged) == (reference is not None and w["estimated_auc"] < reference)
        if w["labelled_auc"]:
            assert ((w["week"], "labelled") in flagged) == (w["labelled_auc"]["high"] < w["validation_auc"])


def test_monitor_without_exported_runs_says_so(sample_workspace, capsys):
    code = main(["monitor", "--workspace", str(sample_workspace.root)])
    assert code == 2
    assert "no exported runs to monitor" in capsys.readouterr().err
