"""One obvious next step: running a week again, withdrawing a run, cancelling one, and the run to open on."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.review import run_awaiting_operator
from nba_toolkit.errors import UsageError
from nba_toolkit.ledger import store
from nba_toolkit.ledger.store import Ledger
from nba_toolkit.workspace import Workspace

WEEK = "2026-W47"


def nba(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--workspace", str(ws.root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def nba_text(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main([*args, "--workspace", str(ws.root)])
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())


def statuses(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return dict(db.execute("SELECT run_id, status FROM runs ORDER BY rowid"))


# ------------------------------------------------------------------ running a week again


def test_a_second_run_of_a_week_awaiting_approval_is_refused_until_asked_for(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    code, first = nba(capsys, ws, "run")
    assert code == 0 and first["run_id"] == f"{WEEK}.1"
    code, refused = nba(capsys, ws, "run")
    assert code == 2, refused
    assert f"{WEEK} already has run {WEEK}.1 awaiting approval; nothing was run" in refused["error"]
    assert f"nba-toolkit withdraw {WEEK}.1 --reason TEXT" in refused["hint"] and "--again" in refused["hint"]
    assert statuses(ws.root) == {f"{WEEK}.1": "awaiting_approval"}, "the refused run left no record"

    code, text = nba_text(capsys, ws, "run", "--again")
    assert code == 0, text
    assert f"Also awaiting approval for {WEEK}: {WEEK}.1" in text
    assert statuses(ws.root) == {f"{WEEK}.1": "awaiting_approval", f"{WEEK}.2": "awaiting_approval"}


def test_a_dry_run_does_not_count_as_a_second_run(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    assert nba(capsys, ws, "run", "--dry-run")[0] == 0
    code, run = nba(capsys, ws, "run")
    assert code == 0 and run["kind"] == "weekly", run


def test_a_withdrawn_run_is_recorded_never_awaits_and_is_never_exported(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    assert nba(capsys, ws, "run")[0] == 0
    code, withdrawn = nba(capsys, ws, "withdraw", f"{WEEK}.1", "--reason", "ran on the wrong extract")
    assert code == 0 and withdrawn["status"] == "withdrawn", withdrawn
    record = Workspace.open(ws.root).ledger.run(f"{WEEK}.1")
    assert (record.withdrawn_by, record.withdrawn_reason) == ("test-operator", "ran on the wrong extract")
    assert record.withdrawn_at

    code, status = nba(capsys, ws, "status", "--week", WEEK)
    assert code == 0 and status["awaiting_approval"] == [] and status["status"] == "withdrawn", status
    code, refused = nba(capsys, ws, "export", f"{WEEK}.1")
    assert code == 2 and "withdrawn" in refused["error"], refused
    assert not list(ws.exports_dir.iterdir())
    code, again = nba(capsys, ws, "withdraw", f"{WEEK}.1", "--reason", "twice")
    assert code == 2 and "only a run awaiting approval can be withdrawn" in again["error"]
    code, audit = nba(capsys, ws, "audit", "verify")
    assert code == 0 and audit["ok"], audit

    # the week can be run again without --again, and that run is the one to open on
    code, second = nba(capsys, ws, "run")
    assert code == 0 and second["run_id"] == f"{WEEK}.2", second
    assert run_awaiting_operator(Workspace.open(ws.root).ledger.runs()) == f"{WEEK}.2"


def test_a_withdrawn_run_is_refused_inside_the_export_transaction(sample_workspace: Workspace) -> None:
    """Even past every check a person can read, the ledger refuses to reserve the week for a withdrawn run."""
    ws = sample_workspace
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 0
    ledger = Workspace.open(ws.root).ledger
    ledger.withdraw_run(f"{WEEK}.1", reason="wrong week", by="someone")
    with pytest.raises(UsageError, match="no longer awaiting approval"):
        ledger.reserve_export(f"{WEEK}.1", path="exports/x.csv", export_date=date.today(), by="x")


def test_exporting_one_run_of_a_week_withdraws_the_others(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    assert nba(capsys, ws, "run")[0] == 0
    assert nba(capsys, ws, "run", "--again")[0] == 0
    code, exported = nba(capsys, ws, "export", f"{WEEK}.2")
    assert code == 0, exported
    assert statuses(ws.root) == {f"{WEEK}.1": "withdrawn", f"{WEEK}.2": "exported"}
    record = Workspace.open(ws.root).ledger.run(f"{WEEK}.1")
    assert record.withdrawn_reason.startswith(f"the week was exported by run {WEEK}.2")
    code, status = nba(capsys, ws, "status", "--week", WEEK)
    assert status["awaiting_approval"] == [], status
    assert nba(capsys, ws, "audit", "verify")[1]["ok"]


def test_a_run_being_exported_cannot_be_withdrawn(sample_workspace: Workspace) -> None:
    root = sample_workspace.root
    assert main(["run", "--workspace", str(root), "--json"]) == 0
    sample_workspace.close()
    exporting = subprocess.Popen(
        [sys.executable, "-m", "nba_toolkit.cli", "export", f"{WEEK}.1", "--workspace", str(root), "--json"],
        env={**os.environ, "NBA_TOOLKIT_PAUSE_AT": "export.reserved", "NBA_TOOLKIT_PAUSE_SECONDS": "8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: _export_state(root) == "exporting")
        ledger = Ledger.open(root / "ledger.sqlite")
        with pytest.raises(UsageError, match="being exported right now; it was not withdrawn"):
            ledger.withdraw_run(f"{WEEK}.1", reason="too late", by="someone")
        ledger.close()
    finally:
        out, _ = exporting.communicate(timeout=120)
    assert exporting.returncode == 0, out
    assert statuses(root) == {f"{WEEK}.1": "exported"}


def _export_state(root: Path) -> str | None:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        row = db.execute("SELECT state FROM exports ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the condition never held")


def test_a_ledger_of_schema_6_is_upgraded_to_hold_withdrawn_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.sqlite"
    monkeypatch.setattr(store, "SCHEMA_VERSION", 6)
    old = Ledger.open(path)
    run_id = old.begin_run(week=WEEK, operator="a", toolkit_version="0", config={}, plugins={}, salt="s")
    old.finish_run(run_id, status="awaiting_approval")
    old.close()
    monkeypatch.undo()
    ledger = Ledger.open(path)
    assert ledger._db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    ledger.withdraw_run(run_id, reason="an older run", by="b")
    assert ledger.run(run_id).status == "withdrawn"
    assert ledger.verify().ok, ledger.verify().problems
    assert ledger._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ------------------------------------------------------------------ cancelling


def test_ctrl_c_during_a_run_records_it_as_cancelled(sample_workspace: Workspace) -> None:
    root = sample_workspace.root
    sample_workspace.close()
    running = subprocess.Popen(
        [sys.executable, "-m", "nba_toolkit.cli", "run", "--workspace", str(root)],
        env={**os.environ, "NBA_TOOLKIT_PAUSE_AT": "run.selection_written", "NBA_TOOLKIT_PAUSE_SECONDS": "30"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: (root / "runs" / f"{WEEK}.1" / "selection.parquet").is_file())
    running.send_signal(signal.SIGINT)
    _, err = running.communicate(timeout=120)
    assert running.returncode == 130, err
    assert "recorded as cancelled" in err
    assert statuses(root) == {f"{WEEK}.1": "cancelled"}
    [alert] = list((root / "outbox").glob(f"*{WEEK}.1*"))
    text = alert.read_text(encoding="utf-8")
    assert "was cancelled" in text and "failed" not in text
    ledger = Workspace.open(root).ledger
    assert ledger.verify().ok
    assert run_awaiting_operator(ledger.runs()) is None, "a cancelled run is never the one to open on"


# ------------------------------------------------------------------ degraded means the same everywhere


def degraded_week(ws: Workspace) -> None:
    """This week's extract without the logins column (an optional input), and feature drift as a warning."""
    import polars as pl

    path = ws.snapshots_dir / f"{WEEK}.csv"
    pl.read_csv(path, separator=";", infer_schema=False, encoding="utf8-lossy").drop("IB_LOGINS_M").write_csv(path, separator=";")
    with ws.config_path.open("a", encoding="utf-8") as handle:
        handle.write('\n[checks.feature_drift]\nseverity = "warn"\n')


