"""Every built-in input check on a passing and a failing snapshot."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from check_frames import ENGINE, WEEK_START, context, past_run, snapshot, training_model

from nba_toolkit.core.decision import score_week
from nba_toolkit.core.market import band_of
from nba_toolkit.default_plugins.checks import DuplicateIdsCheck, FreshnessCheck, SchemaCheck
from nba_toolkit.default_plugins.input_checks import (
    FeatureDriftCheck,
    MarketRegimeCheck,
    NullRateCheck,
    RowCountCheck,
    UnitJumpCheck,
    ValueRangesCheck,
)
from nba_toolkit.plugin.manager import load_plugins


@pytest.fixture(scope="module")
def model() -> dict:
    return training_model()


def test_schema() -> None:
    frame = snapshot()
    assert SchemaCheck().run(context(frame)).passed
    broken = SchemaCheck().run(context(frame.drop("savings_balance").with_columns(pl.col("n_accounts").cast(pl.String))))
    assert broken.blocks
    assert "'savings_balance' is missing" in broken.message and "'n_accounts' is String" in broken.message


def test_duplicate_ids() -> None:
    frame = snapshot()
    assert DuplicateIdsCheck().run(context(frame)).passed
    doubled = pl.concat([frame, frame.head(3)])
    found = DuplicateIdsCheck().run(context(doubled))
    assert found.blocks and found.affected_count == 3
    assert set(found.affected_sample) == set(frame["customer_id"].head(3).to_list())


def test_duplicate_ids_are_listed_once_in_order_of_first_appearance() -> None:
    frame = snapshot(6).with_columns(pl.Series("customer_id", ["R3", "R1", None, "R1", "R3", "R3"]))
    found = DuplicateIdsCheck().run(context(frame))
    assert found.blocks and found.affected_count == 2 and found.affected_sample == ("R3", "R1")
    # one customer without a relation number is no duplicate; two are
    alone = frame.with_columns(pl.Series("customer_id", ["R1", "R2", None, "R4", "R5", "R6"]))
    assert DuplicateIdsCheck().run(context(alone)).passed
    twice = alone.with_columns(pl.Series("customer_id", ["R1", None, None, "R4", "R5", "R6"]))
    assert DuplicateIdsCheck().run(context(twice)).affected_sample == (None,)


def test_freshness() -> None:
    assert FreshnessCheck().run(context(snapshot())).passed
    late = FreshnessCheck().run(context(snapshot(week_start=WEEK_START - timedelta(weeks=1))))
    assert late.blocks and "loaded late" in late.message and late.affected_count == 2000


def test_row_count(tmp_path: Path) -> None:
    frame = snapshot()
    first = RowCountCheck().run(context(frame))
    assert first.passed and first.severity == "info" and "no earlier run" in first.message
    similar = RowCountCheck().run(context(frame, history=(past_run(tmp_path, rows_in=2100),)))
    assert similar.passed and similar.measured == 2000
    half = RowCountCheck().run(context(frame.head(1000), history=(past_run(tmp_path, rows_in=2000),)))
    assert half.blocks and "-50%" in half.message and "2026-W46.1" in half.message and half.action
    # the band is the operator's: 50% fewer passes when 60% is allowed
    tolerant = context(
        frame.head(1000), history=(past_run(tmp_path, rows_in=2000),), toml={"checks": {"row_count": {"max_change": 0.6}}}
    )
    assert RowCountCheck().run(tolerant).passed


def _exported_weeks(folder: Path, sizes: list[int]) -> tuple:
    """Exported runs of the given sizes, the newest first, for the weeks before 2026-W47."""
    return tuple(
        past_run(folder, run_id=f"2026-W{46 - k}.1", week=f"2026-W{46 - k}", rows_in=rows) for k, rows in enumerate(sizes)
    )


def test_row_count_against_the_recent_weeks(tmp_path: Path) -> None:
    growing = _exported_weeks(tmp_path, [round(2000 / 1.05**k) for k in range(1, 9)])
    grown = RowCountCheck().run(context(snapshot(), history=growing))
    assert grown.passed and "times the median of the last 8 exported weeks" in grown.message

    # each week a little smaller than the one before, within the band, until the week is far below the recent ones
    shrinking = _exported_weeks(tmp_path, [1500, 1750, 2000, 2000, 2000])
    low = RowCountCheck().run(context(snapshot(1300), history=shrinking))
    assert low.blocks and "-13%" not in low.message
    assert "0.65 times the median of the last 5 exported weeks (2,000)" in low.message
    assert "1,334 to 3,000 (1.5 times the median" in low.threshold

    # a list whose size swings: the operator widens the band, the recent weeks still catch a half-size week
    swinging = {"checks": {"row_count": {"max_change": 0.6}}}
    sizes = [1400, 2000, 1500, 2100, 1600]
    assert RowCountCheck().run(context(snapshot(2000), history=_exported_weeks(tmp_path, sizes), toml=swinging)).passed
    half = RowCountCheck().run(context(snapshot(800), history=_exported_weeks(tmp_path, sizes), toml=swinging))
    assert half.blocks and "0.50 times the median of the last 5 exported weeks" in half.message

    # fewer exported weeks than min_runs: only the band against the last run
    assert RowCountCheck().run(context(snapshot(1300), history=shrinking[:2])).passed


def test_an_empty_snapshot_is_stopped_by_the_row_count_alone(tmp_path: Path, model: dict) -> None:
    """A header without rows loads as zero customers; one plain reason stops it, nothing crashes."""
    empty = snapshot().head(0)
    registry = load_plugins([], entry_points_enabled=False)
    checks = [entry.obj for entry in registry.checks.values() if entry.obj.stage == "input"]
    assert len(checks) >= 9  # every built-in input check, and any added later
    for history in ((), (past_run(tmp_path, rows_in=2000),)):
        ctx = context(empty, history=history, model=model)
        failed = {check.name: r for check in checks if not (r := check.run(ctx)).passed}
        assert list(failed) == ["row_count"], history
        assert failed["row_count"].blocks and "no customers at all" in failed["row_count"].message
        assert failed["row_count"].action


def test_null_rate() -> None:
    frame = snapshot()
    assert NullRateCheck().run(context(frame)).passed
    holes = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise(pl.col("logins_per_month")).alias("logins_per_month")
    )
    found = NullRateCheck().run(context(holes))
    assert found.blocks and "'logins_per_month' is empty in 10.0% of rows" in found.message
    assert found.affected_count == 200 and len(found.affected_sample) == 20
    assert NullRateCheck().run(context(holes, toml={"checks": {"null_rate": {"max_rate": 0.2}}})).passed


def test_value_ranges() -> None:
    frame = snapshot()
    assert ValueRangesCheck().run(context(frame)).passed
    negative = frame.with_columns(
        pl.when(pl.col("customer_id") == 10_000_005).then(-50.0).otherwise(pl.col("savings_balance")).alias("savings_balance")
    )
    found = ValueRangesCheck().run(context(negative))
    assert found.blocks and "'savings_balance' is outside >= 0 in 1 rows" in found.message
    assert found.affected_sample == (10_000_005,)
    # a range declared in nba.toml: at most 40 logins a month
    capped = ValueRangesCheck().run(context(frame, toml={"checks": {"value_ranges": {"max": {"logins_per_month": 40}}}}))
    assert capped.blocks and "logins_per_month" in capped.message


def test_unit_jump(tmp_path: Path) -> None:
    frame = snapshot()
    previous = past_run(tmp_path, frame=snapshot(seed=1))
    assert UnitJumpCheck().run(context(frame)).severity == "info"
    same = UnitJumpCheck().run(context(frame, history=(previous,)))
    assert same.passed, same.message
    cents = frame.with_columns(pl.col("savings_balance") * 100)
    found = UnitJumpCheck().run(context(cents, history=(previous,)))
    assert found.blocks and "'savings_balance' is about 100 times larger" in found.message
    assert "current_balance" not in found.message
    # the market columns jump tenfold in a normal week; they are left to the market regime check
    market = UnitJumpCheck().run(context(snapshot(fund=(1.6, 26.9)), history=(previous,)))
    assert market.passed


def test_feature_drift(model: dict) -> None:
    assert FeatureDriftCheck().run(context(snapshot())).severity == "info"
    calm = FeatureDriftCheck().run(context(snapshot(seed=7), model=model))
    assert calm.passed, calm.message
    cents = snapshot(seed=7).with_columns(pl.col("savings_balance") * 100, pl.col("current_balance") * 100)
    found = FeatureDriftCheck().run(context(cents, model=model))
    assert (
        found.blocks and "'savings_balance' changed its mix of values by" in found.message and "fund_change" not in found.message
    )
    # a moderate move warns, and needs acknowledging rather than stopping the run
    richer = snapshot(seed=7).with_columns(pl.col("savings_balance") * 1.6)
    moved = FeatureDriftCheck().run(context(richer, model=model))
    assert not moved.passed and moved.severity == "warn" and moved.needs_acknowledgement, moved.message


def test_market_regime(model: dict) -> None:
    assert MarketRegimeCheck().run(context(snapshot())).severity == "info"
    # training weeks of a calm market with a crash among them: the crash does not widen the band
    calm_1w, calm_4w = [-1.0, -0.5, 0.0, 0.5, 1.0, 0.2, -0.3, 0.4], [-3.0, -1.0, 0.0, 1.0, 2.5, 1.5, -2.0, 0.5]
    weekly = {"fund_change_1w": [*calm_1w, -9.8, -9.6], "fund_change_4w": [*calm_4w, -19.0, -30.0]}
    reference = {
        name: {**model["reference"][name], "weekly": values, "min": min(values), "max": max(values)}
        for name, values in weekly.items()
    }
    crashed = {**model, "reference": {**model["reference"], **reference}}
    normal = MarketRegimeCheck().run(context(snapshot(fund=(0.8, -2.5)), model=crashed))
    assert normal.passed, normal.message
    crash = MarketRegimeCheck().run(context(snapshot(fund=(-9.5, -30.0)), model=crashed))
    assert crash.blocks and "take the wheel" in crash.message
    assert "'fund_change_1w' is -9.50" in crash.message and "'fund_change_4w' is -30" in crash.message
    # a margin widens the band, in the features' own unit
    low = band_of(weekly["fund_change_1w"]).low
    outside = context(snapshot(fund=(low - 0.5, 0.0)), model=crashed)
    assert not MarketRegimeCheck().run(outside).passed
    widened = context(snapshot(fund=(low - 0.5, 0.0)), model=crashed, toml={"checks": {"market_regime": {"margin": 1.0}}})
    assert MarketRegimeCheck().run(widened).passed


def test_a_model_trained_before_the_weekly_values_were_kept_is_held_to_its_training_range(model: dict) -> None:
    """The fixture's model has no weekly market values: its band is the training range (-5 to 5)."""
    assert MarketRegimeCheck().run(context(snapshot(fund=(4.9, 0.0)), model=_without_weekly(model))).passed
    assert not MarketRegimeCheck().run(context(snapshot(fund=(-6.0, 0.0)), model=_without_weekly(model))).passed


