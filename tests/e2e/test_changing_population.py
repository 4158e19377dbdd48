"""Training and the weekly run on data that moves: late outcomes, capacity as a share, week sizes that change.

A small copy of the sample workspace (a fifth of its customers) keeps each
training to a second or two; everything else is the real command line on
real files and a real ledger.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace, init_workspace

#: a fifth of the sample's 20,000 customers: enough conversions to train on, quick to train
CUSTOMERS = 4000
#: the day up to which the outcomes below are complete; a few openings after it arrived early
COMPLETE_UNTIL = date(2026, 9, 30)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workspace with the history and outcomes of its first ``CUSTOMERS`` customers only."""
    root = tmp_path_factory.mktemp("changing") / "ws"
    workspace = init_workspace(root, sample=True)
    history = pl.read_parquet(workspace.history_path)
    kept = history["RELATION_NO"].unique().sort().head(CUSTOMERS)
    history.filter(pl.col("RELATION_NO").is_in(kept.implode())).write_parquet(workspace.history_path)
    outcomes = pl.read_csv(workspace.outcomes_path, infer_schema_length=0)
    outcomes.filter(pl.col("RELATION_NO").cast(pl.Int64).is_in(kept.implode())).write_csv(workspace.outcomes_path)
    workspace.close()
    return root


@pytest.fixture
def small_workspace(small_sample: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(small_sample, root)
    workspace = Workspace.open(root)
    yield workspace
    workspace.close()


def _outcomes_loaded_late(workspace: Workspace) -> None:
    """Outcomes complete up to ``COMPLETE_UNTIL``; after it, only the openings of the last day arrived early."""
    outcomes = pl.read_csv(workspace.outcomes_path, infer_schema_length=0)
    last_day = outcomes["OPENED_DATE"].max()
    outcomes.filter((pl.col("OPENED_DATE") <= COMPLETE_UNTIL.isoformat()) | (pl.col("OPENED_DATE") == last_day)).write_csv(
        workspace.outcomes_path
    )


def _labelled_rows(workspace: Workspace, known_until: date) -> tuple[int, int]:
    """Non-investor customer-weeks whose 4-week label window ends by ``known_until``, and how many weeks those are."""
    history = pl.read_parquet(workspace.history_path)
    complete = history.filter((pl.col("SNAPSHOT_DATE") + timedelta(days=27) <= known_until) & (pl.col("HAS_INVEST_ACC") == 0))
    return complete.height, complete["SNAPSHOT_DATE"].n_unique()


def test_known_until_leaves_out_the_weeks_whose_outcomes_are_not_known_yet(
    small_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = small_workspace
    _outcomes_loaded_late(ws)

    code, guessed = cli(capsys, "train", "--workspace", str(ws.root))
    assert code in (0, 3), guessed
    code, told = cli(capsys, "train", "--workspace", str(ws.root), "--known-until", COMPLETE_UNTIL.isoformat())
    assert code in (0, 3), told

    # Without the flag the stray late openings make seven more weeks look complete: their customers are labelled "no".
    newest = pl.read_csv(ws.outcomes_path, infer_schema_length=0)["OPENED_DATE"].max()
    assert guessed["outcomes_known_until"]["date"] == newest
    assert (guessed["rows"], guessed["positives"]) != (told["rows"], told["positives"])
    rows, weeks = _labelled_rows(ws, COMPLETE_UNTIL)
    assert told["rows"] == rows
    assert told["outcomes_known_until"] == {
        "date": COMPLETE_UNTIL.isoformat(),
        "source": "given with --known-until",
        "weeks_left_out": 77 - weeks,
    }
    extra_rows = guessed["rows"] - told["rows"]
    extra_positives = guessed["positives"] - told["positives"]
    assert extra_rows == _labelled_rows(ws, date.fromisoformat(newest))[0] - rows > 0
    # the weeks with unknown outcomes convert at a fraction of the rate of those with known ones
    assert extra_positives / extra_rows < 0.5 * told["positives"] / told["rows"]

    # recorded with the model: its sidecar and its card
    sidecar = json.loads(Path(told["path"]).with_suffix(".json").read_text())
    assert sidecar["outcomes_known_until"]["date"] == COMPLETE_UNTIL.isoformat()
    card = Path(told["path"]).with_suffix(".md").read_text()
    assert f"Outcomes known until {COMPLETE_UNTIL.isoformat()} (given with --known-until)" in card


def test_known_until_in_the_future_is_refused(small_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    models_before = sorted(p.name for p in small_workspace.models_dir.iterdir())

    code, refused = cli(capsys, "train", "--workspace", str(small_workspace.root), "--known-until", tomorrow)

    assert code == 2
    assert "after today" in refused["error"]
    assert sorted(p.name for p in small_workspace.models_dir.iterdir()) == models_before
