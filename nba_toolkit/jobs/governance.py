"""Governance jobs over a workspace: the active model's card and its approval for weekly runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nba_toolkit.core.governance import read_register
from nba_toolkit.core.model_card import render
from nba_toolkit.core.models import read_sidecar
from nba_toolkit.errors import UsageError
from nba_toolkit.ledger.store import ModelRecord
from nba_toolkit.workspace import Workspace, operator_name


def model_card(workspace: Workspace) -> tuple[str, str]:
    """The active model's id and its card as markdown, from its sidecar and today's register."""
    engine = workspace.config.engine.name
    record = workspace.ledger.active_model(engine)
    if record is None:
        raise UsageError(f"there is no trained model for the engine '{engine}'", hint="Train one with `nba-toolkit train`.")
    sidecar = read_sidecar(workspace.root / record.path)
    governance = workspace.config.governance
    return record.model_id, render(sidecar, read_register(workspace.root), owner=governance.owner, contacts=governance.contacts)


def model_checks(workspace: Workspace, record: ModelRecord) -> list[dict[str, Any]]:
    """Every model-check result of the model's training, as its sidecar keeps them."""
    return list(read_sidecar(workspace.root / record.path).get("checks") or [])


def approve_model(workspace: Workspace, *, note: str | None = None, acknowledged: Mapping[str, str] | None = None) -> ModelRecord:
    """Sign the active model off for weekly runs, after its acceptance runs; recorded and audited.

    The approver is the logged-in user, never a name typed in: otherwise
    whoever trained the model could sign it off as someone else. ``note``
    (``--by``) is kept with the approval as text. Whoever signs off sees
    every model check (the command shows them), and each warning must be
    acknowledged by name with a note, as a run's warnings are before export.
    """
    by = operator_name()
    engine = workspace.config.engine.name
    governance = workspace.config.governance
    ledger = workspace.ledger
    record = ledger.active_model(engine)
    if record is None:
        raise UsageError(f"there is no trained model for the engine '{engine}'", hint="Train one with `nba-toolkit train`.")
    if record.approved_by:
        raise UsageError(f"the model {record.model_id} was already approved by {record.approved_by} on {record.approved_at}")
    accepted = ledger.acceptance_runs(record.model_id)
    if len(accepted) < governance.acceptance_runs:
        raise UsageError(
            f"the model {record.model_id} has {len(accepted)} acceptance run(s); the workspace asks for "
            f"{governance.acceptance_runs} before approval",
            hint="Run it on this week's real data with `nba-toolkit run --dry-run` and review the result first.",
        )
    if governance.four_eyes and by.strip().lower() == record.trained_by.strip().lower():
        raise UsageError(
            f"four eyes: you ({by}) trained the model {record.model_id}, so another person must approve it, "
            "logged in as themselves"
        )
    given = {name: text.strip() for name, text in (acknowledged or {}).items()}
    warnings = [c["check"] for c in model_checks(workspace, record) if c["status"] != "pass" and c["severity"] == "warn"]
    unknown = sorted(set(given) - set(warnings))
    if unknown:
        raise UsageError(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a warning of the model {record.model_id}",
            hint=f"Its warnings: {', '.join(warnings) or 'none'}.",
        )
    missing = [name for name in warnings if not given.get(name)]
    if missing:
        raise UsageError(
            f"the model {record.model_id} has model-check warnings that nobody acknowledged: {', '.join(missing)}",
            hint="Read them (`nba-toolkit model card`), then acknowledge each by name with a note: "
            + " ".join(f'--acknowledge {name} "why it is acceptable"' for name in missing),
        )
    ledger.approve_model(record.model_id, by=by, note=note.strip() if note and note.strip() else None, acknowledged=given or None)
    approved = ledger.model(record.model_id)
    assert approved is not None, "the model was just approved in the ledger"
    return approved
