"""Helpers for the export reliability tests: the toolkit as a real separate process, and the workspace's invariants.

The invariants are the suite's (invariants.py, read straight from
ledger.sqlite and the files), plus one about export attempts.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from invariants import check_workspace

WEEK = "2026-W47"


def command(root: Path, *args: str, json_output: bool = True) -> list[str]:
    return [sys.executable, "-m", "nba_toolkit.cli", *args, "--workspace", str(root), *(["--json"] if json_output else [])]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_TOOLKIT_") or k in ("NBA_TOOLKIT_USER",)}
    env.update(extra)
    return env


def start(root: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(root, *args), env=environment(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def nba(root: Path, *args: str, **env: str) -> tuple[int, dict]:
    """Run one command to its end in its own process; its exit code and JSON document."""
    done = subprocess.run(command(root, *args), env=environment(**env), capture_output=True, text=True, timeout=120)
    return done.returncode, _document(done.stdout, done.stderr)


def finish(process: subprocess.Popen[str]) -> tuple[int, dict]:
    out, err = process.communicate(timeout=120)
    return process.returncode, _document(out, err)


def _document(out: str, err: str) -> dict:
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        return {"stdout": out, "stderr": err}


def mail_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "exports").iterdir())


def contacts_of_run(root: Path, run_id: str) -> Counter[tuple[str, str]]:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        rows = db.execute("SELECT customer_id, grp FROM contacts WHERE run_id = ? AND grp != 'holdout'", (run_id,))
        return Counter(rows.fetchall())


def rows_in_file(path: Path) -> Counter[tuple[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return Counter((r["relation_number"], r["group"]) for r in csv.DictReader(handle, delimiter=";"))


def workspace_invariants(root: Path) -> list[str]:
    """What is wrong with the workspace: the suite's invariants (invariants.py), and no export left unsettled."""
    problems = check_workspace(root).problems
    with sqlite3.connect(root / "ledger.sqlite") as db:
        settling = db.execute("SELECT id FROM exports WHERE state = 'exporting'").fetchall()
    return problems + [f"export attempt #{a} is left unsettled" for (a,) in settling]
