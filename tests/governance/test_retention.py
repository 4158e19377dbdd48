"""Retention: old per-customer run data goes, counts and hashes stay, and the audit chain still verifies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from nba_toolkit.cli import main
from nba_toolkit.jobs.retention import purge
from nba_toolkit.workspace import Workspace


def test_purge_removes_customer_data_and_keeps_the_chain(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    capsys.readouterr()
    assert main(["run", "--approve", "--workspace", str(ws.root), "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert ws.run_dir(run["run_id"]).is_dir()

    # nothing is old enough yet
    assert purge(ws).runs == []

    later = datetime.now(UTC) + timedelta(days=ws.config.retention.run_data_days + 1)
    report = purge(ws, now=later)
    assert report.runs == [run["run_id"]] and report.ledger_rows > run["export"]["rows"]
    assert not ws.run_dir(run["run_id"]).exists()
    record = ws.ledger.run(run["run_id"])
    assert record.purged_at and record.counts == run["counts"] and record.export_sha256 == run["export"]["sha256"]
    assert ws.ledger.contacted_since(datetime(2000, 1, 1).date()) == []
    assert ws.ledger.verify().ok, ws.ledger.verify().problems

    capsys.readouterr()
    assert main(["purge", "--workspace", str(ws.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []
