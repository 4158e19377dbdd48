"""The backtest on a workspace: replay the weeks of ``data/history.parquet`` with one or two configurations.

Which model scores the replayed weeks is the operator's choice, because it
decides what the backtest can show:

* ``none`` (the default): the registered model (the active one, or
  ``model_id``), exactly as the weekly run uses it. This is the replay that
  reproduces recorded runs; over past weeks it is optimistic, since that
  model has learned from those very weeks.
* ``once``: one model fitted on the weeks whose label window closed before
  the first replayed week, so every replayed week is out of time. This is
  the honest view of how a model would have done going forward.
* ``weekly``: refitted before every week on what was known that week; the
  most honest and the slowest.

Models fitted here are kept in memory only: nothing is registered, saved
or recorded, and the ledger is only read.
"""

from __future__ import annotations

import copy
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.config import Config, load_config, parse_config
from nba_toolkit.core.backtest import Backtest, compare, market_band, run_backtest
from nba_toolkit.core.check_settings import MarketRegimeSettings
from nba_toolkit.core.decision import CONTACT_SCHEMA
from nba_toolkit.core.degraded import impute, load_allowing_stand_ins, recorded_stand_ins
from nba_toolkit.core.engine import refit_method
from nba_toolkit.core.evaluation import Evaluation, evaluate_runs
from nba_toolkit.core.market import market_features, model_bands
from nba_toolkit.core.memory import refuse_simulation_too_large
from nba_toolkit.core.models import load_model, read_sidecar
from nba_toolkit.core.rules import RuleContext, rule_columns
from nba_toolkit.core.scalars import day
from nba_toolkit.core.selection import Policy, cooldown_start, reason_counts
from nba_toolkit.core.snapshot import ColumnType, load_snapshot
from nba_toolkit.core.training import MIN_TRAINING_WEEKS, label_history
from nba_toolkit.core.weeks import parse_week, week_bounds, week_of
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.jobs.evaluate import exported_runs, stored_selection, workspace_outcomes
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.ledger.store import ModelRecord
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace

RETRAIN = ("none", "once", "weekly")
Progress = Callable[[int, int, str], None]


@dataclass
class ConfigurationResult:
    backtest: Backtest
    evaluation: Evaluation | None
    changes: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.backtest.to_dict(),
            "changes": self.changes,
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
        }


@dataclass
class BacktestReport:
    first_week: str
    last_week: str
    retrain: str
    outcomes_source: str | None
    results: list[ConfigurationResult]
    #: week, run_id, recorded_mailed, replayed_mailed, same_counts, differing_customers
    recorded: pl.DataFrame
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def comparison(self) -> pl.DataFrame | None:
        return compare(self.results[0].backtest, self.results[1].backtest) if len(self.results) == 2 else None

    def to_dict(self) -> dict[str, Any]:
        comparison = self.comparison
        return {
            "first_week": self.first_week,
            "last_week": self.last_week,
            "retrain": self.retrain,
            "outcomes": self.outcomes_source,
            "seconds": round(self.seconds, 3),
            "configurations": [r.to_dict() for r in self.results],
            "comparison": comparison.to_dicts() if comparison is not None else None,
            "recorded_runs": self.recorded.to_dicts(),
            "notes": self.notes,
        }


#: the setting that gives the capacity the other way: a number or a share of the eligible
_OTHER_CAPACITY = {"selection.capacity": "capacity_share", "selection.capacity_share": "capacity"}


