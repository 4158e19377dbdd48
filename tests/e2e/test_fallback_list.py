"""`run --fallback random --size N`: a week's list drawn at random from the eligible, with no model, end to end."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.ledger import store
from nba_toolkit.ledger.store import Ledger
from nba_toolkit.workspace import Workspace, init_workspace

WEEK = "2026-W47"
SIZE = 500


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def fallback(ws: Workspace, capsys: pytest.CaptureFixture[str], size: int | str, *more: str) -> tuple[int, dict]:
    code, out = cli(
        capsys, "run", "--week", WEEK, "--fallback", "random", "--size", str(size), *more, "--workspace", str(ws.root), "--json"
    )
    return code, json.loads(out) if code == 0 else {"output": out}


def selection_of(ws: Workspace, run_id: str) -> pl.DataFrame:
    return pl.read_parquet(ws.run_dir(run_id) / "selection.parquet").with_columns(pl.col("customer_id").cast(pl.String))


def drawn(selection: pl.DataFrame) -> set[str]:
    return set(selection.filter(pl.col("mailed"))["customer_id"])


def review_and_export(ws: Workspace, capsys: pytest.CaptureFixture[str], run_id: str) -> tuple[int, str]:
    assert cli(capsys, "review", run_id, "--workspace", str(ws.root))[0] == 0
    return cli(capsys, "export", run_id, "--workspace", str(ws.root), "--json")


def test_a_fallback_list_never_draws_an_excluded_customer(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asked for more than are eligible, the list takes every eligible customer and nobody else, and says so."""
    ws = sample_workspace
    config = ws.root / "nba.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("max = 2500 ", "max = 50000 "), encoding="utf-8")
    # a customer who is eligible this week, then kept out for good
    code, first = fallback(ws, capsys, 10)
    assert code == 0, first
    eligible_before = selection_of(ws, first["run_id"]).filter(pl.col("exclusion").is_null())["customer_id"]
    kept_out = eligible_before[0]
    assert main(["withdraw", first["run_id"], "--reason", "trying the size", "--workspace", str(ws.root)]) == 0
    assert main(["suppress", kept_out, "--reason", "asked never to be mailed", "--workspace", str(ws.root)]) == 0

    code, run = fallback(ws, capsys, 50_000)
    assert code == 0, run
    selection = selection_of(ws, run["run_id"])
    snapshot = pl.read_csv(ws.snapshots_dir / f"{WEEK}.csv", separator=";", encoding="cp1252", infer_schema=False)
    no_consent = set(snapshot.filter(pl.col("MKT_CONSENT") != "1")["RELATION_NO"].str.strip_chars_start("0"))
    investors = set(snapshot.filter(pl.col("HAS_INVEST_ACC") == "1")["RELATION_NO"].str.strip_chars_start("0"))
    monday = parse_week(WEEK)
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        cooldown = {
            r[0]
            for r in db.execute(
                "SELECT customer_id FROM contacts WHERE week_start >= ? AND week_start <= ?",
                ((monday - timedelta(weeks=4)).isoformat(), monday.isoformat()),
            )
        }
    mailed = drawn(selection)
    assert no_consent and investors and cooldown, "the sample week has customers of every exclusion"
    assert kept_out not in mailed
    assert not mailed & no_consent and not mailed & investors and not mailed & cooldown
    # everyone else who is eligible is on the list: it is a draw from exactly the eligible
    everyone = set(selection["customer_id"])
    assert mailed == everyone - no_consent - investors - cooldown - {kept_out}
    assert selection.filter(pl.col("customer_id") == kept_out)["reason"].item() == "excluded_suppressed"
    short = next(c for c in run["checks"] if c["check"] == "fallback_size")
    assert short["status"] == "fail" and short["severity"] == "warn"
    assert f"Only {len(mailed):,} customers are eligible" in short["message"]
    code, out = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))
    assert code == 2 and "fallback_size" in out, "the short list's warning holds the export back until acknowledged"