def test_after_an_exported_degraded_run_residual_simulate_and_whatif_use_its_stand_ins(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    degraded_week(ws)
    code, run = nba(capsys, ws, "run", "--approve", "--acknowledge-warnings")
    assert code == 0 and run["status"] == "exported" and "logins_per_month" in run["degraded"], run

    code, residual = nba(capsys, ws, "residual")
    assert code == 0, residual
    assert residual["runs"] == [f"{WEEK}.1"]
    code, whatif = nba(capsys, ws, "whatif", "--shift", "fund_change_4w=+5")
    assert code == 0, whatif
    code, simulated = nba(capsys, ws, "simulate", "--from", "2026-W45")
    assert code == 0, simulated
    assert WEEK in json.dumps(simulated)


# ------------------------------------------------------------------ warnings easy to miss


def test_in_the_list_of_a_blocked_run_a_warning_is_marked_apart_from_the_blocker(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    from nba_toolkit.paths import sample_data_dir

    ws = sample_workspace
    with ws.config_path.open("a", encoding="utf-8") as handle:
        handle.write('\n[checks.feature_drift]\nseverity = "warn"\n')
    assert nba(capsys, ws, "run")[0] == 0
    unit_change = sample_data_dir() / "scenarios" / "unit_change_2026-W47.parquet"
    code, text = nba_text(capsys, ws, "run", "--again", "--snapshot", str(unit_change))
    assert code == 3, text
    assert "✗ blocks: unit_jump" in text
    assert "! warns (does not block): feature_drift" in text and "✗ blocks: feature_drift" not in text
