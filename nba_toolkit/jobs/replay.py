"""Replay (R-G3): recompute a past run from what the ledger recorded, and compare.

The ledger holds everything a run depended on: the snapshot's and the model's
SHA-256, the configuration (with the salt), the plugin and engine versions,
and how far the contact history reached when the run read it. A replay first
verifies each recorded file against its hash and names any that is missing
or changed; only then does it recompute the selection through the same code
path as the run (``core/decision``) and, for an exported run, the mail file's
bytes. The answer is "identical", or exactly what differs and why.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from nba_toolkit.config import parse_config
from nba_toolkit.core.decision import decide_week, eligibility
from nba_toolkit.core.degraded import impute, loading_schema
from nba_toolkit.core.fallback import draw
from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.kept_inputs import kept_inputs
from nba_toolkit.core.models import load_model
from nba_toolkit.core.rules import RuleContext, rule_columns
from nba_toolkit.core.selection import Policy, cooldown_contacts, standing_exclusions
from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.core.weeks import week_bounds
from nba_toolkit.errors import NbaError, UsageError
from nba_toolkit.jobs.export import mail_rows
from nba_toolkit.jobs.run import CORE_COLUMNS
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace

SAMPLE = 10


@dataclass
class ReplayReport:
    run_id: str
    #: recorded inputs that are missing or changed; with any, nothing could be recomputed
    inputs: list[str] = field(default_factory=list)
    #: differences in what decides the run that did not stop the replay (versions)
    versions: list[str] = field(default_factory=list)
    selection_identical: bool | None = None
    differing_customers: int = 0
    differing_sample: list[dict[str, Any]] = field(default_factory=list)
    export_identical: bool | None = None
    export_sha256: str | None = None
    recorded_export_sha256: str | None = None
    #: the exported mail file in exports/ is missing or no longer the recorded one (None: it is, or nothing was exported)
    mail_file: str | None = None

    @property
    def identical(self) -> bool:
        return (
            not self.inputs and self.selection_identical is True and self.export_identical is not False and self.mail_file is None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "identical": self.identical,
            "inputs": self.inputs,
            "versions": self.versions,
            "selection_identical": self.selection_identical,
            "differing_customers": self.differing_customers,
            "differing_sample": self.differing_sample,
            "export_identical": self.export_identical,
            "export_sha256": self.export_sha256,
            "recorded_export_sha256": self.recorded_export_sha256,
            "mail_file": self.mail_file,
        }


def replay(workspace: Workspace, registry: Registry, run_id: str) -> ReplayReport:
    ledger = workspace.ledger
    run = ledger.run(run_id)
    if run.status not in ("awaiting_approval", "exported"):
        raise UsageError(f"run {run_id} is {run.status}; only a run that reached review can be replayed")
    report = ReplayReport(run_id=run_id, recorded_export_sha256=run.export_sha256)
    if run.export_path:
        report.mail_file = _mail_file_problem(workspace.recorded_path(run.export_path), run.export_sha256)
    snapshot_path = workspace.recorded_path(run.snapshot_path or "")
    kept = kept_inputs(workspace.run_dir(run_id), run.inputs_sha256)
    if kept is None or snapshot_path.is_file():
        # without kept inputs the extract is the input; with them, an extract still present must be unchanged too
        _verify(report, "the snapshot file", snapshot_path, run.snapshot_sha256)
    # a fallback list was drawn at random: no model or engine decided it
    fallback = run.kind == "fallback"
    model_record = ledger.model(run.model_id) if run.model_id else None
    model_path = workspace.root / model_record.path if model_record else None
    if not fallback and model_path is None:
        report.inputs.append(f"the model {run.model_id} is not in the ledger")
    elif not fallback:
        _verify(report, "the model file", model_path, run.model_sha256)
    stored_path = workspace.root / (run.selection_path or "")
    _verify(report, "the stored selection", stored_path, run.selection_sha256)

    engine_entry = registry.engines.get(run.engine or "")
    if not fallback and engine_entry is None:
        report.inputs.append(f"the engine '{run.engine}' is not installed now")
    elif engine_entry is not None and engine_entry.obj.version != run.engine_version:
        report.versions.append(f"the engine '{run.engine}' was {run.engine_version}, is {engine_entry.obj.version} now")
    now_versions = registry.versions()
    for plugin, version in sorted(run.plugins.items()):
        if now_versions.get(plugin) != version:
            report.versions.append(f"plugin '{plugin}' was {version}, is {now_versions.get(plugin, 'not installed')} now")
    if report.inputs:
        return report

    config = parse_config(json.loads(json.dumps(run.config)), source=f"the configuration recorded with run {run_id}")
    rules = [(r.obj, r.plugin) for r in registry.rules.values()]
    engine = None if fallback else registry.engine(run.engine or "", config.features).obj
    columns = {**CORE_COLUMNS, **rule_columns(rules), **(engine.required_columns if engine else {})}
    must, may = loading_schema(columns, engine) if engine else (columns, {})
    model = None
    try:
        if kept is None:
            kept = load_snapshot(snapshot_path, mapping=config.columns, denylist=config.denylist, schema=must, optional=may).frame
        frame = kept
        if engine is not None:
            frame, _ = impute(kept, engine, path=snapshot_path)  # as the run filled optional inputs
            assert model_path is not None, "a run without its model was reported above"
            model = load_model(model_path, models_dir=workspace.models_dir, expected_sha256=run.model_sha256 or "")
    except NbaError as exc:
        report.inputs.append(exc.message)
        return report
    start, end = week_bounds(run.week)
    policy = Policy.from_config(config)
    contacted = cooldown_contacts(ledger, start, policy.cooldown_weeks, upto=run.contacts_upto)
    # a run from before standing exclusions existed read none: upto 0
    suppressed = standing_exclusions(ledger, start, upto=run.suppressions_upto or 0)
    rule_context = RuleContext(week=run.week, week_start=start, week_end=end, config=config, workspace_root=workspace.root)
    if engine is None:
        customers = eligibility(frame, contacted, rules=rules, rule_context=rule_context, suppressed=suppressed)
        selection = draw(customers, run.capacity or 0, salt=run.salt, run_id=run_id)
    else:
        selection = decide_week(
            frame,
            contacted,
            engine=engine,
            model=model,
            policy=policy,
            suppressed=suppressed,
            rules=rules,
            rule_context=rule_context,
        )
    stored = pl.read_parquet(stored_path)
    report.selection_identical = selection.equals(stored)
    if not report.selection_identical:
        _describe_difference(report, stored, selection)

    if run.status == "exported":
        exporter = registry.exporters.get(config.export.exporter)
        if exporter is None:
            report.versions.append(f"the exporter '{config.export.exporter}' is not installed now")
            report.export_identical = False
            return report
        export_date = date.fromisoformat(ledger.contact_date(run_id) or (run.exported_at or "")[:10])
        excluded = [o["customer_id"] for o in ledger.overrides(run_id) if o["action"] == "exclude"]
        buffer = io.BytesIO()
        exporter.obj.write(
            mail_rows(selection, excluded, campaign_code=config.campaign.code, export_date=export_date),
            buffer,
            config.export,
        )
        report.export_sha256 = hashlib.sha256(buffer.getvalue()).hexdigest()
        report.export_identical = report.export_sha256 == run.export_sha256
    return report


def _verify(report: ReplayReport, what: str, path: Any, recorded: str | None) -> None:
    if path is None or not path.is_file():
        report.inputs.append(f"{what} {path} is missing")
    elif recorded and sha256_of(path) != recorded:
        report.inputs.append(f"{what} {path} was changed after the run (its SHA-256 differs from the one the ledger recorded)")


def _mail_file_problem(path: Any, recorded: str | None) -> str | None:
    """The file the mail program received must still be in exports/ exactly as recorded."""
    if not path.is_file():
        return f"the mail file {path} is missing from exports/"
    if sha256_of(path) != recorded:
        return f"the mail file {path} was changed after the export (its SHA-256 differs from the one the ledger recorded)"
    return None


def _describe_difference(report: ReplayReport, stored: pl.DataFrame, replayed: pl.DataFrame) -> None:
    both = stored.select("customer_id", pl.col("reason").alias("recorded"), pl.col("score").alias("recorded_score")).join(
        replayed.select("customer_id", pl.col("reason").alias("replayed"), pl.col("score").alias("replayed_score")),
        on="customer_id",
        how="full",
        coalesce=True,
    )
    differing = both.filter(
        pl.col("recorded").ne_missing(pl.col("replayed")) | pl.col("recorded_score").ne_missing(pl.col("replayed_score"))
    )
    report.differing_customers = differing.height
    report.differing_sample = differing.head(SAMPLE).to_dicts()
