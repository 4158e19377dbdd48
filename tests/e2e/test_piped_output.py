"""Output sent to a pipe or a log file is never hard-wrapped, whatever the terminal's width.

A scheduled job's log and `nba-toolkit runs | grep` must find a run id, a
path or a SHA-256 on one line; at 80 columns rich used to cut run ids to
`2026-W...` and break paths mid-word.
"""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pytest

from nba_toolkit.workspace import Workspace


def _piped(ws: Workspace, columns: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nba_toolkit.cli", *args, "--workspace", str(ws.root)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": columns},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("columns", ["80", "200"])
def test_run_ids_paths_and_hashes_stay_on_one_line(sample_workspace: Workspace, columns: str) -> None:
    ws = sample_workspace
    ran = _piped(ws, columns, "run", "--approve")
    export = next(ws.exports_dir.iterdir())
    lines = ran.splitlines()
    assert any(str(export) in line for line in lines), ran
    listed = _piped(ws, columns, "runs")
    assert "2026-W47.1" in listed, listed
    assert "2026-W..." not in listed


def test_the_runs_list_counts_what_the_mail_file_holds(sample_workspace: Workspace) -> None:
    """After one review exclusion the list shows the file's rows, not the selection's."""
    ws = sample_workspace
    _piped(ws, "200", "run")
    selection = pl.read_parquet(ws.run_dir("2026-W47.1") / "selection.parquet")
    mailed = selection.filter(pl.col("mailed"))
    _piped(ws, "200", "exclude", "2026-W47.1", str(mailed["customer_id"][0]), "--reason", "asked for no mail")
    _piped(ws, "200", "export", "2026-W47.1")
    row = next(line for line in _piped(ws, "200", "runs").splitlines() if "2026-W47.1" in line)
    assert f"{mailed.height - 1:,}" in row and f"{mailed.height:,}" not in row, row
