"""Review decisions that last: three weeks in a row through the command line.

A customer excluded in week 1 "for this run only" is not mailed that week,
so the cooldown does not protect them, and they are back on the list in
week 2. A standing exclusion keeps them out in weeks 2 and 3 with its own
reason, until it is lifted; the replay of each week applies exactly the
exclusions its run applied.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from invariants import assert_workspace_invariants

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

WEEKS = {"2026-W48": "2026-11-23", "2026-W49": "2026-11-30"}


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _reason(ws: Workspace, run_id: str, customer: str) -> str:
    selection = pl.read_parquet(ws.run_dir(run_id) / "selection.parquet")
    return selection.filter(pl.col("customer_id").cast(pl.String) == customer)["reason"][0]


def _week(capsys: pytest.CaptureFixture[str], ws: Workspace, week: str) -> dict:
    code, run = _cli(capsys, "run", "--week", week, "--workspace", str(ws.root))
    assert code == 0, run
    return run


def _top_two(ws: Workspace, run_id: str) -> list[str]:
    selection = pl.read_parquet(ws.run_dir(run_id) / "selection.parquet").filter(pl.col("reason") == "selected_mailed")
    return [str(c) for c in selection.sort("score", descending=True)["customer_id"].head(2)]


def test_a_standing_exclusion_lasts_and_a_run_only_one_does_not(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], later_week
) -> None:
    ws = sample_workspace
    for week, monday in WEEKS.items():  # weeks 48 and 49: the same customers as week 47
        later_week(ws, week, monday)
    root = str(ws.root)

    week1 = _week(capsys, ws, "2026-W47")
    complained, moved = _top_two(ws, week1["run_id"])
    code, _ = _cli(
        capsys,
        "exclude",
        week1["run_id"],
        complained,
        "--reason",
        "complained, asked for no mail",
        "--standing",
        "--workspace",
        root,
    )
    assert code == 0
    code, _ = _cli(capsys, "exclude", week1["run_id"], moved, "--reason", "address being checked", "--workspace", root)
    assert code == 0
    code, exported = _cli(capsys, "export", week1["run_id"], "--workspace", root)
    assert code == 0, exported

    for week in WEEKS:
        run = _week(capsys, ws, week)
        assert _reason(ws, run["run_id"], complained) == "excluded_suppressed", week
        assert run["counts"]["excluded_suppressed"] == 1
        code, _ = _cli(capsys, "export", run["run_id"], "--workspace", root)
        assert code == 0
        code, replayed = _cli(capsys, "replay", run["run_id"], "--workspace", root)
        assert code == 0 and replayed["selection_identical"], replayed
        if week == "2026-W48":
            # the run-only exclusion ended with its run: this week the customer is chosen again, and mailed
            assert _reason(ws, run["run_id"], moved) in ("selected_mailed", "holdout")

    code, listed = _cli(capsys, "suppressions", "--workspace", root)
    assert [s["customer_id"] for s in listed["suppressions"]] == [complained]
    assert listed["suppressions"][0]["reason"] == "complained, asked for no mail"
    code, _ = _cli(capsys, "lift", complained, "--reason", "asked to hear from us again", "--workspace", root)
    assert code == 0
    code, listed = _cli(capsys, "suppressions", "--workspace", root)
    assert listed["suppressions"] == []
    assert_workspace_invariants(Path(root))


def test_a_standing_exclusion_needs_a_reason_and_an_unknown_customer_is_refused(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(sample_workspace.root)
    run = _week(capsys, sample_workspace, "2026-W47")
    code, refused = _cli(capsys, "exclude", run["run_id"], "99999999999", "--reason", "x", "--standing", "--workspace", root)
    assert code == 2, refused
    code, refused = _cli(capsys, "suppress", "10000136", "--reason", "  ", "--workspace", root)
    assert code == 2 and "needs a reason" in refused["error"]
    code, refused = _cli(capsys, "lift", "10000136", "--reason", "no longer", "--workspace", root)
    assert code == 2 and "no standing exclusion" in refused["error"]
