"""Approve a run and write the mail program's file (R-X2).

Guards, in order: the reasons of core/exportable.py, which the Export
screen's preview lists too (the run is a weekly run awaiting approval, not
blocked, withdrawn or already exported, its week not mailed yet, every
warning acknowledged by a person, a review recorded unless the configuration allows an
unreviewed export, which the ledger then marks); the stored selection is byte-for-byte the one the run recorded; no relation
number would be run as a formula by a spreadsheet. Customers the operator
excluded during review (overrides in the ledger) are left out of the file.

Then, step by step, each step a named crash point (core/files.py):

1. ``export.reserved``: the week is claimed in the ledger, in the same
   transaction that checks nobody else has it (a week is mailed once, even
   when two people press export at the same moment); the claim names the
   file about to be written and the process writing it.
2. ``export.written``: the exporter writes to a temporary file (mode 0600),
   which is read back in the configured dialect and compared with the rows
   it was given; its hash is noted with the claim.
3. ``export.renamed``: the file is linked into exports/ under its final
   name (never over an existing file).
4. ``export.recorded``: in one transaction the run is marked exported and the
   contact history extended (with the mailed customers and the holdout, so
   the cooldown covers both).

A failure at any step removes the file and gives the week back, so a file in
exports/ always has a ledger record, and the reverse. A process that dies
between the steps is settled the next time the workspace is opened
(jobs/integrity.py), from the claim and what is on disk.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.config import Config
from nba_toolkit.core.export import MAIL_COLUMNS, executes_in_spreadsheet, file_dialect, read_back, safe_extension
from nba_toolkit.core.exportable import export_refusals
from nba_toolkit.core.files import atomic_writer, crash_point, inside, sha256_of, temp_file_writer
from nba_toolkit.core.recorded_review import RecordedReview, recorded_review
from nba_toolkit.core.selection import HOLDOUT, MAILED_GROUPS
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import BadInput, NbaError, PluginError, UsageError
from nba_toolkit.ledger.store import Ledger, RunRecord
from nba_toolkit.plugin.manager import Registered, Registry
from nba_toolkit.workspace import Workspace, operator_name


@dataclass(frozen=True)
class ExportOutcome:
    run_id: str
    path: Path
    sha256: str
    rows: int
    groups: dict[str, int]
    approved_by: str
    #: what was looked at before the approval; none recorded means the export is marked unreviewed
    review: RecordedReview

    def to_dict(self) -> dict[str, Any]:
        return {
            "review": self.review.to_dict(),
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
    _refuse_unexportable(ledger, run, allow_unreviewed=config.governance.allow_unreviewed_export)
    selection = mailed_or_held(verified_selection(workspace, run))
    today = date.today()
    exporter_entry = registry.exporter(config.export.exporter)
    path = mail_file_path(workspace, config, run, exporter_entry)
    approver = approved_by or operator_name()
    if path.exists():
        raise UsageError(f"{path} already exists; it was left untouched and nothing was exported")
    ledger.reserve_export(run_id, path=workspace.record_path(path), export_date=today, by=approver)
    crash_point("export.reserved")
    renamed = False
    try:
        # read after the reservation, which freezes the run's exclusions until the export is settled
        operator_excluded = [o["customer_id"] for o in ledger.overrides(run_id) if o["action"] == "exclude"]
        rows = mail_rows(selection, operator_excluded, campaign_code=config.campaign.code, export_date=today)
        _refuse_formulas(rows, run_id)
        _write_checked(path, rows, exporter_entry, config, ledger, run_id)
        renamed = True
        crash_point("export.renamed")
        sha = sha256_of(path)
        ledger.complete_export(
            run_id,
            export_sha256=sha,
            export_rows=rows.height,
            contacts=contacts_of(rows, selection),
            week_start=parse_week(run.week),
        )
    except BaseException as exc:
        if renamed:
            _remove_unrecorded(path, ledger, run_id)
        _give_week_back(ledger, run_id, exc)
        raise
    crash_point("export.recorded")
    groups = {group: int(n) for group, n in rows.group_by("group").len().sort("group").iter_rows()}
    return ExportOutcome(
        run_id=run_id,
        path=path,
        sha256=sha,
        rows=rows.height,
        groups={g: groups.get(g, 0) for g in MAILED_GROUPS.values()},
        approved_by=approver,
        review=recorded_review(ledger, run_id),
    )


def _refuse_unexportable(ledger: Ledger, run: RunRecord, *, allow_unreviewed: bool) -> None:
    """The first reason a person can read before anything is claimed (core/exportable.py, shared with the preview)."""
    refusals = export_refusals(ledger, run, allow_unreviewed=allow_unreviewed)
    if refusals:
        raise UsageError(refusals[0].message, hint=refusals[0].hint)


def verified_selection(workspace: Workspace, run: RunRecord) -> Path:
    selection_path = workspace.root / (run.selection_path or "")
    if not selection_path.is_file() or sha256_of(selection_path) != run.selection_sha256:
        raise NbaError(
            f"the stored selection of run {run.run_id} is missing or was changed after the run; it was not exported",
            hint="Run the week again.",
        )
    return selection_path


def _refuse_formulas(rows: pl.DataFrame, run_id: str) -> None:
    """A relation number a spreadsheet would run as a formula never goes out (CSV injection)."""
    bad = sum(executes_in_spreadsheet(cid) for cid in rows["customer_id"].cast(pl.String).to_list())
    if bad:
        raise BadInput(
            f"{bad} relation number(s) in run {run_id} start with = + - @ or a tab, which a spreadsheet would run "
            "as a formula; nothing was exported",
            hint="Ask the data warehouse team to fix the relation numbers in the extract, then run the week again.",
        )


def mail_file_path(workspace: Workspace, config: Config, run: RunRecord, exporter: Registered) -> Path:
    """Where the run's mail file goes: directly in exports/, named from parts that cannot leave it."""
    extension = getattr(exporter.obj, "extension", None)
    if not safe_extension(extension):
        raise PluginError(
            f"the exporter '{config.export.exporter}' (plugin '{exporter.plugin}') declares the extension "
            f"{extension!r}; an extension is 1 to 16 letters or digits; nothing was exported"
        )
    try:
        return inside(workspace.exports_dir, f"{config.campaign.code}_{run.week}_{run.run_id}.{extension}")
    except ValueError as exc:
        raise UsageError(f"{exc}; nothing was exported", hint="Check [campaign] code in nba.toml.") from None


