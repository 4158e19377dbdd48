"""`changes`: what changed since last week, from the two runs' recorded selections, configurations and snapshots."""

from __future__ import annotations

import json
from collections import Counter

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def run_week(ws: Workspace, capsys: pytest.CaptureFixture[str], week: str) -> tuple[str, pl.DataFrame]:
    code, out = cli(capsys, "run", "--week", week, "--workspace", str(ws.root), "--json")
    assert code == 0, out
    run_id = json.loads(out)["run_id"]
    selection = pl.read_parquet(ws.run_dir(run_id) / "selection.parquet").with_columns(pl.col("customer_id").cast(pl.String))
    return run_id, selection


def snapshot_column(ws: Workspace, week: str, column: str) -> pl.Series:
    frame = pl.read_csv(ws.snapshots_dir / f"{week}.csv", separator=";", encoding="cp1252", columns=[column])
    return frame[column]


def savings_median(ws: Workspace) -> float:
    balances = snapshot_column(ws, "2026-W47", "SAVINGS_BAL").str.replace(",", ".").cast(pl.Float64)
    return balances.median()


@pytest.fixture
def two_weeks(sample_workspace: Workspace, later_week, capsys: pytest.CaptureFixture[str]):
    """W47 exported with one selected customer kept out by the operator; W48 with a lower capacity, a higher
    threshold and fund prices up one point more over the week, awaiting review."""
    ws = sample_workspace
    first, w47 = run_week(ws, capsys, "2026-W47")
    kept_out = w47.filter(pl.col("reason") == "selected_mailed").sort("rank")["customer_id"][0]
    assert main(["exclude", first, kept_out, "--reason", "asked for no mail", "--workspace", str(ws.root)]) == 0
    assert main(["export", first, "--workspace", str(ws.root)]) == 0
    path = later_week(ws, "2026-W48", "2026-11-23")
    path.write_bytes(path.read_bytes().replace(b";0,16;2,69", b";1,16;2,69"))
    config = ws.root / "nba.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("capacity = 2000 ", "capacity = 1500 ").replace("threshold = 0.015", "threshold = 0.02"))
    second, w48 = run_week(ws, capsys, "2026-W48")
    return ws, (first, w47), (second, w48), kept_out


def test_the_newest_week_against_the_one_before_counts_who_entered_and_left_and_why(
    two_weeks, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, (first, w47), (second, w48), kept_out = two_weeks
    mailed_before = set(w47.filter(pl.col("mailed"))["customer_id"]) - {kept_out}
    mailed_now = set(w48.filter(pl.col("mailed"))["customer_id"])
    reason_before = dict(w47.select("customer_id", "reason").iter_rows())
    reason_now = dict(w48.select("customer_id", "reason").iter_rows())
    reason_before[kept_out] = "excluded_by_operator"

    code, out = cli(capsys, "changes", "--read-only", "--workspace", str(ws.root), "--json")

    assert code == 0, out
    changes = json.loads(out)
    assert (changes["run_id"], changes["against"]) == (second, first)
    assert changes["rows_in"] == [w47.height, w48.height] == [20_000, 20_000]
    assert changes["in_mail_file"] == [len(mailed_before), len(mailed_now)]
    assert (changes["entered"], changes["left"]) == (len(mailed_now - mailed_before), len(mailed_before - mailed_now))
    assert changes["left_because"] == {"excluded_cooldown": len(mailed_before)}, "everyone mailed last week is in cooldown"
    assert changes["entered_from"] == dict(Counter(reason_before[c] for c in mailed_now - mailed_before))
    assert changes["left_because"] == dict(Counter(reason_now[c] for c in mailed_before - mailed_now))
    assert changes["entered_ids"] == [] == changes["left_ids"], "relation numbers only when asked for"
    settings = {s["name"]: (s["before"], s["after"]) for s in changes["settings"]}
    assert settings == {
        "capacity this week": (2000, 1500),
        "selection.capacity": (2000, 1500),
        "selection.threshold": (0.015, 0.02),
    }


def test_each_feature_shows_how_its_distribution_moved(two_weeks, capsys: pytest.CaptureFixture[str]) -> None:
    ws = two_weeks[0]
    products = snapshot_column(ws, "2026-W47", "NUM_PRODUCTS").cast(pl.Float64)
    ages = snapshot_column(ws, "2026-W47", "AGE_BAND").value_counts(normalize=True)

    code, out = cli(capsys, "changes", "--workspace", str(ws.root), "--json")

    assert code == 0, out
    features = {f["feature"]: f for f in json.loads(out)["features"]}
    fund = features["Fund prices, change over 1 week (%)"]
    assert (fund["before"]["mean"], fund["after"]["mean"]) == pytest.approx((0.16, 1.16))
    held = features["Products held"]
    assert held["before"] == held["after"] == {"mean": pytest.approx(products.mean()), "median": products.median()}
    savings = features["Savings balance"]
    assert savings["before"]["median"] == pytest.approx(savings_median(ws)), "in euros, as the customer panel shows it"
    age = features["Age band"]
    assert age["kind"] == "category"
    assert age["before"] == age["after"] == pytest.approx(dict(ages.iter_rows()))

    code, text = cli(capsys, "changes", "--workspace", str(ws.root))
    assert code == 0
    assert "Fund prices, change over 1 week (%): mean 0.16 → 1.16, median 0.16 → 1.16" in text
    assert "selection.threshold: 0.015 → 0.02" in text
    assert "contacted within the cooldown" in text


def test_list_names_who_entered_and_left(two_weeks, capsys: pytest.CaptureFixture[str]) -> None:
    ws, (first, w47), (second, w48), kept_out = two_weeks
    mailed_before = set(w47.filter(pl.col("mailed"))["customer_id"]) - {kept_out}
    mailed_now = set(w48.filter(pl.col("mailed"))["customer_id"])

    code, out = cli(capsys, "changes", second, "--against", first, "--list", "--workspace", str(ws.root), "--json")

    assert code == 0, out
    changes = json.loads(out)
    assert changes["entered_ids"] == sorted(mailed_now - mailed_before)
    assert changes["left_ids"] == sorted(mailed_before - mailed_now)


def test_a_first_week_has_nothing_to_compare_with_and_an_unknown_run_is_named(
    two_weeks, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, (first, _), _, _ = two_weeks
    code, out = cli(capsys, "changes", first, "--workspace", str(ws.root), "--json")
    assert code == 2 and "no accepted weekly run before 2026-W47" in json.loads(out)["error"]
    code, out = cli(capsys, "changes", "2026-W12.9", "--workspace", str(ws.root), "--json")
    assert code == 2 and "2026-W12.9" in json.loads(out)["error"]


def test_a_snapshot_that_is_gone_leaves_the_features_uncompared_and_the_rest_shown(
    two_weeks, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, _, (second, _), _ = two_weeks
    (ws.run_dir(second) / "inputs.parquet").unlink()
    (ws.snapshots_dir / "2026-W48.csv").unlink()

    code, out = cli(capsys, "changes", "--workspace", str(ws.root), "--json")

    assert code == 0, out
    changes = json.loads(out)
    assert changes["features"] == [] and "is no longer at" in changes["features_problem"]
    assert changes["left_because"] == {"excluded_cooldown": changes["in_mail_file"][0]}
