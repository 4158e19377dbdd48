"""Tamper evidence: edits and deletions made outside the toolkit are found and named."""

from __future__ import annotations

import json
import sqlite3

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


def _verify(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["audit", "verify", "--workspace", str(ws.root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def _two_runs(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """One exported run and one awaiting approval, as after a normal week and a re-run."""
    assert main(["run", "--workspace", str(ws.root), "--approve", "--json"]) == 0
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 0
    capsys.readouterr()
    first, second = sorted(r.run_id for r in ws.ledger.runs())
    return first, second


def _shell(ws: Workspace, sql: str, *params: object) -> None:
    """What someone with the sqlite3 shell could do: no toolkit code, foreign keys off."""
    ws.close()
    with sqlite3.connect(ws.root / "ledger.sqlite") as db:
        db.execute(sql, params)


def test_untouched_ledger_verifies(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs(sample_workspace, capsys)
    code, report = _verify(sample_workspace, capsys)
    assert code == 0 and report["ok"] and report["problems"] == []
    assert report["records"] > 4 and len(report["last_hash"]) == 64


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("UPDATE runs SET export_rows = export_rows + 1 WHERE run_id = ?", ["run {first}", "export_rows"]),
        ("UPDATE runs SET approved_by = 'someone else' WHERE run_id = ?", ["run {first}", "approved_by"]),
        ("UPDATE check_results SET status = 'pass', message = 'fine' WHERE run_id = ?", ["run {first}", "checks"]),
        ("DELETE FROM runs WHERE run_id = ?", ["run {first} was deleted"]),
        (
            "DELETE FROM contacts WHERE customer_id = (SELECT MIN(customer_id) FROM contacts WHERE run_id = ?)",
            ["run {first}", "contacts"],
        ),
        (
            "INSERT INTO runs (run_id, week, status, started_at, operator, toolkit_version, config, plugins, salt)"
            " SELECT 'fake.1', week, status, started_at, operator, toolkit_version, config, plugins, salt"
            " FROM runs WHERE run_id = ?",
            ["run fake.1 has no audit record"],
        ),
        (
            "UPDATE audit SET content = replace(content, 'exported', 'blocked')"
            " WHERE seq = (SELECT MAX(seq) FROM audit WHERE subject = ?)",
            ["chain breaks"],
        ),
    ],
)
def test_a_change_outside_the_toolkit_is_named(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], sql: str, words: list[str]
) -> None:
    first, _ = _two_runs(sample_workspace, capsys)
    _shell(sample_workspace, sql, first)
    code, report = _verify(Workspace.open(sample_workspace.root), capsys)
    assert code == 4
    assert not report["ok"]
    text = " ".join(report["problems"])
    for word in words:
        assert word.format(first=first) in text, text


def test_plain_output_lists_the_problem(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = _two_runs(sample_workspace, capsys)
    _shell(sample_workspace, "UPDATE runs SET counts = '{}' WHERE run_id = ?", first)
    assert main(["audit", "verify", "--workspace", str(sample_workspace.root)]) == 4
    captured = capsys.readouterr()
    assert f"run {first} differs from its audit record" in captured.out
    assert "changed outside the toolkit" in captured.err
