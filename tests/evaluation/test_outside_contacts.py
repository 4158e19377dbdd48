"""`evaluate` and contacts made outside the toolkit: counted per group, left in their groups."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.weeks import parse_week

WEEK = "2026-W36"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_customers_mailed_by_another_campaign_in_their_window_are_counted_and_stay_in_their_groups(
    recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, before = cli(capsys, "evaluate", "--workspace", str(recorded.root))
    assert code == 0, before
    run_id = next(r["run_id"] for r in before["runs"] if r["week"] == WEEK)
    selection = pl.read_parquet(recorded.run_dir(run_id) / "selection.parquet").with_columns(
        pl.col("customer_id").cast(pl.String)
    )
    monday = parse_week(WEEK)
    # customers of this run with no other outside contact in the window, so each one adds exactly one
    already = {cid for cid, _ in recorded.ledger.outside_contacts()}
    fresh = selection.filter(~pl.col("customer_id").is_in(list(already))).sort("customer_id")
    held_out = fresh.filter(pl.col("reason") == "holdout")["customer_id"][:2].to_list()
    passed_over = fresh.filter(pl.col("reason") == "below_threshold")["customer_id"][:3].to_list()
    late = fresh.filter(pl.col("reason") == "below_threshold")["customer_id"][3]
    # within this run's window and before the next run's week (2026-W37), so only this run counts them
    inside, before_window = monday + timedelta(days=2), monday - timedelta(days=1)
    rows = [f"{cid},{inside},PENSION-Q3" for cid in held_out + passed_over]
    rows.append(f"{late},{before_window},PENSION-Q3")  # the day before the run's week: not counted
    path = tmp_path / "pension.csv"
    path.write_text("\n".join(["RELATION_NO,CONTACT_DATE,CAMPAIGN", *rows]) + "\n")
    code, imported = cli(capsys, "contacts", "import", str(path), "--workspace", str(recorded.root))
    assert code == 0 and imported["added"] == 6, imported

    code, after = cli(capsys, "evaluate", "--workspace", str(recorded.root))
    assert code == 0, after
    added = {
        group: after["contacted_outside"][group] - before["contacted_outside"][group] for group in before["contacted_outside"]
    }
    assert added == {"mailed_by_model": 0, "holdout": 2, "random_control": 0, "eligible_not_selected": 3}
    # they stay in their groups: the groups and their conversions are as before, and so is the uplift
    # (up to the last digit of a float sum, whose order Polars does not fix)
    assert after["pooled"]["groups"] == before["pooled"]["groups"]
    assert [r["groups"] for r in after["runs"]] == [r["groups"] for r in before["runs"]]
    for arm in ("model_uplift", "random_uplift"):
        assert after["pooled"][arm]["uplift"]["estimate"] == pytest.approx(before["pooled"][arm]["uplift"]["estimate"])

    capsys.readouterr()
    assert main(["evaluate", "--workspace", str(recorded.root)]) == 0
    text = capsys.readouterr().out
    total = sum(after["contacted_outside"].values())
    assert f"Mailed outside the toolkit within their window: {total:,} evaluated customers" in text
    assert "They stay in their groups" in text
