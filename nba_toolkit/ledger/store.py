"""The run ledger: one SQLite file per workspace that remembers every run.

It holds what is needed to explain and reproduce any past export: the input
file's hash, engine and plugin versions, the model's hash, the configuration,
every check result, who approved, and the exported file's hash. It also holds
the contact history that drives the cooldown, and the registered models.

Every change happens in one transaction, so a crash leaves either nothing or a
run marked failed; SQLite runs in WAL mode with foreign keys on. The ledger
holds relation numbers, so its file (and SQLite's -wal and -shm files, which
take its mode) is readable by its owner only.

A run in flight and an export in flight each hold a lock file in the
workspace's ``.locks/`` folder for as long as their process works on them
(core/liveness.py): a run is marked interrupted, and an export is settled
from what is on disk, only once that lock is free, that is once its process
is gone, never because another command happened to open the ledger.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from nba_toolkit.core.files import PRIVATE_FILE
from nba_toolkit.core.liveness import Hold, hold, is_held
from nba_toolkit.errors import BadInput, NbaError, ReadOnlyWorkspace, UsageError, WeekAwaitsApproval, not_writable
from nba_toolkit.ledger import audit

SCHEMA_VERSION = 12

#: the kinds of run that may mail a week (an acceptance run never does); a week is mailed by one run at most
MAILING_KINDS = ("weekly", "fallback")
_MAILING_SQL = f"kind IN ({', '.join(repr(kind) for kind in MAILING_KINDS)})"

_SCHEMA_V1 = """
CREATE TABLE runs (
    run_id           TEXT PRIMARY KEY,
    week             TEXT NOT NULL,
    kind             TEXT NOT NULL DEFAULT 'weekly' CHECK (kind IN ('weekly', 'acceptance')),
    status           TEXT NOT NULL CHECK (status IN
                       ('running', 'failed', 'blocked', 'awaiting_approval', 'exported')),
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    operator         TEXT NOT NULL,
    toolkit_version  TEXT NOT NULL,
    snapshot_path    TEXT,
    snapshot_sha256  TEXT,
    rows_in          INTEGER,
    dropped_columns  TEXT,
    engine           TEXT,
    engine_version   TEXT,
    model_id         TEXT,
    model_sha256     TEXT,
    config           TEXT NOT NULL,
    plugins          TEXT NOT NULL,
    salt             TEXT NOT NULL,
    counts           TEXT,
    selection_path   TEXT,
    selection_sha256 TEXT,
    contacts_upto    INTEGER,
    error            TEXT,
    approved_by      TEXT,
    approved_at      TEXT,
    export_path      TEXT,
    export_sha256    TEXT,
    export_rows      INTEGER,
    exported_at      TEXT,
    degraded         TEXT,
    purged_at        TEXT
);
CREATE INDEX runs_week ON runs(week);

CREATE TABLE check_results (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs(run_id),
    check_name      TEXT NOT NULL,
    plugin          TEXT,
    stage           TEXT NOT NULL,
    severity        TEXT NOT NULL,
    status          TEXT NOT NULL,
    message         TEXT NOT NULL,
    measured        TEXT,
    threshold       TEXT,
    action          TEXT,
    affected_count  INTEGER NOT NULL DEFAULT 0,
    affected_sample TEXT
);
CREATE INDEX check_results_run ON check_results(run_id);

CREATE TABLE contacts (
    customer_id  TEXT NOT NULL,
    contact_date TEXT NOT NULL,
    week         TEXT NOT NULL,
    week_start   TEXT NOT NULL,
    grp          TEXT NOT NULL,
    run_id       TEXT REFERENCES runs(run_id),
    source       TEXT NOT NULL
);
CREATE INDEX contacts_week ON contacts(week_start);

CREATE TABLE models (
    model_id        TEXT PRIMARY KEY,
    engine          TEXT NOT NULL,
    engine_version  TEXT NOT NULL,
    path            TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    trained_at      TEXT NOT NULL,
    trained_by      TEXT NOT NULL,
    training_window TEXT NOT NULL,
    metrics         TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 0,
    approved_by     TEXT,
    approved_at     TEXT
);

CREATE TABLE acknowledgements (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs(run_id),
    check_name      TEXT NOT NULL,
    acknowledged_by TEXT NOT NULL,
    acknowledged_at TEXT NOT NULL,
    note            TEXT,
    UNIQUE (run_id, check_name)
);

CREATE TABLE overrides (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    customer_id TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('exclude', 'flag')),
    reason      TEXT NOT NULL,
    made_by     TEXT NOT NULL,
    made_at     TEXT NOT NULL,
    UNIQUE (run_id, customer_id, action)
);

CREATE TABLE config_state (
    id          INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    config      TEXT NOT NULL
);

CREATE TABLE config_changes (
    id         INTEGER PRIMARY KEY,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    key        TEXT NOT NULL,
    old_value  TEXT,
    new_value  TEXT,
    reason     TEXT
);

CREATE TABLE outcomes (
    customer_id     TEXT NOT NULL,
    opened_date     TEXT NOT NULL,
    invested_amount REAL NOT NULL,
    source          TEXT NOT NULL,
    source_sha256   TEXT NOT NULL,
    imported_at     TEXT NOT NULL,
    imported_by     TEXT NOT NULL,
    PRIMARY KEY (customer_id, opened_date)
);
"""

# Every export attempt, from the moment it reserves its week until it is
# recorded or given up. The partial unique index is what makes "a week is
# mailed once" hold under races: a second reservation of a week fails inside
# the same BEGIN IMMEDIATE transaction that would have made it.
_SCHEMA_V2 = """
CREATE TABLE exports (
    id           INTEGER PRIMARY KEY,
    week         TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES runs(run_id),
    state        TEXT NOT NULL CHECK (state IN ('exporting', 'exported', 'abandoned')),
    path         TEXT NOT NULL,
    export_date  TEXT NOT NULL,
    reserved_by  TEXT NOT NULL,
    reserved_at  TEXT NOT NULL,
    pid          INTEGER,
    host         TEXT,
    sha256       TEXT,
    rows         INTEGER,
    settled_at   TEXT,
    note         TEXT
);
CREATE UNIQUE INDEX exports_one_per_week ON exports(week) WHERE state IN ('exporting', 'exported');
INSERT INTO exports (week, run_id, state, path, export_date, reserved_by, reserved_at, sha256, rows, settled_at, note)
    SELECT week, run_id, 'exported', export_path,
           COALESCE((SELECT MIN(contact_date) FROM contacts c WHERE c.run_id = runs.run_id), substr(exported_at, 1, 10)),
           COALESCE(approved_by, operator), COALESCE(approved_at, exported_at), export_sha256, export_rows, exported_at,
           'recorded from the run when the ledger was upgraded to schema 2'
    FROM runs WHERE status = 'exported' AND export_path IS NOT NULL
    AND run_id = (SELECT r.run_id FROM runs r WHERE r.week = runs.week AND r.status = 'exported'
                  ORDER BY r.exported_at, r.rowid LIMIT 1)
