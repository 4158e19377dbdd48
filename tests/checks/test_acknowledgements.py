"""Warnings hold the export back until a person acknowledges them; switched-off checks stay visible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

#: the sample week mails about 1,740 customers; a band up to 1,000 that only warns makes a warning
WARN_ON_VOLUME = '\n[checks.volume_band]\nmin = 0\nmax = 1000\nseverity = "warn"\n'


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def warn_on_volume(ws: Workspace) -> None:
    text = ws.config_path.read_text()
    start = text.index("[checks.volume_band]")
    end = text.index("\n\n", start)
    ws.config_path.write_text(text[:start] + WARN_ON_VOLUME.strip() + text[end:])


def test_export_waits_for_acknowledgement(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    warn_on_volume(ws)
    code, run = cli_json(capsys, "run", "--workspace", str(ws.root))
    assert code == 0 and run["status"] == "awaiting_approval"
    run_id = run["run_id"]

    code, refused = cli_json(capsys, "export", run_id, "--workspace", str(ws.root))
    assert code == 2 and "warnings nobody has acknowledged" in refused["error"] and "volume_band" in refused["error"]
    assert f"nba-toolkit acknowledge {run_id} CHECK" in refused["hint"]
    assert not list(ws.exports_dir.iterdir())

    code, listed = cli_json(capsys, "checks", run_id, "--workspace", str(ws.root))
    assert code == 0 and listed["unacknowledged"] == ["volume_band"]
    volume = next(c for c in listed["checks"] if c["check"] == "volume_band")
    assert volume["severity"] == "warn" and volume["status"] == "fail" and volume["threshold"] == "0 to 1000"
    assert volume["action"] and volume["acknowledged_by"] is None

    code, wrong = cli_json(capsys, "acknowledge", run_id, "freshness", "--workspace", str(ws.root))
    assert code == 2 and "no warning from a check called 'freshness'" in wrong["error"] and "volume_band" in wrong["hint"]

    code, done = cli_json(capsys, "acknowledge", run_id, "volume_band", "--note", "campaign week", "--workspace", str(ws.root))
    assert code == 0 and done["acknowledged_by"] == "test-operator" and done["unacknowledged"] == []
    who, when = Workspace.open(ws.root).ledger.acknowledgements(run_id)["volume_band"]
    assert who == "test-operator" and when

    code, exported = cli_json(capsys, "export", run_id, "--workspace", str(ws.root))
    assert code == 0 and Path(exported["path"]).is_file()
    # the plain listing shows who acknowledged
    capsys.readouterr()
    assert main(["checks", run_id, "--workspace", str(ws.root)]) == 0
    assert "Acknowledged by test-operator" in capsys.readouterr().out


def test_run_approve_refuses_warnings_unless_told(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    warn_on_volume(ws)
    code, refused = cli_json(capsys, "run", "--approve", "--workspace", str(ws.root))
    assert code == 2 and "volume_band" in refused["error"]
    assert not list(ws.exports_dir.iterdir())
    [waiting] = Workspace.open(ws.root).ledger.runs()
    assert waiting.status == "awaiting_approval"

    code, run = cli_json(
        capsys, "run", "--again", "--approve", "--acknowledge-warnings", "--week", "2026-W47", "--workspace", str(ws.root)
    )
    assert code == 0 and run["status"] == "exported" and Path(run["export"]["path"]).is_file()
    acknowledged = Workspace.open(ws.root).ledger.acknowledgements(run["run_id"])
    assert acknowledged["volume_band"][0] == "test-operator"

    code, misuse = cli_json(capsys, "run", "--acknowledge-warnings", "--workspace", str(ws.root))
    assert code == 2 and "--approve" in misuse["error"]


def test_a_switched_off_check_is_recorded_as_skipped(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    ws.config_path.write_text(
        ws.config_path.read_text()
        + '\n[checks.score_drift]\nenabled = false\nreason = "new engine version, no comparable scores"\n'
    )
    code, run = cli_json(capsys, "run", "--approve", "--workspace", str(ws.root))
    assert code == 0 and run["status"] == "exported", "a skipped check neither blocks nor needs acknowledging"
    [skipped] = [c for c in ws.ledger.check_results(run["run_id"]) if c.status == "skipped"]
    assert skipped.check_name == "score_drift" and "new engine version, no comparable scores" in skipped.message


def test_switching_a_check_off_needs_a_reason(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    ws.config_path.write_text(ws.config_path.read_text() + "\n[checks.freshness]\nenabled = false\n")
    code, result = cli_json(capsys, "run", "--workspace", str(ws.root))
    assert code == 4 and "[checks.freshness] enabled = false needs a reason" in result["error"]
    assert not Workspace.open(ws.root).ledger.runs()


def test_a_configured_check_that_is_not_loaded_stops_the_run_or_warns_while_a_plugin_is_disabled(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    ws.config_path.write_text(ws.config_path.read_text() + '\n[checks.no_complaints]\nseverity = "block"\n')
    code, refused = cli_json(capsys, "run", "--workspace", str(ws.root))
    assert code == 5 and "[checks.no_complaints]" in refused["error"]
    # with its plugin switched off in nba.toml, the table is reported by the input checks instead
    ws.config_path.write_text(ws.config_path.read_text().replace("disabled = []", 'disabled = ["complaints"]'))
    code, run = cli_json(capsys, "run", "--workspace", str(ws.root))
    assert code == 0
    [missing] = [c for c in ws.ledger.check_results(run["run_id"]) if c.status == "fail"]
    assert (
        missing.check_name == "no_complaints"
        and missing.severity == "warn"
        and "no check of that name is loaded" in missing.message
    )