def config_with(raw: dict[str, Any], assignments: list[str]) -> tuple[Config, dict[str, Any], dict[str, Any]]:
    """nba.toml's content with ``section.key=value`` assignments (values in TOML: 1000, 0.02, "text").

    Returns the configuration, the changes made and the changed content, so
    that a second configuration can build on the first.
    """
    data = copy.deepcopy(raw)
    changes: dict[str, Any] = {}
    for text in assignments:
        key, sep, value_text = text.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) < 2 or not all(parts):
            raise UsageError(f"'{text}' is not a setting; write it as section.key=value, e.g. selection.capacity=1000")
        try:
            value = tomllib.loads(f"v = {value_text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = value_text.strip()
        table = data
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise UsageError(f"'{key}' is not a setting of nba.toml")
        table[parts[-1]] = value
        # a capacity given one way replaces the one nba.toml gives the other way
        table.pop(_OTHER_CAPACITY.get(key.strip(), ""), None)
        changes[key.strip()] = value
    return parse_config(data, source="nba.toml with the --set/--compare settings"), changes, data


def backtest_workspace(
    workspace: Workspace,
    registry: Registry,
    *,
    from_week: str | None = None,
    to_week: str | None = None,
    settings: list[str] | None = None,
    compare_settings: list[str] | None = None,
    compare_config: Path | None = None,
    retrain: str = "none",
    model_id: str | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> BacktestReport:
    """Replay the history's weeks (and newer snapshots in data/snapshots) with the configuration(s)."""
    started = time.perf_counter()
    if retrain not in RETRAIN:
        raise UsageError(f"--retrain is one of {', '.join(RETRAIN)}, not '{retrain}'")
    if compare_settings and compare_config:
        raise UsageError("compare with either --config FILE or --compare key=value, not both")
    raw = _toml(workspace.config_path)
    base, base_changes, base_raw = config_with(raw, settings or [])
    configurations = [("current" if not settings else "current with --set", base, base_changes)]
    if compare_config:
        configurations.append((Path(compare_config).name, load_config(Path(compare_config)), {"config": str(compare_config)}))
    elif compare_settings:
        other, changes, _ = config_with(base_raw, compare_settings)
        configurations.append(("compared", other, changes))

    rules = [(r.obj, r.plugin) for r in registry.rules.values()]
    engines = {c.engine.name: registry.engine(c.engine.name, c.features).obj for _, c, _ in configurations}
    schema = {**CORE_COLUMNS, **rule_columns(rules)}
    for engine in engines.values():
        schema.update(engine.required_columns)
    refuse_simulation_too_large(
        workspace.history_path,
        list(workspace.snapshot_files().weekly.values()),
        configurations=len(configurations),
        retraining=retrain != "none",
    )
    weeks, every_week = _weeks(workspace, base, schema, engines[base.engine.name], from_week, to_week)
    notes = []
    if retrain != "none" and not from_week:
        # The first week that has MIN_TRAINING_WEEKS weeks with a closed label window before it.
        skip = max(c.engine.label_window_weeks for _, c, _ in configurations) + MIN_TRAINING_WEEKS - 1
        if skip >= len(weeks):
            raise UsageError(f"the history is too short to retrain: it needs more than {skip} weeks")
        notes.append(
            f"Retraining needs {MIN_TRAINING_WEEKS} weeks with a closed label window, so the replay starts at {weeks[skip][0]}."
        )
        weeks = weeks[skip:]
    first_monday = parse_week(weeks[0][0])
    band = _market_band(workspace, base, engines[base.engine.name], every_week, retrain, model_id)
    outcomes = None
    try:
        outcomes = workspace_outcomes(workspace)
    except UsageError:
        if retrain != "none":
            raise

    results = []
    total = len(weeks) * len(configurations)
    for index, (label, config, changes) in enumerate(configurations):
        engine = engines[config.engine.name]
        model_for = _model_source(workspace, engine, config, every_week, outcomes, retrain, model_id, first_monday)
        policy = Policy.from_config(config)
        since = cooldown_start(first_monday, policy.cooldown_weeks)
        initial = pl.DataFrame(workspace.ledger.contacts_between(since, first_monday), schema=CONTACT_SCHEMA, orient="row")
        offset = index * len(weeks)
        result = run_backtest(
            weeks,
            label=label,
            engine=engine,
            model_for=model_for,
            policy=policy,
            volume_band=(config.checks.volume_band.min, config.checks.volume_band.max),
            initial_contacts=initial,
            market_band=band,
            rules=rules,
            rule_context=partial(_rule_context, config, workspace.root),
            on_progress=partial(_overall_progress, on_progress, offset, total) if on_progress else None,
            cancel=cancel,
        )
        evaluation = None
        if outcomes is not None:
            evaluation = evaluate_runs(
                result.selections.with_columns(pl.col("customer_id").cast(pl.String)),
                outcomes.frame,
                window_weeks=config.engine.label_window_weeks,
                known_until=outcomes.known_until,
            )
        results.append(ConfigurationResult(backtest=result, evaluation=evaluation, changes=changes))
    notes += [
        "Realised conversions come from outcomes that did not see these simulated mailings: the simulated "
        "mailed and holdout groups convert alike, so the uplift of a backtest is about zero by construction. "
        "It shows volumes and who would have been reached, not what the mail would have done."
    ]
    if retrain == "none":
        notes.append(
            "Scored with a registered model that was trained on (part of) these weeks, so the replay is optimistic "
            "about the past; use --retrain once or weekly for an out-of-time view."
        )
    return BacktestReport(
        first_week=weeks[0][0],
        last_week=weeks[-1][0],
        retrain=retrain,
        outcomes_source=outcomes.source if outcomes else None,
        results=results,
        recorded=_recorded(workspace, results[0].backtest),
        seconds=time.perf_counter() - started,
        notes=notes,
    )


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"the configuration cannot be read ({exc})", file=path) from None


def _weeks(
    workspace: Workspace,
    config: Config,
    schema: dict[str, ColumnType],
    engine: Any,
    from_week: str | None,
    to_week: str | None,
) -> tuple[list[tuple[str, pl.DataFrame]], list[tuple[str, pl.DataFrame]]]:
    """The weeks to replay (history, then newer weekly snapshots in data/snapshots, within from..to), and all weeks.

    Each week is its own frame: one copy of the history in memory, not two. A
    weekly snapshot missing optional inputs is filled in as its run filled it.
    """
    history = load_snapshot(workspace.history_path, mapping=config.columns, denylist=config.denylist, schema=schema).frame
    weeks = {week_of(day): frame for (day,), frame in history.partition_by("snapshot_date", as_dict=True).items()}
    del history
    last_history = max(weeks, key=parse_week) if weeks else None
    for label, path in workspace.snapshot_files().weekly.items():
        if last_history is None or parse_week(label) > parse_week(last_history):
            weeks[week_of(parse_week(label))] = _weekly_snapshot(workspace, config, schema, engine, path)
    first = parse_week(from_week) if from_week else None
    last = parse_week(to_week) if to_week else None
    every_week = sorted(weeks.items(), key=lambda item: parse_week(item[0]))
    chosen = [
        (week, frame)
        for week, frame in every_week
        if not (first and parse_week(week) < first) and not (last and parse_week(week) > last)
    ]
    if not chosen:
        available = f"{min(weeks)} to {max(weeks)}" if weeks else "none"
        raise UsageError(
            f"no weeks of history between {from_week or 'the start'} and {to_week or 'the end'}; available: {available}"
        )
    return chosen, every_week


def _weekly_snapshot(
    workspace: Workspace, config: Config, schema: dict[str, ColumnType], engine: Any, path: Path
) -> pl.DataFrame:
    loaded = load_allowing_stand_ins(path, required=schema, engine=engine, mapping=config.columns, denylist=config.denylist)
    frame, _ = impute(loaded.frame, engine, path=path, recorded=recorded_stand_ins(workspace.ledger.runs(), loaded.sha256))
    return frame


def _rule_context(config: Config, root: Path, week: str, monday: date) -> RuleContext:
    """What the rules see in one replayed week, as in that week's run."""
    return RuleContext(week=week, week_start=monday, week_end=week_bounds(week)[1], config=config, workspace_root=root)


def _overall_progress(on_progress: Progress, offset: int, total: int, done: int, _weeks: int, stage: str) -> None:
    """One configuration's progress through its weeks, as progress through every configuration's weeks."""
    on_progress(offset + done, total, stage)


def _model_source(
    workspace: Workspace,
    engine: Any,
    config: Config,
    every_week: list[tuple[str, pl.DataFrame]],
    outcomes: Any,
    retrain: str,
    model_id: str | None,
    first_monday: date,
) -> Callable[[date], tuple[Any, str]]:
    if retrain == "none":
        record = registered_model(workspace, engine.name, model_id)
        model = load_registered(workspace, record)
        return lambda _monday: (model, record.model_id)
    window = config.engine.label_window_weeks
    history = pl.concat([frame for _, frame in every_week], how="diagonal_relaxed")
    known = outcomes.frame.with_columns(pl.col("customer_id").cast(history.schema["customer_id"], strict=False))
    # A row's label depends only on openings within its own window, so labelling everything the outcomes
    # cover once, and keeping for each week the rows whose window closed before it, gives what that week knew.
    # Sorted by week, those rows are a prefix, and so are their features (one row per input row, as the engine
    # contract says): the features are computed once, and each week trains on a slice of them, without copying.
    everything = label_history(history, known, window_weeks=window, known_until=outcomes.known_until).sort(
        "snapshot_date", maintain_order=True
    )
    del history
    features = engine.features(everything.lazy()).collect()
    labels = everything["label"].to_numpy()
    refit = refit_method(engine) if retrain == "weekly" else None
    previous = None

    def fit(monday: date) -> tuple[Any, str]:
        nonlocal previous
        rows = everything["snapshot_date"].search_sorted(monday - timedelta(weeks=window), side="right")
        labelled = everything.slice(0, rows)
        weeks = labelled["snapshot_date"].n_unique()
        if weeks < MIN_TRAINING_WEEKS or labelled["label"].n_unique() < 2:
            raise UsageError(
                f"before {week_of(monday)} only {weeks} weeks have a complete label window and conversions; "
                f"retraining needs {MIN_TRAINING_WEEKS}",
                hint="Start the backtest later (--from), or use --retrain none.",
            )
        if refit is not None and previous is not None:
            # last week's model is a step or two from this week's: the same model, sooner
            model = refit(previous, features.slice(0, rows), labels[:rows], seed=0)
        else:
            model = engine.fit(features.slice(0, rows), labels[:rows], seed=0)
        previous = model
        span = f"{week_of(day(labelled['snapshot_date'].min()))} to {week_of(day(labelled['snapshot_date'].max()))}"
        return model, f"fitted on {span}"

    if retrain == "once":
        fitted = fit(first_monday)
        return lambda _monday: fitted
    return fit


def _market_band(
    workspace: Workspace,
    config: Config,
    engine: Any,
    every_week: list[tuple[str, pl.DataFrame]],
    retrain: str,
    model_id: str | None,
) -> dict[str, tuple[float, float]]:
    """The weeks the weekly market_regime check would block are the weeks a replay flags: the same band, from the same model.

    A replay that retrains as it goes has no one model: its band is built
    by the same rule from the replayed weeks themselves.
    """
    settings = config.checks.settings("market_regime", MarketRegimeSettings)
    names = market_features(settings.features, engine)
    if retrain == "none":
        sidecar = read_sidecar(workspace.root / registered_model(workspace, engine.name, model_id).path)
        bands = model_bands(sidecar.get("reference") or {}, names, width=settings.robust_sd, margin=settings.margin)
        return {name: (b.low, b.high) for name, b in bands.items()}
    return market_band([frame for _, frame in every_week], names, width=settings.robust_sd, margin=settings.margin)


def registered_model(workspace: Workspace, engine: str, model_id: str | None = None) -> ModelRecord:
    record = workspace.ledger.model(model_id) if model_id else workspace.ledger.active_model(engine)
    if record is None:
        if model_id:
            raise UsageError(f"there is no model '{model_id}' in this workspace")
        raise UsageError(f"there is no trained model for the engine '{engine}'", hint="Train one with `nba-toolkit train`.")
    if record.engine != engine:
        raise UsageError(f"the model '{record.model_id}' belongs to the engine '{record.engine}', not '{engine}'")
    return record


def load_registered(workspace: Workspace, record: ModelRecord) -> Any:
    return load_model(workspace.root / record.path, models_dir=workspace.models_dir, expected_sha256=record.sha256)


def _recorded(workspace: Workspace, backtest: Backtest) -> pl.DataFrame:
    """For each replayed week with an exported run: does the replay give the same selection?

    It can only when it starts from the same contact history, so that is
    compared too: a replay that began weeks earlier mailed other customers
    than the real weeks did (or than the previous engine did) and has its
    own cooldowns by then.
    """
    replayed = set(backtest.weekly["week"].to_list()) if backtest.weekly.height else set()
    rows = []
    for run in exported_runs(workspace):
        if run.week not in replayed:
            continue
        recorded = stored_selection(workspace, run).select(pl.col("customer_id").cast(pl.String), "reason")
        simulated = backtest.selections.filter(pl.col("week") == run.week).select(
            pl.col("customer_id").cast(pl.String), pl.col("reason").alias("replayed")
        )
        differing = recorded.join(simulated, on="customer_id", how="full", coalesce=True).filter(
            pl.col("reason").ne_missing(pl.col("replayed"))
        )
        counts = reason_counts(simulated.rename({"replayed": "reason"}))
        monday = parse_week(run.week)
        since = cooldown_start(monday, backtest.policy.cooldown_weeks)
        real = set(workspace.ledger.contacts_between(since, monday))
        replay = set(
            backtest.contacts.filter((pl.col("week_start") >= since.isoformat()) & (pl.col("week_start") < monday.isoformat()))
            .unique()
            .iter_rows()
        )
        rows.append(
            {
                "week": run.week,
                "run_id": run.run_id,
                "recorded_mailed": run.counts.get("selected_mailed", 0) + run.counts.get("random_control", 0),
                "replayed_mailed": counts.get("selected_mailed", 0) + counts.get("random_control", 0),
                "same_counts": counts == run.counts,
                "differing_customers": differing.height,
                "same_contact_history": real == replay,
                "recorded_model": run.model_id,
            }
        )
    schema = {
        "week": pl.String,
        "run_id": pl.String,
        "recorded_mailed": pl.Int64,
        "replayed_mailed": pl.Int64,
        "same_counts": pl.Boolean,
        "differing_customers": pl.Int64,
        "same_contact_history": pl.Boolean,
        "recorded_model": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