def _without_weekly(model: dict) -> dict:
    return {**model, "reference": {n: {k: v for k, v in e.items() if k != "weekly"} for n, e in model["reference"].items()}}


def test_the_checks_see_the_engines_features_of_the_non_investors() -> None:
    frame = snapshot(300, seed=3).with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col("is_investor")).alias("is_investor")
    )
    checked = context(frame)
    non_investors = frame.filter(~pl.col("is_investor").fill_null(False))
    assert checked.features().equals(ENGINE.features(non_investors.lazy()).collect())
    assert checked.snapshot_features().equals(ENGINE.features(frame.lazy()).collect())
    assert checked.snapshot_features() is checked.snapshot_features()


def test_scores_from_the_checks_features_are_the_scores_from_the_snapshot() -> None:
    frame = snapshot(400, seed=5)
    features = ENGINE.features(frame.lazy()).collect()
    model = ENGINE.fit(features, (frame["savings_balance"] > frame["savings_balance"].median()).to_numpy(), seed=0)
    contacted = pl.DataFrame({"customer_id": frame["customer_id"].head(20).cast(pl.String)})
    reused = score_week(frame, contacted, engine=ENGINE, model=model, features=context(frame).snapshot_features())
    assert reused.equals(score_week(frame, contacted, engine=ENGINE, model=model))
    assert reused["score"].null_count() == reused["exclusion"].is_not_null().sum() < frame.height
