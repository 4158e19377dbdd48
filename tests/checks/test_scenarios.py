"""Each scenario file in sample_data/scenarios stops the run before anything is scored or exported."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.paths import sample_data_dir
from nba_toolkit.workspace import Workspace

SCENARIOS = sample_data_dir() / "scenarios"

#: scenario file -> the check that must stop it on the sample workspace's first run, and words of its advice
EXPECTED = {
    "late_load_2026-W47.parquet": ("freshness", "Do not run"),
    "market_crash_2026-W47.parquet": ("market_regime", "Do not mail on the model's advice"),
    "unit_change_2026-W47.parquet": ("feature_drift", "Find out what changed"),
    "duplicate_ids_2026-W47.parquet": ("duplicate_ids", "Ask the data warehouse team"),
    "empty_extract_2026-W47.parquet": ("row_count", "Ask the data warehouse team to run this week's extract again"),
}


def test_every_scenario_file_is_tested() -> None:
    shipped = {p.name for p in SCENARIOS.glob("*.parquet")}
    assert shipped == set(EXPECTED)


def test_an_empty_extract_without_a_week_in_its_name_runs_nothing(
    sample_workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Zero rows and no week in the name: no week to record a run for, so it is refused as bad input."""
    nameless = tmp_path / "extract.parquet"
    nameless.write_bytes((SCENARIOS / "empty_extract_2026-W47.parquet").read_bytes())
    runs_before = len(sample_workspace.ledger.runs())
    code, result = cli_json(capsys, "run", "--workspace", str(sample_workspace.root), "--snapshot", str(nameless))
    assert code == 4 and "no customer rows" in result["error"] and "which week" in result["error"]
    assert len(sample_workspace.ledger.runs()) == runs_before
    assert not list(sample_workspace.exports_dir.iterdir())


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def alerts(ws: Workspace) -> list[Path]:
    return sorted((ws.root / "outbox").iterdir())


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_blocks_the_run(scenario: str, sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    check, advice = EXPECTED[scenario]
    capsys.readouterr()
    code = main(["run", "--workspace", str(ws.root), "--snapshot", str(SCENARIOS / scenario)])
    shown = capsys.readouterr().out
    assert code == 3
    assert "Blocked" in shown and check in shown and f"What to do: {advice}" in shown.replace("\n", " ")

    runs = ws.ledger.runs()
    assert [r.status for r in runs] == ["blocked"]
    results = ws.ledger.check_results(runs[0].run_id)
    assert [r.check_name for r in results if r.status == "fail" and r.severity == "block"] == [check]
    assert runs[0].selection_path is None, "nothing was scored or selected"
    assert not list(ws.exports_dir.iterdir())

    [alert] = alerts(ws)
    message = email.message_from_bytes(alert.read_bytes(), policy=policy.default)
    body = message.get_content()
    assert alert.suffix == ".eml" and runs[0].run_id in message["Subject"] and check in message["Subject"]
    assert check in body and advice in body


def test_unit_change_after_a_normal_week_names_the_jump(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    code, first = cli_json(capsys, "run", "--workspace", str(ws.root))
    assert code == 0 and first["status"] == "awaiting_approval"
    code, blocked = cli_json(
        capsys, "run", "--again", "--workspace", str(ws.root), "--snapshot", str(SCENARIOS / "unit_change_2026-W47.parquet")
    )
    assert code == 3
    failed = {c["check"]: c for c in blocked["checks"] if c["status"] == "fail"}
    assert set(failed) == {"unit_jump", "feature_drift"}
    assert "'savings_balance' is about 100 times larger than in run 2026-W47.1" in failed["unit_jump"]["message"]
    assert "'current_balance' is about 100 times larger" in failed["unit_jump"]["message"]
    assert len(alerts(ws)) == 1
    # a blocked run, a finished run and the checks command describe a check with the same keys
    code, listed = cli_json(capsys, "checks", blocked["run_id"], "--workspace", str(ws.root))
    assert code == 0
    assert set(first["checks"][0]) == set(blocked["checks"][0]) <= set(listed["checks"][0])


def test_sample_week_passes_every_check(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """The week the e2e tests export: no check may fail, or export would be refused for a warning."""
    code, run = cli_json(capsys, "run", "--workspace", str(sample_workspace.root))
    assert code == 0
    assert {c["status"] for c in run["checks"]} == {"pass"}
    names = {c["check"] for c in run["checks"]}
    assert {"row_count", "null_rate", "value_ranges", "unit_jump", "feature_drift", "market_regime"} <= names
    assert {"recent_volume", "score_drift", "mailed_cooldown", "mailed_consent", "mailed_investor", "mailed_duplicates"} <= names
    # a second run of the week compares with the first: same rows, same units, same scores
    code, again = cli_json(capsys, "run", "--again", "--workspace", str(sample_workspace.root), "--week", "2026-W47")
    assert code == 0 and {c["status"] for c in again["checks"]} == {"pass"}
    measured = {c.check_name: c for c in sample_workspace.ledger.check_results(again["run_id"])}
    assert measured["row_count"].severity == "block" and measured["row_count"].measured == "20000"
    assert measured["score_drift"].measured == "0.0"


def test_scheduled_run_without_this_weeks_snapshot_blocks_and_alerts(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The warehouse loaded late: the scheduled job finds no file for the calendar week and says so."""
    capsys.readouterr()
    code = main(["run", "--scheduled", "--workspace", str(sample_workspace.root), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 3
    assert "has not arrived" in result["error"]
    assert sample_workspace.ledger.runs() == []
    assert not list(sample_workspace.exports_dir.iterdir())
    alerts = list((sample_workspace.root / "outbox").iterdir())
    assert len(alerts) == 1 and "Watch out" in alerts[0].read_text()
