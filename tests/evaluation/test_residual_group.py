"""The residual group (R-V3): eligible customers the last runs never selected, their profile, what holds them down."""

from __future__ import annotations

import json

import polars as pl

from nba_toolkit.cli import main


def residual(capsys, workspace, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["residual", *args, "--workspace", str(workspace.root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def selections(workspace, weeks: list[str]) -> pl.DataFrame:
    frames = []
    for week in weeks:
        run = workspace.ledger.run(workspace.ledger.exported_run_for_week(week))
        frames.append(pl.read_parquet(workspace.root / run.selection_path).with_columns(pl.lit(week).alias("week")))
    return pl.concat(frames)


def test_who_the_last_runs_never_selected(recorded, capsys):
    code, result = residual(capsys, recorded, "--weeks", "4", "--list")
    assert code == 0, result
    assert result["runs"] == ["2026-W44.1", "2026-W45.1", "2026-W46.1", "2026-W47.1"]
    frame = selections(recorded, ["2026-W44", "2026-W45", "2026-W46", "2026-W47"])
    latest = frame.filter(pl.col("week") == "2026-W47")
    eligible = set(latest.filter(pl.col("exclusion").is_null())["customer_id"].cast(pl.String).to_list())
    chosen = set(frame.filter(pl.col("reason").is_in(["selected_mailed", "holdout"]))["customer_id"].cast(pl.String).to_list())
    assert set(map(str, result["customers"])) == eligible - chosen
    assert result["eligible_in_latest_run"] == len(eligible)
    assert result["residual"] == len(eligible - chosen)
    assert result["share"] == result["residual"] / len(eligible)
    assert result["residual_median_score"] < result["selected_median_score"]


def test_the_profile_and_what_holds_scores_down(recorded, capsys):
    code, result = residual(capsys, recorded, "--weeks", "4")
    assert code == 0
    assert "customers" not in result
    profile = result["profile"]
    differences = [abs(row["difference"]) for row in profile]
    assert differences == sorted(differences, reverse=True)
    rows = {row["feature"]: row for row in profile}
    assert rows["savings_balance"]["statistic"] == "median"
    assert rows["savings_balance"]["residual"] < rows["savings_balance"]["selected"]
    assert rows["app_installed"]["statistic"] == "share"
    assert "age_band = 45-54" in rows
    # the operator reads each row in words: the declared label, else the column's name in words
    assert rows["savings_balance"]["label"] == "Savings balance"
    assert rows["age_band = 45-54"]["label"] == "Age band = 45-54"
    assert rows["n_accounts"]["label"] == "Number of accounts"
    capsys.readouterr()
    assert main(["residual", "--workspace", str(recorded.root), "--weeks", "4"]) == 0
    shown = capsys.readouterr().out
    assert "Number of accounts" in shown and "n_accounts" not in shown
    assert "fund_change_4w" not in rows, "the same for everyone in a week: no difference to show"
    down = result["holding_scores_down"]
    assert {row["feature"] for row in down} == {
        "savings_balance",
        "current_balance",
        "engagement",
        "products_held",
        "age_band",
        "fund_change_1w",
        "fund_change_4w",
    }
    gaps = [row["gap"] for row in down]
    assert gaps == sorted(gaps)
    # the generator's strongest customer effect is savings; it is what holds the residual group down most
    assert down[0]["feature"] == "savings_balance" and down[0]["gap"] < 0
    assert down[0]["label"] == "Savings balance"


def test_the_human_report(recorded, capsys):
    capsys.readouterr()
    assert main(["residual", "--workspace", str(recorded.root)]) == 0
    text = capsys.readouterr().out
    assert "were never selected" in text and "What holds their scores down" in text


def test_without_exported_runs(sample_workspace, capsys):
    code, result = residual(capsys, sample_workspace)
    assert code == 2 and "no exported runs" in result["error"]


def test_a_changed_snapshot_is_refused(recorded, capsys):
    snapshot = recorded.snapshots_dir / "2026-W47.csv"
    with recorded.ledger.transaction() as db:  # the run records an absolute path: point it at this copy
        db.execute("UPDATE runs SET snapshot_path = ? WHERE week = '2026-W47'", (str(snapshot),))
    snapshot.write_bytes(snapshot.read_bytes() + b"\r\n")
    code, result = residual(capsys, recorded)
    assert code == 4 and "changed after the run" in result["error"]
    assert residual(capsys, recorded, "--weeks", "0")[0] == 2
