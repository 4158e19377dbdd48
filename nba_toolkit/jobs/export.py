"""Approve a run and write the mail program's file (R-X2).

Guards, in order: the run is awaiting approval (not blocked, failed or
already exported); no other run of the same week was exported; every
warning of the run was acknowledged by a person; the stored
selection is byte-for-byte the one the run recorded. Customers the operator
excluded during review (overrides in the ledger) are left out of the file. The file is written to a
temporary name with mode 0600 and renamed into place; only then, in one
ledger transaction, is the run marked exported and the contact history
extended (with the mailed customers and the holdout, so the cooldown covers
both). If that transaction fails, the file is removed again: a file in
exports/ always has a ledger record, and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.core.acknowledgements import refuse_unacknowledged
from nba_toolkit.core.export import MAIL_COLUMNS
from nba_toolkit.core.files import atomic_writer, sha256_of
from nba_toolkit.core.selection import HOLDOUT, MAILED_GROUPS
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import NbaError, PluginError, UsageError
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace, operator_name


@dataclass(frozen=True)
class ExportOutcome:
    run_id: str
    path: Path
    sha256: str
    rows: int
    groups: dict[str, int]
    approved_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "sha256": self.sha256,
            "rows": self.rows,
            "groups": self.groups,
            "approved_by": self.approved_by,
        }


def export_run(workspace: Workspace, registry: Registry, run_id: str, *, approved_by: str | None = None) -> ExportOutcome:
    ledger = workspace.ledger
    ledger.require_intact()
    config = workspace.config
    run = ledger.run(run_id)
    if run.status == "exported":
        raise UsageError(f"run {run_id} was already exported on {run.exported_at} to {run.export_path}; a run is exported once")
    if run.kind == "acceptance":
        raise UsageError(f"run {run_id} is an acceptance (dry) run; it can never be exported")
    if run.status != "awaiting_approval":
        raise UsageError(f"run {run_id} is {run.status} and cannot be exported", hint=run.error)
    earlier = ledger.exported_run_for_week(run.week)
    if earlier:
        raise UsageError(f"{run.week} was already exported by run {earlier}; a week is mailed once")
    blocking = [c for c in ledger.check_results(run_id) if c.status == "error" or (c.status == "fail" and c.severity == "block")]
    if blocking:
        raise UsageError(f"run {run_id} has blocking check results and cannot be exported")
    refuse_unacknowledged(ledger, run_id)

    selection_path = workspace.root / (run.selection_path or "")
    if not selection_path.is_file() or sha256_of(selection_path) != run.selection_sha256:
        raise NbaError(
            f"the stored selection of run {run_id} is missing or was changed after the run; it was not exported",
            hint="Run the week again.",
        )
    today = date.today()
    operator_excluded = [o["customer_id"] for o in ledger.overrides(run_id) if o["action"] == "exclude"]
    selection = _mailed_or_held(selection_path)
    rows = mail_rows(selection, operator_excluded, campaign_code=config.campaign.code, export_date=today)
    exporter_entry = registry.exporter(config.export.exporter)
    exporter = exporter_entry.obj
    approver = approved_by or operator_name()
    path = workspace.exports_dir / f"{config.campaign.code}_{run.week}_{run_id}.{exporter.extension}"
    if path.exists():
        raise UsageError(f"{path} already exists; it was left untouched and nothing was exported")
    try:
        with atomic_writer(path, mode=0o600, overwrite=False) as stream:
            exporter.write(rows, stream, config.export)
    except FileExistsError:
        raise UsageError(f"{path} already exists; it was left untouched and nothing was exported") from None
    except Exception as exc:  # noqa: BLE001 - the exporter's failure, named; no file was left
        raise PluginError(
            f"the exporter '{exporter.name}' (plugin '{exporter_entry.plugin}') failed: {type(exc).__name__}: {exc}; "
            "no file was written and the contact history is unchanged"
        ) from exc
    sha = sha256_of(path)
    try:
        ledger.complete_export(
            run_id,
            approved_by=approver,
            export_path=str(path.relative_to(workspace.root)),
            export_sha256=sha,
            export_rows=rows.height,
            contacts=[
                *((str(cid), grp) for cid, grp in rows.select("customer_id", "group").iter_rows()),
                *((str(cid), HOLDOUT) for cid in selection.filter(pl.col("reason") == HOLDOUT)["customer_id"]),
            ],
            contact_date=today,
            week_start=parse_week(run.week),
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    groups = {group: int(n) for group, n in rows.group_by("group").len().sort("group").iter_rows()}
    return ExportOutcome(
        run_id=run_id,
        path=path,
        sha256=sha,
        rows=rows.height,
        groups={g: groups.get(g, 0) for g in MAILED_GROUPS.values()},
        approved_by=approver,
    )


def _mailed_or_held(selection_path: Path) -> pl.DataFrame:
    """The stored selection's rows the export writes or records (the mailed and the holdout), in file order.

    Everything the export does concerns these few thousand rows; reading
    only them spares decoding the million others.
    """
    return pl.scan_parquet(selection_path).filter(pl.col("mailed") | (pl.col("reason") == HOLDOUT)).collect()


def mail_rows(selection: pl.DataFrame, operator_excluded: list[str], *, campaign_code: str, export_date: date) -> pl.DataFrame:
    """The mail file's rows: the mailed, less the operator's exclusions, in a fixed order (replay relies on it).

    Only the mailed rows' relation numbers are turned into text to compare
    with the exclusions, not the whole week's.
    """
    return (
        selection.filter(pl.col("mailed"))
        .filter(~pl.col("customer_id").cast(pl.String).is_in(operator_excluded))
        .select(
            pl.col("customer_id"),
            pl.lit(campaign_code).alias("campaign_code"),
            pl.col("group"),
            pl.lit(export_date).alias("export_date"),
        )
        .sort("group", "customer_id")
        .select(MAIL_COLUMNS)
    )
