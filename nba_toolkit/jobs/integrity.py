"""The workspace kept consistent with its ledger after a crash, and every difference between them named.

When a command opens the workspace's ledger (``Workspace.ledger``), what a
process that died left behind is settled, each settlement with an audit
record where the ledger changes and an alert in ``outbox/`` saying what was
found and done; nothing is guessed silently:

* a run left 'running' whose process is gone is marked failed (interrupted);
* an export whose process is gone is recorded as exported when its mail file
  is in exports/ and is byte-for-byte the file that was read back and
  checked before the rename (the hash noted with the claim); otherwise the
  file, if any, is removed and the week given back, so the run can be
  exported again;
* temporary files of writers that died (``.<name>.<pid>.<random>.tmp``) in
  exports/ and runs/ are removed.

``audit verify`` adds :func:`workspace_problems` to the ledger's own check:
every file in exports/ without a ledger record, every recorded mail file
that is missing or whose SHA-256 differs, and every week exported twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from nba_toolkit.core.files import remove_stale_temp_files, sha256_of, temp_file_writer
from nba_toolkit.core.liveness import is_held
from nba_toolkit.core.notify import Alert, write_outbox
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import NbaError
from nba_toolkit.jobs.export import contacts_of, mail_rows, mailed_or_held, verified_selection
from nba_toolkit.ledger.store import ExportAttempt, Ledger
from nba_toolkit.workspace import Workspace


def settle_after_crashes(workspace: Workspace, ledger: Ledger) -> None:
    """Settle what dead processes left: interrupted runs, unfinished exports, temporary files."""
    for run_id in ledger.mark_interrupted():
        week = ledger.run(run_id).week
        _tell(
            workspace,
            Alert(
                run_id=run_id,
                week=week,
                status="failed",
                subject=f"nba-toolkit: run {run_id} was interrupted",
                body=f"The process running {run_id} for {week} stopped before the run finished (it was killed, "
                "crashed or the machine went down). The run is recorded as failed; nothing of it was exported.\n\n"
                f"What to do: run the week again (`nba-toolkit run --week {week}`).",
            ),
        )
    for attempt in ledger.stale_exports():
        _settle_export(workspace, ledger, attempt)
    _remove_stale_temp_files(workspace)


def _settle_export(workspace: Workspace, ledger: Ledger, attempt: ExportAttempt) -> None:
    path = workspace.recorded_path(attempt.path)
    who = f"The export of run {attempt.run_id} (process {attempt.pid} on {attempt.host}, by {attempt.reserved_by})"
    checked = attempt.sha256 is not None and path.is_file() and sha256_of(path) == attempt.sha256
    contacts = _contacts(workspace, ledger, attempt) if checked else None
    if contacts is not None:
        note = (
            f"{who} stopped after its mail file {path.name} was in exports/ and before it was recorded; the file is "
            "the one that was read back and checked (same SHA-256), so the export was recorded when the workspace "
            "was next opened, with its contacts"
        )
        if ledger.recover_export(attempt, contacts=contacts, week_start=parse_week(attempt.week), note=note):
            _tell(workspace, _export_alert(attempt, "recovered", note, "Nothing to do: the mail file can be sent as usual."))
        return
    if checked:
        why = "its run's stored selection can no longer be read to record the contacts"
    elif path.is_file():
        why = f"the file {path.name} in exports/ is not the one that was checked (its SHA-256 differs)"
    else:
        why = "no mail file of it reached exports/"
    removed = path.is_file()
    path.unlink(missing_ok=True)
    note = (
        f"{who} stopped before it was recorded and {why}; "
        + (f"the file {path.name} was removed and " if removed else "")
        + "the week was given back, so the run is awaiting approval again"
    )
    if ledger.recover_export(attempt, contacts=None, week_start=parse_week(attempt.week), note=note):
        _tell(
            workspace,
            _export_alert(attempt, "rolled-back", note, f"Export the run again: `nba-toolkit export {attempt.run_id}`."),
        )


def _contacts(workspace: Workspace, ledger: Ledger, attempt: ExportAttempt) -> list[tuple[str, str]] | None:
    """The contacts the export would have recorded, rebuilt from the run's stored selection; None if it cannot be."""
    run = ledger.run(attempt.run_id)
    try:
        selection = mailed_or_held(verified_selection(workspace, run))
    except NbaError:
        return None
    excluded = [o["customer_id"] for o in ledger.overrides(run.run_id) if o["action"] == "exclude"]
    rows = mail_rows(selection, excluded, campaign_code="", export_date=date.fromisoformat(attempt.export_date))
    return contacts_of(rows, selection) if rows.height == attempt.rows else None


def _export_alert(attempt: ExportAttempt, status: str, note: str, todo: str) -> Alert:
    return Alert(
        run_id=attempt.run_id,
        week=attempt.week,
        status=status,
        subject=f"nba-toolkit: the interrupted export of run {attempt.run_id} was {status.replace('-', ' ')}",
        body=f"{note}.\n\nWhat to do: {todo}\n\nThe ledger's audit chain records this (export attempt #{attempt.id}).",
    )


def _remove_stale_temp_files(workspace: Workspace) -> None:
    runs = workspace.root / "runs"
    folders = [workspace.exports_dir, runs, *(sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else [])]
    removed = [path for folder in folders for path in remove_stale_temp_files(folder)]
    if removed:
        lines = "\n".join(f"- {p.relative_to(workspace.root)} (writer process {temp_file_writer(p)})" for p in removed)
        _tell(
            workspace,
            Alert(
                run_id="workspace",
                week="",
                status="cleaned",
                subject=f"nba-toolkit: removed {len(removed)} unfinished temporary file(s)",
                body=f"These files were being written by a process that stopped before finishing them; "
                f"they were never in use and were removed:\n{lines}\n\nNothing to do.",
            ),
        )


def _tell(workspace: Workspace, alert: Alert) -> None:
    try:
        write_outbox(alert, workspace.root)
    except OSError:
        pass  # an unwritable outbox must not stop the command; the ledger holds the record


def workspace_problems(workspace: Workspace, ledger: Ledger) -> list[str]:
    """What in exports/ does not match the ledger: unrecorded files, missing or changed mail files, double weeks.

    ``ledger`` may be opened read-only (``audit verify``), so nothing here writes.
    """
    runs = ledger.runs()
    recorded = {workspace.recorded_path(r.export_path): r for r in runs if r.export_path}
    in_progress = {workspace.recorded_path(a.path) for a in ledger.export_attempts() if a.state == "exporting"}
    problems = []
    folder = workspace.exports_dir
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path in recorded or path in in_progress or (temp_file_writer(path) is not None and is_held(path)):
            continue
        problems.append(f"exports/{path.name} has no record in the ledger: no export wrote it, or its record is gone")
    for path, run in recorded.items():
        if not path.is_file():
            problems.append(f"the mail file of run {run.run_id} ({run.export_path}) is missing from exports/")
        elif sha256_of(path) != run.export_sha256:
            problems.append(
                f"the mail file of run {run.run_id} ({run.export_path}) was changed after the export "
                "(its SHA-256 differs from the one the ledger recorded)"
            )
    twice = Counter(r.week for r in runs if r.status == "exported")
    for week, n in sorted(twice.items()):
        if n > 1:
            ids = ", ".join(r.run_id for r in runs if r.week == week and r.status == "exported")
            problems.append(f"{week} was exported {n} times (runs {ids}); a week is mailed once")
    return problems
