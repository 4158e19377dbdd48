"""The residual group on a workspace: who the last N exported runs never selected, and why.

The latest run's snapshot gives everyone's current values, its model the
explanations; both are checked against what the ledger recorded for that run.
"""

from __future__ import annotations

import polars as pl

from nba_toolkit.core.residual import ResidualGroup, residual_group
from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.jobs.backtest import load_registered, registered_model
from nba_toolkit.jobs.evaluate import exported_runs, stored_selection
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace


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
    if not path.is_file():
        raise BadInput(f"the snapshot of run {latest.run_id} is no longer there", file=path)
    schema = {**CORE_COLUMNS, **engine.required_columns}
    loaded = load_snapshot(path, mapping=config.columns, denylist=config.denylist, schema=schema)
    if loaded.sha256 != latest.snapshot_sha256:
        raise BadInput(
            f"the snapshot of run {latest.run_id} was changed after the run (its SHA-256 differs from the ledger's)",
            file=path,
        )
    model_record = registered_model(workspace, engine.name, latest.model_id)
    selections = pl.concat(
        stored_selection(workspace, run).select(
            pl.lit(run.run_id).alias("run_id"), pl.col("customer_id").cast(pl.String), "reason", "exclusion", "score"
        )
        for run in runs
    )
    return residual_group(
        selections,
        loaded.frame.with_columns(pl.col("customer_id").cast(pl.String)),
        latest_run=latest.run_id,
        profile_columns=engine.required_columns,
        engine=engine,
        model=load_registered(workspace, model_record),
        feature_labels=engine.feature_labels,
    )
