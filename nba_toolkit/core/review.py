"""What the operator looks at before anything leaves: the week's status, one run's selection, one customer (R-X1).

Everything here reads what a run recorded; nothing is recomputed behind the
operator's back. A customer's explanation is the one exception, and it is
made from exactly the run's inputs: the snapshot file is reloaded only if its
SHA-256 still matches the ledger's record, and the model only through
:func:`~nba_toolkit.core.models.load_model` with the hash the run used. If
either changed, the review says so instead of explaining with something else.

The selection of a run can hold a million rows, so the customer table is
served a page at a time from Polars; a screen never holds more than a page.
Screens call these functions from worker threads: nothing here keeps a ledger
connection, each call is handed the workspace of its own thread.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from nba_toolkit.config import Config, parse_config
from nba_toolkit.core.acknowledgements import pending_warnings
from nba_toolkit.core.exportable import export_refusals
from nba_toolkit.core.files import atomic_write_bytes, sha256_of
from nba_toolkit.core.ids import relation_number
from nba_toolkit.core.recorded_review import RecordedReview, recorded_review
from nba_toolkit.core.selection import (
    BELOW_THRESHOLD,
    HOLDOUT,
    MAILED_GROUPS,
    NOT_DRAWN,
    OVER_CAPACITY,
    RANDOM_CONTROL,
    REASON_TEXT,
    REASONS,
    SELECTED,
)
from nba_toolkit.core.views import VIEWS
from nba_toolkit.core.weeks import parse_week, week_of
from nba_toolkit.errors import BadInput, NbaError, UsageError
from nba_toolkit.ledger.store import MAILING_KINDS
from nba_toolkit.words import plural

if TYPE_CHECKING:
    from nba_toolkit.ledger.store import Ledger, RunRecord
    from nba_toolkit.plugin.manager import Registry
    from nba_toolkit.workspace import Workspace

#: rows a screen shows at a time
PAGE_SIZE = 100
#: weeks of mailing history the home screen and the review compare against
RECENT_WEEKS = 12
HISTOGRAM_BINS = 20
#: the figures of a run's selection, counted once when the run is saved (see :func:`write_selection_figures`)
FIGURES_FILE = "summary.json"


# --------------------------------------------------------------------- home


@dataclass(frozen=True)
class ModelSummary:
    model_id: str
    engine: str
    trained_at: str
    trained_by: str
    train_weeks: tuple[str, str]
    validation_weeks: tuple[str, str]
    auc: float | None
    lift: float | None
    #: days since training, on the day the status is for
    age_days: int = 0
    #: the reminder's age, from [engine] retrain_after_days (0: no reminder)
    retrain_after_days: int = 0

    @property
    def retrain_due(self) -> bool:
        return 0 < self.retrain_after_days <= self.age_days

    def age_text(self) -> str:
        """How old the model is, and the reminder once it is due: the words Home and status print."""
        age = f"trained {plural(self.age_days, 'day')} ago" if self.age_days else "trained today"
        if not self.retrain_due:
            return age
        return (
            f"{age}: time to retrain (`nba-toolkit train`), the reminder comes after "
            f"{plural(self.retrain_after_days, 'day')} ([engine] retrain_after_days)"
        )


@dataclass(frozen=True)
class WeekStatus:
    week: str
    status: str  # exported | awaiting_approval | blocked | failed | cancelled | withdrawn | missing
    run_id: str | None
    text: str


@dataclass(frozen=True)
class OpenWarning:
    run_id: str
    check: str
    message: str


@dataclass(frozen=True)
class WeeklyVolumes:
    """Customers mailed per ISO week and group, oldest week first (zeros where nobody was mailed)."""

    weeks: list[str]
    groups: dict[str, list[int]]

    def total(self, index: int) -> int:
        return sum(values[index] for values in self.groups.values())


@dataclass(frozen=True)
class HomeStatus:
    root: Path
    operator: str
    engine: str
    engine_version: str | None
    engine_enabled: bool
    model: ModelSummary | None
    this_week: WeekStatus
    missed_weeks: list[str]
    ready_snapshots: list[tuple[str, str]]  # (week, file name) with no run awaiting or exported
    #: CSV or Parquet files in data/snapshots not named after a week: never run without --snapshot
    unnamed_snapshots: list[str]
    pending_runs: list[str]
    volumes: WeeklyVolumes
    open_warnings: list[OpenWarning]
    plugin_errors: list[tuple[str, str, str]]  # (plugin, source, error)
    #: the runs that are fallback lists (drawn at random, no model), so a list of runs can say so
    fallback_runs: list[str] = field(default_factory=list)

    def run_name(self, run_id: str) -> str:
        """A run as the operator reads it in a list: its id, marked when it is a fallback list."""
        return f"{run_id} (fallback)" if run_id in self.fallback_runs else run_id


def home_status(workspace: Workspace, registry: Registry, *, today: date | None = None, operator: str = "") -> HomeStatus:
    """The home screen in one value: is this week done, what is waiting, what went wrong."""
    ledger = workspace.ledger
    config = workspace.config
    this_week = week_of(today or date.today())
    runs = ledger.runs()
    engine = registry.engines.get(config.engine.name)
    window = weeks_before(this_week, RECENT_WEEKS - 1) + [this_week]
    volumes = weekly_volumes(ledger.path, window)
    mailed_weeks = {w for i, w in enumerate(volumes.weeks) if volumes.total(i)} | {r.week for r in runs if r.status == "exported"}
    first = _first_active_week(ledger.path, runs)
    missed = [w for w in window[:-1] if first is not None and w >= first and w not in mailed_weeks]
    handled = {r.week for r in runs if r.status in ("exported", "awaiting_approval")}
    missed = [w for w in missed if w not in handled]
    files = workspace.snapshot_files()
    snapshots = {week: path.name for week, path in files.weekly.items()}
    ready = [(week, name) for week, name in sorted(snapshots.items(), reverse=True) if week not in handled][:3]
    pending = [r.run_id for r in runs if r.status == "awaiting_approval"]
    fallback = [r.run_id for r in runs if r.kind == "fallback"]
    warnings = [w for run_id in pending for w in open_warnings(ledger, run_id)]
    return HomeStatus(
        root=workspace.root,
        operator=operator,
        engine=config.engine.name,
        engine_version=engine.obj.version if engine else None,
        engine_enabled=config.engine.enabled,
        model=_model_summary(
            ledger, config.engine.name, today=today or date.today(), retrain_after_days=config.engine.retrain_after_days
        ),
        this_week=_week_status(this_week, [r for r in runs if r.week == this_week], snapshots),
        missed_weeks=missed,
        ready_snapshots=ready,
        unnamed_snapshots=[p.name for p in files.others],
        pending_runs=pending,
        fallback_runs=fallback,
        volumes=volumes,
        open_warnings=warnings,
        plugin_errors=[(r.name, r.source, r.error or "") for r in registry.errors()],
    )


def weeks_before(week: str, count: int) -> list[str]:
    """The ``count`` ISO weeks before ``week``, oldest first."""
    monday = parse_week(week)
    return [week_of(monday - timedelta(weeks=n)) for n in range(count, 0, -1)]


def weekly_volumes(ledger_path: Path, weeks: list[str]) -> WeeklyVolumes:
    """Mailed customers per week and group, from the contact history (this toolkit's exports and imported mailings).

    The ledger has no query for this yet, so it is read here with a plain
    read-only statement; writes still only go through ``Ledger``.
    """
    rows = _query(
        ledger_path,
        f"SELECT week, grp, COUNT(*) FROM contacts WHERE week IN ({','.join('?' * len(weeks))}) GROUP BY week, grp",
        weeks,
    )
    found: dict[str, dict[str, int]] = {}
    for week, group, n in rows:
        found.setdefault(group, {})[week] = int(n)
    order = [g for g in MAILED_GROUPS.values() if g in found] + sorted(set(found) - set(MAILED_GROUPS.values()))
    return WeeklyVolumes(weeks=list(weeks), groups={g: [found[g].get(w, 0) for w in weeks] for g in order})


def open_warnings(ledger: Ledger, run_id: str) -> list[OpenWarning]:
    """Warnings of a run that nobody has acknowledged yet; they hold the export back (R-C2)."""
    return [OpenWarning(run_id, c.check_name, c.message) for c in pending_warnings(ledger, run_id)]


def _query(path: Path, sql: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
    from nba_toolkit.ledger.store import connect_read_only  # also for a user who cannot write the workspace

    db = connect_read_only(path)
    try:
        return db.execute(sql, tuple(params)).fetchall()
    finally:
        db.close()


def _first_active_week(ledger_path: Path, runs: list[RunRecord]) -> str | None:
    """The first week anyone was mailed or any run was made: no week before it counts as missed."""
    found = _query(ledger_path, "SELECT MIN(week) FROM contacts", ())[0][0]
    candidates = [w for w in (found, *(r.week for r in runs)) if w]
    return min(candidates) if candidates else None


#: runs that ended without reaching review, or were taken back: never the run a screen opens on by itself
ENDED_WITHOUT_REVIEW = ("running", "failed", "cancelled", "withdrawn")


def run_awaiting_operator(runs: Iterable[RunRecord]) -> str | None:
    """The run the operator's next step is about: the newest run of the newest week awaiting approval.

    Without one, the newest run that reached review or was blocked (its
    checks say why); a failed, cancelled or withdrawn run is never chosen.
    """
    runs = list(runs)
    newest_first = sorted(runs, key=lambda r: (r.started_at, r.run_id), reverse=True)
    awaiting = [r for r in newest_first if r.status == "awaiting_approval" and r.kind in MAILING_KINDS]
    if awaiting:
        return max(awaiting, key=lambda r: parse_week(r.week)).run_id
    shown = next((r for r in newest_first if r.status not in ENDED_WITHOUT_REVIEW), None)
    return shown.run_id if shown else None


def _week_status(week: str, runs: list[RunRecord], snapshots: Mapping[str, str]) -> WeekStatus:
    for status in ("exported", "awaiting_approval", "blocked", "failed", "cancelled", "withdrawn"):
        run = next((r for r in runs if r.status == status), None)
        if run is None:
            continue
        by = f"the fallback list {run.run_id} (drawn at random, no model)" if run.kind == "fallback" else f"run {run.run_id}"
        text = {
            "exported": f"exported by {by}: {run.export_rows or 0:,} rows, approved by {run.approved_by}"
            + (", unreviewed (nobody looked at it before the export)" if run.unreviewed_export else ""),
            "awaiting_approval": f"{by} awaits review and approval",
            "blocked": f"{by} was blocked: {run.error or 'a check stopped it'}",
            "failed": f"run {run.run_id} failed: {run.error or 'see the run'}",
            "cancelled": f"run {run.run_id} was cancelled; run the week again",
            "withdrawn": f"run {run.run_id} was withdrawn ({run.withdrawn_reason}); run the week again",
        }[status]
        return WeekStatus(week, status, run.run_id, text)
    if week in snapshots:
        return WeekStatus(week, "missing", None, f"not run yet; the snapshot {snapshots[week]} is ready")
    return WeekStatus(week, "missing", None, "not run yet, and there is no snapshot for this week in data/snapshots")


def _model_summary(ledger: Ledger, engine: str, *, today: date, retrain_after_days: int) -> ModelSummary | None:
    record = ledger.active_model(engine)
    if record is None:
        return None
    sidecar = model_sidecar(ledger.path.parent, record.path)
    window = sidecar.get("training_window", {})
    oot = record.metrics.get("out_of_time", {})
    return ModelSummary(
        model_id=record.model_id,
        engine=record.engine,
        trained_at=record.trained_at,
        trained_by=record.trained_by,
        train_weeks=tuple(window.get("train", ("?", "?"))),
        validation_weeks=tuple(window.get("validation", ("?", "?"))),
        auc=oot.get("auc"),
        lift=oot.get("lift_at_capacity"),
        age_days=model_age_days(record.trained_at, today),
        retrain_after_days=retrain_after_days,
    )


def model_age_days(trained_at: str, today: date) -> int:
    """Whole days from training (its recorded date) to ``today``; never negative."""
    return max(0, (today - date.fromisoformat(trained_at[:10])).days)


def model_sidecar(root: Path, model_path: str) -> dict[str, Any]:
    """The model's metadata sidecar (metrics, training window, model card); empty if it cannot be read."""
    from nba_toolkit.core.models import read_sidecar

    try:
        return read_sidecar(root / model_path)
    except BadInput:
        return {}


# ------------------------------------------------------------------- review


@dataclass(frozen=True)
class Histogram:
    edges: list[float]  # HISTOGRAM_BINS + 1 edges; the last bin also holds everything above it
    counts: list[int]
    threshold: float


@dataclass(frozen=True)
class ReviewSummary:
    run_id: str
    week: str
    status: str
    editable: bool
    rows_in: int
    counts: list[tuple[str, str, int]]  # (reason, plain text, customers)
    mailed: dict[str, int]  # group -> customers in the mail file after the operator's exclusions
    operator_excluded: int
    flagged: int
    expected_conversions: float
    threshold: float
    capacity: int
    histogram: Histogram
    recent: WeeklyVolumes  # the weeks before this run's week
    #: optional inputs the run filled in with stand-ins (core/degraded.py); empty when complete
    degraded: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the run's kind: 'fallback' lists were drawn at random, with no scores, threshold or capacity to show
    kind: str = "weekly"

    def how_chosen(self) -> str:
        """The line under the counts that says how the mailed were chosen."""
        if self.kind == "fallback":
            return f"Fallback list: {self.capacity:,} asked for, drawn at random from the eligible, with no model"
        return f"Threshold {self.threshold:.2%} · capacity {self.capacity:,}"


@dataclass(frozen=True)
class Page:
    offset: int
    total: int
    view: str
    rows: list[dict[str, Any]]
    feature_labels: dict[str, str]


@dataclass(frozen=True)
class Decision:
    """Why one customer was or was not selected, in the operator's words."""

    customer_id: str
    found: bool
    reason: str | None = None
    reason_text: str = ""
    score: float | None = None
    rank: int | None = None
    group: str | None = None
    mailed: bool = False
    why: str = ""
    overrides: list[dict[str, str]] = field(default_factory=list)
    #: flags set on the customer in earlier weeks' runs (information only: a flag never excludes)
    earlier_flags: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Explanation:
    customer_id: str
    values: list[tuple[str, str]]  # (plain feature name, the customer's value)
    contributions: list[tuple[str, float]]  # (plain feature name, log-odds), largest effect first
    recomputed_score: float | None
    problem: str | None = None


class RunReview:
    """One run opened for review: its stored summary at once; its selection, snapshot and model read when first needed.

    Holds data, never a ledger connection, so any worker thread can use it
    with the workspace of its own thread.
    """

    def __init__(self, root: Path, run: RunRecord, config: Config, engine: Any, model_path: str | None) -> None:
        self.root = root
        self.run = run
        self.config = config
        self.engine = engine
        self.model_path = model_path
        self._selection: pl.DataFrame | None = None
        self._figures = stored_figures(root / "runs" / run.run_id, run)
        if self._figures is None:
            self._selection = self._read_selection()
        elif sha256_of(self._selection_path) != run.selection_sha256:
            raise self._selection_changed()
        self.overrides: dict[str, list[dict[str, str]]] = {}
        self.earlier_flags: dict[str, list[dict[str, str]]] = {}
        self._views: dict[str, pl.DataFrame] = {}
        self._snapshot: pl.DataFrame | None = None
        self._snapshot_problem: str | None = None
        self._model: Any = None

    @classmethod
    def open(cls, workspace: Workspace, registry: Registry, run_id: str) -> RunReview:
        run = workspace.ledger.run(run_id)
        if not run.selection_path:
            raise UsageError(f"run {run_id} is {run.status} and has no selection to review", hint=run.error)
        config = parse_config(run.config, source=f"the configuration recorded with run {run_id}")
        entry = registry.engine(run.engine, config.features) if run.engine in registry.engines else None
        model = workspace.ledger.model(run.model_id) if run.model_id else None
        review = cls(workspace.root, run, config, entry.obj if entry else None, model.path if model else None)
        review.refresh(workspace)
        return review

    def refresh(self, workspace: Workspace) -> None:
        """Re-read what can change during review: the run's status and the operator's overrides."""
        self.run = workspace.ledger.run(self.run.run_id)
        overrides: dict[str, list[dict[str, str]]] = {}
        for o in workspace.ledger.overrides(self.run.run_id):
            overrides.setdefault(o["customer_id"], []).append(o)
        self.overrides = overrides
        self.earlier_flags = workspace.ledger.earlier_flags(self.run.run_id)
        self._views.pop("overridden", None)

    @property
    def editable(self) -> bool:
        return self.run.status == "awaiting_approval"

    @property
    def selection(self) -> pl.DataFrame:
        """The run's selection, every customer; read when first needed (the summary does not need it)."""
        if self._selection is None:
            self._selection = self._read_selection()
        return self._selection

    @property
    def _selection_path(self) -> Path:
        return self.root / (self.run.selection_path or "")

    def _read_selection(self) -> pl.DataFrame:
        path = self._selection_path
        data = path.read_bytes() if path.is_file() else b""
        if not data or hashlib.sha256(data).hexdigest() != self.run.selection_sha256:
            raise self._selection_changed()
        frame = pl.read_parquet(io.BytesIO(data))
        return frame.with_columns(pl.col("customer_id").cast(pl.String).alias("_id"))

    def _selection_changed(self) -> NbaError:
        return NbaError(
            f"the stored selection of run {self.run.run_id} is missing or was changed after the run ({self._selection_path})",
            hint="Run the week again; the ledger keeps what the run recorded.",
        )

    # -- summary ------------------------------------------------------

    def summary(self, workspace: Workspace) -> ReviewSummary:
        """The Summary tab: the run's figures as counted when it was saved, less the customers excluded since."""
        figures = self._figures or selection_figures(self.selection, self.config.selection.threshold)
        counted = figures["reasons"]
        counts = [(r, REASON_TEXT.get(r, r), int(counted.get(r, 0))) for r in (*REASONS, *sorted(set(counted) - set(REASONS)))]
        excluded = self._mailed_and_excluded()
        taken_out = dict(excluded.group_by("group").len().iter_rows())
        histogram = figures["histogram"]
        return ReviewSummary(
            run_id=self.run.run_id,
            week=self.run.week,
            status=self.run.status,
            editable=self.editable,
            rows_in=figures["rows"],
            counts=counts,
            mailed={g: int(figures["mailed"].get(g, 0)) - int(taken_out.get(g, 0)) for g in MAILED_GROUPS.values()},
            operator_excluded=excluded.height,
            flagged=sum(1 for v in self.overrides.values() if any(o["action"] == "flag" for o in v)),
            expected_conversions=figures["mailed_score"] - float(excluded["score"].fill_null(0).sum()),
            threshold=self.config.selection.threshold,
            capacity=self.capacity,
            histogram=Histogram(histogram["edges"], histogram["counts"], self.config.selection.threshold),
            recent=weekly_volumes(workspace.ledger.path, weeks_before(self.run.week, RECENT_WEEKS - 1)),
            degraded=self.run.degraded,
            kind=self.run.kind,
        )

    @property
    def capacity(self) -> int:
        """The capacity the run selected with; a run recorded before it was kept shows the configured number."""
        return self.run.capacity if self.run.capacity is not None else self.config.selection.capacity

    def _mailed_and_excluded(self) -> pl.DataFrame:
        """The mailed customers the operator has excluded since the run (the selection is read only if there are any)."""
        excluded = self._operator_excluded()
        if not excluded:
            return pl.DataFrame(schema={"group": pl.String, "score": pl.Float64})
        return self.selection.filter(pl.col("mailed") & pl.col("_id").is_in(excluded)).select("group", "score")

    def _operator_excluded(self) -> list[str]:
        return [cid for cid, items in self.overrides.items() if any(o["action"] == "exclude" for o in items)]

    # -- the customer table --------------------------------------------

    def page(self, offset: int = 0, *, view: str = "all", limit: int = PAGE_SIZE) -> Page:
        """One page of the customer table, highest score first; feature values only for the rows shown."""
        frame = self._view(view)
        offset = max(0, min(offset, max(frame.height - 1, 0)))
        rows = frame.slice(offset, limit)
        values = self.feature_values(rows["_id"].to_list())
        shown = []
        for row in rows.iter_rows(named=True):
            cid = row["_id"]
            actions = {o["action"] for o in self.overrides.get(cid, [])}
            shown.append(
                {
                    "customer_id": cid,
                    "score": row["score"],
                    "reason": row["reason"],
                    "group": row["group"],
                    "mailed": row["mailed"] and "exclude" not in actions,
                    "rank": row["rank"],
                    "override": _mark(actions, flagged_before=cid in self.earlier_flags),
                    "features": values.get(cid, {}),
                }
            )
        labels = dict(self.engine.feature_labels) if self.engine is not None else {}
        return Page(offset=offset, total=frame.height, view=view, rows=shown, feature_labels=labels)

    def _view(self, view: str) -> pl.DataFrame:
        if view not in VIEWS:
            raise UsageError(f"unknown view '{view}'; views: {', '.join(VIEWS)}")
        if view not in self._views:
            reason = pl.col("reason")
            condition = {
                "all": pl.lit(True),
                "mailed": pl.col("mailed"),
                "selected": reason.is_in([SELECTED, HOLDOUT]),
                "holdout": reason == HOLDOUT,
                "random_control": reason == RANDOM_CONTROL,
                "over_capacity": reason == OVER_CAPACITY,
                "below_threshold": reason == BELOW_THRESHOLD,
                "not_drawn": reason == NOT_DRAWN,
                "excluded": reason.str.starts_with("excluded_"),
                "overridden": pl.col("_id").is_in(list(self.overrides)),
            }[view]
            self._views[view] = self.selection.filter(condition).sort(["score", "_id"], descending=[True, False], nulls_last=True)
        return self._views[view]

    # -- one customer -----------------------------------------------------

    def decision(self, customer_id: str) -> Decision:
        cid = relation_number(customer_id)
        found = self.selection.filter(pl.col("_id") == cid)
        if found.height == 0:
            return Decision(
                customer_id=cid,
                found=False,
                why=f"Relation number {cid} is not in the snapshot of run {self.run.run_id}, so this run did not consider them.",
            )
        row = found.row(0, named=True)
        overrides = self.overrides.get(cid, [])
        excluded = any(o["action"] == "exclude" for o in overrides)
        earlier = self.earlier_flags.get(cid, [])
        return Decision(
            customer_id=cid,
            found=True,
            reason=row["reason"],
            reason_text=REASON_TEXT.get(row["reason"], row["reason"]),
            score=row["score"],
            rank=row["rank"],
            group=row["group"],
            mailed=bool(row["mailed"]) and not excluded,
            why=(_drawn_or_not(row) if self.run.kind == "fallback" else _why(row, self.config, self.capacity))
            + _overridden(overrides)
            + _flagged_before(earlier),
            overrides=overrides,
            earlier_flags=earlier,
        )

    def feature_values(self, ids: list[str]) -> dict[str, dict[str, str]]:
        """The engine's features for these customers, in plain names; concrete snapshot values where they exist.

        A feature named like a snapshot column (a balance, the fund change)
        shows the customer's value from the snapshot, which the operator can
        check against the bank's systems; a derived feature (engagement)
        shows the value the engine computed.
        """
        snapshot = self._load_snapshot()
        if snapshot is None or self.engine is None or not ids:
            return {}
        rows = snapshot.filter(pl.col("_id").is_in(ids))
        features = self.engine.features(rows.drop("_id").lazy()).collect()
        features = features.with_columns(pl.col("customer_id").cast(pl.String))
        raw = {r["_id"]: r for r in rows.iter_rows(named=True)}
        shown: dict[str, dict[str, str]] = {}
        for row in features.iter_rows(named=True):
            cid = row["customer_id"]
            shown[cid] = {
                label: _show(raw[cid][name] if name in snapshot.columns else row.get(name))
                for name, label in self.engine.feature_labels.items()
            }
        return shown

    def features(self) -> tuple[pl.DataFrame | None, str | None]:
        """Every customer's features from the run's own snapshot, in the values the customer panel shows, or why not.

        Comparing two runs needs the same verified inputs the panel reads,
        never a snapshot that changed since; and, as on the panel, a feature
        named like a snapshot column is that column's own value (a balance in
        euros, not the engine's log of it).
        """
        snapshot = self._load_snapshot()
        if snapshot is None:
            return None, self._snapshot_problem
        features = self.engine.features(snapshot.drop("_id").lazy()).collect()
        raw = [n for n in features.columns if n in snapshot.columns and n != "customer_id"]
        return features.drop(raw).join(snapshot.select("customer_id", *raw), on="customer_id", how="left"), None

    def explain(self, customer_id: str) -> Explanation:
        """The engine's explanation of one customer's score, from the run's own snapshot and model."""
        cid = relation_number(customer_id)
        decision = self.decision(cid)
        if not decision.found:
            return Explanation(cid, [], [], None, problem=decision.why)
        if self.run.kind == "fallback":
            return Explanation(cid, [], [], None, problem="a fallback list is drawn at random: no model scored anyone")
        if self.engine is None:
            return Explanation(cid, [], [], None, problem=f"the engine '{self.run.engine}' of this run is not installed now")
        snapshot = self._load_snapshot()
        if snapshot is None:
            return Explanation(cid, [], [], None, problem=self._snapshot_problem)
        values = list(self.feature_values([cid]).get(cid, {}).items())
        if decision.score is None:
            return Explanation(cid, values, [], None, problem="not scored: excluded before scoring, so nothing to explain")
        model = self._load_model()
        features = self.engine.features(snapshot.filter(pl.col("_id") == cid).drop("_id").lazy()).collect()
        parts = self.engine.explain(model, features)
        recomputed = float(self.engine.score(model, features)[0])
        labels = self.engine.feature_labels
        contributions = sorted(
            ((labels.get(name, name), float(parts[name][0])) for name in parts.columns), key=lambda item: -abs(item[1])
        )
        return Explanation(cid, values, contributions, recomputed)

    def _load_snapshot(self) -> pl.DataFrame | None:
        if self._snapshot is not None or self._snapshot_problem is not None:
            return self._snapshot
        from nba_toolkit.core.degraded import impute, load_allowing_stand_ins
        from nba_toolkit.core.kept_inputs import kept_inputs

        path = self.root / (self.run.snapshot_path or "")  # recorded relative to the workspace, or absolute
        kept = kept_inputs(self.root / "runs" / self.run.run_id, self.run.inputs_sha256)
        if self.engine is None:
            self._snapshot_problem = f"the engine '{self.run.engine}' of this run is not installed now"
            return None
        if kept is None and not path.is_file():
            self._snapshot_problem = f"the run's snapshot is no longer at {path}, so customer values cannot be shown"
            return None
        if kept is None:
            loaded = load_allowing_stand_ins(
                path,
                required=dict(self.engine.required_columns),
                engine=self.engine,
                mapping=self.config.columns,
                denylist=self.config.denylist,
            )
            if loaded.sha256 != self.run.snapshot_sha256:
                self._snapshot_problem = (
                    f"the snapshot {path} changed after the run (its SHA-256 differs from the ledger's), "
                    "so it no longer shows what the run saw"
                )
                return None
            kept = loaded.frame
        # the optional inputs the run filled in, filled with the very stand-ins it recorded
        filled, _ = impute(kept, self.engine, path=path, recorded=self.run.degraded)
        self._snapshot = filled.with_columns(pl.col("customer_id").cast(pl.String).alias("_id"))
        return self._snapshot

    def _load_model(self) -> Any:
        if self._model is None:
            from nba_toolkit.core.models import load_model

            if not self.model_path or not self.run.model_sha256:
                raise UsageError(f"run {self.run.run_id} recorded no model, so its scores cannot be explained")
            self._model = load_model(
                self.root / self.model_path, models_dir=self.root / "models", expected_sha256=self.run.model_sha256
            )
        return self._model


def override(
    workspace: Workspace,
    review: RunReview,
    customer_id: str,
    *,
    action: str,
    reason: str,
    by: str,
    standing: bool = False,
    until: date | None = None,
) -> Decision:
    """Exclude or flag a customer of the run under review, recorded in the ledger.

    ``standing`` makes an exclusion last: the customer is also kept out of
    every later run (up to ``until``), until someone lifts it.
    """
    decision = review.decision(customer_id)
    if not decision.found:
        raise UsageError(decision.why)
    if standing and action != "exclude":
        raise UsageError("only an exclusion can be standing")
    workspace.ledger.add_override(review.run.run_id, decision.customer_id, action=action, reason=reason, by=by)
    if standing:
        workspace.ledger.suppress(decision.customer_id, reason=reason, by=by, until=until, run_id=review.run.run_id)
    review.refresh(workspace)
    return review.decision(customer_id)


def standing_exclusion(ledger: Ledger, customer_id: str, day: date) -> dict[str, Any] | None:
    """The customer's standing exclusion in force on ``day`` (reason, who, when, until, from which run), or None.

    A run that kept someone out says only "kept out by a standing
    exclusion"; the operator reading the customer's panel weeks later needs
    who made it and why, the same on the Review screen and in the CLI.
    """
    cid = relation_number(customer_id)
    if cid not in {relation_number(c) for c, _ in ledger.suppressed_on(day, upto=None)}:
        return None
    events = [e for e in ledger.suppression_events() if relation_number(e["customer_id"]) == cid and e["action"] == "suppress"]
    return {k: events[-1][k] for k in ("reason", "until", "made_by", "made_at", "run_id")}


def selection_figures(selection: pl.DataFrame, threshold: float) -> dict[str, Any]:
    """What the Summary tab shows of a selection before any exclusion at review, as JSON-ready values."""
    mailed = selection.filter(pl.col("mailed"))
    histogram = score_histogram(selection["score"], threshold)
    return {
        "rows": selection.height,
        "reasons": {reason: int(n) for reason, n in selection.group_by("reason").len().iter_rows()},
        "mailed": {group: int(n) for group, n in mailed.group_by("group").len().iter_rows()},
        "mailed_score": float(mailed["score"].fill_null(0).sum()),
        "histogram": {"edges": histogram.edges, "counts": histogram.counts},
    }


def write_selection_figures(run_dir: Path, selection: pl.DataFrame, *, threshold: float, selection_sha256: str) -> None:
    """Count the summary once, when the run is saved, next to its selection (``runs/<id>/summary.json``).

    Opening Review on a million customers then reads a few hundred bytes
    instead of grouping and binning the whole selection. The file names the
    selection it counted; aggregate figures only, no customer's value.
    """
    figures = {"selection_sha256": selection_sha256, **selection_figures(selection, threshold)}
    atomic_write_bytes(run_dir / FIGURES_FILE, json.dumps(figures, indent=1).encode("utf-8"))


_FIGURE_KEYS = {"selection_sha256", "rows", "reasons", "mailed", "mailed_score", "histogram"}


def stored_figures(run_dir: Path, run: RunRecord) -> dict[str, Any] | None:
    """The figures the run counted, when they are of the selection the ledger recorded and agree with its counts.

    An older run has none; a file that cannot be read, counts another
    selection, or whose reason counts differ from the ones the ledger
    recorded (and audits) is not trusted: the summary is then counted from
    the selection itself.
    """
    try:
        figures = json.loads((run_dir / FIGURES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(figures, dict) or set(figures) != _FIGURE_KEYS or run.selection_sha256 is None:
        return None
    recorded = {reason: n for reason, n in (run.counts or {}).items() if n}
    counted = {reason: n for reason, n in figures["reasons"].items() if n} if isinstance(figures["reasons"], dict) else None
    shaped = isinstance(figures["histogram"], dict) and set(figures["histogram"]) == {"edges", "counts"}
    if figures["selection_sha256"] != run.selection_sha256 or counted != recorded or not shaped:
        return None
    return figures


def score_histogram(scores: pl.Series, threshold: float, bins: int = HISTOGRAM_BINS) -> Histogram:
    """Scored customers per score band, from 0 to a little past the threshold or the 99th percentile, whichever is higher."""
    scored = scores.drop_nulls()
    if scored.len() == 0:
        return Histogram([0.0, 1.0], [0], threshold)
    top = max(float(scored.quantile(0.99) or 0.0), threshold * 2, 1e-6)
    width = top / bins
    index = (scored / width).floor().clip(0, bins - 1).cast(pl.Int64)
    counted = dict(index.value_counts().iter_rows())
    return Histogram([i * width for i in range(bins + 1)], [int(counted.get(i, 0)) for i in range(bins)], threshold)


def _mark(actions: set[str], *, flagged_before: bool) -> str:
    """The table's mark: this run's exclusion or flag, else a flag from an earlier week."""
    if "exclude" in actions:
        return "excluded"
    if "flag" in actions:
        return "flagged"
    return "flagged before" if flagged_before else ""


def _flagged_before(flags: list[dict[str, str]]) -> str:
    """Earlier weeks' flags in the operator's words: shown, never acted on."""
    return "".join(
        f" Flagged in run {f['run_id']} ({f['week']}) by {f['made_by']} on {f['made_at'][:10]}: {f['reason']}"
        " (shown as information; it does not exclude)."
        for f in flags
    )


def _drawn_or_not(row: Mapping[str, Any]) -> str:
    """Why a customer of a fallback list is on it or not: nothing was scored, the draw decided."""
    reason = row["reason"]
    if reason == RANDOM_CONTROL:
        return (
            f"Drawn at random for the fallback list (chance {row['p_random_control']:.2%}), with no model: mailed as "
            "random control."
        )
    if reason == NOT_DRAWN:
        return f"Eligible, but not drawn for the fallback list (chance {row['p_random_control']:.2%}): not mailed."
    return f"Not drawn: {REASON_TEXT.get(reason, reason)}."


def _why(row: Mapping[str, Any], config: Config, capacity: int) -> str:
    s = config.selection
    reason = row["reason"]
    rank = row["rank"]
    score, threshold = _percentages(row["score"], s.threshold)
    if reason.startswith("excluded_"):
        text = f"Not scored: {REASON_TEXT.get(reason, reason)}."
    elif reason == BELOW_THRESHOLD:
        text = f"Score {score} is below the threshold of {threshold}: not selected."
    elif reason == OVER_CAPACITY:
        text = (
            f"Score {score} is above the threshold of {threshold}, but ranks {rank:,} among those above it "
            f"and the capacity is {capacity:,}: not selected."
        )
    elif reason in (SELECTED, HOLDOUT):
        text = (
            f"Score {score} is above the threshold of {threshold} and ranks {rank:,} "
            f"within the capacity of {capacity:,}: selected."
        )
        if reason == HOLDOUT:
            text += (
                f" Held out: {row['p_holdout']:.0%} of the selected are not mailed, chosen by a fixed hash of the "
                "relation number and the campaign salt, so the effect of the mail can be measured."
            )
        else:
            text += " Mailed."
    elif reason == RANDOM_CONTROL:
        place = f"below the threshold of {threshold}" if rank is None else f"ranked {rank:,}, over the capacity of {capacity:,}"
        text = (
            f"Score {score}, {place}: not selected, but drawn at random for the random control "
            f"(chance {row['p_random_control']:.2%}) and mailed, so the model's choice can be measured."
        )
    else:
        text = REASON_TEXT.get(reason, reason)
    return text


def _overridden(overrides: list[dict[str, str]]) -> str:
    """What the operator did to the customer at review, after the reason."""
    text = ""
    for o in overrides:
        verb = "Excluded from the mail file" if o["action"] == "exclude" else "Flagged as suspicious"
        text += f" {verb} by {o['made_by']} on {o['made_at'][:10]}: {o['reason']}."
    return text


def _percentages(score: float | None, threshold: float) -> tuple[str, str]:
    """Score and threshold as percentages, with enough decimals that a score just below never reads as equal."""
    if score is None:
        return "—", f"{threshold:.2%}"
    for decimals in (2, 3, 4):
        shown = f"{score:.{decimals}%}", f"{threshold:.{decimals}%}"
        if shown[0] != shown[1] or score == threshold:
            return shown
    return shown


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # a count read as a number (products held: 4) is shown as the count it is, not as 4.00
        return f"{int(value):,}" if value.is_integer() and abs(value) < 1e15 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# ------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportPreview:
    """Exactly what approving a run would write, or why it cannot be approved now."""

    run_id: str
    week: str
    status: str
    rows: int
    groups: dict[str, int]
    operator_excluded: int
    path: Path
    campaign_code: str
    delimiter: str
    encoding: str
    refusals: list[str]
    #: what goes out with the file and should be said at approval: warnings accepted (check, who),
    #: customers flagged as suspicious (they are still mailed), optional inputs filled in with stand-ins
    acknowledged: list[tuple[str, str]] = field(default_factory=list)
    flagged: int = 0
    degraded: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: what the operator looked at before approving (core/recorded_review.py)
    review: RecordedReview | None = None

    @property
    def ready(self) -> bool:
        return not self.refusals

    def to_mention(self) -> list[str]:
        """What the operator approves along with the file, in plain sentences; empty when there is nothing to say."""
        from nba_toolkit.core.degraded import describe

        lines = [f"the warning {check} was acknowledged by {who}" for check, who in self.acknowledged]
        if self.flagged:
            are = "s are" if self.flagged != 1 else " is"
            lines.append(f"{self.flagged:,} flagged customer{are} still in the file (a flag does not exclude)")
        lines += [f"degraded: {line}" for line in describe(self.degraded)]
        if self.review is not None and not self.review.reviewed:
            lines.append("nobody reviewed this run; the export is marked unreviewed in the ledger")
        return lines


def export_preview(workspace: Workspace, registry: Registry, run_id: str) -> ExportPreview:
    """The confirmation's content, computed the way ``export_run`` writes (same rows, same file name)."""
    ledger = workspace.ledger
    config = workspace.config
    run = ledger.run(run_id)
    allow_unreviewed = config.governance.allow_unreviewed_export
    refusals = [refusal.message for refusal in export_refusals(ledger, run, allow_unreviewed=allow_unreviewed)]
    overrides = ledger.overrides(run_id)
    excluded = [o["customer_id"] for o in overrides if o["action"] == "exclude"]
    flagged = [o["customer_id"] for o in overrides if o["action"] == "flag"]
    warned = {c.check_name for c in ledger.check_results(run_id) if c.status == "fail" and c.severity == "warn"}
    acknowledged = sorted((check, who) for check, (who, _) in ledger.acknowledgements(run_id).items() if check in warned)
    groups = {g: 0 for g in MAILED_GROUPS.values()}
    rows = operator_excluded = flagged_in_file = 0
    selection_path = workspace.root / (run.selection_path or "")
    if run.selection_path and selection_path.is_file():
        mailed = pl.read_parquet(selection_path, columns=["customer_id", "mailed", "group"]).filter(pl.col("mailed"))
        out = pl.col("customer_id").cast(pl.String).is_in(excluded)
        kept = mailed.filter(~out)
        operator_excluded = mailed.height - kept.height
        rows = kept.height
        flagged_in_file = kept.filter(pl.col("customer_id").cast(pl.String).is_in(flagged)).height
        groups.update({g: int(n) for g, n in kept.group_by("group").len().iter_rows()})
    elif not refusals:
        refusals.append(f"the stored selection of run {run_id} is missing")
    exporter = registry.exporters.get(config.export.exporter)
    extension = exporter.obj.extension if exporter else "csv"
    if exporter is None:
        refusals.append(f"the exporter '{config.export.exporter}' is not installed")
    return ExportPreview(
        run_id=run_id,
        week=run.week,
        status=run.status,
        rows=rows,
        groups=groups,
        operator_excluded=operator_excluded,
        path=workspace.exports_dir / f"{config.campaign.code}_{run.week}_{run_id}.{extension}",
        campaign_code=config.campaign.code,
        delimiter=config.export.delimiter,
        encoding=config.export.encoding,
        refusals=refusals,
        acknowledged=acknowledged,
        flagged=flagged_in_file,
        degraded=run.degraded,
        review=recorded_review(ledger, run_id),
    )
