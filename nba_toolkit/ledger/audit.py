"""Tamper evidence for the ledger (R-G2): an append-only chain of record hashes.

Every write that changes a run, a model, the configuration history or the
imported contact history (and the record of each contacts file imported) appends an audit record in the same transaction:
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
either. Values about one customer (relation numbers of overrides and of a
check's affected sample, an override's free-text reason) enter the chain only
as digests, so retention can remove them from the tables without the chain
keeping a copy. Records written before that rule hold the raw values; they
are compared in digest form and still verify.

An edit outside the toolkit must not be laundered by the next write: before
a change is recorded, :func:`guard` compares the subject's row as it is now
with its latest record and refuses the write when they differ. ``verify``
also rejects a run whose status moved in a way the toolkit never moves it.

SQLite cannot stop someone with write access from rewriting the whole chain
consistently; a copy of the chain's head kept elsewhere (the evidence pack,
a printed report) closes that gap: ``verify`` checks the chain against it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nba_toolkit.errors import BadInput

GENESIS = "0" * 64

#: every status change the toolkit makes to a run; anything else was made outside it.
#: A record that leaves the status as it is (review, acknowledgement, retention) is always allowed.
STATUS_CHANGES = {
    "running": {"failed", "blocked", "awaiting_approval", "cancelled"},
    "awaiting_approval": {"exported", "failed", "withdrawn"},
    "blocked": set(),
    "failed": set(),
    "cancelled": set(),
    "withdrawn": set(),
    "exported": set(),
}
FIRST_STATUS = "running"

#: columns added to a table after its first schema: left out of the content while empty,
#: so the records written before the column existed still match
ADDED_COLUMNS = {
    "challenger",
    "promoted_by",
    "promoted_at",
    "promotion_reason",
    "profile_sha256",
    "approval_note",
    "approval_acknowledged",
    "inputs_sha256",
    "suppressions_upto",
    "capacity",
    "withdrawn_by",
    "withdrawn_at",
    "withdrawn_reason",
    "unreviewed_export",
}

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


def record(db: sqlite3.Connection, kind: str, subject: str, recorded_at: str) -> str:
    """Append the subject's content as it is now in this transaction."""
    return append(db, kind, subject, _CONTENT[kind](db, subject), recorded_at)


@contextmanager
def change(db: sqlite3.Connection, kind: str, subjects: list[str], recorded_at: str) -> Iterator[None]:
    """Guard each subject, let the caller change it, then record it: all inside the caller's transaction."""
    for subject in subjects:
        guard(db, kind, subject)
    yield
    for subject in subjects:
        record(db, kind, subject, recorded_at)


def record_new(db: sqlite3.Connection, kind: str, subject: str, recorded_at: str) -> str:
    """Record a row just inserted under a number SQLite chose; that number must not have a history already.

    SQLite reuses the highest number when the last row was deleted, so a
    history here means a row was removed outside the toolkit.
    """
    latest = _latest(db, kind, subject)
    if latest is not None and latest[1] != "null":
        raise tampered(db, f"{_name(kind, subject)} was deleted from the ledger")
    return record(db, kind, subject, recorded_at)


def guard(db: sqlite3.Connection, kind: str, subject: str) -> None:
    """Refuse to record over a subject changed outside the toolkit since its latest record (no laundering).

    Only this subject is compared, so the cost of a write does not grow with
    the ledger; ``verify`` compares everything.
    """
    problem = _subject_problem(db, kind, subject)
    if problem:
        raise tampered(db, problem)


def tampered(db: sqlite3.Connection, problem: str) -> BadInput:
    """The error every refused write raises; the transaction it is raised in rolls back."""
    path = db.execute("PRAGMA database_list").fetchone()[2]
    return BadInput(
        f"the ledger was changed outside the toolkit ({problem}); nothing was written",
        file=path or None,
        hint="Run `nba-toolkit audit verify` to see every change, and restore ledger.sqlite from a backup "
        "or report it to compliance before any further run or export.",
    )


def _latest(db: sqlite3.Connection, kind: str, subject: str) -> tuple[int, str, str, str, str] | None:
    return db.execute(
        "SELECT seq, content, content_sha256, prev_hash, hash FROM audit WHERE kind = ? AND subject = ?"
        " ORDER BY seq DESC LIMIT 1",
        (kind, subject),
    ).fetchone()


