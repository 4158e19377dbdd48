"""The review summary is counted once when the run is saved, and the Summary tab reads it instead of the selection.

Each test runs the sample week through the command line, then opens it for
review the way the Review screen does, and compares the stored summary with
the one counted from the selection itself: it must be the same, follow the
operator's exclusions, and never be trusted when it is not of the recorded
selection.
"""

from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.review import FIGURES_FILE, RunReview, override
from nba_toolkit.errors import NbaError
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace


@pytest.fixture
def week(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[Workspace, str]:
    """The sample week run up to review; the workspace and the run id."""
    assert main(["run", "--workspace", str(sample_workspace.root), "--json"]) == 0
    return sample_workspace, json.loads(capsys.readouterr().out)["run_id"]


def opened(workspace: Workspace, run_id: str) -> RunReview:
    return RunReview.open(workspace, load_plugins(workspace.plugin_folders(), entry_points_enabled=False), run_id)


def counted_from_the_selection(workspace: Workspace, run_id: str) -> dict:
    """The summary as an older run without a stored summary gets it: counted from the whole selection."""
    stored = workspace.run_dir(run_id) / FIGURES_FILE
    kept = stored.read_bytes()
    stored.unlink()
    try:
        return dataclasses.asdict(opened(workspace, run_id).summary(workspace))
    finally:
        stored.write_bytes(kept)


def same(stored: dict, counted: dict) -> None:
    assert stored.pop("expected_conversions") == pytest.approx(counted.pop("expected_conversions"), rel=1e-12)
    assert stored == counted


def test_a_run_stores_its_summary_and_review_reads_it_without_the_selection(week) -> None:
    workspace, run_id = week
    figures = json.loads((workspace.run_dir(run_id) / FIGURES_FILE).read_text(encoding="utf-8"))
    assert figures["selection_sha256"] == workspace.ledger.run(run_id).selection_sha256
    assert figures["rows"] == 20_000 and sum(figures["reasons"].values()) == 20_000

    review = opened(workspace, run_id)
    summary = dataclasses.asdict(review.summary(workspace))
    assert review._selection is None  # the Summary tab did not read the million-row file
    same(summary, counted_from_the_selection(workspace, run_id))
    assert {reason: n for reason, _, n in summary["counts"] if n} == {
        reason: n for reason, n in workspace.ledger.run(run_id).counts.items() if n
    }


def test_the_stored_summary_follows_the_operators_exclusions(week) -> None:
    workspace, run_id = week
    review = opened(workspace, run_id)
    before = review.summary(workspace)
    mailed = review.selection.filter(pl.col("group") == "model").sort("score", descending=True).row(0, named=True)
    override(workspace, review, mailed["_id"], action="exclude", reason="test: asked not to be mailed", by="test")

    after = dataclasses.asdict(opened(workspace, run_id).summary(workspace))
    assert after["operator_excluded"] == 1
    assert after["mailed"]["model"] == before.mailed["model"] - 1
    assert after["expected_conversions"] == pytest.approx(before.expected_conversions - mailed["score"])
    same(after, counted_from_the_selection(workspace, run_id))


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda f: {**f, "reasons": {**f["reasons"], "selected_mailed": 20_000}}, id="counts changed by hand"),
        pytest.param(lambda f: {**f, "selection_sha256": "0" * 64}, id="of another selection"),
        pytest.param(lambda f: {k: v for k, v in f.items() if k != "histogram"}, id="incomplete"),
        pytest.param(lambda f: "not figures", id="not an object"),
    ],
)
def test_a_summary_that_is_not_of_the_recorded_selection_is_not_trusted(week, edit) -> None:
    """Review then counts from the selection, whose hash the ledger vouches for: the figures stay true."""
    workspace, run_id = week
    truth = counted_from_the_selection(workspace, run_id)
    path = workspace.run_dir(run_id) / FIGURES_FILE
    path.write_text(json.dumps(edit(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")
    same(dataclasses.asdict(opened(workspace, run_id).summary(workspace)), truth)


def test_an_unreadable_summary_is_counted_again(week) -> None:
    workspace, run_id = week
    truth = counted_from_the_selection(workspace, run_id)
    (workspace.run_dir(run_id) / FIGURES_FILE).write_bytes(b"\xff{")
    same(dataclasses.asdict(opened(workspace, run_id).summary(workspace)), truth)


def test_a_changed_selection_still_stops_the_review_when_a_summary_is_stored(week) -> None:
    workspace, run_id = week
    path = workspace.root / workspace.ledger.run(run_id).selection_path
    pl.read_parquet(path).with_columns(pl.col("score") * 2).write_parquet(path)
    with pytest.raises(NbaError, match="changed after the run"):
        opened(workspace, run_id)
