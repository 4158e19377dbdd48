"""The review from the command line: `review`, `customer` and `flag` show and record what the Review screen does."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
from tui_helpers import WARNING_PLUGIN, NoticedApp, settle, type_text  # noqa: E402


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_week(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[str, pl.DataFrame]:
    code, out, _ = cli(capsys, "run", "--workspace", str(ws.root), "--json")
    assert code == 0, out
    run_id = json.loads(out)["run_id"]
    selection = pl.read_parquet(ws.run_dir(run_id) / "selection.parquet").with_columns(pl.col("customer_id").cast(pl.String))
    return run_id, selection.sort("score", descending=True, nulls_last=True)


def first_with(selection: pl.DataFrame, reason: str) -> str:
    return selection.filter(pl.col("reason") == reason)["customer_id"][0]


def test_review_counts_by_reason_and_lists_the_top_with_ids_scores_and_marks(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_id, selection = run_week(ws, capsys)
    top, second = selection["customer_id"][:2]
    assert main(["flag", run_id, top, "--reason", "balance looks odd", "--workspace", str(ws.root)]) == 0
    assert main(["exclude", run_id, second, "--reason", "asked for no mail", "--workspace", str(ws.root)]) == 0

    code, out, _ = cli(capsys, "review", run_id, "--top", "3", "--workspace", str(ws.root), "--json")
    assert code == 0
    shown = json.loads(out)
    assert {r: n for r, n in shown["counts"].items() if n} == dict(selection.group_by("reason").len().iter_rows())
    mailed = selection.filter(pl.col("mailed"))
    # the salt is new for each test session, so the second customer may be held out rather than mailed
    second_mailed = int(second in mailed["customer_id"].to_list())
    assert sum(shown["mailed"].values()) == mailed.height - second_mailed, "the operator's exclusion leaves the file"
    assert (shown["flagged"], shown["operator_excluded"]) == (1, 1)
    assert [c["customer_id"] for c in shown["customers"]] == selection["customer_id"][:3].to_list()
    assert [c["override"] for c in shown["customers"]][:2] == ["flagged", "excluded"]
    assert shown["unacknowledged_warnings"] == [] and shown["degraded"] == {}

    code, out, _ = cli(capsys, "review", run_id, "--top", "2", "--workspace", str(ws.root))
    assert code == 0
    assert "selected and mailed" in out and f"{selection['score'][0]:.2%}" in out
    assert top in out and "flagged" in out and "excluded" in out
    assert "awaiting approval" in out


def test_review_says_a_run_is_degraded_and_which_warnings_were_acknowledged(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    source = ws.snapshots_dir / "2026-W47.csv"
    lines = source.read_bytes().decode("cp1252").splitlines()
    column = lines[0].split(";").index("IB_LOGINS_M")
    emptied = [lines[0]]
    for n, line in enumerate(lines[1:]):  # a few customers without logins: filled in, not enough to drift
        emptied.append(";".join("" if i == column and n < 20 else v for i, v in enumerate(line.split(";"))))
    source.write_bytes(("\n".join(emptied) + "\n").encode("cp1252"))
    (ws.root / "plugins" / "always_warns.py").write_text(WARNING_PLUGIN, encoding="utf-8")
    run_id, _ = run_week(ws, capsys)

    code, out, _ = cli(capsys, "review", run_id, "--workspace", str(ws.root))
    assert code == 0, out
    assert "Degraded run" in out and "logins_per_month" in out
    assert "Warnings to acknowledge before export: test_warning" in out
    assert main(["acknowledge", run_id, "test_warning", "--note", "fine", "--workspace", str(ws.root)]) == 0
    code, out, _ = cli(capsys, "review", run_id, "--workspace", str(ws.root))
    assert "Warning of test_warning acknowledged by test-operator" in out and "to acknowledge" not in out
    code, out, _ = cli(capsys, "review", run_id, "--workspace", str(ws.root), "--json")
    shown = json.loads(out)
    assert set(shown["degraded"]) == {"logins_per_month"}
    assert set(shown["acknowledged_warnings"]) == {"test_warning"} and shown["unacknowledged_warnings"] == []


def test_customer_shows_values_explanation_why_and_the_standing_exclusion(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_id, selection = run_week(ws, capsys)
    below = first_with(selection, "below_threshold")
    assert main(["exclude", run_id, below, "--reason", "complained", "--standing", "--workspace", str(ws.root)]) == 0

    code, out, _ = cli(capsys, "customer", run_id, below, "--workspace", str(ws.root))
    assert code == 0, out
    assert "is below the threshold of 1.50" in out and "not selected" in out
    assert "Savings balance" in out and "What moves the score" in out
    assert "Kept out of every run for good" in out and "complained" in out
    assert "the same as the run" in out

    code, out, _ = cli(capsys, "customer", run_id, below, "--workspace", str(ws.root), "--json")
    shown = json.loads(out)
    assert shown["reason"] == "below_threshold" and shown["mailed"] is False
    assert shown["standing_exclusion"]["reason"] == "complained"
    assert [o["action"] for o in shown["overrides"]] == ["exclude"]
    assert abs(shown["recomputed_score"] - selection.filter(pl.col("customer_id") == below)["score"][0]) < 1e-9
    assert set(shown["values"]) == set(shown["contributions"]) and "Savings balance" in shown["values"]

    excluded = first_with(selection, "excluded_investor")
    code, out, _ = cli(capsys, "customer", run_id, excluded, "--workspace", str(ws.root))
    assert code == 0 and "Not scored: already has an investment account" in out


def test_an_unknown_relation_number_is_bad_input_naming_it(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_id, _ = run_week(ws, capsys)
    code, out, err = cli(capsys, "customer", run_id, "00999999999", "--workspace", str(ws.root))
    assert code == 4
    assert "999999999" in err and "not in the snapshot" in err and "Traceback" not in err
    code, out, _ = cli(capsys, "flag", run_id, "999999999", "--reason", "odd", "--workspace", str(ws.root), "--json")
    assert code == 4 and "999999999" in json.loads(out)["error"]
    assert Workspace.open(ws.root).ledger.overrides(run_id) == []


def test_flag_is_the_recorded_flag_of_the_review_screen(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    run_id, selection = run_week(ws, capsys)
    mailed = first_with(selection, "selected_mailed")
    code, out, _ = cli(capsys, "flag", run_id, f"  {mailed} ", "--reason", "odd balance", "--workspace", str(ws.root))
    assert code == 0 and "stay in the selection" in out
    [flag] = Workspace.open(ws.root).ledger.overrides(run_id)
    assert (flag["customer_id"], flag["action"], flag["reason"], flag["made_by"]) == (
        mailed,
        "flag",
        "odd balance",
        "test-operator",
    )
    assert Workspace.open(ws.root).ledger.verify().ok
    code, out, _ = cli(capsys, "customer", run_id, mailed, "--workspace", str(ws.root))
    assert "Flagged as suspicious by test-operator" in out and "odd balance" in out and "(mailed, group model)" in out


def test_x_on_an_unknown_relation_number_refuses_before_a_reason_is_typed(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    from nba_toolkit.tui.screens.dialogs import ReasonDialog

    ws = sample_workspace
    run_week(ws, capsys)

    async def drive() -> list[str]:
        app = NoticedApp(ws.root, today=date(2026, 11, 16))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            await pilot.press("slash")
            await pilot.pause()
            await type_text(pilot, "999999999")
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("x")
            await pilot.pause()
            assert not isinstance(app.screen, ReasonDialog), "refused before the reason is asked for"
            return list(app.notices)

    notes = asyncio.run(drive())
    assert any("999999999" in n and "not in the snapshot" in n for n in notes)
    assert Workspace.open(ws.root).ledger.overrides("2026-W47.1") == []
