"""Every built-in output check on a passing and a failing selection."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
from check_frames import context, past_run, selection, snapshot

from nba_toolkit.default_plugins.checks import ReconciliationCheck, VolumeBandCheck
from nba_toolkit.default_plugins.output_checks import (
    MailedConsentCheck,
    MailedCooldownCheck,
    MailedDuplicatesCheck,
    MailedInvestorCheck,
    MailedSuppressedCheck,
    RecentVolumeCheck,
    ScoreDriftCheck,
)

FRAME = snapshot()
SELECTION = selection(FRAME, mailed=100)
NOBODY = pl.DataFrame(schema={"customer_id": pl.String, "week_start": pl.String})


def output(sel: pl.DataFrame = SELECTION, frame: pl.DataFrame = FRAME, **fields):
    contacted, suppressed = fields.pop("contacted", NOBODY), fields.pop("suppressed", pl.Series([], dtype=pl.String))
    return context(frame, selection=sel, contacted=contacted, suppressed=suppressed, **fields)


def test_volume_band() -> None:
    assert VolumeBandCheck().run(output()).passed
    found = VolumeBandCheck().run(output(toml={"checks": {"volume_band": {"max": 50}}}))
    assert found.blocks and "100 customers would be mailed, outside the expected 0 to 50" in found.message


def test_reconciliation() -> None:
    assert ReconciliationCheck().run(output()).passed
    lost = ReconciliationCheck().run(output(SELECTION.head(1500)))
    assert lost.blocks and "2000 customers in, 1500 out" in lost.message


def _exported(tmp_path: Path, mailed: list[int]) -> tuple:
    return tuple(
        past_run(tmp_path, run_id=f"2026-W{46 - i}.1", week=f"2026-W{46 - i}", counts={"selected_mailed": n, "random_control": 0})
        for i, n in enumerate(mailed)
    )


def test_recent_volume(tmp_path: Path) -> None:
    assert RecentVolumeCheck().run(output(history=_exported(tmp_path, [90, 110]))).severity == "info"
    usual = RecentVolumeCheck().run(output(history=_exported(tmp_path, [90, 110, 100, 95])))
    assert usual.passed, usual.message
    # 20,000 instead of 2,000: more than three times the recent median stops the run
    far_more = RecentVolumeCheck().run(output(history=_exported(tmp_path, [20, 30, 25, 30])))
    assert far_more.blocks and "3.6 times the median of the last 4 exported weeks (28)" in far_more.message
    # far fewer than usual only warns: in a bad market week that can be right
    far_fewer = RecentVolumeCheck().run(output(history=_exported(tmp_path, [400, 500, 450])))
    assert not far_fewer.passed and far_fewer.severity == "warn" and not far_fewer.blocks


def test_score_drift(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    scored = SELECTION.filter(pl.col("score").is_not_null())
    now, ids = scored["score"].to_numpy(), scored["customer_id"].to_list()
    assert ScoreDriftCheck().run(output()).severity == "info"
    # the market lifts every log-odds alike: the level moves, the spread does not
    logit = np.log(now / (1 - now)) + 0.8
    lifted = past_run(tmp_path, scores=1 / (1 + np.exp(-logit)), ids=ids)
    calm = ScoreDriftCheck().run(output(history=(lifted,)))
    assert calm.passed and calm.measured < 0.01, calm.message
    # last week's top went into the cooldown: the pool changed, the same customers did not
    top = [10**9 + i for i in range(500)]
    pool_change = past_run(tmp_path, run_id="2026-W44.1", scores=np.r_[now, np.full(500, 0.2)], ids=ids + top)
    assert ScoreDriftCheck().run(output(history=(pool_change,))).passed
    # the same customers' scores no longer separate anyone: a narrow band around 2%
    flat = past_run(tmp_path, run_id="2026-W45.1", scores=rng.uniform(0.019, 0.021, len(ids)), ids=ids)
    found = ScoreDriftCheck().run(output(history=(flat,)))
    assert found.blocks and "spread differently now" in found.message and "run 2026-W45.1" in found.message


def test_score_drift_compares_only_runs_of_the_same_model(tmp_path: Path) -> None:
    """A new or retrained model ranks differently by design: the run an earlier model scored is no yardstick."""
    scored = SELECTION.filter(pl.col("score").is_not_null())
    ids = scored["customer_id"].to_list()
    flat = past_run(tmp_path, run_id="2026-W45.1", scores=np.full(len(ids), 0.02), ids=ids)
    earlier_model = dataclasses.replace(flat, model_id="logistic-20261101T000000")
    new_model = {"model_id": "gradient_boosting-20261120T000000"}
    found = ScoreDriftCheck().run(output(history=(earlier_model,), model=new_model))
    assert found.passed and found.severity == "info", found.message
    assert "gradient_boosting-20261120T000000 has scored no earlier run" in found.message
    same = dataclasses.replace(flat, model_id=new_model["model_id"])
    assert ScoreDriftCheck().run(output(history=(earlier_model, same), model=new_model)).blocks


def test_mailed_cooldown() -> None:
    assert MailedCooldownCheck().run(output()).passed
    mailed = SELECTION.filter(pl.col("mailed"))["customer_id"].cast(pl.String).head(2).to_list()
    recent = pl.DataFrame({"customer_id": mailed, "week_start": ["2026-10-19"] * 2})
    found = MailedCooldownCheck().run(output(contacted=recent))
    assert found.blocks and found.affected_count == 2 and set(found.affected_sample) == set(mailed)


def test_mailed_suppressed() -> None:
    """The safety net under the standing exclusions: checked against the mailed rows, independently of selection."""
    assert MailedSuppressedCheck().run(output()).passed
    mailed = SELECTION.filter(pl.col("mailed"))["customer_id"].cast(pl.String).head(3)
    found = MailedSuppressedCheck().run(output(suppressed=("00" + mailed).rename("customer_id")))
    assert found.blocks and found.affected_count == 3 and set(found.affected_sample) == set(mailed.to_list())


def test_mailed_consent() -> None:
    assert MailedConsentCheck().run(output()).passed
    first = SELECTION.filter(pl.col("mailed"))["customer_id"][0]
    withdrawn = FRAME.with_columns(
        pl.when(pl.col("customer_id") == first).then(False).otherwise(pl.col("marketing_consent")).alias("marketing_consent")
    )
    found = MailedConsentCheck().run(output(frame=withdrawn))
    assert found.blocks and found.affected_sample == (str(first),)


def test_the_mailed_are_looked_up_by_the_text_of_their_relation_number() -> None:
    """Text relation numbers, and a snapshot that lists a mailed customer twice: the first row counts."""
    frame = FRAME.with_columns(pl.format("R{}", pl.col("customer_id")).alias("customer_id"))
    chosen = selection(frame, mailed=100)
    first = chosen.filter(pl.col("mailed"))["customer_id"][0]
    assert MailedConsentCheck().run(output(chosen, frame)).passed
    repeated = pl.concat(
        [frame, frame.filter(pl.col("customer_id") == first).with_columns(pl.lit(False).alias("marketing_consent"))]
    )
    assert MailedConsentCheck().run(output(chosen, repeated)).passed
    earlier = pl.concat([repeated.tail(1), frame])
    found = MailedConsentCheck().run(output(chosen, earlier))
    assert found.blocks and found.affected_sample == (first,)


def test_mailed_investor() -> None:
    assert MailedInvestorCheck().run(output()).passed
    first = SELECTION.filter(pl.col("mailed"))["customer_id"][0]
    invests = FRAME.with_columns(
        pl.when(pl.col("customer_id") == first).then(True).otherwise(pl.col("is_investor")).alias("is_investor")
    )
    found = MailedInvestorCheck().run(output(frame=invests))
    assert found.blocks and found.affected_sample == (str(first),)


def test_mailed_duplicates() -> None:
    assert MailedDuplicatesCheck().run(output()).passed
    twice = pl.concat([SELECTION, SELECTION.filter(pl.col("mailed")).head(1)])
    found = MailedDuplicatesCheck().run(output(twice))
    assert found.blocks and found.affected_count == 1
