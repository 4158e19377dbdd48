"""What must hold in a workspace after anything at all: a crash, a race, a broken plugin.

The checker reads the ledger and the folders directly (SQLite opened
read-only, files hashed here), so it is an oracle independent of the code it
judges. Call :func:`assert_workspace_invariants` after every crash, race and
plugin-fault test; it first lets the toolkit open the workspace once
(``audit verify``), as the operator's next command would, so whatever
recovery the toolkit does on opening has happened.

The invariants:

* a week is exported at most once (weekly runs);
* every file in exports/ is the recorded export of an exported run, with the
  recorded SHA-256, readable by its owner only; every recorded export's file
  is there;
* the contact history holds, for each exported run, exactly the relation
  numbers of its mail file (plus its holdout), and nothing for runs that were
  never exported;
* no temporary file of an interrupted write is left anywhere;
* no run is left "running" once no process is working on it;
* ``nba-toolkit audit verify`` finds the ledger intact.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nba_toolkit.config import load_config

MAILED_GROUPS = ("model", "random_control")


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    @property
    def ok(self) -> bool:
        return not self.problems


def assert_workspace_invariants(root: Path, *, verify_with_toolkit: bool = True) -> None:
    findings = check_workspace(root, verify_with_toolkit=verify_with_toolkit)
    assert findings.ok, "workspace invariants broken:\n- " + "\n- ".join(findings.problems)


def check_workspace(root: Path, *, verify_with_toolkit: bool = True) -> Findings:
    root = Path(root)
    findings = Findings()
    if verify_with_toolkit:
        _toolkit_verifies(root, findings)
    db = sqlite3.connect(f"file:{root / 'ledger.sqlite'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        runs = [dict(r) for r in db.execute("SELECT * FROM runs")]
        contacts = [dict(r) for r in db.execute("SELECT customer_id, grp, run_id FROM contacts WHERE run_id IS NOT NULL")]
    finally:
        db.close()
    _one_export_per_week(runs, findings)
    _no_run_left_running(runs, findings)
    exported = {r["run_id"]: r for r in runs if r["status"] == "exported"}
    mail_ids = _exports_recorded(root, exported, findings)
    _contacts_match_exports(runs, contacts, mail_ids, findings)
    _no_temp_files(root, findings)
    return findings


def _toolkit_verifies(root: Path, findings: Findings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nba_toolkit.cli", "audit", "verify", "--workspace", str(root), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NBA_TOOLKIT_CRASH_AT": "", "NBA_TOOLKIT_PAUSE_AT": ""},
    )
    if "Traceback" in done.stderr or "Traceback" in done.stdout:
        findings.add(f"audit verify printed a traceback:\n{done.stderr[-2000:]}")
        return
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        findings.add(f"audit verify printed no JSON document (exit {done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
        return
    if done.returncode != 0 or not report.get("ok", False):
        findings.add(f"audit verify does not find the ledger intact (exit {done.returncode}): {report}")


def _one_export_per_week(runs: list[dict], findings: Findings) -> None:
    weeks: dict[str, list[str]] = {}
    for run in runs:
        if run["status"] == "exported":
            weeks.setdefault(run["week"], []).append(run["run_id"])
    for week, run_ids in sorted(weeks.items()):
        if len(run_ids) > 1:
            findings.add(f"{week} was exported {len(run_ids)} times: {', '.join(sorted(run_ids))}")
    for run in runs:
        if run["kind"] != "weekly" and run["status"] == "exported":
            findings.add(f"run {run['run_id']} is a {run['kind']} run and was exported")


def _no_run_left_running(runs: list[dict], findings: Findings) -> None:
    for run in runs:
        if run["status"] == "running":
            findings.add(f"run {run['run_id']} is still 'running' although no process works on it")


def _exports_recorded(root: Path, exported: dict[str, dict], findings: Findings) -> dict[str, set[str]]:
    """Relation numbers of each exported run's mail file, as read back from the file itself."""
    folder = root / "exports"
    recorded = {}
    for run_id, run in exported.items():
        if not run["export_path"] or not run["export_sha256"]:
            findings.add(f"run {run_id} is exported without a recorded file and SHA-256")
            continue
        recorded[(root / run["export_path"]).resolve()] = run
    on_disk = sorted(p.resolve() for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    for path in on_disk:
        if path.name.endswith(".tmp"):
            continue  # reported by _no_temp_files
        if path not in recorded:
            findings.add(f"{path.relative_to(root.resolve())} is in exports/ but no exported run records it")
    mail_ids: dict[str, set[str]] = {}
    config = load_config(root / "nba.toml")
    for path, run in recorded.items():
        if not path.is_file():
            findings.add(f"run {run['run_id']} records the mail file {run['export_path']}, which is not there")
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != run["export_sha256"]:
            findings.add(f"the mail file of run {run['run_id']} differs from its recorded SHA-256")
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            findings.add(f"the mail file of run {run['run_id']} is readable by others ({oct(stat.S_IMODE(path.stat().st_mode))})")
        ids = _mail_file_ids(data, config)
        if ids is None:
            findings.add(f"the mail file of run {run['run_id']} cannot be read back as the configured CSV")
            continue
        if len(ids) != (run["export_rows"] or 0):
            findings.add(f"run {run['run_id']} records {run['export_rows']} exported rows; its file has {len(ids)}")
        if len(set(ids)) != len(ids):
            findings.add(f"the mail file of run {run['run_id']} lists a relation number twice")
        mail_ids[run["run_id"]] = set(ids)
    return mail_ids


def _mail_file_ids(data: bytes, config: object) -> list[str] | None:
    export = config.export  # type: ignore[attr-defined]
    if export.exporter != "mail_csv":
        return None
    try:
        text = data.decode(export.encoding)
    except UnicodeDecodeError:
        return None
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=export.delimiter))
    header = export.headers["customer_id"]
    if rows and header not in rows[0]:
        return None
    return [row[header] for row in rows]


def _contacts_match_exports(runs: list[dict], contacts: list[dict], mail_ids: dict[str, set[str]], findings: Findings) -> None:
    by_run: dict[str, set[str]] = {}
    for contact in contacts:
        if contact["grp"] in MAILED_GROUPS:
            by_run.setdefault(contact["run_id"], set()).add(contact["customer_id"])
    statuses = {r["run_id"]: r["status"] for r in runs}
    for run_id in sorted(set(by_run) - set(mail_ids)):
        if statuses.get(run_id) != "exported":
            findings.add(f"run {run_id} is {statuses.get(run_id)} but put {len(by_run[run_id])} customers in the contact history")
    for run_id, ids in sorted(mail_ids.items()):
        got = by_run.get(run_id, set())
        if got != ids:
            findings.add(
                f"run {run_id}: the contact history has {len(got)} mailed customers, its mail file {len(ids)} "
                f"({len(got - ids)} only in the history, {len(ids - got)} only in the file)"
            )


def _no_temp_files(root: Path, findings: Findings) -> None:
    for path in sorted(root.rglob("*.tmp")):
        findings.add(f"a temporary file of an interrupted write was left behind: {path.relative_to(root)}")