"""

#: schema 3: the run records its profile's hash; a model approval keeps the approver's note;
#: the configuration state names its file (nba.toml or governance.toml); a run's contacts are
#: found by index (every audited write of a run reads them)
_SCHEMA_V3_GOVERNANCE = """
CREATE INDEX contacts_run ON contacts(run_id, customer_id, grp);
ALTER TABLE runs ADD COLUMN profile_sha256 TEXT;
ALTER TABLE models ADD COLUMN approval_note TEXT;
ALTER TABLE config_state ADD COLUMN file TEXT NOT NULL DEFAULT 'nba.toml'
"""


def _audit_config_states(db: sqlite3.Connection) -> None:
    """The configuration states written before schema 3 were not audited; the upgrade records them as found."""
    for (state_id,) in db.execute("SELECT CAST(id AS TEXT) FROM config_state ORDER BY id").fetchall():
        audit.record(db, "config_state", state_id, now())


#: schema 4: a model's approval keeps the model-check warnings the approver acknowledged, each with a note
_SCHEMA_V4_SIGN_OFF = """
ALTER TABLE models ADD COLUMN approval_acknowledged TEXT
"""

#: schema 5: a run records the SHA-256 of the inputs it kept (core/kept_inputs.py)
_SCHEMA_V5_KEPT_INPUTS = """
ALTER TABLE runs ADD COLUMN inputs_sha256 TEXT
"""

#: schema 6: standing exclusions (suppressions), kept as events that are only ever appended,
#: and the point in them each run read, so a replay applies exactly the same ones
_SCHEMA_V6_SUPPRESSIONS = """
CREATE TABLE suppressions (
    id          INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('suppress', 'lift')),
    reason      TEXT NOT NULL,
    until       TEXT,
    run_id      TEXT REFERENCES runs(run_id),
    made_by     TEXT NOT NULL,
    made_at     TEXT NOT NULL
);
CREATE INDEX suppressions_customer ON suppressions(customer_id, id);
ALTER TABLE runs ADD COLUMN suppressions_upto INTEGER
"""

#: schema 7: the capacity a run selected with, resolved for its week (a share of the eligible or a number)
_SCHEMA_V7_CAPACITY = """
ALTER TABLE runs ADD COLUMN capacity INTEGER
"""

#: schema 8: a run can end 'cancelled' (the operator stopped it) or 'withdrawn' (taken back before export,
#: with who, when and why); the status constraint is widened in :func:`_allow_ended_statuses`
_SCHEMA_V8_WITHDRAWN = """
ALTER TABLE runs ADD COLUMN withdrawn_by TEXT;
ALTER TABLE runs ADD COLUMN withdrawn_at TEXT;
ALTER TABLE runs ADD COLUMN withdrawn_reason TEXT
"""

#: schema 9: what the operator looked at while reviewing a run, one row per review session (a visit to the
#: Review screen, one `review` or `customer` command): the relation numbers opened, the pages of the list
#: seen and for how long; and whether a run was exported with no review recorded
_SCHEMA_V9_REVIEWS = """
CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    reviewed_by TEXT NOT NULL,
    face        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT NOT NULL,
    seconds     INTEGER NOT NULL,
    customers   TEXT NOT NULL,
    pages       TEXT NOT NULL
);
CREATE INDEX reviews_run ON reviews(run_id, id);
ALTER TABLE runs ADD COLUMN unreviewed_export INTEGER
"""

#: schema 11: contacts made outside the toolkit are imported from a file (``contacts import``): each contact keeps
#: its campaign, and each import is recorded (file, SHA-256, rows, campaigns, who, when) so that importing the
#: same file again changes nothing; the contacts' ``source`` names their import
_SCHEMA_V11_CONTACT_IMPORTS = """
ALTER TABLE contacts ADD COLUMN campaign TEXT;
CREATE TABLE contact_imports (
    id           INTEGER PRIMARY KEY,
    file         TEXT NOT NULL,
    sha256       TEXT NOT NULL UNIQUE,
    source       TEXT NOT NULL UNIQUE,
    rows_in_file INTEGER NOT NULL,
    added        INTEGER NOT NULL,
    known        INTEGER NOT NULL,
    campaigns    TEXT NOT NULL,
    imported_by  TEXT NOT NULL,
    imported_at  TEXT NOT NULL
)
"""

_STATUSES_V1 = "'awaiting_approval', 'exported')"
_STATUSES_V8 = "'awaiting_approval', 'exported', 'cancelled', 'withdrawn')"


def _allow_ended_statuses(db: sqlite3.Connection) -> None:
    """Widen the runs' status constraint by 'cancelled' and 'withdrawn'."""
    _widen_runs_constraint(db, _STATUSES_V1, _STATUSES_V8)


def _widen_runs_constraint(db: sqlite3.Connection, old: str, new: str) -> None:
    """Rewrite ``old`` as ``new`` in the runs table's definition: a CHECK that allows more values.

    SQLite cannot alter a constraint, and rebuilding the table would mean
    switching foreign keys off outside the transaction. Widening a CHECK
    changes nothing stored, so the table's definition is rewritten in place,
    the way SQLite documents for such changes, inside the migration's
    transaction.
    """
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    try:
        changed = db.execute(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'runs' AND instr(sql, ?) > 0",
            (old, new, old),
        ).rowcount
        if changed != 1:
            raise NbaError("the ledger's runs table is not the one this toolkit wrote; it was not upgraded")
        db.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")


#: schema 10: a run can be a fallback list ('fallback': drawn at random from the eligible, no model); the
#: kind constraint is widened in :func:`_allow_fallback_runs`, nothing else changes
_SCHEMA_V10_FALLBACK = ""
_KINDS_V1 = "CHECK (kind IN ('weekly', 'acceptance'))"
_KINDS_V10 = "CHECK (kind IN ('weekly', 'acceptance', 'fallback'))"


def _allow_fallback_runs(db: sqlite3.Connection) -> None:
    """Widen the runs' kind constraint by 'fallback'."""
    _widen_runs_constraint(db, _KINDS_V1, _KINDS_V10)


#: schema 12: a model can be trained as a challenger (registered, not scoring) and promoted later, by whom and why
_SCHEMA_V12_CHALLENGERS = """
ALTER TABLE models ADD COLUMN challenger INTEGER;
ALTER TABLE models ADD COLUMN promoted_by TEXT;
ALTER TABLE models ADD COLUMN promoted_at TEXT;
ALTER TABLE models ADD COLUMN promotion_reason TEXT
"""

_MIGRATIONS = {
    1: _SCHEMA_V1 + audit.SCHEMA,
    2: _SCHEMA_V2,
    3: _SCHEMA_V3_GOVERNANCE,
    4: _SCHEMA_V4_SIGN_OFF,
    5: _SCHEMA_V5_KEPT_INPUTS,
    6: _SCHEMA_V6_SUPPRESSIONS,
    7: _SCHEMA_V7_CAPACITY,
    8: _SCHEMA_V8_WITHDRAWN,
    9: _SCHEMA_V9_REVIEWS,
    10: _SCHEMA_V10_FALLBACK,
    11: _SCHEMA_V11_CONTACT_IMPORTS,
    12: _SCHEMA_V12_CHALLENGERS,
}
#: what an upgrade does after the schema change of the same number
_MIGRATION_STEPS = {3: _audit_config_states, 8: _allow_ended_statuses, 10: _allow_fallback_runs}


@dataclass(frozen=True)
class ExportAttempt:
    """One row of the exports table: an export reserved, recorded, or given up."""

    id: int
    week: str
    run_id: str
    state: str
    path: str
    export_date: str
    reserved_by: str
    reserved_at: str
    pid: int | None
    host: str | None
    sha256: str | None
    rows: int | None
    settled_at: str | None
    note: str | None


