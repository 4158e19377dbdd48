"""Write a run's analysis file (R-X3) with an analysis exporter plugin.

The file holds every customer of the run with their reason, score, the
snapshot's values, the engine's features and the operator's flags, so the
analyst can take the week apart in their own tools. It is written to
``analysis/``, never to ``exports/`` (the mail program's folder), with mode
0600 because it carries customer data, and it changes nothing in the ledger:
it is a view of a run, not a mailing. The snapshot and the selection are
used only if their SHA-256 still matches the run's record, so the file
describes the run as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.core.analysis import analysis_rows
from nba_toolkit.core.files import atomic_writer, sha256_of
from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.errors import PluginError, UsageError
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace

ANALYSIS_FOLDER = "analysis"


@dataclass(frozen=True)
class AnalysisOutcome:
    run_id: str
    path: Path
    sha256: str
    rows: int
    columns: list[str]
    exporter: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "sha256": self.sha256,
            "rows": self.rows,
            "columns": self.columns,
            "exporter": self.exporter,
        }


def export_analysis(workspace: Workspace, registry: Registry, run_id: str, *, exporter: str | None = None) -> AnalysisOutcome:
    run = workspace.ledger.run(run_id)
    if run.status not in ("awaiting_approval", "exported"):
        raise UsageError(f"run {run_id} is {run.status}; only a run that reached review has a selection to analyse")
    entry = registry.analysis_exporter(exporter or _only_analysis_exporter(registry))
    writer = entry.obj
    selection_path = workspace.root / (run.selection_path or "")
    if not selection_path.is_file() or sha256_of(selection_path) != run.selection_sha256:
        raise UsageError(f"the stored selection of run {run_id} is missing or was changed after the run")
    snapshot_path = workspace.recorded_path(run.snapshot_path or "")
    if not snapshot_path.is_file() or sha256_of(snapshot_path) != run.snapshot_sha256:
        raise UsageError(
            f"the snapshot run {run_id} used ({snapshot_path}) is missing or was changed since",
            hint="The analysis file describes the run as it was, so it needs the same snapshot.",
        )
    engine = registry.engine(run.engine or "", workspace.config.features).obj
    config = workspace.config
    snapshot = load_snapshot(
        snapshot_path,
        mapping=config.columns,
        denylist=config.denylist,
        schema={**CORE_COLUMNS, **engine.required_columns},
    ).frame
    rows = analysis_rows(
        pl.read_parquet(selection_path),
        snapshot,
        engine.features(snapshot.lazy()).collect(),
        workspace.ledger.overrides(run_id),
        engine.feature_labels,
    )
    path = workspace.root / ANALYSIS_FOLDER / f"{run.week}_{run_id}_analysis.{writer.extension}"
    try:
        with atomic_writer(path, mode=0o600) as stream:
            writer.write(rows, stream, config.export)
    except Exception as exc:  # noqa: BLE001 - the exporter's failure, named; no file was left
        raise PluginError(
            f"the analysis exporter '{writer.name}' (plugin '{entry.plugin}') failed: {type(exc).__name__}: {exc}; "
            "no file was written"
        ) from exc
    return AnalysisOutcome(
        run_id=run_id, path=path, sha256=sha256_of(path), rows=rows.height, columns=rows.columns, exporter=writer.name
    )


def _only_analysis_exporter(registry: Registry) -> str:
    names = sorted(registry.analysis_exporters)
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(
            "no analysis exporter is loaded",
            hint="The built-in one is switched off: take 'nba_toolkit.analysis_csv' out of [plugins] disabled in nba.toml.",
        )
    raise UsageError(f"several analysis exporters are installed ({', '.join(names)}); choose one with --exporter")