def _write_checked(
    path: Path, rows: pl.DataFrame, exporter_entry: Registered, config: Config, ledger: Ledger, run_id: str
) -> None:
    """Write the file through the exporter, read it back, note its hash, and only then rename it into exports/."""
    exporter = exporter_entry.obj
    who = f"the exporter '{exporter.name}' (plugin '{exporter_entry.plugin}')"
    delimiter, trailer_lines = file_dialect(exporter, config.export)
    before = _files_in(path.parent)

    def check(written: Path) -> None:
        _refuse_stray_files(path.parent, before | {written.name}, ledger, who)
        problems = read_back(written.read_bytes(), rows, config.export, delimiter=delimiter, trailer_lines=trailer_lines)
        if problems:
            raise PluginError(
                f"{who} wrote a file that does not hold the rows it was given: {'; '.join(problems)}; "
                "the file was removed, nothing was exported and the contact history is unchanged"
            )
        ledger.record_export_written(run_id, sha256=sha256_of(written), rows=rows.height)
        crash_point("export.written")

    try:
        with atomic_writer(path, mode=0o600, overwrite=False, before_rename=check) as stream:
            exporter.write(rows, stream, config.export)
    except FileExistsError:
        raise UsageError(f"{path} already exists; it was left untouched and nothing was exported") from None
    except NbaError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter's failure, named; no file was left
        raise PluginError(
            f"{who} failed: {type(exc).__name__}: {exc}; no file was written and the contact history is unchanged"
        ) from exc


def _files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _refuse_stray_files(folder: Path, expected: set[str], ledger: Ledger, who: str) -> None:
    """Only the mail file may reach exports/: a file an exporter wrote there of its own accord is removed.

    Another export's temporary file and the files the ledger knows (another
    week exporting at the same moment) are not the exporter's doing.
    """
    known = {Path(a.path).name for a in ledger.export_attempts()}
    strays = sorted(name for name in _files_in(folder) - expected - known if temp_file_writer(folder / name) is None)
    if not strays:
        return
    for name in strays:
        (folder / name).unlink(missing_ok=True)
    raise PluginError(
        f"{who} wrote files of its own into exports/ ({', '.join(strays)}); they were removed, nothing was exported "
        "and the contact history is unchanged",
        hint="An exporter writes only to the stream it is given; ask a developer to fix the plugin.",
    )


def _remove_unrecorded(path: Path, ledger: Ledger, run_id: str) -> None:
    """Remove the mail file unless the ledger recorded it after all; when unsure, leave it for the next opening to settle."""
    with suppress(Exception):
        if ledger.run(run_id).status != "exported":
            path.unlink(missing_ok=True)


def _give_week_back(ledger: Ledger, run_id: str, exc: BaseException) -> None:
    """After a failed export the week is free again; if even that cannot be recorded, the next opening settles it."""
    reason = exc.message if isinstance(exc, NbaError) else f"{type(exc).__name__}: {exc}"
    with suppress(Exception):  # the export's own error is the one to report
        ledger.abandon_export(run_id, note=f"the export failed: {reason}")


def contacts_of(rows: pl.DataFrame, selection: pl.DataFrame) -> list[tuple[str, str]]:
    """What an export adds to the contact history: the mailed with their group, and the holdout (cooldown covers both)."""
    return [
        *((str(cid), grp) for cid, grp in rows.select("customer_id", "group").iter_rows()),
        *((str(cid), HOLDOUT) for cid in selection.filter(pl.col("reason") == HOLDOUT)["customer_id"]),
    ]


def mailed_or_held(selection_path: Path) -> pl.DataFrame:
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
