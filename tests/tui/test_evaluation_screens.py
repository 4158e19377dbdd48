"""Evaluation, Residual and Simulation screens with Textual's Pilot, on a sample workspace with exported runs.

The workspace is built like the evaluation tests' one (tests/evaluation/
conftest.py), with fewer weeks: 2026-W36 to W38 run from the history, each
approved and exported; their 4-week windows are over, so they can be
evaluated.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from textual.widgets import Input
from tui_helpers import SAMPLE_TODAY, NoticedApp, settle, text_of, type_text, until

from nba_toolkit.core.weeks import parse_week
from nba_toolkit.jobs.backtest import backtest_workspace
from nba_toolkit.jobs.evaluate import evaluate_workspace
from nba_toolkit.jobs.export import export_run
from nba_toolkit.jobs.run import run_week
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.tui.app import NbaApp
from nba_toolkit.tui.widgets.barchart import BarChart
from nba_toolkit.tui.widgets.intervals import IntervalPlot, IntervalRow, interval_plot
from nba_toolkit.workspace import Workspace

WEEKS = ("2026-W36", "2026-W37", "2026-W38")


@pytest.fixture(scope="module")
def exported_root(trained_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exported") / "ws"
    shutil.copytree(trained_sample, root)
    with (root / "nba.toml").open("a", encoding="utf-8") as config:
        config.write('\n[checks.recent_volume]\nenabled = false\nreason = "test: past weeks run in a row"\n')
    workspace = Workspace.open(root)
    registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
    history = pl.read_parquet(workspace.history_path)
    for week in WEEKS:
        history.filter(pl.col("SNAPSHOT_DATE") == parse_week(week)).write_parquet(workspace.snapshots_dir / f"{week}.parquet")
        outcome = run_week(workspace, registry, week=week)
        for check in outcome.checks:
            if check.status != "pass":
                workspace.ledger.acknowledge(outcome.run_id, check.check, by="test-operator", note="test")
        export_run(workspace, registry, outcome.run_id, approved_by="test-operator")
    workspace.close()
    return root


@pytest.fixture
def exported(exported_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(exported_root, root)
    return root


def test_the_evaluation_screen_shows_groups_and_the_uplift_with_its_interval(exported: Path) -> None:
    workspace = Workspace.open(exported)
    expected = evaluate_workspace(workspace, window_weeks=workspace.config.engine.label_window_weeks).to_dict()
    workspace.close()
    pooled = expected["pooled"]
    model = pooled["model_uplift"]["uplift"]

    async def scenario() -> None:
        app = NbaApp(exported, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("e")
            await settle(pilot)
            assert app.current_mode == "evaluation"
            summary = text_of(app, "#evaluation-summary")
            assert "3 exported runs" in summary and f"Pooled over {len(pooled['runs'])} complete runs" in summary
            groups = text_of(app, "#evaluation-groups")
            held = pooled["groups"]["holdout"]
            assert "held out" in groups and f"{held['n']:,}" in groups and f"{held['rate']:.2%}" in groups
            plot = app.screen.query_one("#evaluation-uplift", IntervalPlot)
            shown = plot.rows[0]
            assert shown.label == "model vs held out"
            # the same evaluation computed twice: equal up to the order of floating-point sums
            assert (shown.estimate, shown.low, shown.high) == pytest.approx(
                (model["estimate"], model["ci_low"], model["ci_high"])
            )
            drawn = plot.render().plain
            assert f"{model['estimate'] * 100:+.2f} [{model['ci_low'] * 100:+.2f}, {model['ci_high'] * 100:+.2f}]" in drawn
            assert all(len(line) <= plot.size.width for line in drawn.splitlines())
            assert len(app.screen.query_one("#evaluation-runs", IntervalPlot).rows) == len(pooled["runs"])
            assert "95 times in 100" in text_of(app, "#evaluation-money")
            assert "extra accounts" in text_of(app, "#evaluation-money")
            assert "weeks can show an uplift" in text_of(app, "#evaluation-planner")

    asyncio.run(scenario())


def test_without_exported_runs_the_screens_say_so(sample_workspace: Workspace) -> None:
    async def scenario() -> None:
        app = NbaApp(sample_workspace.root, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("e")
            await settle(pilot)
            assert "There are no exported runs yet" in text_of(app, "#evaluation-summary")
            await pilot.press("g")
            await settle(pilot)
            assert "There are no exported runs yet" in text_of(app, "#residual-summary")

    asyncio.run(scenario())


def test_the_residual_screen_shows_count_share_profile_and_what_holds_scores_down(exported: Path) -> None:
    async def scenario() -> None:
        app = NbaApp(exported, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("g")
            await settle(pilot)
            summary = text_of(app, "#residual-summary")
            found = re.search(r"([\d,]+) of ([\d,]+) eligible customers \(([\d.]+)%\)", summary)
            assert found, summary
            residual, eligible = (int(found[i].replace(",", "")) for i in (1, 2))
            assert 0 < residual < eligible and f"{residual / eligible:.1%}" == f"{found[3]}%"
            assert "last 3 exported runs (2026-W36.1 to 2026-W38.1" in summary
            assert "How they differ from the selected" in text_of(app, "#residual-profile")
            assert "What holds their scores down" in text_of(app, "#residual-down")

    asyncio.run(scenario())


def test_a_simulation_started_from_the_screen_completes_and_shows_volumes(exported: Path) -> None:
    """The screen shows what ``simulate`` computes for the same weeks: per week and group, bar for bar."""
    workspace = Workspace.open(exported)
    registry = load_plugins(workspace.plugin_folders(), entry_points_enabled=False)
    report = backtest_workspace(workspace, registry, from_week="2026-W36", to_week="2026-W38")
    workspace.close()
    weekly = report.results[0].backtest.weekly

    async def scenario() -> None:
        app = NbaApp(exported, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("m")
            await settle(pilot)
            app.screen.query_one("#simulation-from", Input).focus()
            await type_text(pilot, "2026-W36")
            app.screen.query_one("#simulation-to", Input).focus()
            await type_text(pilot, "2026-W38")
            await pilot.press("enter")
            await settle(pilot)
            result = text_of(app, "#simulation-result")
            assert "Simulated 2026-W36 to 2026-W38" in result
            assert f"{weekly['mailed'].sum():,} mailed over 3 weeks" in result
            assert "Recorded runs in these weeks: 3" in result
            chart = app.screen.query_one("#simulation-volumes", BarChart).chart
            assert chart is not None and [b.label for b in chart.bars] == ["W36", "W37", "W38"]
            for bar, row in zip(chart.bars, weekly.iter_rows(named=True), strict=True):
                assert [value for value, _ in bar.parts] == [row["selected_mailed"], row["random_control"], row["holdout"]]
            flagged = weekly.filter(pl.col("flags").list.len() > 0)["week"].to_list()
            flags = text_of(app, "#simulation-flags")
            assert all(week in flags for week in flagged)
            assert ("No week was flagged" in flags) == (not flagged)

    asyncio.run(scenario())


def test_a_simulation_can_be_cancelled_and_a_bad_week_is_a_notice(exported: Path) -> None:
    async def scenario() -> None:
        app = NoticedApp(exported, today=date(*SAMPLE_TODAY))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("m")
            await settle(pilot)
            screen = app.screen
            screen.query_one("#simulation-from", Input).focus()
            await type_text(pilot, "2030-W01")
            await pilot.press("enter")
            # the replay fails (no such weeks): wait for what the screen says, not for the failed worker
            await until(pilot, lambda: "did not finish" in text_of(app, "#simulation-result"), rounds=6000)
            assert any("no weeks of history" in n for n in app.notices)
            # cancelled before the first week: the event is set as the replay starts
            screen.query_one("#simulation-from", Input).value = ""
            screen.action_start()
            screen.action_cancel()
            await settle(pilot)
            assert "Cancelled" in text_of(app, "#simulation-result")

    asyncio.run(scenario())


def test_the_interval_plot_marks_zero_the_interval_and_the_estimate() -> None:
    drawn = interval_plot([IntervalRow("a", 0.01, 0.005, 0.015), IntervalRow("b", -0.002, -0.004, 0.001)], 60).plain
    first, second, scale = drawn.splitlines()
    assert first.index("│") < first.index("━") < first.index("●") and "+1.00 [+0.50, +1.50]" in first
    assert second.index("━") < second.index("│") and "●" in second
    assert first.index("│") == second.index("│")
    assert scale.strip().startswith("-0.") and scale.rstrip()[-1].isdigit(), "the unit is in the title, not on the scale"
