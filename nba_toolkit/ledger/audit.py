"""Tamper evidence for the ledger (R-G2): an append-only chain of record hashes.

Every write that changes a run, a model, the configuration history or the
imported contact history appends an audit record in the same transaction:
the record's full content as canonical JSON, its SHA-256, and a hash that
chains it to the previous audit record. ``verify`` then checks two things:

* the chain itself: every record's hash follows from its content and the
  previous hash, so editing or deleting an audit record breaks every link
  after it;
* the tables against the chain: each run, model, configuration change and
  contact import must look exactly as its latest audit record says, so an
  edit with the sqlite3 shell, a deleted run or a row added by hand is found
  and named.

A run's content includes its check results, overrides, acknowledgements and
a digest of the contacts its export created, so those cannot change unseen
either. SQLite cannot stop someone with write access from rewriting the
whole chain consistently; keeping a copy of the latest hash elsewhere (the
evidence pack, a printed report) closes that gap.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64

SCHEMA = """
CREATE TABLE audit (
    seq            INTEGER PRIMARY KEY,
    recorded_at    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    content        TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit(kind, subject);
"""


def canonical(content: Any) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, content_sha256: str) -> str:
    return sha256_text(f"{prev_hash}:{content_sha256}")


def append(db: sqlite3.Connection, kind: str, subject: str, content: Any, recorded_at: str) -> str:
    """Add one audit record after the last; call inside the transaction that made the change."""
    text = canonical(content)
    digest = sha256_text(text)
    row = db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    link = chain_hash(prev, digest)
    db.execute(
        "INSERT INTO audit (recorded_at, kind, subject, content, content_sha256, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (recorded_at, kind, subject, text, digest, prev, link),
    )
    return link


def run_content(db: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    """Everything recorded about a run, as the chain remembers it."""
    row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    checks = db.execute(
        "SELECT check_name, plugin, stage, severity, status, message, measured, threshold, action,"
        " affected_count, affected_sample FROM check_results WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    overrides = db.execute(
        "SELECT customer_id, action, reason, made_by, made_at FROM overrides WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    acknowledgements = db.execute(
        "SELECT check_name, acknowledged_by, acknowledged_at, note FROM acknowledgements WHERE run_id = ? ORDER BY check_name",
        (run_id,),
    ).fetchall()
    contacts = db.execute(
        "SELECT customer_id, contact_date, week, week_start, grp FROM contacts WHERE run_id = ? ORDER BY customer_id, grp",
        (run_id,),
    ).fetchall()
    return {
        "run": _plain(row),
        "checks": [_plain(r) for r in checks],
        "overrides": [_plain(r) for r in overrides],
        "acknowledgements": [_plain(r) for r in acknowledgements],
        "contacts": {"rows": len(contacts), "sha256": sha256_text(canonical([list(r) for r in contacts]))},
    }


def model_content(db: sqlite3.Connection, model_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM models WHERE model_id = ?", (model_id,)).fetchone()
    return None if row is None else _plain(row)


def config_change_content(db: sqlite3.Connection, change_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM config_changes WHERE id = ?", (int(change_id),)).fetchone()
    return None if row is None else _plain(row)


def contact_import_content(db: sqlite3.Connection, source: str) -> dict[str, Any] | None:
    rows = db.execute(
        "SELECT customer_id, contact_date, week, week_start, grp FROM contacts"
        " WHERE run_id IS NULL AND source = ? ORDER BY customer_id, week_start, grp",
        (source,),
    ).fetchall()
    if not rows:
        return None
    return {"source": source, "rows": len(rows), "sha256": sha256_text(canonical([list(r) for r in rows]))}


def export_content(db: sqlite3.Connection, attempt_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM exports WHERE id = ?", (int(attempt_id),)).fetchone()
    return None if row is None else _plain(row)


_CONTENT = {
    "run": run_content,
    "export": export_content,
    "model": model_content,
    "config_change": config_change_content,
    "contact_import": contact_import_content,
}

#: the table rows each kind of audit record stands for: (kind, SQL listing the subjects)
_SUBJECTS = {
    "run": "SELECT run_id FROM runs",
    "export": "SELECT CAST(id AS TEXT) FROM exports",
    "model": "SELECT model_id FROM models",
    "config_change": "SELECT CAST(id AS TEXT) FROM config_changes",
    "contact_import": "SELECT DISTINCT source FROM contacts WHERE run_id IS NULL",
}


@dataclass
class AuditReport:
    records: int = 0
    problems: list[str] = field(default_factory=list)
    last_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "last_hash": self.last_hash, "problems": self.problems}


def verify(db: sqlite3.Connection) -> AuditReport:
    """Recompute the chain and compare every audited table with its latest record."""
    report = AuditReport()
    prev = GENESIS
    latest: dict[tuple[str, str], str] = {}
    for seq, kind, subject, content, content_sha, prev_hash, link in db.execute(
        "SELECT seq, kind, subject, content, content_sha256, prev_hash, hash FROM audit ORDER BY seq"
    ):
        report.records += 1
        if sha256_text(content) != content_sha or prev_hash != prev or chain_hash(prev, content_sha) != link:
            report.problems.append(
                f"audit record {seq} ({kind} {subject}) was changed or a record before it was removed; the chain breaks here"
            )
            break
        latest[(kind, subject)] = content
        prev = link
    report.last_hash = prev
    if report.problems:
        return report
    for kind, sql in _SUBJECTS.items():
        present = {r[0] for r in db.execute(sql)}
        # a subject whose latest record is empty was removed by the toolkit itself (retention)
        recorded = {subject for (k, subject), content in latest.items() if k == kind and content != "null"}
        for subject in sorted(recorded - present):
            report.problems.append(f"{_name(kind, subject)} was deleted from the ledger")
        for subject in sorted(present - recorded):
            report.problems.append(f"{_name(kind, subject)} has no audit record: it was added outside the toolkit")
        for subject in sorted(present & recorded):
            now_content = canonical(_CONTENT[kind](db, subject))
            if now_content != latest[(kind, subject)]:
                report.problems.append(
                    f"{_name(kind, subject)} differs from its audit record: "
                    f"{_difference(json.loads(latest[(kind, subject)]), json.loads(now_content))}"
                )
    return report


def _name(kind: str, subject: str) -> str:
    return {
        "run": f"run {subject}",
        "export": f"export attempt #{subject}",
        "model": f"model {subject}",
        "config_change": f"configuration change #{subject}",
        "contact_import": f"the contacts imported from '{subject}'",
    }[kind]


def _difference(recorded: Any, current: Any, path: str = "") -> str:
    """The first field that differs, in words an auditor can follow."""
    if isinstance(recorded, dict) and isinstance(current, dict):
        for key in sorted(set(recorded) | set(current)):
            if recorded.get(key) != current.get(key):
                return _difference(recorded.get(key), current.get(key), f"{path}.{key}" if path else key)
    if isinstance(recorded, list) and isinstance(current, list) and len(recorded) == len(current):
        for i, (a, b) in enumerate(zip(recorded, current)):
            if a != b:
                return _difference(a, b, f"{path}[{i}]")
    return f"{path or 'content'} was {_short(recorded)}, is now {_short(current)}"


def _short(value: Any) -> str:
    text = canonical(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}