def _subject_problem(db: sqlite3.Connection, kind: str, subject: str) -> str | None:
    latest = _latest(db, kind, subject)
    now = _CONTENT[kind](db, subject)
    if latest is None or latest[1] == "null":
        return None if now is None else f"{_name(kind, subject)} has no audit record: it was added outside the toolkit"
    seq, content, content_sha, prev_hash, link = latest
    if sha256_text(content) != content_sha or chain_hash(prev_hash, content_sha) != link:
        return f"audit record {seq} ({_name(kind, subject)}) was changed"
    if now is None:
        return f"{_name(kind, subject)} was deleted from the ledger"
    return _mismatch(kind, subject, content, canonical(now))


def _mismatch(kind: str, subject: str, recorded: str, now: str) -> str | None:
    """How a subject's row (canonical ``now``) differs from its latest record, or None when it matches."""
    before = comparable(kind, json.loads(recorded))
    if canonical(before) == now:
        return None
    return f"{_name(kind, subject)} differs from its audit record: {_difference(before, json.loads(now))}"


def vouch_for_model(db: sqlite3.Connection, sha256: str) -> None:
    """Refuse a model file unless the chain vouches for it (before anything is unpickled).

    A registered model with this SHA-256 must match its latest audit record,
    and the chain up to that record must verify: replacing both the file and
    the models row is then found, because the chain still names the old hash.
    """
    models = [r[0] for r in db.execute("SELECT model_id FROM models WHERE sha256 = ?", (sha256,))]
    if not models:
        raise tampered(db, f"no model with SHA-256 {sha256} was registered by the toolkit")
    for model_id in models:
        guard(db, "model", model_id)
        latest = _latest(db, "model", model_id)
        assert latest is not None, "guard refuses a registered model without an audit record"
        seq = latest[0]
        chain = _walk(db, upto=seq)
        if chain.problems:
            raise tampered(db, chain.problems[0])


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
    content = {
        "run": _plain(row),
        "checks": [_check_without_customers(_plain(r)) for r in checks],
        "overrides": _digest([_plain(r) for r in overrides]),
        "acknowledgements": [_plain(r) for r in acknowledgements],
        "contacts": _contacts_digest(db, "run_id = ?", (run_id,), "customer_id, grp"),
    }
    reviews = _reviews(db, run_id)
    if reviews:
        # only once a review exists (schema 9), so the records written before still match
        content["reviews"] = _digest(reviews)
    return content


