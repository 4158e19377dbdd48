"""Three weeks in a row in the terminal UI: a standing exclusion (X) lasts, a run-only one (x) does not.

Week 1 is run on the Run screen; in its review the operator excludes one
customer for good and another for this run only, then approves and exports
on the Export screen. Weeks 2 and 3 are run and exported the same way. The
customer excluded for good stays out of both later weeks, and the customer
panel says why with the operator's reason; the one excluded for one run was
never mailed, so no cooldown holds them and week 2 mails them.
"""

from __future__ import annotations

import asyncio
import csv
from datetime import date
from pathlib import Path

import polars as pl
from textual.widgets import Select
from tui_helpers import settle, text_of, type_text

from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.screens.dialogs import ConfirmDialog, ReasonDialog
from nba_toolkit.workspace import Workspace

#: (week, its Monday) of the three weeks
WEEKS = (("2026-W47", date(2026, 11, 16)), ("2026-W48", date(2026, 11, 23)), ("2026-W49", date(2026, 11, 30)))
FOR_GOOD = "asked for no mail, complaint 4711"
THIS_RUN = "address being checked this week"


async def _run_on_the_run_screen(pilot, app: NbaApp, snapshot: Path) -> str:
    await pilot.press("2")
    await settle(pilot)
    app.screen.query_one("#snapshot", Select).value = str(snapshot)
    await pilot.pause()
    await pilot.press("s")
    await settle(pilot)
    return text_of(app, "#run-result")


async def _look_up(pilot, app: NbaApp, customer: str) -> str:
    await pilot.press("4")
    await settle(pilot)
    await pilot.press("slash")
    await pilot.pause()
    app.screen.query_one("#lookup").value = ""
    await type_text(pilot, customer)
    await pilot.press("enter")
    await settle(pilot)
    return text_of(app, "#detail-text")


async def _exclude(pilot, app: NbaApp, key: str, reason: str) -> None:
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(app.screen, ReasonDialog)
    await type_text(pilot, reason)
    await pilot.press("enter")
    await settle(pilot)


async def _approve_on_the_export_screen(pilot, app: NbaApp) -> str:
    await pilot.press("5")
    await settle(pilot)
    await pilot.press("a")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmDialog)
    await pilot.press("y")
    await settle(pilot)
    return text_of(app, "#export-result")


async def _first_week(ws: Workspace) -> dict[str, str]:
    """Run week 1, pick two of its mailed customers, exclude one for good (X) and one for this run (x), export."""
    app = NbaApp(ws.root, today=WEEKS[0][1])
    shown: dict[str, str] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown["run"] = await _run_on_the_run_screen(pilot, app, ws.snapshots_dir / "2026-W47.csv")
        selection = pl.read_parquet(ws.run_dir("2026-W47.1") / "selection.parquet")
        mailed = selection.filter(pl.col("reason") == "selected_mailed").sort("score", descending=True)
        shown["for good id"], shown["this run id"] = (str(c) for c in mailed["customer_id"][:2])
        await _look_up(pilot, app, shown["for good id"])
        await _exclude(pilot, app, "X", FOR_GOOD)
        shown["for good"] = text_of(app, "#detail-text")
        await _look_up(pilot, app, shown["this run id"])
        await _exclude(pilot, app, "x", THIS_RUN)
        shown["this run"] = text_of(app, "#detail-text")
        shown["export"] = await _approve_on_the_export_screen(pilot, app)
    return shown


async def _later_week(ws: Workspace, week: str, monday: date, for_good: str, this_run: str) -> dict[str, str]:
    app = NbaApp(ws.root, today=monday)
    shown: dict[str, str] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown["run"] = await _run_on_the_run_screen(pilot, app, ws.snapshots_dir / f"{week}.csv")
        shown["for good"] = await _look_up(pilot, app, for_good)
        shown["this run"] = await _look_up(pilot, app, this_run)
        shown["export"] = await _approve_on_the_export_screen(pilot, app)
    return shown


def _reason(ws: Workspace, run_id: str, customer: str) -> str:
    selection = pl.read_parquet(ws.run_dir(run_id) / "selection.parquet")
    return selection.filter(pl.col("customer_id").cast(pl.String) == customer)["reason"][0]


def _mailed(ws: Workspace, run_id: str) -> set[str]:
    run = Workspace.open(ws.root).ledger.run(run_id)
    assert run.status == "exported"
    rows = csv.DictReader((ws.root / run.export_path).read_text(encoding="utf-8").splitlines(), delimiter=";")
    return {row["relation_number"] for row in rows}


def test_a_standing_exclusion_lasts_three_weeks_and_a_run_only_one_does_not(sample_workspace: Workspace, later_week) -> None:
    ws = sample_workspace
    for week, monday in WEEKS[1:]:
        later_week(ws, week, monday.isoformat())

    first = asyncio.run(_first_week(ws))
    for_good, this_run = first["for good id"], first["this run id"]
    assert "Run 2026-W47.1 for 2026-W47 is ready for review" in first["run"]
    assert "Excluded from the mail file by test-operator" in first["for good"] and FOR_GOOD in first["for good"]
    assert THIS_RUN in first["this run"]
    assert "SHA-256" in first["export"]
    assert for_good not in _mailed(ws, "2026-W47.1") and this_run not in _mailed(ws, "2026-W47.1")

    for n, (week, monday) in enumerate(WEEKS[1:], start=2):
        run_id = f"{week}.1"
        shown = asyncio.run(_later_week(ws, week, monday, for_good, this_run))
        assert f"Run {run_id} for {week} is ready for review" in shown["run"]
        assert _reason(ws, run_id, for_good) == "excluded_suppressed"
        assert "kept out by a standing exclusion" in shown["for good"], f"week {n}"
        assert FOR_GOOD in shown["for good"], f"week {n}: the panel gives the operator's reason"
        week_one = next(line for line in shown["for good"].split("Other weeks")[1].splitlines() if "2026-W47.1" in line)
        assert "excluded by the operator" in week_one, "selected in week 1, but not mailed: the operator excluded them"
        assert for_good not in _mailed(ws, run_id)
        if n == 2:  # never mailed in week 1, so no cooldown: selected and mailed again
            assert _reason(ws, run_id, this_run) == "selected_mailed"
            assert "selected and mailed" in shown["this run"] and THIS_RUN not in shown["this run"].split("Other weeks")[0]
            assert this_run in _mailed(ws, run_id)
        else:  # mailed in week 2: the cooldown holds them now, not the exclusion of week 1
            assert _reason(ws, run_id, this_run) == "excluded_cooldown"
            assert "standing exclusion" not in shown["this run"]
