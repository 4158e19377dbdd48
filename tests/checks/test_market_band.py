"""One market band: a repeat of the sample's crash blocks the weekly run; the simulation flags the weeks it would block.

The sample's training weeks contain the crash of 2026-W10 to W13 (about -9.5%
in a week, -30% over four). A band from the training range would contain it
too; the band is the training weeks' median plus or minus four robust
standard deviations, so the crash cannot widen it.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.check_settings import MarketRegimeSettings
from nba_toolkit.core.market import band_of, model_bands
from nba_toolkit.workspace import Workspace

SNAPSHOT = "2026-W47.csv"


def _with_market(ws: Workspace, one_week: float, four_weeks: float) -> Path:
    frame = pl.read_csv(ws.snapshots_dir / SNAPSHOT, separator=";", encoding="cp1252", infer_schema=False)
    path = ws.root / "crash_2026-W47.csv"
    frame.with_columns(
        pl.lit(f"{one_week}".replace(".", ",")).alias("FUND_CHG_1W"),
        pl.lit(f"{four_weeks}".replace(".", ",")).alias("FUND_CHG_4W"),
    ).write_csv(path, separator=";")
    return path


@pytest.mark.parametrize(
    ("shape", "one_week", "four_weeks"),
    [("the first week of the crash", -9.5, -10.0), ("four weeks into the crash", -7.2, -30.0)],
)
def test_a_repeat_of_the_sample_s_crash_blocks_the_weekly_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], shape: str, one_week: float, four_weeks: float
) -> None:
    ws = sample_workspace
    capsys.readouterr()
    code = main(["run", "--workspace", str(ws.root), "--snapshot", str(_with_market(ws, one_week, four_weeks)), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 3, (shape, result)
    market = next(c for c in result["checks"] if c["check"] == "market_regime")
    assert market["status"] == "fail" and "normal band" in market["message"], market
    assert not list(ws.exports_dir.iterdir())


def test_the_sample_week_lies_within_the_band(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["run", "--workspace", str(sample_workspace.root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert next(c for c in result["checks"] if c["check"] == "market_regime")["status"] == "pass"


def test_the_simulation_flags_exactly_the_weeks_the_weekly_check_would_block(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    capsys.readouterr()
    assert main(["simulate", "--workspace", str(ws.root), "--json"]) == 0
    weeks = json.loads(capsys.readouterr().out)["configurations"][0]["weeks"]
    flagged = {w["week"] for w in weeks if "market" in w["flags"]}

    sidecar = json.loads(next(ws.models_dir.glob("*.json")).read_text())
    settings = MarketRegimeSettings()
    market = sidecar["market_features"]  # declared with market = true in [features]
    assert market == ["fund_change_1w", "fund_change_4w"]
    bands = model_bands(sidecar["reference"], market, width=settings.robust_sd)
    assert all(b.kind == "robust" for b in bands.values())
    blocked = {w["week"] for w in weeks if not all(bands[name].holds(w[name]) for name in market)}
    crash = {"2026-W10", "2026-W11", "2026-W12", "2026-W13"}
    assert crash <= blocked
    assert flagged == blocked


def test_the_band_ignores_the_extreme_weeks_it_is_meant_to_catch() -> None:
    calm = [0.1, -0.4, 0.6, 0.2, -0.1, 0.3, -0.2, 0.0, 0.4, -0.3]
    with_crash = [*calm, -9.9, -9.8, -9.6]
    band = band_of(with_crash)
    assert band is not None and band.kind == "robust"
    assert not band.holds(-9.5) and band.holds(0.5)
    # three crash weeks move the band by a fraction of a point, not by ten
    assert abs(band.low - band_of(calm).low) < 1.0