def now() -> str:
    """UTC timestamps, to the second, so records sort and compare as text."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    week: str
    #: 'weekly'; 'acceptance': a dry run of a model on real data that can never be exported; 'fallback':
    #: a list drawn at random from the eligible, with no model (its ``capacity`` is the size asked for)
    kind: str
    status: str
    started_at: str
    finished_at: str | None
    operator: str
    toolkit_version: str
    snapshot_path: str | None
    snapshot_sha256: str | None
    rows_in: int | None
    dropped_columns: list[str]
    engine: str | None
    engine_version: str | None
    model_id: str | None
    model_sha256: str | None
    config: dict[str, Any]
    plugins: dict[str, str]
    salt: str
    counts: dict[str, int]
    selection_path: str | None
    selection_sha256: str | None
    #: the contact history's last row when the run read it: a replay sees exactly that history
    contacts_upto: int | None
    error: str | None
    approved_by: str | None
    approved_at: str | None
    export_path: str | None
    export_sha256: str | None
    export_rows: int | None
    exported_at: str | None
    #: optional inputs filled in with the engine's stand-in: column -> missing_from_file, imputed_rows, value, how
    degraded: dict[str, dict[str, Any]]
    #: when retention removed the run's per-customer data (counts and hashes stay)
    purged_at: str | None = None
    #: SHA-256 of runs/<id>/profile.json, next week's yardstick for unit changes
    profile_sha256: str | None = None
    #: SHA-256 of runs/<id>/inputs.parquet: the columns the run read from its extract (core/kept_inputs.py)
    inputs_sha256: str | None = None
    #: the last standing-exclusion event the run applied (see :meth:`Ledger.suppressed_on`)
    suppressions_upto: int | None = None
    #: the capacity the run selected with, resolved for its week; None before schema 7
    capacity: int | None = None
    #: who took the run back before export ('withdrawn'), when, and why
    withdrawn_by: str | None = None
    withdrawn_at: str | None = None
    withdrawn_reason: str | None = None
    #: 1 when the run was exported with no review recorded (``[governance] allow_unreviewed_export``)
    unreviewed_export: int | None = None

    @property
    def mailed(self) -> int | None:
        """How many customers the run mails: the rows of its mail file once exported (the operator's
        exclusions left out), before that the selection's mailed and random control."""
        if self.export_rows is not None:
            return self.export_rows
        if not self.counts:
            return None
        return self.counts.get("selected_mailed", 0) + self.counts.get("random_control", 0)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_JSON_FIELDS: dict[str, Any] = {"dropped_columns": [], "config": {}, "plugins": {}, "counts": {}, "degraded": {}}


