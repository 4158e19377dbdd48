"""Helpers for the export reliability tests: the toolkit as a real separate process, and the workspace's invariants.

The invariants are read straight from ledger.sqlite and the files, not
through the toolkit's own checks, so a test does not trust the code it tests.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

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
    """What is wrong with the workspace: empty when every promise about exports holds.

    One export per week; every file in exports/ is a recorded export with its
    hash, and every recorded export's file is there; the contacts of each
    export are exactly the rows of its file; no temporary file is left; no run
    is left 'running'; the audit chain verifies.
    """
    problems = []
    with sqlite3.connect(root / "ledger.sqlite") as db:
        exported = db.execute("SELECT run_id, week, export_path, export_sha256 FROM runs WHERE status = 'exported'").fetchall()
        running = db.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()
        settling = db.execute("SELECT id FROM exports WHERE state = 'exporting'").fetchall()
    weeks = Counter(week for _, week, _, _ in exported)
    problems += [f"{week} exported {n} times" for week, n in weeks.items() if n > 1]
    recorded = {root / path: (run_id, sha) for run_id, _, path, sha in exported}
    files = set(mail_files(root))
    problems += [f"unrecorded file {p.name}" for p in sorted(files - set(recorded))]
    problems += [f"recorded file {p.name} is missing" for p in sorted(set(recorded) - files)]
    for path, (run_id, sha) in recorded.items():
        if path.is_file():
            if hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                problems.append(f"{path.name} differs from its recorded hash")
            if rows_in_file(path) != contacts_of_run(root, run_id):
                problems.append(f"the contacts of run {run_id} are not the rows of {path.name}")
    temp = [p for folder in ("exports", "runs") for p in (root / folder).rglob("*.tmp")]
    problems += [f"temporary file left: {p.relative_to(root)}" for p in temp]
    problems += [f"run {r} is left running" for (r,) in running]
    problems += [f"export attempt #{a} is left unsettled" for (a,) in settling]
    code, verify = nba(root, "audit", "verify")
    if code != 0:
        problems.append(f"audit verify: {verify}")
    return problems
