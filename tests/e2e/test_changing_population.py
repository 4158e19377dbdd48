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
from nba_toolkit.tui.screens.model import card_text
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
    # and the Model screen
    assert f"Outcomes known until {COMPLETE_UNTIL.isoformat()} (given with --known-until)" in card_text(sidecar).plain


def test_known_until_in_the_future_is_refused(small_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    models_before = sorted(p.name for p in small_workspace.models_dir.iterdir())

    code, refused = cli(capsys, "train", "--workspace", str(small_workspace.root), "--known-until", tomorrow)

    assert code == 2
    assert "after today" in refused["error"]
    assert sorted(p.name for p in small_workspace.models_dir.iterdir()) == models_before


def _configure(workspace: Workspace, old: str, new: str) -> None:
    text = workspace.config_path.read_text()
    assert old in text
    workspace.config_path.write_text(text.replace(old, new, 1))


def _week_of_size(workspace: Workspace, week: str, monday: str, customers: int, *, source: Path | None = None) -> Path:
    """The sample week's extract (or ``source``) dated in another week, with its first ``customers`` customers only."""
    source = source or workspace.snapshots_dir / "2026-W47.csv"
    lines = source.read_bytes().decode("cp1252").splitlines(keepends=True)
    path = workspace.snapshots_dir / f"{week}.csv"
    path.write_bytes("".join(lines[: customers + 1]).replace(";2026-11-16;", f";{monday};").encode("cp1252"))
    return path


def _eligible(counts: dict[str, int]) -> int:
    return sum(n for reason, n in counts.items() if not reason.startswith("excluded_"))


def test_capacity_as_a_share_of_the_eligible_follows_the_week(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    _configure(ws, "capacity = 2000 ", "capacity_share = 0.05 ")
    _configure(ws, "max = 2500 ", "")  # the band follows the capacity
    _week_of_size(ws, "2026-W48", "2026-11-23", 17_000)  # within the row count's 20% of the week before

    code, full = cli(capsys, "run", "--week", "2026-W47", "--workspace", str(ws.root))
    assert code == 0, full
    capsys.readouterr()
    assert main(["run", "--week", "2026-W48", "--workspace", str(ws.root)]) == 0
    printed = capsys.readouterr().out
    smaller = ws.ledger.runs()[0]
    assert smaller.week == "2026-W48"

    for run_id, counts, capacity in (
        (full["run_id"], full["counts"], full["capacity"]),
        (smaller.run_id, smaller.counts, smaller.capacity),
    ):
        assert capacity == int(0.05 * _eligible(counts))
        assert ws.ledger.run(run_id).capacity == capacity
        assert counts["selected_mailed"] + counts["holdout"] <= capacity
        assert counts["over_capacity"] == 0 or counts["selected_mailed"] + counts["holdout"] == capacity
        # the random control is 5% of this week's capacity, and the band's top is the capacity plus it
        assert counts["random_control"] == round(0.05 * capacity)
        band = next(c for c in ws.ledger.check_results(run_id) if c.check_name == "volume_band")
        assert band.threshold == f"0 to {capacity + counts['random_control']} (the capacity plus its random control)"
    assert smaller.capacity < full["capacity"]
    # the run's summary names the capacity it selected with
    assert f"over this week's capacity of {smaller.capacity:,}" in printed


def test_capacity_and_capacity_share_together_are_refused(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(sample_workspace, "capacity = 2000 ", "capacity = 2000\ncapacity_share = 0.05 ")

    code, refused = cli(capsys, "run", "--workspace", str(sample_workspace.root))

    assert code == 4
    assert "sets both capacity and capacity_share; set one" in refused["error"]
    assert sample_workspace.ledger.runs() == []


@pytest.mark.parametrize("share", ["0", "1.5", '"5%"', "true"])
def test_a_capacity_share_that_is_no_share_is_refused(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], share: str
) -> None:
    _configure(sample_workspace, "capacity = 2000 ", f"capacity_share = {share} ")

    code, refused = cli(capsys, "config", "show", "--workspace", str(sample_workspace.root))

    assert code == 4
    assert "capacity_share" in refused["error"] and "at most 1 (0.05 for 5%)" in refused["error"]


def test_a_simulation_can_try_a_capacity_share_on_a_workspace_with_a_number() -> None:
    from nba_toolkit.jobs.backtest import config_with

    config, changes, _ = config_with({"selection": {"capacity": 2000}}, ["selection.capacity_share=0.05"])

    assert config.selection.capacity_share == 0.05 and changes == {"selection.capacity_share": 0.05}
    assert config.to_dict()["selection"].get("capacity") is None


def test_a_growing_customer_base_runs_and_a_half_size_week_is_stopped(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    # a list whose size swings from week to week: the band against the last run is wide, the recent weeks judge
    _configure(ws, "[checks.volume_band]", "[checks.row_count]\nmax_change = 0.6\n\n[checks.volume_band]")
    (ws.snapshots_dir / "2026-W47.csv").rename(ws.root / "W47-source.csv")
    source = ws.root / "W47-source.csv"
    weeks = [("2026-W44", "2026-10-26"), ("2026-W45", "2026-11-02"), ("2026-W46", "2026-11-09"), ("2026-W47", "2026-11-16")]
    for k, (week, monday) in enumerate(weeks):
        _week_of_size(ws, week, monday, round(10_000 * 1.05**k), source=source)
        code, run = cli(capsys, "run", "--week", week, "--approve", "--workspace", str(ws.root))
        assert code == 0, run
        rows = next(c for c in run["checks"] if c["check"] == "row_count")
        assert rows["status"] == "pass", rows

    _week_of_size(ws, "2026-W48", "2026-11-23", 5_788, source=source)
    code, blocked = cli(capsys, "run", "--week", "2026-W48", "--workspace", str(ws.root))

    assert code == 3
    assert "row_count" in blocked["error"]
    rows = next(c for c in ws.ledger.check_results(blocked["run_id"]) if c.check_name == "row_count")
    assert rows.status == "fail"
    assert "0.54 times the median of the last 4 exported weeks (10,762)" in rows.message
    assert ws.ledger.run(blocked["run_id"]).status == "blocked"
    assert not [p for p in ws.exports_dir.iterdir() if "2026-W48" in p.name]


def test_an_optional_input_missing_from_the_history_is_filled_at_training_and_recorded(
    small_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = small_workspace
    pl.read_parquet(ws.history_path).drop("IB_LOGINS_M").write_parquet(ws.history_path)

    code, trained = cli(capsys, "train", "--workspace", str(ws.root))

    assert code in (0, 3), trained
    assert trained["imputed"] == {
        "logins_per_month": {
            "missing_from_file": True,
            "imputed_rows": trained["rows"],
            "value": 6,
            "how": "declared",
            "share": 1.0,
        }
    }
    sidecar = json.loads(Path(trained["path"]).with_suffix(".json").read_text())
    assert sidecar["imputed"] == trained["imputed"]
    card = Path(trained["path"]).with_suffix(".md").read_text()
    assert "logins_per_month missing for 100% of training rows (not in the history), filled with 6" in card
    assert "logins_per_month missing for 100% of training rows (not in the history), filled with 6" in card_text(sidecar).plain


def test_an_optional_input_empty_in_some_history_rows_is_filled_and_counted(
    small_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = small_workspace
    history = pl.read_parquet(ws.history_path)
    # about one row in eight has no logins recorded
    holes = history.with_columns(
        pl.when(pl.col("RELATION_NO") % 8 == 0).then(None).otherwise(pl.col("IB_LOGINS_M")).alias("IB_LOGINS_M")
    )
    holes.write_parquet(ws.history_path)

    capsys.readouterr()
    code = main(["train", "--workspace", str(ws.root)])
    printed = capsys.readouterr().out

    assert code in (0, 3), printed
    sidecar = json.loads(next(ws.models_dir.glob("*.json")).read_text())
    filled = sidecar["imputed"]["logins_per_month"]
    assert not filled["missing_from_file"] and filled["value"] == 6
    assert filled["share"] == filled["imputed_rows"] / sidecar["rows"]
    assert 0.08 < filled["share"] < 0.17
    line = f"logins_per_month missing for {filled['share']:.0%} of training rows (empty in the history), filled with 6"
    assert line in " ".join(printed.split())
    assert "app_installed" not in sidecar["imputed"]


def test_a_simulation_with_a_capacity_share_resolves_it_every_week(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    _configure(ws, "max = 2500 ", "")  # the band follows the capacity
    code, report = cli(
        capsys,
        "simulate",
        "--from",
        "2026-W43",
        "--set",
        "selection.capacity_share=0.02",
        "--workspace",
        str(ws.root),
    )

    assert code == 0, report
    weeks = report["configurations"][0]["weeks"]
    assert len(weeks) >= 4
    for week in weeks:
        assert week["capacity"] == int(0.02 * week["eligible"])
        assert week["selected"] <= week["capacity"]
        assert week["random_control"] == round(0.05 * week["capacity"])
        assert "volume_band" not in week["flags"]  # never more than the capacity plus its random control