@dataclass(frozen=True)
class StoredCheckResult:
    check_name: str
    plugin: str | None
    stage: str
    severity: str
    status: str
    message: str
    measured: str | None
    threshold: str | None
    action: str | None
    affected_count: int
    affected_sample: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The same keys as a check result straight from the run, so JSON readers see one shape."""
        return {
            "check": self.check_name,
            "plugin": self.plugin,
            "stage": self.stage,
            "severity": self.severity,
            "status": self.status,
            "message": self.message,
            "measured": self.measured,
            "threshold": self.threshold,
            "action": self.action,
            "affected_count": self.affected_count,
            "affected_sample": list(self.affected_sample),
        }


@dataclass(frozen=True)
class ModelRecord:
    model_id: str
    engine: str
    engine_version: str
    path: str
    sha256: str
    trained_at: str
    trained_by: str
    training_window: str
    metrics: dict[str, Any]
    active: bool
    approved_by: str | None = None
    approved_at: str | None = None
    #: what the approver typed with ``--by``: a note; the approver is the logged-in user
    approval_note: str | None = None
    #: model-check warnings acknowledged at approval: check name -> the approver's note
    approval_acknowledged: dict[str, str] | None = None
    #: trained with ``train --challenger``: registered beside the active model, scoring nothing until promoted
    challenger: bool = False
    promoted_by: str | None = None
    promoted_at: str | None = None
    promotion_reason: str | None = None


class Ledger:
    """The workspace's ``ledger.sqlite``; open it with :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        #: the lock files of the runs and exports this process works on (see core/liveness.py)
        self._holds: dict[str, Hold] = {}
        #: opened with :meth:`open_read_only`: every change is refused before it starts
        self.read_only = False

    @classmethod
    def open(cls, path: Path) -> Ledger:
        try:
            _owner_only(path)
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=FULL")
        except (sqlite3.DatabaseError, OSError) as exc:
            raise not_writable(exc) or NbaError(f"{path}: the ledger cannot be opened ({exc})") from None
        ledger = cls(db, path)
        ledger._migrate()
        return ledger

    @classmethod
    def open_read_only(cls, path: Path) -> Ledger:
        """The ledger for reading only (``audit verify``): works for a user who may read but not write it.

        Nothing is written, not even the upgrade of an older schema (it is
        read as it is) or the marking of interrupted runs.
        """
        if not path.is_file():
            raise BadInput("the ledger is missing", file=path, hint="Restore ledger.sqlite from your backup.")
        try:
            db = connect_read_only(path)
            db.row_factory = sqlite3.Row
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise not_writable(exc) or NbaError(f"{path}: the ledger cannot be opened for reading ({exc})") from None
        if version > SCHEMA_VERSION:
            db.close()
            raise UsageError(
                f"{path}: the ledger was written by a newer nba-toolkit (schema {version}); "
                f"this one knows schema {SCHEMA_VERSION}. Upgrade nba-toolkit."
            )
        ledger = cls(db, path)
        ledger.read_only = True
        return ledger

    def close(self) -> None:
        for name in list(self._holds):
            self._release(name)
        self._db.close()

    def _lock_path(self, name: str) -> Path:
        return self.path.parent / ".locks" / f"{name}.lock"

    def _hold(self, name: str) -> None:
        """Take the lock that says this process works on ``name``; refused if a living process has it."""
        taken = hold(self._lock_path(name))
        if taken is None:
            raise UsageError(f"another process is working on {name.replace('-', ' ', 1)} right now")
        self._holds[name] = taken

    def _release(self, name: str) -> None:
        taken = self._holds.pop(name, None)
        if taken is not None:
            taken.release()

    def _alive(self, name: str) -> bool:
        return name in self._holds or is_held(self._lock_path(name))

    def refuse_changes(self) -> None:
        """Stop a change before it starts when the ledger was opened read-only: every change is recorded here."""
        if self.read_only:
            raise ReadOnlyWorkspace(
                f"the workspace {self.path.parent} is open read-only, so nothing was changed",
                hint="Leave out --read-only (you need write access to the workspace) to make the change.",
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of change; ``BEGIN IMMEDIATE`` so two processes cannot interleave."""
        self.refuse_changes()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """One consistent view for a read of many statements, which a writer could otherwise change halfway."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise NbaError(
                f"{self.path}: the ledger was written by a newer nba-toolkit (schema {version}); "
                f"this one knows schema {SCHEMA_VERSION}. Upgrade nba-toolkit."
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as db:
                if db.execute("PRAGMA user_version").fetchone()[0] >= target:
                    continue  # another process opening the ledger at the same moment migrated it first
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement)
                if target == 2:
                    # the exports recorded before schema 2 enter the chain like every other row
                    for (attempt_id,) in db.execute("SELECT id FROM exports ORDER BY id").fetchall():
                        self._audit_export(db, attempt_id)
                if target in _MIGRATION_STEPS:
                    _MIGRATION_STEPS[target](db)
                db.execute(f"PRAGMA user_version = {target}")

    # -- runs -------------------------------------------------------------

    def next_run_id(self, week: str) -> str:
        count = self._db.execute("SELECT COUNT(*) FROM runs WHERE week = ?", (week,)).fetchone()[0]
        return f"{week}.{count + 1}"

    def begin_run(
        self,
        *,
        week: str,
        operator: str,
        toolkit_version: str,
        config: dict[str, Any],
        plugins: dict[str, str],
        salt: str,
        kind: str = "weekly",
        again: bool = False,
    ) -> str:
        """Record that a run started; it stays 'running' until finished or failed.

        The run's lock is taken before the row is committed, so no other
        process can ever see the run 'running' without its lock held. A weekly
        run of a week that has a run awaiting approval (or one in flight) is
        refused in the same transaction, unless ``again`` says it is meant.
        """
        run_id = ""
        try:
            with self.transaction() as db:
                if kind in MAILING_KINDS and not again:
                    self._refuse_second_run(db, week)
                run_id = self.next_run_id(week)
                self._guard_runs(db, run_id)
                db.execute(
                    "INSERT INTO runs (run_id, week, kind, status, started_at, operator, toolkit_version,"
                    " config, plugins, salt) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                    (run_id, week, kind, now(), operator, toolkit_version, json.dumps(config), json.dumps(plugins), salt),
                )
                self._audit_run(db, run_id)
                self._hold(f"run-{run_id}")
        except BaseException:
            self._release(f"run-{run_id}")
            raise
        return run_id

    def _refuse_second_run(self, db: sqlite3.Connection, week: str) -> None:
        rows = db.execute(
            f"SELECT run_id, status FROM runs WHERE week = ? AND {_MAILING_SQL}"
            " AND status IN ('running', 'awaiting_approval') ORDER BY rowid",
            (week,),
        ).fetchall()
        pending = [r[0] for r in rows if r[1] == "awaiting_approval" or self._alive(f"run-{r[0]}")]
        if pending:
            raise WeekAwaitsApproval(week, pending)

    def withdraw_run(self, run_id: str, *, reason: str, by: str) -> None:
        """Take back a run awaiting approval, with who and why: it can never be exported afterwards.

        Decided in one transaction: a run another process is exporting at
        this moment, or has exported or settled, is refused, not withdrawn.
        The run's record, checks and selection stay as they were.
        """
        if not reason.strip():
            raise UsageError("withdrawing a run needs a reason, so the next person understands it")
        self.run(run_id)
        with self.transaction() as db:
            self._guard_runs(db, run_id)
            if db.execute("SELECT 1 FROM exports WHERE run_id = ? AND state = 'exporting'", (run_id,)).fetchone():
                raise UsageError(f"run {run_id} is being exported right now; it was not withdrawn")
            status = db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
            if status != "awaiting_approval":
                raise UsageError(f"run {run_id} is {status.replace('_', ' ')}; only a run awaiting approval can be withdrawn")
            self._withdraw(db, run_id, reason=reason.strip(), by=by)

    def _withdraw(self, db: sqlite3.Connection, run_id: str, *, reason: str, by: str) -> None:
        db.execute(
            "UPDATE runs SET status = 'withdrawn', withdrawn_by = ?, withdrawn_at = ?, withdrawn_reason = ?"
            " WHERE run_id = ? AND status = 'awaiting_approval'",
            (by, now(), reason, run_id),
        )
        self._audit_run(db, run_id)

    def update_run(self, run_id: str, **fields: Any) -> None:
        with self.transaction() as db:
            self._guard_runs(db, run_id)
            self._update(db, run_id, fields)
            self._audit_run(db, run_id)

    def _audit_run(self, db: sqlite3.Connection, run_id: str) -> None:
        audit.record(db, "run", run_id, now())

    @staticmethod
    def _guard_runs(db: sqlite3.Connection, *run_ids: str) -> None:
        """Before a run is changed: refuse if its row was edited outside the toolkit (see audit.guard)."""
        for run_id in run_ids:
            audit.guard(db, "run", run_id)

    def _update(self, db: sqlite3.Connection, run_id: str, fields: dict[str, Any]) -> int:
        columns = []
        values = []
        for key, value in fields.items():
            columns.append(f"{key} = ?")
            values.append(json.dumps(value) if key in _JSON_FIELDS else value)
        # a run in a final state is never moved out of it, whoever asks
        guard = " AND status = 'running'" if "status" in fields else ""
        return db.execute(f"UPDATE runs SET {', '.join(columns)} WHERE run_id = ?{guard}", (*values, run_id)).rowcount

    def finish_run(self, run_id: str, *, status: str, checks: Sequence[Any] = (), **fields: Any) -> None:
        """Close a run and store its check results in the same transaction, then let go of its lock.

        Only a run still 'running' can be closed: a run another process
        already settled keeps that state, and this result is refused.
        """
        try:
            with self.transaction() as db:
                self._guard_runs(db, run_id)
                if self._update(db, run_id, {"status": status, "finished_at": now(), **fields}) != 1:
                    raise NbaError(f"run {run_id} is no longer running; its result was not recorded")
                db.executemany(
                    "INSERT INTO check_results (run_id, check_name, plugin, stage, severity, status, message,"
                    " measured, threshold, action, affected_count, affected_sample)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            run_id,
                            c.check,
                            c.plugin,
                            c.stage,
                            c.severity,
                            c.status,
                            c.message,
                            None if c.measured is None else str(c.measured),
                            None if c.threshold is None else str(c.threshold),
                            c.action,
                            c.affected_count,
                            json.dumps([str(x) for x in c.affected_sample]),
                        )
                        for c in checks
                    ],
                )
                self._audit_run(db, run_id)
        finally:
            self._release(f"run-{run_id}")

    def mark_interrupted(self) -> list[str]:
        """Runs left 'running' by a process that died are failed, never silently resumed.

        A run whose process still holds its lock is in flight and left alone,
        so a ``runs`` or ``status`` during a long run changes nothing.
        """
        if not self._db.execute("SELECT 1 FROM runs WHERE status = 'running' LIMIT 1").fetchone():
            return []
        with self.transaction() as db:
            running = [r[0] for r in db.execute("SELECT run_id FROM runs WHERE status = 'running'")]
            stale = [run_id for run_id in running if not self._alive(f"run-{run_id}")]
            self._guard_runs(db, *stale)
            for run_id in stale:
                db.execute(
                    "UPDATE runs SET status = 'failed', finished_at = ?,"
                    " error = 'interrupted: the process stopped before the run finished'"
                    " WHERE run_id = ? AND status = 'running'",
                    (now(), run_id),
                )
                self._audit_run(db, run_id)
        for run_id in stale:
            self._lock_path(f"run-{run_id}").unlink(missing_ok=True)
        return stale

    def run(self, run_id: str) -> RunRecord:
        row = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"there is no run '{run_id}' in this workspace; `nba-toolkit runs` lists them")
        return _run_record(row)

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        sql = "SELECT * FROM runs ORDER BY started_at DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_run_record(r) for r in self._db.execute(sql)]

    def exported_run_for_week(self, week: str) -> str | None:
        row = self._db.execute("SELECT run_id FROM runs WHERE week = ? AND status = 'exported'", (week,)).fetchone()
        return row[0] if row else None

    def check_results(self, run_id: str) -> list[StoredCheckResult]:
        rows = self._db.execute("SELECT * FROM check_results WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [
            StoredCheckResult(
                check_name=r["check_name"],
                plugin=r["plugin"],
                stage=r["stage"],
                severity=r["severity"],
                status=r["status"],
                message=r["message"],
                measured=r["measured"],
                threshold=r["threshold"],
                action=r["action"],
                affected_count=r["affected_count"],
                affected_sample=json.loads(r["affected_sample"] or "[]"),
            )
            for r in rows
        ]

    # -- export -----------------------------------------------------------

    def reserve_export(self, run_id: str, *, path: str, export_date: date, by: str) -> int:
        """Claim the run's week for this export before any file is written; returns the attempt's id.

        Checked and claimed in one ``BEGIN IMMEDIATE`` transaction: of two
        exports of one week started at the same moment, exactly one gets the
        week, the other is refused (exit 2) naming the run that has it. The
        attempt records the file it will write and this process (its pid and
        the lock it holds until the export is recorded or given up), so a
        crash can be settled later from what is on disk.
        """
        try:
            with self.transaction() as db:
                self._guard_runs(db, run_id)
                row = db.execute("SELECT week, status, withdrawn_reason FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                if row is None or row["status"] != "awaiting_approval":
                    why = f" (withdrawn: {row['withdrawn_reason']})" if row is not None and row["withdrawn_reason"] else ""
                    raise UsageError(f"run {run_id} is no longer awaiting approval{why}; it was not exported")
                taken = db.execute(
                    "SELECT * FROM exports WHERE week = ? AND state IN ('exporting', 'exported')", (row["week"],)
                ).fetchone()
                if taken is not None:
                    raise UsageError(_week_taken(_attempt(taken)))
                cursor = db.execute(
                    "INSERT INTO exports (week, run_id, state, path, export_date, reserved_by, reserved_at, pid, host)"
                    " VALUES (?, ?, 'exporting', ?, ?, ?, ?, ?, ?)",
                    (row["week"], run_id, path, export_date.isoformat(), by, now(), os.getpid(), socket.gethostname()),
                )
                attempt_id = int(cursor.lastrowid or 0)
                audit.record_new(db, "export", str(attempt_id), now())
                self._hold(f"export-{run_id}")
        except sqlite3.IntegrityError:
            raise UsageError(f"run {run_id}'s week is being exported by another process; it was not exported") from None
        except BaseException:
            self._release(f"export-{run_id}")
            raise
        return attempt_id

    def record_export_written(self, run_id: str, *, sha256: str, rows: int) -> None:
        """Note the checked file's hash before it is renamed into exports/: a crash after the rename is then settled by it."""
        with self.transaction() as db:
            attempt = self._reservation(db, run_id)
            db.execute("UPDATE exports SET sha256 = ?, rows = ? WHERE id = ?", (sha256, rows, attempt.id))
            self._audit_export(db, attempt.id)

    def complete_export(
        self,
        run_id: str,
        *,
        export_sha256: str,
        export_rows: int,
        contacts: Iterable[tuple[str, str]],
        week_start: date,
        note: str | None = None,
    ) -> None:
        """Mark the run exported, settle its reservation and write its contacts, all or nothing.

        The status guards in the UPDATEs make a second export of the same run
        fail here even if two processes raced past the earlier checks.
        """
        with self.transaction() as db:
            self._record_export(db, self._reservation(db, run_id), export_sha256, export_rows, contacts, week_start, note)
        self._release(f"export-{run_id}")

    def abandon_export(self, run_id: str, *, note: str) -> None:
        """Give the week back: the export failed before it was recorded (the run stays awaiting approval)."""
        try:
            with self.transaction() as db:
                self._settle(db, self._reservation(db, run_id).id, "abandoned", note)
        finally:
            self._release(f"export-{run_id}")

    def stale_exports(self) -> list[ExportAttempt]:
        """Exports reserved by a process that is gone (its lock is free) and never recorded or given up."""
        rows = self._db.execute("SELECT * FROM exports WHERE state = 'exporting' ORDER BY id").fetchall()
        return [a for a in map(_attempt, rows) if not self._alive(f"export-{a.run_id}")]

    def recover_export(
        self, attempt: ExportAttempt, *, contacts: Iterable[tuple[str, str]] | None, week_start: date, note: str
    ) -> bool:
        """Settle an export whose process died: recorded with ``contacts``, or given up when they are None.

        Done only if the attempt is still unsettled and its process still
        gone, inside one transaction, so two commands opening the workspace
        at once settle it once. Returns whether this call settled it.
        """
        with self.transaction() as db:
            row = db.execute("SELECT * FROM exports WHERE id = ? AND state = 'exporting'", (attempt.id,)).fetchone()
            if row is None or self._alive(f"export-{attempt.run_id}"):
                return False
            audit.guard(db, "export", str(attempt.id))
            if contacts is None:
                self._settle(db, attempt.id, "abandoned", note)
            else:
                self._record_export(db, attempt, attempt.sha256 or "", attempt.rows or 0, contacts, week_start, note)
        self._lock_path(f"export-{attempt.run_id}").unlink(missing_ok=True)
        return True

    def export_attempts(self) -> list[ExportAttempt]:
        """Every export attempt, oldest first (the workspace check compares exports/ with them).

        A ledger read as it is (``open_read_only``) before schema 2 has no exports table, so none.
        """
        if self._db.execute("PRAGMA user_version").fetchone()[0] < 2:
            return []
        return [_attempt(r) for r in self._db.execute("SELECT * FROM exports ORDER BY id")]

    def _reservation(self, db: sqlite3.Connection, run_id: str) -> ExportAttempt:
        """The run's export in progress, before it is changed (refused if edited outside the toolkit)."""
        row = db.execute("SELECT * FROM exports WHERE run_id = ? AND state = 'exporting'", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"run {run_id} has no export in progress; nothing was recorded")
        audit.guard(db, "export", str(row["id"]))
        return _attempt(row)

    def _record_export(
        self,
        db: sqlite3.Connection,
        attempt: ExportAttempt,
        sha256: str,
        rows: int,
        contacts: Iterable[tuple[str, str]],
        week_start: date,
        note: str | None,
    ) -> None:
        self._guard_runs(db, attempt.run_id)
        stamp = now()
        cursor = db.execute(
            "UPDATE runs SET status = 'exported', approved_by = ?, approved_at = ?, export_path = ?,"
            " export_sha256 = ?, export_rows = ?, exported_at = ?,"
            " unreviewed_export = (SELECT CASE WHEN COUNT(*) = 0 THEN 1 END FROM reviews WHERE reviews.run_id = runs.run_id)"
            " WHERE run_id = ? AND status = 'awaiting_approval'",
            (attempt.reserved_by, stamp, attempt.path, sha256, rows, stamp, attempt.run_id),
        )
        if cursor.rowcount != 1:
            raise UsageError(f"run {attempt.run_id} is no longer awaiting approval; it was not exported again")
        db.execute("UPDATE exports SET sha256 = ?, rows = ? WHERE id = ?", (sha256, rows, attempt.id))
        self._settle(db, attempt.id, "exported", note)
        self._withdraw_others(db, attempt, stamp)
        db.executemany(
            "INSERT INTO contacts (customer_id, contact_date, week, week_start, grp, run_id, source)"
            " VALUES (?, ?, ?, ?, ?, ?, 'export')",
            [(cid, attempt.export_date, attempt.week, week_start.isoformat(), grp, attempt.run_id) for cid, grp in contacts],
        )
        self._audit_run(db, attempt.run_id)

    def _withdraw_others(self, db: sqlite3.Connection, attempt: ExportAttempt, stamp: str) -> None:
        """A week is mailed once: its other runs awaiting approval can never be exported, so they are withdrawn."""
        others = [
            r[0]
            for r in db.execute(
                f"SELECT run_id FROM runs WHERE week = ? AND run_id != ? AND status = 'awaiting_approval' AND {_MAILING_SQL}",
                (attempt.week, attempt.run_id),
            )
        ]
        self._guard_runs(db, *others)
        for run_id in others:
            self._withdraw(
                db,
                run_id,
                reason=f"the week was exported by run {attempt.run_id} at {stamp}; a week is mailed once",
                by=attempt.reserved_by,
            )

    def _settle(self, db: sqlite3.Connection, attempt_id: int, state: str, note: str | None) -> None:
        db.execute(
            "UPDATE exports SET state = ?, settled_at = ?, note = ? WHERE id = ? AND state = 'exporting'",
            (state, now(), note, attempt_id),
        )
        self._audit_export(db, attempt_id)

    def _audit_export(self, db: sqlite3.Connection, attempt_id: int) -> None:
        audit.record(db, "export", str(attempt_id), now())

    # -- review: acknowledgements and overrides ---------------------------

    def acknowledge(self, run_id: str, check_name: str, *, by: str, note: str | None = None) -> None:
        """Record that a person read a warning and accepts it for this run (once per check)."""
        self.run(run_id)
        with self.transaction() as db:
            self._guard_runs(db, run_id)
            db.execute(
                "INSERT OR IGNORE INTO acknowledgements (run_id, check_name, acknowledged_by, acknowledged_at, note)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, check_name, by, now(), note),
            )
            self._audit_run(db, run_id)

    def acknowledgements(self, run_id: str) -> dict[str, tuple[str, str]]:
        """Check name -> (who, when) for the warnings acknowledged on a run."""
        return {
            r[0]: (r[1], r[2])
            for r in self._db.execute(
                "SELECT check_name, acknowledged_by, acknowledged_at FROM acknowledgements WHERE run_id = ?", (run_id,)
            )
        }

    def add_override(self, run_id: str, customer_id: str, *, action: str, reason: str, by: str) -> None:
        """An operator's exclusion or flag of one customer in a run awaiting approval (R-S5)."""
        if action not in ("exclude", "flag"):
            raise UsageError(f"an override is 'exclude' or 'flag', not '{action}'")
        if not reason.strip():
            raise UsageError("an override needs a reason, so the next person understands it")
        run = self.run(run_id)
        if run.status != "awaiting_approval":
            raise UsageError(f"run {run_id} is {run.status}; only a run awaiting approval can be changed")
        with self.transaction() as db:
            self._guard_runs(db, run_id)
            if db.execute("SELECT 1 FROM exports WHERE run_id = ? AND state != 'abandoned'", (run_id,)).fetchone():
                raise UsageError(f"run {run_id} is being exported; its mail file is no longer changed")
            db.execute(
                "INSERT OR REPLACE INTO overrides (run_id, customer_id, action, reason, made_by, made_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, str(customer_id), action, reason.strip(), by, now()),
            )
            self._audit_run(db, run_id)

    def overrides(self, run_id: str) -> list[dict[str, str]]:
        return [
            dict(r)
            for r in self._db.execute(
                "SELECT customer_id, action, reason, made_by, made_at FROM overrides WHERE run_id = ? ORDER BY id",
                (run_id,),
            )
        ]

    def record_review(
        self,
        run_id: str,
        *,
        by: str,
        face: str,
        started_at: str,
        seconds: int,
        customers: Sequence[str],
        pages: Sequence[str],
        review_id: int | None = None,
    ) -> int:
        """Write what one review session looked at: a new row, or the session's own row brought up to date.

        A session writes when it ends (and now and then while it lasts), never
        per keypress; the run's audit record covers its review rows.
        """
        self.run(run_id)
        fields = (by, face, started_at, now(), int(seconds), json.dumps(sorted(customers)), json.dumps(sorted(pages)))
        with self.transaction() as db:
            self._guard_runs(db, run_id)
            changed = 0
            if review_id is not None:
                changed = db.execute(
                    "UPDATE reviews SET reviewed_by = ?, face = ?, started_at = ?, ended_at = ?, seconds = ?,"
                    " customers = ?, pages = ? WHERE id = ? AND run_id = ?",
                    (*fields, review_id, run_id),
                ).rowcount
            if not changed:
                cursor = db.execute(
                    "INSERT INTO reviews (run_id, reviewed_by, face, started_at, ended_at, seconds, customers, pages)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, *fields),
                )
                review_id = int(cursor.lastrowid or 0)
            self._audit_run(db, run_id)
        assert review_id is not None, "a session's row is updated only when it has one"
        return int(review_id)

    def reviews(self, run_id: str) -> list[dict[str, Any]]:
        """The run's review sessions, oldest first, with their relation numbers and pages as lists.

        A ledger read as it is (read-only) may be older than schema 9 and have none.
        """
        if self._db.execute("PRAGMA user_version").fetchone()[0] < 9:
            return []
        rows = self._db.execute("SELECT * FROM reviews WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [{**dict(r), "customers": json.loads(r["customers"]), "pages": json.loads(r["pages"])} for r in rows]

    def earlier_flags(self, run_id: str) -> dict[str, list[dict[str, str]]]:
        """Customer id -> the flags the operator set on them in runs of earlier weeks, oldest first.

        A flag does not exclude, so it would vanish with its week; later weeks' reviews show it as information.
        """
        rows = self._db.execute(
            "SELECT o.customer_id, o.run_id, r.week, o.reason, o.made_by, o.made_at FROM overrides o"
            " JOIN runs r ON r.run_id = o.run_id"
            " WHERE o.action = 'flag' AND r.week < (SELECT week FROM runs WHERE run_id = ?) ORDER BY r.week, o.id",
            (run_id,),
        )
        flags: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            flags.setdefault(row["customer_id"], []).append(dict(row))
        return flags

    # -- standing exclusions (suppressions) -----------------------------

    def suppress(self, customer_id: str, *, reason: str, by: str, until: date | None = None, run_id: str | None = None) -> int:
        """Keep a customer out of every run from now on (or up to ``until``), with the reason; audited."""
        if not reason.strip():
            raise UsageError("a standing exclusion needs a reason, so the next person understands it")
        return self._suppression_event(customer_id, "suppress", reason.strip(), by, until, run_id)

    def lift_suppression(self, customer_id: str, *, reason: str, by: str) -> int:
        """End a customer's standing exclusion, with the reason; the exclusion stays on record."""
        if not reason.strip():
            raise UsageError("lifting a standing exclusion needs a reason")
        if customer_id not in dict(self.suppressed_on(date.today(), upto=None)):
            raise UsageError(f"customer {customer_id} has no standing exclusion in force; nothing was lifted")
        return self._suppression_event(customer_id, "lift", reason.strip(), by, None, None)

    def _suppression_event(
        self, customer_id: str, action: str, reason: str, by: str, until: date | None, run_id: str | None
    ) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO suppressions (customer_id, action, reason, until, run_id, made_by, made_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (customer_id, action, reason, until.isoformat() if until else None, run_id, by, now()),
            )
            event = int(cursor.lastrowid or 0)
            audit.record_new(db, "suppression", str(event), now())
        return event

    def suppressions_high_water(self) -> int:
        """The newest standing-exclusion event; events are only ever appended, so this marks a point in them."""
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM suppressions").fetchone()[0])

    def suppressed_on(self, day: date, *, upto: int | None) -> list[tuple[str, str]]:
        """The customers under a standing exclusion on ``day`` (customer id, reason), as of event ``upto``.

        A customer's latest event (up to ``upto``) decides: a suppression
        whose end date has not passed keeps them out; a lift lets them in.
        """
        rows = self._db.execute(
            "SELECT customer_id, action, reason, until FROM suppressions s WHERE id = ("
            " SELECT MAX(id) FROM suppressions t WHERE t.customer_id = s.customer_id AND t.id <= ?)",
            (upto if upto is not None else 2**62,),
        )
        return [(r[0], r[2]) for r in rows if r[1] == "suppress" and (r[3] is None or date.fromisoformat(r[3]) >= day)]

    def suppression_events(self) -> list[dict[str, Any]]:
        """Every standing-exclusion event, oldest first, for listing."""
        return [dict(r) for r in self._db.execute("SELECT * FROM suppressions ORDER BY id")]

    # -- configuration history -------------------------------------------

    def record_config_change(self, key: str, old_value: Any, new_value: Any, *, by: str, reason: str | None = None) -> None:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO config_changes (changed_at, changed_by, key, old_value, new_value, reason)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now(), by, key, json.dumps(old_value), json.dumps(new_value), reason),
            )
            audit.record_new(db, "config_change", str(cursor.lastrowid), now())

    def last_config_state(self, file: str = "nba.toml") -> tuple[str, dict[str, Any]] | None:
        """The configuration file the toolkit last saw: its SHA-256 and what it gave.

        The row is compared with its audit record first: a state added or
        edited by hand could otherwise hide a hand edit of the file itself.
        """
        with self.transaction() as db:
            row = db.execute(
                "SELECT id, sha256, config FROM config_state WHERE file = ? ORDER BY id DESC LIMIT 1", (file,)
            ).fetchone()
            if row is not None:
                audit.guard(db, "config_state", str(row[0]))
        return (row[1], json.loads(row[2])) if row else None

    def record_config_state(self, sha256: str, config: dict[str, Any], file: str = "nba.toml") -> None:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO config_state (recorded_at, sha256, config, file) VALUES (?, ?, ?, ?)",
                (now(), sha256, json.dumps(config, sort_keys=True), file),
            )
            audit.record_new(db, "config_state", str(cursor.lastrowid), now())

    def config_changes(self) -> list[dict[str, Any]]:
        """Every recorded change, newest first; values as they were set (JSON-decoded)."""
        rows = self._db.execute(
            "SELECT changed_at, changed_by, key, old_value, new_value, reason FROM config_changes"
            " ORDER BY changed_at DESC, id DESC"
        )
        return [{**dict(r), "old_value": json.loads(r["old_value"]), "new_value": json.loads(r["new_value"])} for r in rows]

    # -- retention ----------------------------------------------------------

    def purge_customer_data(self, run_ids: Sequence[str], *, contacts_before: date) -> int:
        """Remove per-customer rows of the given runs and contacts older than ``contacts_before`` (R-G6).

        Counts, hashes and check results stay, so the run can still be
        explained in aggregate; every change is audited, so the chain verifies.
        Returns the number of rows removed.
        """
        removed = 0
        with self.transaction() as db:
            stamp = now()
            with audit.change(db, "run", list(run_ids), stamp):
                for run_id in run_ids:
                    removed += db.execute("DELETE FROM contacts WHERE run_id = ?", (run_id,)).rowcount
                    removed += db.execute("DELETE FROM overrides WHERE run_id = ?", (run_id,)).rowcount
                    db.execute("UPDATE reviews SET customers = '[]' WHERE run_id = ?", (run_id,))
                    db.execute("UPDATE check_results SET affected_sample = '[]' WHERE run_id = ?", (run_id,))
                    db.execute("UPDATE runs SET purged_at = ? WHERE run_id = ?", (stamp, run_id))
            sources = [r[0] for r in db.execute("SELECT DISTINCT source FROM contacts WHERE run_id IS NULL")]
            for source in sources:
                audit.guard(db, "contact_import", source)
                gone = db.execute(
                    "DELETE FROM contacts WHERE run_id IS NULL AND source = ? AND week_start < ?",
                    (source, contacts_before.isoformat()),
                ).rowcount
                if gone:
                    removed += gone
                    audit.record(db, "contact_import", source, stamp)
        return removed

    # -- tamper evidence --------------------------------------------------

    def verify(self, *, anchor: str | None = None) -> audit.AuditReport:
        """Recompute the audit chain and compare every audited row with it (``audit verify``).

        ``anchor``: a head of the chain recorded outside the ledger, which the chain must still contain.
        """
        with self._reading():
            return audit.verify(self._db, anchor=anchor)

    def require_intact(self) -> None:
        """Refuse to go on with a ledger that fails ``audit verify`` (before a run or an export)."""
        report = self.verify()
        if not report.ok:
            more = f" and {len(report.problems) - 1} more" if len(report.problems) > 1 else ""
            raise BadInput(
                f"the ledger was changed outside the toolkit ({report.problems[0]}{more}); nothing was run or exported",
                file=self.path,
                hint="Run `nba-toolkit audit verify` to see every change, then restore ledger.sqlite from a backup "
                "or report it to compliance.",
            )

    def vouch_for_model(self, sha256: str) -> None:
        """Raise unless the audit chain vouches for a model file with this SHA-256 (before it is unpickled)."""
        with self._reading():
            audit.vouch_for_model(self._db, sha256)

    # -- contact history --------------------------------------------------

    def import_contacts(self, rows: Iterable[tuple[str, str, str, str, str]], *, source: str) -> int:
        """Add past contacts (customer id, contact date, week, week start, group) made outside the toolkit."""
        rows = list(rows)
        if not rows:
            return 0
        with self.transaction() as db, audit.change(db, "contact_import", [source], now()):
            db.executemany(
                "INSERT INTO contacts (customer_id, contact_date, week, week_start, grp, run_id, source)"
                " VALUES (?, ?, ?, ?, ?, NULL, ?)",
                [(*r, source) for r in rows],
            )
        return len(rows)

    def contacted_since(self, week_start: date, *, upto: int | None = None) -> list[tuple[str, str]]:
        """Each customer contacted in the week starting ``week_start`` or later, with their latest such week.

        ``upto`` limits the history to the rows that existed when a run read it
        (see :meth:`contacts_high_water`), so a replay sees what the run saw.
        """
        return [
            (r[0], r[1])
            for r in self._db.execute(
                "SELECT customer_id, MAX(week_start) FROM contacts WHERE week_start >= ? AND rowid <= ? GROUP BY customer_id",
                (week_start.isoformat(), upto if upto is not None else 2**62),
            )
        ]

    def contacts_high_water(self) -> int:
        """The newest contact row; contacts are only ever appended, so this marks a point in the history."""
        return int(self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM contacts").fetchone()[0])

    def contact_date(self, run_id: str) -> str | None:
        """The date a run's export was recorded as the contact date (the mail file's export date)."""
        row = self._db.execute("SELECT MIN(contact_date) FROM contacts WHERE run_id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def import_contact_file(
        self,
        rows: Iterable[tuple[str, str, str, str, str]],
        *,
        group: str,
        file: str,
        sha256: str,
        rows_in_file: int,
        by: str,
    ) -> tuple[dict[str, Any], bool]:
        """Record a file of contacts made outside the toolkit (customer id, contact date, week, week start, campaign).

        All or nothing, with its audit records, in one transaction. A file
        imported before (the same SHA-256) changes nothing: its earlier import
        comes back with ``False``. A contact an earlier import already holds
        (same customer, day and campaign) is counted as known, not added twice.
        """
        stamp = now()
        source = f"contacts import {sha256[:16]} ({file})"
        with self.transaction() as db:
            earlier = db.execute("SELECT * FROM contact_imports WHERE sha256 = ?", (sha256,)).fetchone()
            if earlier is not None:
                return _contact_import(earlier), False
            audit.guard(db, "contact_import", source)
            db.execute(
                "CREATE TEMP TABLE incoming (customer_id TEXT NOT NULL, contact_date TEXT NOT NULL, week TEXT NOT NULL,"
                " week_start TEXT NOT NULL, campaign TEXT NOT NULL, PRIMARY KEY (customer_id, contact_date, campaign))"
            )
            try:
                db.executemany("INSERT INTO incoming VALUES (?, ?, ?, ?, ?)", rows)
                total = db.execute("SELECT COUNT(*) FROM incoming").fetchone()[0]
                campaigns = json.dumps([r[0] for r in db.execute("SELECT DISTINCT campaign FROM incoming ORDER BY campaign")])
                added = db.execute(
                    "INSERT INTO contacts (customer_id, contact_date, week, week_start, grp, run_id, source, campaign)"
                    " SELECT customer_id, contact_date, week, week_start, ?, NULL, ?, campaign FROM incoming i"
                    " WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.run_id IS NULL AND c.customer_id = i.customer_id"
                    " AND c.contact_date = i.contact_date AND c.campaign = i.campaign)",
                    (group, source),
                ).rowcount
            finally:
                db.execute("DROP TABLE incoming")
            import_id = db.execute(
                "INSERT INTO contact_imports (file, sha256, source, rows_in_file, added, known, campaigns, imported_by,"
                " imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (file, sha256, source, rows_in_file, added, total - added, campaigns, by, stamp),
            ).lastrowid
            audit.record_new(db, "contact_file", str(import_id), stamp)
            if added:
                audit.record(db, "contact_import", source, stamp)
            row = db.execute("SELECT * FROM contact_imports WHERE id = ?", (import_id,)).fetchone()
        return _contact_import(row), True

    def contact_imports(self) -> list[dict[str, Any]]:
        """Every import of contacts made outside the toolkit, newest first (none before schema 11)."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] < 11:
            return []
        return [_contact_import(r) for r in self._db.execute("SELECT * FROM contact_imports ORDER BY id DESC")]

    def outside_contacts(self) -> list[tuple[str, str]]:
        """Every contact not made by a run of this toolkit (customer id, contact date): imported mailings."""
        return [(r[0], r[1]) for r in self._db.execute("SELECT customer_id, contact_date FROM contacts WHERE run_id IS NULL")]

    # -- models -----------------------------------------------------------

    def register_model(self, record: ModelRecord) -> None:
        """Add a trained model and make it the active one; a challenger is added beside the active model instead."""
        with self.transaction() as db:
            known = [r[0] for r in db.execute("SELECT model_id FROM models ORDER BY trained_at, rowid").fetchall()]
            for model_id in [*known, record.model_id]:
                audit.guard(db, "model", model_id)
            if not record.challenger:
                db.execute("UPDATE models SET active = 0")
            db.execute(
                "INSERT INTO models (model_id, engine, engine_version, path, sha256, trained_at, trained_by,"
                " training_window, metrics, active, challenger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.model_id,
                    record.engine,
                    record.engine_version,
                    record.path,
                    record.sha256,
                    record.trained_at,
                    record.trained_by,
                    record.training_window,
                    json.dumps(record.metrics),
                    0 if record.challenger else 1,
                    1 if record.challenger else None,
                ),
            )
            stamp = now()
            for (model_id,) in db.execute("SELECT model_id FROM models ORDER BY trained_at, rowid").fetchall():
                audit.record(db, "model", model_id, stamp)

    def promote_model(self, model_id: str, *, by: str, reason: str) -> None:
        """Make a registered model the one that scores, recording who and why; the model it replaces stays on record.

        The switch of the active model and its record are one transaction: two
        promotions at once leave exactly one active model, the later one.
        """
        with self.transaction() as db:
            models = [r[0] for r in db.execute("SELECT model_id FROM models ORDER BY trained_at, rowid").fetchall()]
            if model_id not in models:
                raise UsageError(f"there is no model '{model_id}'", hint="See `nba-toolkit model list`.")
            with audit.change(db, "model", models, now()):
                db.execute("UPDATE models SET active = 0")
                db.execute(
                    "UPDATE models SET active = 1, challenger = NULL, promoted_by = ?, promoted_at = ?, promotion_reason = ?"
                    " WHERE model_id = ?",
                    (by, now(), reason, model_id),
                )

    def active_model(self, engine: str) -> ModelRecord | None:
        row = self._db.execute(
            "SELECT * FROM models WHERE engine = ? ORDER BY active DESC, trained_at DESC, rowid DESC LIMIT 1",
            (engine,),
        ).fetchone()
        return _model_record(row) if row else None

    def approve_model(
        self, model_id: str, *, by: str, note: str | None = None, acknowledged: dict[str, str] | None = None
    ) -> None:
        """Record that a person (the logged-in user ``by``) approved a model for weekly runs, with their note
        and the model-check warnings they acknowledged."""
        with self.transaction() as db, audit.change(db, "model", [model_id], now()):
            db.execute(
                "UPDATE models SET approved_by = ?, approved_at = ?, approval_note = ?, approval_acknowledged = ?"
                " WHERE model_id = ?",
                (by, now(), note, json.dumps(acknowledged, sort_keys=True) if acknowledged else None, model_id),
            )

    def acceptance_runs(self, model_id: str) -> list[str]:
        """The model's acceptance (dry) runs that went through every stage."""
        return [
            r[0]
            for r in self._db.execute(
                "SELECT run_id FROM runs WHERE kind = 'acceptance' AND model_id = ? AND status = 'awaiting_approval'"
                " ORDER BY started_at",
                (model_id,),
            )
        ]

    def models(self) -> list[ModelRecord]:
        """Every registered model, newest first: the active one and those it replaced."""
        rows = self._db.execute("SELECT * FROM models ORDER BY trained_at DESC, rowid DESC").fetchall()
        return [_model_record(row) for row in rows]

    def model(self, model_id: str) -> ModelRecord | None:
        row = self._db.execute("SELECT * FROM models WHERE model_id = ?", (model_id,)).fetchone()
        return _model_record(row) if row else None

    # -- evaluation: outcomes, and contacts for a backtest ---------------

    def import_outcomes(
        self, rows: Iterable[tuple[str, str, float]], *, source: str, source_sha256: str, by: str
    ) -> dict[str, int]:
        """Add or correct outcomes (customer id, opening date, amount); the same rows again change nothing.

        One outcome per customer and opening date: a row already stored with
        the same amount is left as it is; with another amount it is corrected
        and counted as updated. Returns the counts added, updated, unchanged.
        """
        stamp = now()
        with self.transaction() as db:
            db.execute(
                "CREATE TEMP TABLE incoming (customer_id TEXT NOT NULL, opened_date TEXT NOT NULL,"
                " invested_amount REAL NOT NULL, PRIMARY KEY (customer_id, opened_date))"
            )
            try:
                db.executemany("INSERT INTO incoming VALUES (?, ?, ?)", rows)
                added, updated, unchanged = db.execute(
                    "SELECT SUM(o.customer_id IS NULL), SUM(o.invested_amount != i.invested_amount),"
                    " SUM(o.invested_amount = i.invested_amount)"
                    " FROM incoming i LEFT JOIN outcomes o USING (customer_id, opened_date)"
                ).fetchone()
                db.execute(
                    "INSERT INTO outcomes (customer_id, opened_date, invested_amount, source, source_sha256,"
                    " imported_at, imported_by) SELECT customer_id, opened_date, invested_amount, ?, ?, ?, ?"
                    " FROM incoming WHERE true ON CONFLICT (customer_id, opened_date) DO UPDATE SET"
                    " invested_amount = excluded.invested_amount, source = excluded.source,"
                    " source_sha256 = excluded.source_sha256, imported_at = excluded.imported_at,"
                    " imported_by = excluded.imported_by WHERE invested_amount != excluded.invested_amount",
                    (source, source_sha256, stamp, by),
                )
            finally:
                db.execute("DROP TABLE incoming")
        return {"added": added or 0, "updated": updated or 0, "unchanged": unchanged or 0}

    def contacts_between(self, first_week_start: date, before: date, *, upto: int | None = None) -> list[tuple[str, str]]:
        """Every contact (customer id, week start) from the week of ``first_week_start`` up to, not including, ``before``.

        A backtest starts its simulated contact history from these: the real
        cooldown state at its first week, without the contacts made later.
        ``upto`` limits them to the rows that existed when a run read the
        history, as in :meth:`contacted_since`.
        """
        return [
            (r[0], r[1])
            for r in self._db.execute(
                "SELECT customer_id, week_start FROM contacts WHERE week_start >= ? AND week_start < ? AND rowid <= ?",
                (first_week_start.isoformat(), before.isoformat(), upto if upto is not None else 2**62),
            )
        ]

    def outcomes(self) -> list[tuple[str, str, float]]:
        """Every stored outcome: customer id, opening date (ISO), invested amount."""
        return [
            (r[0], r[1], r[2])
            for r in self._db.execute("SELECT customer_id, opened_date, invested_amount FROM outcomes ORDER BY opened_date")
        ]


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that creates nothing beside the ledger, also for a user who may not write there.

    When no write-ahead log exists, nobody has the ledger open (the last
    connection to close removes it) and every committed change is in the main
    file, which is then read as an unchanging file: a plain read-only
    connection would leave SQLite's -wal and -shm files behind. While a log
    exists, SQLite needs its -shm file to read the log's changes too.
    """
    uri = path.resolve().as_uri()
    if not path.with_name(path.name + "-wal").exists():
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=30)
    db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    return db


def _owner_only(path: Path) -> None:
    """Create the ledger file owner-only, and tighten an existing one; SQLite gives -wal and -shm the same mode."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        if os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists() and companion.stat().st_uid == os.geteuid():
            companion.chmod(PRIVATE_FILE)


def _contact_import(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "campaigns": json.loads(row["campaigns"])}


def _attempt(row: sqlite3.Row) -> ExportAttempt:
    return ExportAttempt(**dict(row))


def _week_taken(attempt: ExportAttempt) -> str:
    if attempt.state == "exported":
        return f"{attempt.week} was already exported by run {attempt.run_id}; a week is mailed once"
    return (
        f"{attempt.week} is being exported by run {attempt.run_id} right now (process {attempt.pid} on {attempt.host}, "
        f"started by {attempt.reserved_by} at {attempt.reserved_at}); a week is mailed once"
    )


def _run_record(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    for key, empty in _JSON_FIELDS.items():
        data[key] = json.loads(data[key]) if data[key] else type(empty)()
    return RunRecord(**data)


def _model_record(row: sqlite3.Row) -> ModelRecord:
    data = dict(row)
    data["metrics"] = json.loads(data["metrics"])
    data["active"] = bool(data["active"])
    data["challenger"] = bool(data.get("challenger"))
    data["approval_acknowledged"] = json.loads(data["approval_acknowledged"]) if data.get("approval_acknowledged") else None
    return ModelRecord(**data)
