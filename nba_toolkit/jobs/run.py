"""The weekly run: load, check, score, select, check again, and record it all.

A run is recorded in the ledger the moment it starts and ends in exactly one
of three ways: ``awaiting_approval`` (ready for review and export),
``blocked`` (a check stopped it; an alert is in the outbox) or ``failed``
(anything else went wrong, or the operator cancelled). Nothing is exported
here unless the caller asked for approval in the same step.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit import __version__
from nba_toolkit.core.checks import CheckContext, CheckResult, blocking, run_checks
from nba_toolkit.core.files import atomic_writer, sha256_of
from nba_toolkit.core.models import load_model
from nba_toolkit.core.notify import Alert
from nba_toolkit.core.selection import Policy, cooldown_start, exclusions, reason_counts, select
from nba_toolkit.core.snapshot import Snapshot, load_snapshot
from nba_toolkit.core.weeks import is_week_label, week_bounds, week_of
from nba_toolkit.errors import BadInput, CheckBlocked, NbaError, PluginError, UsageError
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace, operator_name

#: what the selection itself needs from every snapshot, whatever the engine
CORE_COLUMNS = {
    "customer_id": "id",
    "snapshot_date": "date",
    "is_investor": "bool",
    "marketing_consent": "bool",
}

STAGES = ("load", "input checks", "score", "select", "output checks", "save")

_WEEK_IN_NAME = re.compile(r"(\d{4}-W\d{2})", re.IGNORECASE)

Progress = Callable[[int, int, str], None]


class Cancelled(NbaError):
    """The operator cancelled the run; it is recorded as failed and nothing is written."""

    exit_code = 1


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

    @classmethod
    def from_ledger(cls, workspace: Workspace, run_id: str) -> RunOutcome:
        """A past run as recorded, so it can be shown again without recomputing anything."""
        from nba_toolkit.jobs.export import ExportOutcome

        record = workspace.ledger.run(run_id)
        checks = [
            CheckResult(
                check=c.check_name,
                stage=c.stage,
                severity=c.severity,
                passed=c.status == "pass",
                crashed=c.status == "error",
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
            "checks": [
                {
                    "check": c.check,
                    "stage": c.stage,
                    "severity": c.severity,
                    "status": c.status,
                    "message": c.message,
                    "plugin": c.plugin,
                }
                for c in self.checks
            ],
            "export": self.export.to_dict() if self.export else None,
        }


def find_snapshot(workspace: Workspace, *, snapshot: Path | None, week: str | None) -> tuple[Path, str | None]:
    """Which file to run on, and for which week (None: take it from the data)."""
    if snapshot is not None:
        snapshot = Path(snapshot).expanduser()
        if not snapshot.is_file():
            raise BadInput("the snapshot file does not exist", file=snapshot)
        if week:
            return snapshot, _normalise_week(week)
        found = _WEEK_IN_NAME.search(snapshot.stem)
        return snapshot, found.group(1).upper() if found else None
    folder = workspace.snapshots_dir
    if week:
        week = _normalise_week(week)
        for suffix in (".parquet", ".csv"):
            candidate = folder / f"{week}{suffix}"
            if candidate.is_file():
                return candidate, week
        raise BadInput(f"there is no snapshot for {week}", file=folder, hint=f"Expected {week}.csv or {week}.parquet.")
    weekly = sorted(p for p in folder.glob("*") if p.suffix in (".csv", ".parquet") and is_week_label(p.stem))
    if not weekly:
        raise BadInput("there is no snapshot to run on", file=folder, hint="Put this week's extract there as YYYY-Www.csv.")
    newest = weekly[-1]
    return newest, newest.stem.upper()


def _normalise_week(label: str) -> str:
    from nba_toolkit.core.weeks import parse_week

    return week_of(parse_week(label))


def run_week(
    workspace: Workspace,
    registry: Registry,
    *,
    snapshot: Path | None = None,
    week: str | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> RunOutcome:
    """Run one week up to review. Raises ``CheckBlocked`` when a check stops it."""
    config = workspace.config
    engine_entry = registry.engine(config.engine.name)
    engine = engine_entry.obj
    path, week = find_snapshot(workspace, snapshot=snapshot, week=week)
    progress = _Progress(on_progress, cancel)
    ledger = workspace.ledger
    required = {**CORE_COLUMNS, **engine.required_columns}

    def load() -> Snapshot:
        return load_snapshot(path, mapping=config.columns, denylist=config.denylist, schema=required)

    loaded = None
    if week is None:
        # No week in the file name: the data says which week it is. A file
        # that cannot even be read this way is refused before a run exists.
        progress.stage("load")
        loaded = load()
        week = week_of(loaded.frame["snapshot_date"].max())
    run_id = ledger.begin_run(
        week=week,
        operator=operator_name(),
        toolkit_version=__version__,
        config=config.to_dict(),
        plugins=registry.versions(),
        salt=config.campaign.salt,
    )
    outcome = RunOutcome(run_id=run_id, week=week, status="running", snapshot_path=str(path))
    checks: list[CheckResult] = []
    try:
        if loaded is None:
            progress.stage("load")
            loaded = load()
        outcome.rows_in = loaded.rows
        outcome.dropped_columns = loaded.dropped_columns
        ledger.update_run(
            run_id,
            snapshot_path=str(path.resolve()),
            snapshot_sha256=loaded.sha256,
            rows_in=loaded.rows,
            dropped_columns=list(loaded.dropped_columns),
            engine=engine.name,
            engine_version=engine.version,
        )
        start, end = week_bounds(week)
        context = CheckContext(
            week=week,
            week_start=start,
            week_end=end,
            snapshot=loaded.frame,
            config=config,
            required_columns=required,
        )
        all_checks = [(r.obj, r.plugin) for r in registry.checks.values()]

        progress.stage("input checks")
        checks += run_checks(all_checks, "input", context)
        _stop_if_blocked(checks, "input")

        progress.stage("score")
        model_record = ledger.active_model(engine.name)
        if model_record is None:
            raise UsageError(
                f"there is no trained model for the engine '{engine.name}'",
                hint="Train one with `nba-toolkit train`.",
            )
        model = load_model(
            workspace.root / model_record.path, models_dir=workspace.models_dir, expected_sha256=model_record.sha256
        )
        ledger.update_run(run_id, model_id=model_record.model_id, model_sha256=model_record.sha256)
        policy = Policy.from_config(config)
        contacted = pl.DataFrame(
            ledger.contacted_since(cooldown_start(start, policy.cooldown_weeks)),
            schema={"customer_id": pl.String, "week_start": pl.String},
            orient="row",
        )
        customers = loaded.frame.select("customer_id").with_columns(exclusions(loaded.frame, contacted).alias("exclusion"))
        scores = _score_eligible(engine, model, loaded, customers)

        progress.stage("select")
        selection = select(customers.with_columns(score=scores), policy)

        progress.stage("output checks")
        checks += run_checks(all_checks, "output", _with_selection(context, selection))
        _stop_if_blocked(checks, "output")

        progress.stage("save")
        selection_path = workspace.run_dir(run_id) / "selection.parquet"
        with atomic_writer(selection_path) as handle:
            selection.write_parquet(handle)
        outcome.counts = reason_counts(selection)
        outcome.checks = checks
        ledger.finish_run(
            run_id,
            status="awaiting_approval",
            checks=checks,
            counts=outcome.counts,
            selection_path=str(selection_path.relative_to(workspace.root)),
            selection_sha256=sha256_of(selection_path),
        )
        outcome.status = "awaiting_approval"
        progress.done()
        return outcome
    except CheckBlocked as blocked:
        blocked.run_id = run_id
        outcome.checks = checks
        ledger.finish_run(run_id, status="blocked", checks=checks, error=blocked.message)
        _alert(workspace, registry, outcome, "blocked", blocked.message, checks)
        raise
    except BaseException as exc:
        message = exc.message if isinstance(exc, NbaError) else f"{type(exc).__name__}: {exc}"
        ledger.finish_run(run_id, status="failed", checks=checks, error=message)
        if not isinstance(exc, Cancelled):
            _alert(workspace, registry, outcome, "failed", message, checks)
        raise


def _score_eligible(engine: Any, model: Any, loaded: Snapshot, customers: pl.DataFrame) -> pl.Series:
    """Score only the eligible; an engine that returns anything but probabilities is refused."""
    eligible = customers["exclusion"].is_null()
    features = engine.features(loaded.frame.filter(eligible).lazy()).collect()
    try:
        raw = np.asarray(engine.score(model, features), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any engine failure is the engine's, named as such
        raise PluginError(f"the engine '{engine.name}' failed while scoring: {type(exc).__name__}: {exc}") from exc
    if raw.shape != (features.height,) or not np.all(np.isfinite(raw)) or raw.min(initial=0) < 0 or raw.max(initial=0) > 1:
        raise PluginError(
            f"the engine '{engine.name}' returned {raw.shape[0] if raw.ndim else 0} scores for "
            f"{features.height} customers, or scores outside 0 to 1; the run stops"
        )
    scores = np.full(customers.height, np.nan)
    scores[eligible.to_numpy()] = raw
    return pl.Series("score", scores).fill_nan(None)


def _with_selection(context: CheckContext, selection: pl.DataFrame) -> CheckContext:
    from dataclasses import replace

    return replace(context, selection=selection)


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
    lines = [f"The weekly run {outcome.run_id} for {outcome.week} was {status}: {reason}", ""]
    for c in checks:
        if c.status != "pass":
            lines.append(f"- {c.check} ({c.severity}, {c.status}): {c.message}")
            if c.action:
                lines.append(f"  What to do: {c.action}")
    lines += ["", "Nothing was exported. First line: the operator; second line: the developers."]
    alert = Alert(
        run_id=outcome.run_id,
        week=outcome.week,
        status=status,
        subject=f"nba-toolkit: run {outcome.run_id} {status}",
        body="\n".join(lines),
    )
    for entry in registry.notifiers.values():
        try:
            entry.obj.notify(alert, workspace.root)
        except Exception:  # noqa: BLE001, S112 - the run's own status in the ledger still tells
            continue


class _Progress:
    def __init__(self, callback: Progress | None, cancel: threading.Event | None) -> None:
        self.callback = callback
        self.cancel = cancel
        self.index = 0

    def stage(self, name: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled by the operator; nothing was written")
        if self.callback:
            self.callback(STAGES.index(name), len(STAGES), name)

    def done(self) -> None:
        if self.callback:
            self.callback(len(STAGES), len(STAGES), "done")