def test_the_size_is_honoured_and_the_draw_is_the_same_for_the_same_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, run = fallback(ws, capsys, SIZE)
    assert code == 0, run
    assert run["kind"] == "fallback" and run["capacity"] == SIZE
    assert run["counts"]["random_control"] == SIZE and run["counts"]["selected_mailed"] == run["counts"]["holdout"] == 0
    selection = selection_of(ws, run["run_id"])
    eligible = selection.filter(pl.col("exclusion").is_null()).height
    mailed = selection.filter(pl.col("mailed"))
    assert mailed.height == SIZE and set(mailed["reason"]) == {"random_control"} and set(mailed["group"]) == {"random_control"}
    assert selection["score"].null_count() == selection.height, "nothing was scored"
    assert mailed["p_random_control"].unique().to_list() == [pytest.approx(SIZE / eligible)]
    skipped = {c["check"] for c in run["checks"] if c["status"] == "skipped"}
    assert skipped == {"feature_drift", "market_regime", "market_second_source", "category_levels", "score_drift"}

    # review lists the eligible who were not drawn on their own
    code, out = cli(capsys, "review", run["run_id"], "--view", "not_drawn", "--top", "5", "--workspace", str(ws.root), "--json")
    assert code == 0, out
    listed = json.loads(out)["customers"]
    assert len(listed) == 5 and {c["reason"] for c in listed} == {"not_drawn"}

    # the same run, recomputed from the ledger, draws the same customers
    code, out = cli(capsys, "replay", run["run_id"], "--workspace", str(ws.root), "--json")
    assert code == 0 and json.loads(out)["identical"] is True, out
    # another run of the week draws afresh, with its own run id as the seed
    code, again = fallback(ws, capsys, SIZE, "--again")
    assert code == 0, again
    other = drawn(selection_of(ws, again["run_id"]))
    assert len(other) == SIZE and other != drawn(selection)

    code, out = cli(capsys, "runs", "--workspace", str(ws.root))
    assert f"{run['run_id']} (fallback)" in out


def test_the_list_is_exported_as_random_control_and_takes_the_weeks_export(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, run = fallback(ws, capsys, SIZE)
    assert code == 0, run
    code, out = review_and_export(ws, capsys, run["run_id"])
    assert code == 0, out
    export = json.loads(out)
    assert export["rows"] == SIZE and export["groups"] == {"model": 0, "random_control": SIZE}
    mail = pl.read_csv(export["path"], separator=";", infer_schema=False)
    assert set(mail["group"]) == {"random_control"}
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        groups = dict(db.execute("SELECT grp, COUNT(*) FROM contacts WHERE run_id = ? GROUP BY grp", (run["run_id"],)))
    assert groups == {"random_control": SIZE}

    code, out = cli(capsys, "status", "--week", WEEK, "--workspace", str(ws.root))
    assert f"exported by the fallback list {run['run_id']}" in out

    # the weekly run of the same week may be made, but never exported: the week is mailed once
    code, out = cli(capsys, "run", "--week", WEEK, "--workspace", str(ws.root), "--json")
    assert code == 0, out
    weekly = json.loads(out)["run_id"]
    code, out = review_and_export(ws, capsys, weekly)
    assert code == 2 and f"already exported by run {run['run_id']}" in out
    assert len(list(ws.exports_dir.iterdir())) == 1

    # evaluation: everyone on the list is random control, nobody counts as chosen by the model
    code, out = cli(capsys, "evaluate", "--workspace", str(ws.root), "--json")
    assert code == 0, out
    evaluated = next(r for r in json.loads(out)["runs"] if r["run_id"] == run["run_id"])
    groups = evaluated["groups"]
    assert groups["mailed_by_model"]["n"] == 0 and groups["holdout"]["n"] == 0
    assert groups["random_control"]["n"] == SIZE
    assert groups["eligible_not_selected"]["n"] == run["counts"]["not_drawn"] > 0

    code, out = cli(capsys, "evidence", run["run_id"], "--out", str(ws.root.parent / "pack"), "--workspace", str(ws.root))
    assert code == 0, out
    readme = (ws.root.parent / "pack" / "README.md").read_text(encoding="utf-8")
    assert "no model decided this run" in readme and not (ws.root.parent / "pack" / "model_card.md").exists()


@pytest.mark.parametrize("size", ["0", "-3", "abc", "2.5", ""])
def test_a_size_that_is_not_a_positive_whole_number_is_refused(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], size: str
) -> None:
    ws = sample_workspace
    code, out = cli(capsys, "run", "--week", WEEK, "--fallback", "random", "--size", size, "--workspace", str(ws.root))
    assert code == 2
    assert "the size of a fallback list must be a whole number of 1 or more" in out
    assert ws.ledger.runs() == []