def _reviews(db: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """The run's review sessions; they hold relation numbers, so the chain keeps only their digest."""
    if db.execute("PRAGMA user_version").fetchone()[0] < 9:
        return []
    rows = db.execute(
        "SELECT id, reviewed_by, face, started_at, ended_at, seconds, customers, pages FROM reviews WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    return [_plain(r) for r in rows]


#: the contact columns a digest covers; an import of a contacts file (schema 11) adds the campaign
_CONTACT_COLUMNS = "customer_id, contact_date, week, week_start, grp"


def _contacts_digest(
    db: sqlite3.Connection, where: str, params: tuple[Any, ...], order: str, columns: str = _CONTACT_COLUMNS
) -> dict[str, Any]:
    """``_digest`` of the contact rows (customer, date, week, week start, group; or ``columns``) that ``where`` selects.

    SQLite writes the canonical JSON itself: a run holds thousands of
    contacts and every audited write of it digests them, so this keeps a
    write and ``verify`` fast. Text SQLite would escape differently from
    Python (a backslash, anything beyond ASCII) is digested in Python.
    """
    select = f"SELECT {columns} FROM contacts WHERE {where} ORDER BY {order}"
    text, rows = db.execute(
        f"SELECT '[' || COALESCE(group_concat(j, ','), '') || ']', COUNT(*)"
        f" FROM (SELECT json_array({columns}) AS j FROM ({select}))",
        params,
    ).fetchone()
    if not text.isascii() or "\\" in text:
        return _digest([list(r) for r in db.execute(select, params)])
    return {"rows": rows, "sha256": sha256_text(text)}


def _digest(rows: list[Any]) -> dict[str, Any]:
    """How the chain holds per-customer rows: how many, and a hash of them, never the values."""
    return {"rows": len(rows), "sha256": sha256_text(canonical(rows))}


def _check_without_customers(check: dict[str, Any]) -> dict[str, Any]:
    """A check result with its affected sample (relation numbers) as a digest of the stored text."""
    sample = check.get("affected_sample")
    if isinstance(sample, str):
        check = {**check, "affected_sample": {"sha256": sha256_text(sample)}}
    return check


def comparable(kind: str, content: Any) -> Any:
    """A record's content in today's form: raw per-customer values of older records become digests."""
    if kind != "run" or not isinstance(content, dict):
        return content
    overrides = content.get("overrides")
    return {
        **content,
        "checks": [_check_without_customers(c) for c in content.get("checks", [])],
        "overrides": _digest(overrides) if isinstance(overrides, list) else overrides,
    }


def model_content(db: sqlite3.Connection, model_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM models WHERE model_id = ?", (model_id,)).fetchone()
    return None if row is None else _plain(row)


def config_change_content(db: sqlite3.Connection, change_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM config_changes WHERE id = ?", (int(change_id),)).fetchone()
    return None if row is None else _plain(row)


def config_state_content(db: sqlite3.Connection, state_id: str) -> dict[str, Any] | None:
    """A configuration file as the toolkit last saw it (its hash decides whether it was edited by hand)."""
    row = db.execute("SELECT * FROM config_state WHERE id = ?", (int(state_id),)).fetchone()
    return None if row is None else _plain(row)


def contact_import_content(db: sqlite3.Connection, source: str) -> dict[str, Any] | None:
    """Imported contacts of one source; those of a contacts file (``contacts import``) with their campaign."""
    from_file = (
        db.execute("PRAGMA user_version").fetchone()[0] >= 11
        and db.execute("SELECT 1 FROM contact_imports WHERE source = ?", (source,)).fetchone()
    )
    columns, order = (
        (f"{_CONTACT_COLUMNS}, campaign", "customer_id, contact_date, campaign")
        if from_file
        else (_CONTACT_COLUMNS, "customer_id, week_start, grp")
    )
    digest = _contacts_digest(db, "run_id IS NULL AND source = ?", (source,), order, columns)
    if not digest["rows"]:
        return None
    return {"source": source, **digest}


def contact_file_content(db: sqlite3.Connection, import_id: str) -> dict[str, Any] | None:
    """The record of one contacts file imported: which file, its SHA-256, how many rows, campaigns, who, when."""
    row = db.execute("SELECT * FROM contact_imports WHERE id = ?", (int(import_id),)).fetchone()
    return None if row is None else _plain(row)


def export_content(db: sqlite3.Connection, attempt_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM exports WHERE id = ?", (int(attempt_id),)).fetchone()
    return None if row is None else _plain(row)


def suppression_content(db: sqlite3.Connection, event_id: str) -> dict[str, Any] | None:
    """A standing-exclusion event; its relation number and reason enter the chain as a digest only."""
    row = db.execute("SELECT * FROM suppressions WHERE id = ?", (int(event_id),)).fetchone()
    if row is None:
        return None
    plain = _plain(row)
    private = [plain.pop("customer_id"), plain.pop("reason")]
    return {**plain, "customer": _digest([private])}


_CONTENT = {
    "run": run_content,
    "suppression": suppression_content,
    "export": export_content,
    "model": model_content,
    "config_change": config_change_content,
    "config_state": config_state_content,
    "contact_import": contact_import_content,
    "contact_file": contact_file_content,
}

#: the table rows each kind of audit record stands for: (kind, SQL listing the subjects)
_SUBJECTS = {
    "run": "SELECT run_id FROM runs",
    "export": "SELECT CAST(id AS TEXT) FROM exports",
    "model": "SELECT model_id FROM models",
    "config_change": "SELECT CAST(id AS TEXT) FROM config_changes",
    "config_state": "SELECT CAST(id AS TEXT) FROM config_state",
    "contact_import": "SELECT DISTINCT source FROM contacts WHERE run_id IS NULL",
    "suppression": "SELECT CAST(id AS TEXT) FROM suppressions",
    "contact_file": "SELECT CAST(id AS TEXT) FROM contact_imports",
}


#: kinds of record that began with a later schema: a ledger read at an older schema has none yet
AUDITED_SINCE = {"export": 2, "config_state": 3, "suppression": 6, "contact_file": 11}


@dataclass
class AuditReport:
    records: int = 0
    problems: list[str] = field(default_factory=list)
    last_hash: str = GENESIS
    #: the latest record of each (kind, subject), as text
    latest: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "last_hash": self.last_hash, "problems": self.problems}


def verify(db: sqlite3.Connection, *, anchor: str | None = None) -> AuditReport:
    """Recompute the chain and compare every audited table with its latest record.

    ``anchor`` is a head of the chain recorded elsewhere earlier (an evidence
    pack's ``last_hash``): the chain must still contain it, or records were
    removed or the chain was rewritten since.
    """
    report = _walk(db, anchor=anchor)
    if report.problems:
        return report
    schema = db.execute("PRAGMA user_version").fetchone()[0]
    for kind, sql in _SUBJECTS.items():
        if schema < AUDITED_SINCE.get(kind, 0):
            continue
        present = {r[0] for r in db.execute(sql)}
        # a subject whose latest record is empty was removed by the toolkit itself (retention)
        recorded = {subject for (k, subject), content in report.latest.items() if k == kind and content != "null"}
        for subject in sorted(recorded - present):
            report.problems.append(f"{_name(kind, subject)} was deleted from the ledger")
        for subject in sorted(present - recorded):
            report.problems.append(f"{_name(kind, subject)} has no audit record: it was added outside the toolkit")
        for subject in sorted(present & recorded):
            problem = _mismatch(kind, subject, report.latest[(kind, subject)], canonical(_CONTENT[kind](db, subject)))
            if problem:
                report.problems.append(problem)
    return report


def _walk(db: sqlite3.Connection, *, upto: int | None = None, anchor: str | None = None) -> AuditReport:
    """Follow the chain from its start (up to record ``upto``): every link, and every run's status changes."""
    report = AuditReport()
    prev = GENESIS
    status: dict[str, str] = {}
    anchored = anchor is None
    for seq, kind, subject, content, content_sha, prev_hash, link in db.execute(
        "SELECT seq, kind, subject, content, content_sha256, prev_hash, hash FROM audit WHERE seq <= ? ORDER BY seq",
        (upto if upto is not None else 2**62,),
    ):
        report.records += 1
        if sha256_text(content) != content_sha or prev_hash != prev or chain_hash(prev, content_sha) != link:
            report.problems.append(
                f"audit record {seq} ({kind} {subject}) was changed or a record before it was removed; the chain breaks here"
            )
            break
        if kind == "run":
            problem = _status_change(status, subject, seq, json.loads(content))
            if problem:
                report.problems.append(problem)
        report.latest[(kind, subject)] = content
        anchored = anchored or link == anchor
        prev = link
    report.last_hash = prev
    if not anchored and not report.problems:
        report.problems.append(
            f"the chain does not contain the recorded head {anchor}: audit records were removed or the chain "
            "was rewritten after that head was recorded"
        )
    return report


def _status_change(status: dict[str, str], run_id: str, seq: int, content: Any) -> str | None:
    """A run's status may only move the way the toolkit moves it (see ``STATUS_CHANGES``)."""
    if not isinstance(content, dict):
        return None
    new = content.get("run", {}).get("status")
    old = status.get(run_id)
    status[run_id] = new
    if old is None:
        if new == FIRST_STATUS:
            return None
        return f"run {run_id} begins as {new} at audit record {seq}; the toolkit starts every run as {FIRST_STATUS}"
    if new == old or new in STATUS_CHANGES.get(old, set()):
        return None
    return f"run {run_id} went from {old} to {new} at audit record {seq}; the toolkit never makes that change"


def _name(kind: str, subject: str) -> str:
    return {
        "run": f"run {subject}",
        "export": f"export attempt #{subject}",
        "model": f"model {subject}",
        "config_change": f"configuration change #{subject}",
        "config_state": f"the recorded state #{subject} of the configuration files",
        "contact_import": f"the contacts imported from '{subject}'",
        "suppression": f"standing exclusion event #{subject}",
        "contact_file": f"contacts import #{subject}",
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
    return {key: row[key] for key in row.keys() if not (key in ADDED_COLUMNS and row[key] is None)}
