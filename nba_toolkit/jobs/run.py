"""The weekly run: load, check, score, select, check again, and record it all.

A run is recorded in the ledger the moment it starts and ends in exactly one
of four ways: ``awaiting_approval`` (ready for review and export),
``blocked`` (a check stopped it; an alert is in the outbox), ``cancelled``
(the operator stopped it: cancel on the Run screen, Ctrl+C at the command
line) or ``failed`` (anything else went wrong). Nothing is exported here
unless the caller asked for approval in the same step. A run awaiting
approval can later be ``withdrawn`` (see ``Ledger.withdraw_run``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit import __version__
from nba_toolkit.config_history import notice_hand_edits
from nba_toolkit.core.check_settings import FreshnessSettings
from nba_toolkit.core.checks import CheckContext, CheckResult, blocking, run_checks
from nba_toolkit.core.decision import score_week
from nba_toolkit.core.degraded import critical_inputs, impute, loading_schema
from nba_toolkit.core.engine import require_model_fits_engine
from nba_toolkit.core.files import atomic_writer, crash_point, sha256_of
from nba_toolkit.core.governance import unapproved
from nba_toolkit.core.history import past_runs
from nba_toolkit.core.kept_inputs import keep_inputs
from nba_toolkit.core.models import load_model, read_sidecar
from nba_toolkit.core.notify import Alert, deliver
from nba_toolkit.core.profile import write_profile
from nba_toolkit.core.review import write_selection_figures
from nba_toolkit.core.rules import RuleContext, rule_columns
from nba_toolkit.core.scalars import day
from nba_toolkit.core.selection import Policy, cooldown_contacts, reason_counts, select, standing_exclusions, week_policy
from nba_toolkit.core.snapshot import ColumnType, Snapshot, load_snapshot
from nba_toolkit.core.weeks import parse_week, refuse_implausible_week, week_bounds, week_of
from nba_toolkit.errors import BadInput, CheckBlocked, NbaError, UsageError
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.plugin.required import check_plugins_for_run
from nba_toolkit.workspace import Workspace, operator_name

#: what the selection itself needs from every snapshot, whatever the engine
CORE_COLUMNS: dict[str, ColumnType] = {
    "customer_id": "id",
    "snapshot_date": "date",
    "is_investor": "bool",
    "marketing_consent": "bool",
}

STAGES = ("load", "input checks", "score", "select", "output checks", "save")

_WEEK_IN_NAME = re.compile(r"(\d{4}-W\d{2})", re.IGNORECASE)

Progress = Callable[[int, int, str], None]


class Cancelled(NbaError):
    """The operator cancelled the run; it is recorded as cancelled and nothing is written."""

    exit_code = 1


#: what stops a run at the operator's request: the cancel event, or Ctrl+C at the command line
CANCELLED_BY_OPERATOR = (Cancelled, KeyboardInterrupt)


@dataclass
class RunOutcome:
    run_id: str
    week: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    rows_in: int = 0
    dropped_columns: tuple[str, ...] = ()
    snapshot_path: str = ""
    export: Any = None
    #: optional inputs filled in with the engine's stand-in (see core/degraded.py); empty when complete
    degraded: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: 'weekly'; 'acceptance' for a dry run that can never be exported; 'fallback' for a list drawn at random
    kind: str = "weekly"
    #: the capacity the selection worked with, resolved for this week (a fallback list: the size asked for);
    #: None until it was selected
    capacity: int | None = None

    @classmethod
    def from_ledger(cls, workspace: Workspace, run_id: str) -> RunOutcome:
        """A past run as recorded, so it can be shown again without recomputing anything."""
        from nba_toolkit.core.recorded_review import recorded_review
        from nba_toolkit.jobs.export import ExportOutcome

        record = workspace.ledger.run(run_id)
        checks = [
            CheckResult(
                check=c.check_name,
                stage=c.stage,
                severity=c.severity,
                passed=c.status in ("pass", "skipped"),
                crashed=c.status == "error",
                skipped=c.status == "skipped",
                message=c.message,
                measured=c.measured,
                threshold=c.threshold,
                action=c.action,
                affected_count=c.affected_count,
                affected_sample=tuple(c.affected_sample),
                plugin=c.plugin,
            )
            for c in workspace.ledger.check_results(run_id)
        ]
        export = None
        if record.status == "exported":
            export = ExportOutcome(
                run_id=run_id,
                path=workspace.root / (record.export_path or ""),
                sha256=record.export_sha256 or "",
                rows=record.export_rows or 0,
                groups={
                    "model": record.counts.get("selected_mailed", 0),
                    "random_control": record.counts.get("random_control", 0),
                },
                approved_by=record.approved_by or "",
                review=recorded_review(workspace.ledger, run_id),
            )
        return cls(
            run_id=run_id,
            week=record.week,
            status=record.status,
            counts=record.counts,
            checks=checks,
            rows_in=record.rows_in or 0,
            dropped_columns=tuple(record.dropped_columns),
            snapshot_path=record.snapshot_path or "",
            export=export,
            degraded=record.degraded,
            kind=record.kind,
            capacity=record.capacity,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "week": self.week,
            "status": self.status,
            "rows_in": self.rows_in,
            "counts": self.counts,
            "dropped_columns": list(self.dropped_columns),
            "snapshot": self.snapshot_path,
            "degraded": self.degraded,
            "kind": self.kind,
            "capacity": self.capacity,
            "checks": [c.to_dict() for c in self.checks],
            "export": self.export.to_dict() if self.export else None,
        }


def find_snapshot(workspace: Workspace, *, snapshot: Path | None, week: str | None) -> tuple[Path, str | None]:
    """Which file to run on, and for which week (None: take it from the data)."""
    if snapshot is not None:
        snapshot = Path(snapshot).expanduser()
        if snapshot.is_dir():
            raise BadInput("is a folder, not a snapshot file", file=snapshot, hint="Give the path of the file itself.")
        if not snapshot.is_file():
            raise BadInput("the snapshot file does not exist", file=snapshot)
        if week:
            return snapshot, _normalise_week(week)
        found = _WEEK_IN_NAME.search(snapshot.stem)
        return snapshot, found.group(1).upper() if found else None
    folder = workspace.snapshots_dir
    files = workspace.snapshot_files()
    if week:
        week = _normalise_week(week)
        if week in files.weekly:
            return files.weekly[week], week
        raise BadInput(f"there is no snapshot for {week}", file=folder, hint=f"Expected {week}.csv or {week}.parquet.")
    if files.others:
        # An extract not named after its week may be this week's: running last week's file instead is the trap.
        names = ", ".join(p.name for p in files.others)
        raise BadInput(
            f"{names} {'is' if len(files.others) == 1 else 'are'} not named after a week, so the toolkit cannot tell "
            "which week it is for; nothing was run",
            file=folder,
            hint="Rename the file after the week its rows carry (for example 2026-W48.csv), move it out of "
            "data/snapshots, or run it as it is with `nba-toolkit run --snapshot FILE` (its rows then say the week).",
        )
    if not files.weekly:
        raise BadInput("there is no snapshot to run on", file=folder, hint="Put this week's extract there as YYYY-Www.csv.")
    newest = list(files.weekly)[-1]
    return files.weekly[newest], newest


def run_scheduled(
    workspace: Workspace,
    registry: Registry,
    *,
    today: date | None = None,
    on_progress: Progress | None = None,
    again: bool = False,
) -> RunOutcome:
    """The unattended weekly run: this calendar week's snapshot, or an alert that it has not arrived.

    A scheduled job must never fall back to an older file: the warehouse
    loading late is exactly when the engine must not run, and the
    responsible person must hear about it.
    """
    week = week_of(today or date.today())
    try:
        path, _ = find_snapshot(workspace, snapshot=None, week=week)
    except BadInput:
        message = f"this week's snapshot ({week}) has not arrived in {workspace.snapshots_dir}"
        alert = Alert(
            run_id=f"{week}.missing",
            week=week,
            status="blocked",
            subject=f"nba-toolkit: no snapshot for {week}; the weekly run did not start",
            body=f"Watch out, strange things are going on: {message}. The data warehouse may have loaded late. "
            "Nothing was scored or exported.\n\nWhat to do: ask the data warehouse team whether this week's load "
            f"finished; when the file {week}.csv (or .parquet) is there, run the week again.\n\n"
            "First line: the operator; second line: the developers.",
        )
        deliver(alert, [(name, entry.obj) for name, entry in registry.notifiers.items()], workspace.root)
        raise CheckBlocked(message, hint="An alert was written to the outbox. Nothing was run.") from None
    return run_week(workspace, registry, snapshot=path, week=week, on_progress=on_progress, today=today, again=again)


def _normalise_week(label: str) -> str:
    return week_of(parse_week(label))


def run_week(
    workspace: Workspace,
    registry: Registry,
    *,
    snapshot: Path | None = None,
    week: str | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
    dry_run: bool = False,
    today: date | None = None,
    again: bool = False,
) -> RunOutcome:
    """Run one week up to review. Raises ``CheckBlocked`` when a check stops it.

    A week with a run awaiting approval (or in flight) is not run again unless
    ``again`` says so: ``WeekAwaitsApproval`` names the earlier run.

    ``dry_run`` makes an acceptance run: every stage on real data, recorded as
    such, never exportable. A model needs acceptance runs before it may be
    approved, and approval before a weekly run uses it (``[governance]``).
    ``today`` (the computer's date unless given) decides which weeks have come.
    """
    config = workspace.config
    if not config.engine.enabled:
        raise UsageError(
            "the weekly run is switched off ([engine] enabled = false in nba.toml); nothing was run",
            hint="Switch it on again on the home screen or set enabled = true in nba.toml.",
        )
    workspace.ledger.require_intact()
    notice_hand_edits(workspace, noticed_by=operator_name())
    check_plugins_for_run(registry, config, workspace.ledger)
    engine_entry = registry.engine(config.engine.name, config.features)
    engine = engine_entry.obj
    if not dry_run:
        _require_approved_model(workspace, engine.name)
    path, week = find_snapshot(workspace, snapshot=snapshot, week=week)
    progress = _Progress(on_progress, cancel)
    ledger = workspace.ledger
    rules = [(r.obj, r.plugin) for r in registry.rules.values()]
    required = {**CORE_COLUMNS, **rule_columns(rules), **engine.required_columns}

    def load() -> Snapshot:
        # Optional engine inputs may be absent; impute() below adds and fills them.
        schema, optional = loading_schema(required, engine)
        return load_snapshot(path, mapping=config.columns, denylist=config.denylist, schema=schema, optional=optional)

    kind = "acceptance" if dry_run else "weekly"
    run_id, week, loaded = begin_run(
        workspace, registry, path=path, week=week, load=load, progress=progress, kind=kind, again=again, today=today
    )
    outcome = RunOutcome(run_id=run_id, week=week, status="running", snapshot_path=str(path), kind=kind)
    checks: list[CheckResult] = []
    try:
        if loaded is None:
            progress.stage("load")
            loaded = load()
        frame, outcome.degraded = impute(loaded.frame, engine, path=path)
        outcome.rows_in = loaded.rows
        outcome.dropped_columns = loaded.dropped_columns
        ledger.update_run(
            run_id,
            snapshot_path=workspace.record_path(path),
            snapshot_sha256=loaded.sha256,
            rows_in=loaded.rows,
            dropped_columns=list(loaded.dropped_columns),
            degraded=outcome.degraded,
            engine=engine.name,
            engine_version=engine.version,
        )
        start, end = week_bounds(week)
        policy = Policy.from_config(config)
        contacts_upto = ledger.contacts_high_water()
        contacted = cooldown_contacts(ledger, start, policy.cooldown_weeks, upto=contacts_upto)
        # The model's sidecar (plain JSON, nothing unpickled) carries the training
        # reference the drift and market regime checks compare this week with.
        model_record = ledger.active_model(engine.name)
        context = CheckContext(
            week=week,
            week_start=start,
            week_end=end,
            snapshot=frame,
            config=config,
            required_columns=required,
            history=past_runs(ledger, workspace.root, exclude=run_id),
            model=read_sidecar(workspace.root / model_record.path) if model_record else None,
            engine=engine,
            contacted=contacted,
            root=workspace.root,
        )
        all_checks = [(r.obj, r.plugin) for r in registry.checks.values()]
        # A model the engine cannot use stops the run before its reference is compared with this week.
        if model_record is None:
            raise UsageError(
                f"there is no trained model for the engine '{engine.name}'",
                hint="Train one with `nba-toolkit train`.",
            )
        require_model_fits_engine(engine, context.model or {}, recorded_version=model_record.engine_version)

        progress.stage("input checks")
        checks.append(_data_use(workspace, required))
        checks.append(critical_inputs(frame, engine))
        checks += run_checks(all_checks, "input", context)
        _stop_if_blocked(checks, "input")

        progress.stage("score")
        model = load_model(
            workspace.root / model_record.path, models_dir=workspace.models_dir, expected_sha256=model_record.sha256
        )
        suppressions_upto = ledger.suppressions_high_water()
        suppressed = standing_exclusions(ledger, start, upto=suppressions_upto)
        ledger.update_run(
            run_id,
            model_id=model_record.model_id,
            model_sha256=model_record.sha256,
            contacts_upto=contacts_upto,
            suppressions_upto=suppressions_upto,
        )
        # Business rules (plugins) come after the built-in eligibility; the first reason wins.
        scored = score_week(
            frame,
            contacted,
            engine=engine,
            model=model,
            rules=rules,
            rule_context=RuleContext(week=week, week_start=start, week_end=end, config=config, workspace_root=workspace.root),
            features=context.snapshot_features(),
            suppressed=suppressed,
        )

        progress.stage("select")
        selection_policy = week_policy(config, scored)
        outcome.capacity = selection_policy.capacity
        selection = select(scored, selection_policy)

        progress.stage("output checks")
        checks += run_checks(all_checks, "output", _with_selection(context, selection, contacted, suppressed))
        _stop_if_blocked(checks, "output")

        progress.stage("save")
        _save_for_review(workspace, outcome, selection, checks, context, loaded.frame)
        progress.done()
        return outcome
    except BaseException as exc:
        _record_stop(workspace, registry, outcome, checks, exc)
        raise


def begin_run(
    workspace: Workspace,
    registry: Registry,
    *,
    path: Path,
    week: str | None,
    load: Callable[[], Snapshot],
    progress: _Progress,
    kind: str,
    again: bool,
    today: date | None,
) -> tuple[str, str, Snapshot | None]:
    """Start a run of ``kind`` in the ledger: its run id, its week, and the snapshot if it was read to find the week.

    No week in the file name: the data says which week it is, and a file that
    cannot even be read this way is refused before a run exists. An
    implausible week is refused before too. The ledger row, taken with the
    run's lock, is the first thing a crash leaves behind (``run.begun``).
    """
    loaded = None
    if week is None:
        progress.stage("load")
        loaded = load()
        week = _week_from_data(loaded, path)
    _refuse_implausible_week(workspace, week, path, today or date.today())
    config = workspace.config
    run_id = workspace.ledger.begin_run(
        week=week,
        operator=operator_name(),
        toolkit_version=__version__,
        config=config.to_dict(),
        plugins=registry.versions(),
        salt=config.campaign.salt,
        kind=kind,
        again=again,
    )
    crash_point("run.begun")
    return run_id, week, loaded


def _week_from_data(loaded: Snapshot, path: Path) -> str:
    """The week of a file whose name does not say it: the week of its newest as-of date."""
    newest = loaded.frame["snapshot_date"].max()
    if newest is None:
        missing = "no customer rows" if loaded.rows == 0 else "no as-of date (snapshot_date) in any row"
        raise BadInput(
            f"the file has {missing}, and its name does not say which week it is for",
            file=path,
            hint="Ask the data warehouse team for this week's extract; name it after its week, e.g. 2026-W47.csv.",
        )
    return week_of(day(newest))


def _save_for_review(
    workspace: Workspace,
    outcome: RunOutcome,
    selection: pl.DataFrame,
    checks: list[CheckResult],
    context: CheckContext,
    inputs: pl.DataFrame,
) -> None:
    """Write the selection, its figures, the profile and the kept inputs, then close the run awaiting approval."""
    run_id = outcome.run_id
    selection_path = workspace.run_dir(run_id) / "selection.parquet"
    with atomic_writer(selection_path) as handle:
        selection.write_parquet(handle)
    crash_point("run.selection_written")
    selection_sha256 = sha256_of(selection_path)
    write_selection_figures(
        workspace.run_dir(run_id), selection, threshold=workspace.config.selection.threshold, selection_sha256=selection_sha256
    )
    profile_sha256 = write_profile(workspace.run_dir(run_id), context.profile())
    inputs_sha256 = keep_inputs(workspace.run_dir(run_id), inputs)
    outcome.counts = reason_counts(selection)
    outcome.checks = checks
    workspace.ledger.finish_run(
        run_id,
        status="awaiting_approval",
        checks=checks,
        counts=outcome.counts,
        selection_path=str(selection_path.relative_to(workspace.root)),
        selection_sha256=selection_sha256,
        profile_sha256=profile_sha256,
        inputs_sha256=inputs_sha256,
        capacity=outcome.capacity,
    )
    crash_point("run.finished")
    outcome.status = "awaiting_approval"


def _record_stop(
    workspace: Workspace, registry: Registry, outcome: RunOutcome, checks: list[CheckResult], exc: BaseException
) -> None:
    """A run that did not reach review ends blocked, cancelled or failed in the ledger, and the notifiers hear of it."""
    ledger = workspace.ledger
    run_id = outcome.run_id
    if isinstance(exc, CheckBlocked):
        exc.run_id = run_id
        outcome.checks = checks
        ledger.finish_run(run_id, status="blocked", checks=checks, error=exc.message, capacity=outcome.capacity)
        _alert(workspace, registry, outcome, "blocked", exc.message, checks)
    elif isinstance(exc, CANCELLED_BY_OPERATOR):
        message = exc.message if isinstance(exc, Cancelled) else "the run was cancelled by the operator (Ctrl+C)"
        ledger.finish_run(run_id, status="cancelled", checks=checks, error=message, capacity=outcome.capacity)
        if not isinstance(exc, Cancelled):
            # Ctrl+C may come from a scheduler stopping the job; the operator who pressed cancel on screen knows
            _alert(workspace, registry, outcome, "cancelled", message, checks)
    else:
        message = exc.recorded if isinstance(exc, NbaError) else f"{type(exc).__name__}: {exc}"
        ledger.finish_run(run_id, status="failed", checks=checks, error=message, capacity=outcome.capacity)
        _alert(workspace, registry, outcome, "failed", message, checks)


def _refuse_implausible_week(workspace: Workspace, week: str, path: Path, today: date) -> None:
    """Refused before a run exists: a week from the future or from long ago is a wrong file or a wrong clock."""
    exported = [r.week for r in workspace.ledger.runs() if r.status == "exported"]
    refuse_implausible_week(
        week,
        today=today,
        last_exported=max(exported, key=parse_week, default=None),
        max_weeks_back=workspace.config.checks.settings("freshness", FreshnessSettings).max_weeks_back,
        file=path,
    )


def _require_approved_model(workspace: Workspace, engine: str) -> None:
    """No customer is mailed on the advice of a model nobody signed off (when the workspace asks for it)."""
    if not workspace.config.governance.require_model_approval:
        return
    record = workspace.ledger.active_model(engine)
    if record is not None and not record.approved_by:
        raise UsageError(
            f"the model {record.model_id} is not approved for weekly runs yet",
            hint="Try it on real data with `nba-toolkit run --dry-run`, review that run, then record the sign-off "
            "with `nba-toolkit model approve`.",
        )


def _data_use(workspace: Workspace, required: Mapping[str, str]) -> CheckResult:
    """The data-use register's verdict (R-G4): no scoring with data compliance has not approved."""
    missing = unapproved(workspace.root, list(required))
    return CheckResult(
        check="data_use",
        stage="input",
        severity="block",
        passed=not missing,
        message="Every piece of data this run uses is approved in the data-use register."
        if not missing
        else f"This run would use data that is not approved in the data-use register: {', '.join(missing)}.",
        measured=len(missing),
        threshold=0,
        action=None
        if not missing
        else "Ask compliance to review the use and record it with `nba-toolkit govern approve FEATURE --by NAME`.",
        affected_count=len(missing),
        affected_sample=tuple(missing),
        plugin="nba_toolkit",
    )


def _with_selection(
    context: CheckContext, selection: pl.DataFrame, contacted: pl.DataFrame, suppressed: pl.Series
) -> CheckContext:
    from dataclasses import replace

    return replace(context, selection=selection, contacted=contacted, suppressed=suppressed)


def _stop_if_blocked(checks: list[CheckResult], stage: str) -> None:
    stops = blocking(checks)
    if stops:
        names = ", ".join(c.check for c in stops)
        raise CheckBlocked(
            f"the run was stopped by the {stage} checks: {names}",
            hint="Nothing was scored or exported past this point. " + " ".join(c.action or "" for c in stops),
        )


def _alert(
    workspace: Workspace, registry: Registry, outcome: RunOutcome, status: str, reason: str, checks: list[CheckResult]
) -> None:
    """Tell every notifier; a notifier that fails must not hide the original problem."""
    what = "fallback list" if outcome.kind == "fallback" else "weekly run"
    lines = [f"The {what} {outcome.run_id} for {outcome.week} was {status}: {reason}", ""]
    for c in checks:
        if c.status != "pass":
            lines.append(f"- {c.check} ({c.severity}, {c.status}): {c.message}")
            if c.action:
                lines.append(f"  What to do: {c.action}")
    if status == "cancelled":
        lines += ["", "Nothing was exported. Run the week again when it should go on."]
    else:
        lines += ["", "Nothing was exported. First line: the operator; second line: the developers."]
    stopped_by = ", ".join(c.check for c in blocking(checks))
    alert = Alert(
        run_id=outcome.run_id,
        week=outcome.week,
        status=status,
        subject=f"nba-toolkit: run {outcome.run_id} {status}" + (f" by {stopped_by}" if stopped_by else ""),
        body="\n".join(lines),
    )
    deliver(alert, [(name, entry.obj) for name, entry in registry.notifiers.items()], workspace.root)


class _Progress:
    def __init__(self, callback: Progress | None, cancel: threading.Event | None, stages: tuple[str, ...] = STAGES) -> None:
        self.callback = callback
        self.cancel = cancel
        self.stages = stages

    def stage(self, name: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled by the operator; nothing was written")
        if self.callback:
            self.callback(self.stages.index(name), len(self.stages), name)

    def done(self) -> None:
        if self.callback:
            self.callback(len(self.stages), len(self.stages), "done")
