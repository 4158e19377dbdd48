"""Retention (R-G6): per-customer run data is kept for ``[retention] run_data_days``, then removed.

What goes: each old run's folder (``runs/<id>/``: every customer's score and
reason), its contacts and overrides in the ledger, the relation numbers in
its check results, and imported contacts older than the period. What stays:
the run record with its counts, hashes, configuration and approvals, so the
week can still be explained in aggregate and the audit chain still verifies.
Exported mail files are the mail program's input and are not touched; the
operator's own retention of ``exports/`` applies.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nba_toolkit.workspace import Workspace


@dataclass(frozen=True)
class PurgeReport:
    cutoff: str
    runs: list[str]
    ledger_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff, "runs": self.runs, "ledger_rows": self.ledger_rows}


def purge(workspace: Workspace, *, now: datetime | None = None) -> PurgeReport:
    days = workspace.config.retention.run_data_days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    stamp = cutoff.replace(microsecond=0).isoformat()
    ledger = workspace.ledger
    old = [r.run_id for r in ledger.runs() if r.started_at < stamp and r.purged_at is None]
    for run_id in old:
        shutil.rmtree(workspace.run_dir(run_id), ignore_errors=True)
    rows = ledger.purge_customer_data(old, contacts_before=cutoff.date())
    return PurgeReport(cutoff=stamp, runs=old, ledger_rows=rows)
