"""A job larger than the memory available is refused before it starts (exit 4), never killed by the system.

The memory the toolkit may count on is set low with NBA_TOOLKIT_MEMORY_LIMIT,
so the sample workspace stands in for a bank's history: each command is
asked for more than that allows and must say so, with the size, the
estimate, what is available and what makes the job smaller, and leave
nothing behind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.memory import LIMIT_ENV, file_rows
from nba_toolkit.workspace import Workspace

HISTORY_ROWS = 1_540_000  # the sample: 20,000 customers x 77 weeks


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, json.loads(captured.out)


@pytest.fixture
def exported(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> Workspace:
    """The sample workspace with the week run and exported, so residual and evaluate have a run to read."""
    code, _ = cli(capsys, "run", "--workspace", str(sample_workspace.root), "--approve", "--acknowledge-warnings")
    assert code == 0
    return sample_workspace


def test_training_over_more_than_memory_allows_is_refused_and_registers_nothing(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    models_before = sorted(p.name for p in sample_workspace.models_dir.iterdir())
    active_before = sample_workspace.ledger.active_model("logistic").model_id
    monkeypatch.setenv(LIMIT_ENV, "400MB")

    code, document = cli(capsys, "train", "--workspace", str(sample_workspace.root))

    assert code == document["exit_code"] == 4
    error = document["error"]
    assert "history.parquet" in error and f"{HISTORY_ROWS:,} customer-weeks" in error
    assert "would need about 1.1 GiB" in error and "381 MiB is available" in error and LIMIT_ENV in error
    assert "train --until WEEK" in document["hint"]
    assert sorted(p.name for p in sample_workspace.models_dir.iterdir()) == models_before
    assert sample_workspace.ledger.active_model("logistic").model_id == active_before


def test_training_until_an_earlier_week_counts_only_those_weeks_and_fits(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimate follows --until: too much for the whole history, enough for the first weeks."""
    monkeypatch.setenv(LIMIT_ENV, "1GB")
    code, document = cli(capsys, "train", "--workspace", str(sample_workspace.root))
    assert code == 4 and "would need about 1.1 GiB" in document["error"]

    code, document = cli(capsys, "train", "--workspace", str(sample_workspace.root), "--until", "2025-W50")
    assert code == 0, document
    assert document["train_weeks"][0] == "2025-W22"


def test_until_shows_in_the_refusal_with_its_own_count(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIMIT_ENV, "300MB")
    code, document = cli(capsys, "train", "--workspace", str(sample_workspace.root), "--until", "2025-W40")
    assert code == 4
    assert f"{HISTORY_ROWS:,} customer-weeks of history (380,000 up to 2025-W40)" in document["error"]


def test_a_simulation_over_more_than_memory_allows_is_refused(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIMIT_ENV, "600MB")
    code, document = cli(capsys, "simulate", "--workspace", str(sample_workspace.root))
    assert code == document["exit_code"] == 4
    # the history and the week in data/snapshots
    assert "the simulation over 1,560,000 customer-weeks would need about" in document["error"]
    assert "fewer weeks" in document["hint"]

    code, document = cli(capsys, "simulate", "--workspace", str(sample_workspace.root), "--compare", "selection.capacity=1000")
    assert code == 4 and "2 configurations" in document["error"] and "one configuration at a time" in document["hint"]

    code, document = cli(capsys, "simulate", "--workspace", str(sample_workspace.root), "--retrain", "weekly")
    assert code == 4 and "1,560,000 customer-weeks, retraining" in document["error"]


def test_residual_and_evaluation_over_more_than_memory_allows_are_refused(
    exported: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIMIT_ENV, "200MB")
    code, document = cli(capsys, "residual", "--workspace", str(exported.root))
    assert code == 4
    assert "1 run (20,000 selection rows) and a snapshot of 20,000 customers" in document["error"]
    assert "residual --weeks N" in document["hint"]

    code, document = cli(capsys, "evaluate", "--workspace", str(exported.root))
    assert code == 4
    assert "the evaluation over 1 run (20,000 selection rows)" in document["error"]
    assert "--from WEEK --to WEEK" in document["hint"]


def test_a_job_within_the_memory_available_runs(
    exported: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIMIT_ENV, "2GiB")
    code, document = cli(capsys, "evaluate", "--workspace", str(exported.root))
    assert code == 0 and document["runs"]


def test_a_limit_that_is_not_an_amount_is_a_usage_error(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIMIT_ENV, "plenty")
    code, document = cli(capsys, "train", "--workspace", str(sample_workspace.root))
    assert code == 2 and f"{LIMIT_ENV}='plenty'" in document["error"]


@pytest.mark.parametrize(("content", "rows"), [(b"a;b\n1;2\n3;4\n", 2), (b"a;b\r\n1;2\r\n3;4", 2), (b"a;b\n", 0), (b"", 0)])
def test_csv_rows_are_counted_from_the_lines(tmp_path: Path, content: bytes, rows: int) -> None:
    path = tmp_path / "week.csv"
    path.write_bytes(content)
    assert file_rows(path) == rows


def _sample_rows(workspace: Workspace, rows: int) -> None:
    toml = workspace.root / "nba.toml"
    text = re.sub(r"(?m)^#? ?training_sample_rows = .*$", f"training_sample_rows = {rows}", toml.read_text())
    assert f"training_sample_rows = {rows}" in text
    toml.write_text(text)


def test_a_sampled_training_is_estimated_for_its_sample_and_trains_within_memory(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too large to fit on whole (see above), the history fits when training samples 200,000 rows."""
    _sample_rows(sample_workspace, 200_000)
    monkeypatch.setenv(LIMIT_ENV, "1GB")
    code, document = cli(capsys, "train", "--workspace", str(sample_workspace.root))
    assert code == 0, document
    sample = json.loads(Path(document["path"]).with_suffix(".json").read_text())["training_sample"]
    assert sample["drawn"] == pytest.approx(200_000, abs=100) and sample["rows"] == document["rows"]
    assert document["training_sample"] == sample
    card = Path(document["path"]).with_suffix(".md").read_text()
    assert f"Fitted on a sample of {sample['drawn']:,} of the {document['rows']:,} customer-weeks" in card
    assert "measured on every customer of the validation weeks" in card
    ledger_metrics = sample_workspace.ledger.active_model("logistic").metrics
    assert ledger_metrics["sampling"]["negatives_rate"] == sample["negatives_rate"]
    assert document["metrics"]["out_of_time"]["rows"] == 174_612  # every row of the validation weeks
    # the plain-text face says it too
    capsys.readouterr()
    assert main(["train", "--workspace", str(sample_workspace.root)]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "Fitted on a sample of" in shown and "the validation figures use every row" in shown


def test_a_history_too_large_even_to_read_is_refused_however_small_the_sample(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _sample_rows(sample_workspace, 200_000)
    monkeypatch.setenv(LIMIT_ENV, "400MB")
    code, document = cli(capsys, "train", "--workspace", str(sample_workspace.root))
    assert code == document["exit_code"] == 4
    assert f"{HISTORY_ROWS:,} customer-weeks of history, fitted on a sample of 200,000" in document["error"]
    assert "training_sample_rows" in document["hint"]