def test_the_size_and_the_fallback_go_together(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(sample_workspace.root)
    code, out = cli(capsys, "run", "--week", WEEK, "--fallback", "random", "--workspace", root)
    assert code == 2 and "needs its size" in out
    code, out = cli(capsys, "run", "--week", WEEK, "--size", "10", "--workspace", root)
    assert code == 2 and "--size goes with --fallback random" in out
    code, out = cli(capsys, "run", "--fallback", "random", "--size", "10", "--dry-run", "--workspace", root)
    assert code == 2 and "neither a dry run nor scheduled" in out
    assert sample_workspace.ledger.runs() == []


def test_a_fallback_list_needs_no_model_and_runs_with_the_engine_switched_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = init_workspace(tmp_path / "ws", sample=True)
    config = ws.root / "nba.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("enabled = true ", "enabled = false ", 1), encoding="utf-8")
    ws.close()
    ws = Workspace.open(tmp_path / "ws")
    assert ws.ledger.active_model(ws.config.engine.name) is None and not ws.config.engine.enabled
    code, out = cli(capsys, "run", "--week", WEEK, "--workspace", str(ws.root))
    assert code == 2 and "switched off" in out
    code, run = fallback(ws, capsys, 300, "--approve")
    assert code == 0, run
    assert run["status"] == "exported" and run["export"]["groups"] == {"model": 0, "random_control": 300}
    record = ws.ledger.run(run["run_id"])
    assert record.kind == "fallback" and record.model_id is None and record.engine is None
    assert ws.ledger.verify().ok


def test_a_ledger_of_schema_9_is_upgraded_to_hold_fallback_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.sqlite"
    monkeypatch.setattr(store, "SCHEMA_VERSION", 9)
    old = Ledger.open(path)
    weekly = old.begin_run(week=WEEK, operator="a", toolkit_version="0", config={}, plugins={}, salt="s")
    old.finish_run(weekly, status="awaiting_approval")
    with pytest.raises(sqlite3.IntegrityError):
        old.begin_run(week="2026-W48", operator="a", toolkit_version="0", config={}, plugins={}, salt="s", kind="fallback")
    old.close()
    monkeypatch.undo()
    ledger = Ledger.open(path)
    assert ledger._db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    listed = ledger.begin_run(
        week="2026-W48", operator="b", toolkit_version="0", config={}, plugins={}, salt="s", kind="fallback"
    )
    ledger.finish_run(listed, status="awaiting_approval")
    assert ledger.run(listed).kind == "fallback" and ledger.run(weekly).kind == "weekly"
    with pytest.raises(sqlite3.IntegrityError):
        ledger.begin_run(week="2026-W49", operator="b", toolkit_version="0", config={}, plugins={}, salt="s", kind="other")
    assert ledger.verify().ok, ledger.verify().problems
    assert ledger._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_week_with_a_run_awaiting_approval_gets_a_fallback_list_only_on_purpose(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exporting one of the two withdraws the other, whichever kind it is."""
    ws = sample_workspace
    code, out = cli(capsys, "run", "--week", WEEK, "--workspace", str(ws.root), "--json")
    assert code == 0, out
    weekly = json.loads(out)["run_id"]
    code, refused = fallback(ws, capsys, SIZE)
    assert code == 2 and f"already has run {weekly} awaiting approval" in refused["output"]
    code, run = fallback(ws, capsys, SIZE, "--again")
    assert code == 0, run
    code, out = review_and_export(ws, capsys, run["run_id"])
    assert code == 0, out
    assert ws.ledger.run(weekly).status == "withdrawn"
