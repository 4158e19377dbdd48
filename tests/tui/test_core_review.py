"""nba_toolkit.core.review: the week's status, one run's review, one customer's explanation, the export preview."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from nba_toolkit.core.review import PAGE_SIZE, RunReview, export_preview, home_status, override
from nba_toolkit.core.selection import REASONS
from nba_toolkit.jobs.export import export_run
from nba_toolkit.jobs.run import run_week
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace

W47 = date(2026, 11, 18)


@pytest.fixture
def reviewed(sample_workspace: Workspace):
    registry = load_plugins(sample_workspace.plugin_folders(), entry_points_enabled=False)
    outcome = run_week(sample_workspace, registry)
    return sample_workspace, registry, outcome.run_id


def test_home_status_before_and_after_the_run(sample_workspace: Workspace) -> None:
    registry = load_plugins(sample_workspace.plugin_folders(), entry_points_enabled=False)
    before = home_status(sample_workspace, registry, today=W47)
    assert (before.this_week.week, before.this_week.status) == ("2026-W47", "missing")
    assert before.ready_snapshots == [("2026-W47", "2026-W47.csv")]
    assert before.missed_weeks == ["2026-W44", "2026-W45", "2026-W46"], "the sample's previous engine mailed nobody then"
    assert before.volumes.weeks[-1] == "2026-W47" and len(before.volumes.weeks) == 12
    assert set(before.volumes.groups) == {"model", "random_control"} and before.volumes.total(0) > 0
    assert before.model is not None and before.model.train_weeks[0] == "2025-W22"

    run_id = run_week(sample_workspace, registry).run_id
    after = home_status(sample_workspace, registry, today=W47)
    assert (after.this_week.status, after.this_week.run_id) == ("awaiting_approval", run_id)
    assert after.pending_runs == [run_id] and after.ready_snapshots == []
    export_run(sample_workspace, registry, run_id)
    done = home_status(sample_workspace, registry, today=W47)
    assert done.this_week.status == "exported"
    assert done.volumes.groups["model"][-1] == sample_workspace.ledger.run(run_id).counts["selected_mailed"]


def test_every_reason_is_explained_in_words(reviewed) -> None:
    workspace, _, run_id = reviewed
    review = RunReview.open(workspace, load_plugins(workspace.plugin_folders(), entry_points_enabled=False), run_id)
    selection = review.selection
    expected = {
        "selected_mailed": "within the capacity of 2,000: selected. Mailed.",
        "holdout": "Held out: 10% of the selected are not mailed",
        "random_control": "drawn at random for the random control",
        "below_threshold": "is below the threshold of",
        "excluded_investor": "Not scored: already has an investment account.",
        "excluded_no_consent": "Not scored: no marketing consent.",
        "excluded_cooldown": "Not scored: contacted within the cooldown.",
    }
    for reason, words in expected.items():
        cid = selection.filter(pl.col("reason") == reason)["_id"][0]
        decision = review.decision(cid)
        assert decision.found and decision.reason == reason and words in decision.why, (reason, decision.why)
    unknown = review.decision("00000000")
    assert not unknown.found and "is not in the snapshot" in unknown.why


def test_explanation_is_made_from_the_runs_own_inputs(reviewed) -> None:
    workspace, registry, run_id = reviewed
    review = RunReview.open(workspace, registry, run_id)
    top = review.page(0, view="mailed").rows[0]
    explanation = review.explain(top["customer_id"])
    assert explanation.problem is None
    assert explanation.recomputed_score == pytest.approx(top["score"], abs=1e-12)
    assert [label for label, _ in explanation.values] == list(registry.engine("logistic").obj.feature_labels.values())
    savings = dict(explanation.values)["Savings balance"]
    assert "," in savings or "." in savings, "a balance is the customer's own value, not the log the model uses"

    # the run kept what it read: a changed (or deleted) extract does not change what the review shows
    snapshot = workspace.recorded_path(workspace.ledger.run(run_id).snapshot_path)
    snapshot.write_bytes(snapshot.read_bytes() + b"\n")
    still = RunReview.open(workspace, registry, run_id).explain(top["customer_id"])
    assert still.problem is None and still.values == explanation.values
    # a run without kept inputs (made before runs kept them) is explained from the extract, if unchanged
    (workspace.run_dir(run_id) / "inputs.parquet").unlink()
    changed = RunReview.open(workspace, registry, run_id).explain(top["customer_id"])
    assert changed.problem and "changed after the run" in changed.problem and not changed.contributions


def test_summary_and_overrides(reviewed) -> None:
    workspace, registry, run_id = reviewed
    review = RunReview.open(workspace, registry, run_id)
    summary = review.summary(workspace)
    counts = {reason: n for reason, _, n in summary.counts}
    assert list(counts) == list(REASONS) and sum(counts.values()) == summary.rows_in == 20_000
    mailed = review.selection.filter(pl.col("mailed"))
    assert summary.expected_conversions == pytest.approx(mailed["score"].sum())
    assert sum(summary.histogram.counts) == review.selection["score"].drop_nulls().len()
    victim = mailed.sort("score", descending=True)["_id"][0]
    decision = override(workspace, review, victim, action="exclude", reason="asked not to be mailed", by="ana")
    assert not decision.mailed and "Excluded from the mail file by ana" in decision.why
    assert review.summary(workspace).operator_excluded == 1
    assert [r["customer_id"] for r in review.page(0, view="overridden").rows] == [victim]


def test_export_preview_states_what_export_writes(reviewed) -> None:
    workspace, registry, run_id = reviewed
    review = RunReview.open(workspace, registry, run_id)
    victim = review.page(0, view="mailed").rows[0]["customer_id"]
    override(workspace, review, victim, action="exclude", reason="test", by="ana")
    preview = export_preview(workspace, registry, run_id)
    assert preview.ready and preview.operator_excluded == 1
    written = export_run(workspace, registry, run_id)
    assert (preview.path, preview.rows, preview.groups) == (written.path, written.rows, written.groups)
    after = export_preview(workspace, registry, run_id)
    assert not after.ready and "already exported" in after.refusals[0]


def test_a_million_rows_are_served_a_page_at_a_time(tmp_path: Path) -> None:
    """The table never holds more than a page of a million scored customers (its speed: benchmarks/scale.py)."""

    from nba_toolkit.config import Config
    from nba_toolkit.core.files import sha256_of
    from nba_toolkit.ledger.store import RunRecord

    n = 1_000_000
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "customer_id": np.arange(10_000_000, 10_000_000 + n),
            "score": rng.random(n) * 0.05,
            "exclusion": [None] * n,
            "reason": rng.choice(["below_threshold", "selected_mailed", "holdout"], n),
        }
    ).with_columns(
        pl.col("reason").is_in(["selected_mailed"]).alias("mailed"),
        pl.lit(None, dtype=pl.String).alias("group"),
        pl.lit(None, dtype=pl.Int64).alias("rank"),
        pl.lit(None, dtype=pl.Float64).alias("p_holdout"),
        pl.lit(None, dtype=pl.Float64).alias("p_random_control"),
    )
    (tmp_path / "runs" / "big").mkdir(parents=True)
    path = tmp_path / "runs" / "big" / "selection.parquet"
    frame.write_parquet(path)
    fields = dict.fromkeys(RunRecord.__dataclass_fields__)
    fields.update(
        run_id="big",
        week="2026-W47",
        status="exported",
        selection_path="runs/big/selection.parquet",
        selection_sha256=sha256_of(path),
        dropped_columns=[],
        config={},
        plugins={},
        counts={},
    )
    review = RunReview(tmp_path, RunRecord(**fields), Config(), None, None)
    first = review.page(0, view="selected")
    later = review.page(400_000, view="selected")
    assert len(first.rows) == len(later.rows) == PAGE_SIZE
    assert first.total == frame.filter(pl.col("reason") != "below_threshold").height
    assert first.rows[0]["score"] >= first.rows[-1]["score"] >= later.rows[0]["score"]


def test_the_headless_parts_of_the_ui_import_no_ui() -> None:
    """Review, status and configuration editing are core: a scheduled job or another face may use them."""
    import subprocess
    import sys

    code = (
        "import sys, nba_toolkit.core.review, nba_toolkit.config_edit, nba_toolkit.tui.session, nba_toolkit.cli.ui\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
