"""Retention (R-G6): per-customer run data is kept for ``[retention] run_data_days``, then removed.

What goes: each old run's folder (``runs/<id>/``: every customer's score and
reason), its contacts and overrides in the ledger, the relation numbers in
its check results, imported contacts older than the period, and the raw
extract the run read when it lies in the workspace's ``data/`` folder and no
run still kept reads it (an extract holds names and addresses the run never
used). What stays: the run record with its counts, hashes, configuration and
approvals, so the week can still be explained in aggregate and the audit
chain still verifies. Exported mail files are the mail program's input and
are not touched; the operator's own retention of ``exports/`` applies.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nba_toolkit.ledger.store import RunRecord
from nba_toolkit.workspace import Workspace


@dataclass(frozen=True)
class PurgeReport:
    cutoff: str
    runs: list[str]
    ledger_rows: int
    #: raw extracts removed, relative to the workspace
    extracts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff, "runs": self.runs, "ledger_rows": self.ledger_rows, "extracts": self.extracts}


def purge(workspace: Workspace, *, now: datetime | None = None) -> PurgeReport:
    days = workspace.config.retention.run_data_days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    stamp = cutoff.replace(microsecond=0).isoformat()
    ledger = workspace.ledger
    runs = ledger.runs()
    old = [r for r in runs if r.started_at < stamp and r.purged_at is None]
    for run in old:
        shutil.rmtree(workspace.run_dir(run.run_id), ignore_errors=True)
    rows = ledger.purge_customer_data([r.run_id for r in old], contacts_before=cutoff.date())
    extracts = _old_extracts(workspace, [r for r in runs if r.started_at < stamp], [r for r in runs if r.started_at >= stamp])
    for path in extracts:
        path.unlink(missing_ok=True)
    return PurgeReport(
        cutoff=stamp, runs=[r.run_id for r in old], ledger_rows=rows, extracts=[workspace.record_path(p) for p in extracts]
    )


def _old_extracts(workspace: Workspace, old: list[RunRecord], kept: list[RunRecord]) -> list[Path]:
    """The extracts in data/ that only runs past retention read (a file outside the workspace is the bank's own)."""
    data = (workspace.root / "data").resolve()
    still_read = {_extract(workspace, r) for r in kept}
    found = {_extract(workspace, r) for r in old} - still_read - {None}
    return sorted(p for p in found if p is not None and data in p.parents and p.is_file())


def _extract(workspace: Workspace, run: RunRecord) -> Path | None:
    return workspace.recorded_path(run.snapshot_path).resolve() if run.snapshot_path else None
