"""The workspace-invariants checker itself: quiet on a healthy workspace, loud on each broken one.

A checker that cannot fail proves nothing, so each invariant is broken once
here by hand, the way a crash or a race would leave it.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from invariants import assert_workspace_invariants, check_workspace

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


@pytest.fixture
def exported(sample_workspace: Workspace) -> Path:
    assert main(["run", "--workspace", str(sample_workspace.root), "--approve", "--json"]) == 0
    sample_workspace.close()
    return sample_workspace.root


def _mail_file(root: Path) -> Path:
    (path,) = (root / "exports").iterdir()
    return path


def test_a_healthy_exported_workspace_passes(exported: Path) -> None:
    assert_workspace_invariants(exported)


def test_an_unrecorded_second_mail_file_is_found(exported: Path) -> None:
    shutil.copy2(_mail_file(exported), exported / "exports" / "INVEST-WEEKLY_2026-W47_2026-W47.2.csv")
    problems = check_workspace(exported, verify_with_toolkit=False).problems
    assert any("no exported run records it" in p for p in problems), problems


def test_a_changed_or_missing_mail_file_is_found(exported: Path) -> None:
    path = _mail_file(exported)
    path.write_bytes(path.read_bytes()[:-40])
    assert any("differs from its recorded SHA-256" in p for p in check_workspace(exported, verify_with_toolkit=False).problems)
    path.unlink()
    assert any("which is not there" in p for p in check_workspace(exported, verify_with_toolkit=False).problems)


def test_a_left_over_temporary_file_is_found(exported: Path) -> None:
    (exported / "runs" / ".selection.parquet.123.tmp").write_bytes(b"half")
    assert any("temporary file" in p for p in check_workspace(exported, verify_with_toolkit=False).problems)


def test_contacts_that_do_not_match_the_file_are_found(exported: Path) -> None:
    db = sqlite3.connect(exported / "ledger.sqlite")
    with db:
        db.execute(
            "DELETE FROM contacts WHERE rowid IN (SELECT rowid FROM contacts WHERE grp = 'model' AND run_id IS NOT NULL LIMIT 3)"
        )
    db.close()
    problems = check_workspace(exported, verify_with_toolkit=False).problems
    assert any("only in the file" in p for p in problems), problems


def test_a_second_export_of_a_week_and_a_stuck_run_are_found(exported: Path) -> None:
    db = sqlite3.connect(exported / "ledger.sqlite")
    with db:
        row = db.execute("SELECT * FROM runs").fetchone()
        columns = [d[0] for d in db.execute("SELECT * FROM runs").description]
        copy = dict(zip(columns, row))
        copy["run_id"] = "2026-W47.9"
        db.execute(f"INSERT INTO runs ({', '.join(copy)}) VALUES ({', '.join('?' * len(copy))})", list(copy.values()))
        copy["run_id"], copy["status"] = "2026-W47.10", "running"
        db.execute(f"INSERT INTO runs ({', '.join(copy)}) VALUES ({', '.join('?' * len(copy))})", list(copy.values()))
    db.close()
    problems = check_workspace(exported, verify_with_toolkit=False).problems
    assert any("was exported 2 times" in p for p in problems), problems
    assert any("still 'running'" in p for p in problems), problems


def test_the_toolkit_s_own_verification_is_part_of_the_check(exported: Path) -> None:
    db = sqlite3.connect(exported / "ledger.sqlite")
    with db:
        db.execute("UPDATE runs SET operator = 'someone else'")
    db.close()
    assert any("audit verify" in p for p in check_workspace(exported).problems)
