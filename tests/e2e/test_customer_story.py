"""`customer-history`: one customer's story over the weeks, from the runs' stored selections and the ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.jobs.retention import purge
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


def row_of(selection: pl.DataFrame, customer: str) -> dict:
    return selection.filter(pl.col("customer_id") == customer).row(0, named=True)


def past_mailings(ws: Workspace, customer: str) -> list[tuple[str, str]]:
    """The customer's mailings before the toolkit, from the sample file the workspace imported."""
    mailed = pl.read_csv(ws.root / "data" / "past_mailings.csv", schema_overrides={"RELATION_NO": pl.String})
    mine = mailed.filter((pl.col("RELATION_NO") == customer) & (pl.col("MAILED") == 1)).sort("SNAPSHOT_DATE")
    return list(mine.select("WEEK", "GROUP").iter_rows())


@pytest.fixture
def two_weeks(sample_workspace: Workspace, later_week, capsys: pytest.CaptureFixture[str]):
    """W47 exported (one selected customer kept out by the operator), W48 run and awaiting review."""
    ws = sample_workspace
    first, w47 = run_week(ws, capsys, "2026-W47")
    mailed, kept_out = w47.filter(pl.col("reason") == "selected_mailed").sort("rank")["customer_id"][:2]
    assert main(["exclude", first, kept_out, "--reason", "asked for no mail", "--workspace", str(ws.root)]) == 0
    assert main(["export", first, "--workspace", str(ws.root)]) == 0
    later_week(ws, "2026-W48", "2026-11-23")
    second, w48 = run_week(ws, capsys, "2026-W48")
    return ws, (first, w47), (second, w48), mailed, kept_out


def test_a_customer_mailed_one_week_shows_the_mailing_the_cooldown_after_it_and_the_account_they_opened(
    two_weeks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, (first, w47), (second, w48), mailed, _ = two_weeks
    assert main(["flag", second, mailed, "--reason", "mailed last week, check", "--workspace", str(ws.root)]) == 0
    outcomes = tmp_path / "openings.csv"
    outcomes.write_text(f"RELATION_NO,OPENED_DATE,INVESTED_AMOUNT\n{mailed},2026-11-25,1500\n", encoding="utf-8")
    assert main(["outcomes", "import", str(outcomes), "--workspace", str(ws.root)]) == 0

    code, out = cli(capsys, "customer-history", f"00{mailed}", "--read-only", "--workspace", str(ws.root), "--json")

    assert code == 0, out
    story = json.loads(out)
    assert story["customer_id"] == mailed
    before, after = story["runs"]
    expected = row_of(w47, mailed)
    assert (before["run_id"], before["week"], before["kind"], before["status"]) == (first, "2026-W47", "weekly", "exported")
    assert (before["reason"], before["score"], before["rank"], before["group"]) == (
        "selected_mailed",
        expected["score"],
        expected["rank"],
        "model",
    )
    assert before["in_mail_file"] is True and before["overrides"] == []
    assert (after["run_id"], after["status"], after["reason"]) == (second, "awaiting_approval", "excluded_cooldown")
    assert after["score"] is None and after["in_mail_file"] is False
    assert [(o["action"], o["reason"]) for o in after["overrides"]] == [("flag", "mailed last week, check")]
    earlier = past_mailings(ws, mailed)
    assert [(m["week"], m["run_id"], m["group"]) for m in story["mailings"]] == [
        *((week, None, group) for week, group in earlier),
        ("2026-W47", first, "model"),
    ]
    assert story["outcomes"] == [{"opened_date": "2026-11-25", "invested_amount": 1500.0, "after_mailing_week": "2026-W47"}]

    code, text = cli(capsys, "customer-history", mailed, "--read-only", "--workspace", str(ws.root))
    assert code == 0
    assert "contacted within the cooldown · flagged" in text and "not exported" in text
    assert f"Mailed outside the toolkit (sample past_mailings.csv): {', '.join(w for w, _ in earlier)}" in text
    assert "Opened an investment account on 2026-11-25 (1,500.00 invested), within 4 weeks of the mailing of 2026-W47" in text


def test_a_customer_the_operator_kept_out_was_selected_but_is_in_no_mail_file(
    two_weeks, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, (first, _), (second, w48), _, kept_out = two_weeks

    code, out = cli(capsys, "customer-history", kept_out, "--workspace", str(ws.root), "--json")

    assert code == 0, out
    before, after = json.loads(out)["runs"]
    assert (before["reason"], before["in_mail_file"]) == ("selected_mailed", False)
    assert [(o["action"], o["reason"]) for o in before["overrides"]] == [("exclude", "asked for no mail")]
    assert after["reason"] == row_of(w48, kept_out)["reason"], "never mailed, so no cooldown the week after"
    assert [(m["week"], m["group"]) for m in json.loads(out)["mailings"]] == past_mailings(ws, kept_out)


def test_an_unknown_or_malformed_relation_number_is_bad_input(two_weeks, capsys: pytest.CaptureFixture[str]) -> None:
    ws = two_weeks[0]
    for number in ("999999999999", "12-34"):
        code, out = cli(capsys, "customer-history", number, "--workspace", str(ws.root), "--json")
        assert code == 4, out
        assert json.loads(out)["exit_code"] == 4


def test_runs_whose_customer_data_was_purged_are_listed_as_purged(
    two_weeks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, (first, _), (second, _), mailed, _ = two_weeks
    outcomes = tmp_path / "openings.csv"
    outcomes.write_text(f"RELATION_NO,OPENED_DATE,INVESTED_AMOUNT\n{mailed},2026-11-25,1500\n", encoding="utf-8")
    assert main(["outcomes", "import", str(outcomes), "--workspace", str(ws.root)]) == 0
    purge(ws, now=datetime(2040, 1, 1, tzinfo=UTC))

    code, out = cli(capsys, "customer-history", mailed, "--workspace", str(ws.root), "--json")

    assert code == 0, out
    story = json.loads(out)
    assert [(r["run_id"], r["purged"], r["reason"]) for r in story["runs"]] == [(first, True, None), (second, True, None)]
    assert [m["run_id"] for m in story["mailings"]] == [], "retention removed the contact history before the cutoff"
    assert story["outcomes"][0]["after_mailing_week"] is None
    code, text = cli(capsys, "customer-history", mailed, "--workspace", str(ws.root))
    assert text.count("customer data purged (retention)") == 2


def test_a_stored_selection_changed_after_the_run_stops_the_story(two_weeks, capsys: pytest.CaptureFixture[str]) -> None:
    ws, (first, w47), _, mailed, _ = two_weeks
    path = ws.run_dir(first) / "selection.parquet"
    pl.read_parquet(path).with_columns(pl.lit("holdout").alias("reason")).write_parquet(path)

    code, out = cli(capsys, "customer-history", mailed, "--workspace", str(ws.root), "--json")

    assert code != 0
    story = json.loads(out)
    assert f"selection of run {first} was changed after the run" in story["error"] and "runs" not in story
