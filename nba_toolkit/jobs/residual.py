"""The residual group on a workspace: who the last N exported runs never selected, and why.

The latest run's inputs give everyone's current values (the columns it kept,
else its snapshot, filled with the stand-ins the run recorded when it ran
degraded), its model the explanations; both are checked against what the
ledger recorded for that run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.config import Config
from nba_toolkit.core.degraded import impute, load_allowing_stand_ins
from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.kept_inputs import INPUTS_FILE, kept_inputs
from nba_toolkit.core.memory import refuse_residual_too_large
from nba_toolkit.core.residual import ResidualGroup, residual_group
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.jobs.backtest import load_registered, registered_model
from nba_toolkit.jobs.evaluate import exported_runs, stored_selection
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.ledger.store import RunRecord
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace

_CHANGED = "the snapshot of run {run_id} was changed after the run (its SHA-256 differs from the ledger's)"


def residual_workspace(workspace: Workspace, registry: Registry, *, weeks: int = 12) -> ResidualGroup:
    if weeks < 1:
        raise UsageError("--weeks must be 1 or more")
    runs = exported_runs(workspace)[-weeks:]
    if not runs:
        raise UsageError("there are no exported runs yet; the residual group needs at least one", hint="`nba-toolkit runs`")
    latest = runs[-1]
    config = workspace.config
    engine = registry.engine(latest.engine or config.engine.name, config.features).obj
    path = workspace.recorded_path(latest.snapshot_path or "")
    if path.is_file() and sha256_of(path) != latest.snapshot_sha256:
        raise BadInput(_CHANGED.format(run_id=latest.run_id), file=path)  # a kept copy must not hide an edited extract
    kept_path = workspace.run_dir(latest.run_id) / INPUTS_FILE
    read = path if path.is_file() else kept_path
    refuse_residual_too_large(read, [workspace.root / (run.selection_path or "") for run in runs])
    frame = kept_inputs(workspace.run_dir(latest.run_id), latest.inputs_sha256)
    if frame is None:
        frame = _snapshot_of(latest, path, engine, config)
    frame, _ = impute(frame, engine, path=path, recorded=latest.degraded)
    model_record = registered_model(workspace, engine.name, latest.model_id)
    selections = pl.concat(
        stored_selection(workspace, run).select(
            pl.lit(run.run_id).alias("run_id"), pl.col("customer_id").cast(pl.String), "reason", "exclusion", "score"
        )
        for run in runs
    )
    return residual_group(
        selections,
        frame.with_columns(pl.col("customer_id").cast(pl.String)),
        latest_run=latest.run_id,
        profile_columns=engine.required_columns,
        engine=engine,
        model=load_registered(workspace, model_record),
        feature_labels=engine.feature_labels,
    )


def _snapshot_of(run: RunRecord, path: Path, engine: Any, config: Config) -> pl.DataFrame:
    """A run's extract, loaded as the run loaded it; refused when it is gone or changed since."""
    if not path.is_file():
        raise BadInput(f"the snapshot of run {run.run_id} is no longer there", file=path)
    required = {**CORE_COLUMNS, **engine.required_columns}
    loaded = load_allowing_stand_ins(path, required=required, engine=engine, mapping=config.columns, denylist=config.denylist)
    if loaded.sha256 != run.snapshot_sha256:
        raise BadInput(_CHANGED.format(run_id=run.run_id), file=path)
    return loaded.frame
