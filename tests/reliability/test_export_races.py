"""Races between real processes: two exports of one week, and commands opening the ledger during a run.

Every competing command is a separate ``nba-toolkit`` process, started
many times, and the invariant is asserted every time.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from export_workspace import (
    WEEK,
    contacts_of_run,
    finish,
    mail_files,
    nba,
    rows_in_file,
    start,
    workspace_invariants,
)

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

REPETITIONS = 20


def run_week(capsys: pytest.CaptureFixture[str], root: Path) -> dict:
    capsys.readouterr()
    code = main(["run", "--again", "--week", WEEK, "--workspace", str(root), "--json"])
    run = json.loads(capsys.readouterr().out)
    assert code == 0, run
    return run


def test_two_exports_of_one_week_at_the_same_moment_mail_it_once(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    template = sample_workspace.root
    first, second = (run_week(capsys, template)["run_id"] for _ in range(2))
    sample_workspace.close()
    for attempt in range(REPETITIONS):
        root = tmp_path / f"race{attempt}"
        shutil.copytree(template, root)
        racers = [start(root, "export", run_id) for run_id in (first, second)]
        results = [finish(p) for p in racers]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], (attempt, results)
        (won, exported), (_, refused) = sorted(results, key=lambda r: r[0])
        assert "a week is mailed once" in refused["error"], refused
        [path] = mail_files(root)
        assert path == Path(exported["path"])
        assert rows_in_file(path) == contacts_of_run(root, exported["run_id"])
        assert sum(contacts_of_run(root, other).total() for other in (first, second)) == exported["rows"]
        assert workspace_invariants(root) == [], attempt
        shutil.rmtree(root)


def test_commands_during_a_long_run_leave_it_running(sample_workspace: Workspace) -> None:
    root = sample_workspace.root
    sample_workspace.close()
    for hold_at in ("run.begun", "run.selection_written"):
        running = start(root, "run", "--again", "--week", WEEK, NBA_TOOLKIT_PAUSE_AT=hold_at, NBA_TOOLKIT_PAUSE_SECONDS="12")
        run_id = wait_for_a_running_run(root)
        for _ in range(2):
            for command in (("runs",), ("status",)):
                code, seen = nba(root, *command)
                assert code == 0, seen
        assert status_of(root, run_id) == "running", "the commands must overlap the run"
        code, run = finish(running)
        assert code == 0, run
        code, listed = nba(root, "runs")
        [record] = [r for r in listed["runs"] if r["run_id"] == run_id]
        assert record["status"] == "awaiting_approval" and record["error"] is None, record
        assert not list((root / "outbox").glob(f"*-{run_id}-failed.eml"))


def wait_for_a_running_run(root: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with sqlite3.connect(root / "ledger.sqlite") as db:
            row = db.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchone()
        if row:
            return row[0]
        time.sleep(0.1)
    raise AssertionError("the run never started")


def status_of(root: Path, run_id: str) -> str:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]


@pytest.mark.parametrize("point", ["run.begun", "run.selection_written"])
def test_a_killed_run_is_marked_interrupted_by_the_next_command(sample_workspace: Workspace, point: str) -> None:
    root = sample_workspace.root
    sample_workspace.close()
    code, killed = nba(root, "run", "--week", WEEK, NBA_TOOLKIT_CRASH_AT=point)
    assert code == -9, killed
    code, listed = nba(root, "runs")
    [record] = listed["runs"]
    assert record["status"] == "failed" and record["error"].startswith("interrupted"), record
    [alert] = list((root / "outbox").glob(f"*-{record['run_id']}-failed.eml"))
    assert "was interrupted" in alert.read_text(encoding="utf-8")
    assert workspace_invariants(root) == []
    code, again = nba(root, "run", "--week", WEEK, "--approve")
    assert code == 0 and again["status"] == "exported", again
    assert workspace_invariants(root) == []


def test_an_export_in_progress_holds_its_week_and_other_commands_leave_it_alone(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sample_workspace.root
    first, second = (run_week(capsys, root)["run_id"] for _ in range(2))
    sample_workspace.close()
    exporting = start(root, "export", first, NBA_TOOLKIT_PAUSE_AT="export.reserved", NBA_TOOLKIT_PAUSE_SECONDS="10")
    deadline = time.monotonic() + 60
    while not ledger_value(root, "SELECT pid FROM exports WHERE state = 'exporting'"):
        assert time.monotonic() < deadline and exporting.poll() is None, "the export never reserved its week"
        time.sleep(0.1)
    code, listed = nba(root, "runs")  # opening the workspace must not settle a live export
    assert code == 0
    code, refused = nba(root, "export", second)
    assert code == 2, refused
    assert f"is being exported by run {first} right now (process {exporting.pid}" in refused["error"], refused
    assert ledger_value(root, "SELECT state FROM exports WHERE run_id = ?", first) == "exporting"
    code, exported = finish(exporting)
    assert code == 0, exported
    assert mail_files(root) == [Path(exported["path"])]
    assert workspace_invariants(root) == []


def ledger_value(root: Path, sql: str, *args: object) -> object:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        row = db.execute(sql, args).fetchone()
    return row[0] if row else None
