"""Governance jobs over a workspace: the active model's card."""

from __future__ import annotations

from nba_toolkit.core.governance import read_register
from nba_toolkit.core.model_card import render
from nba_toolkit.core.models import read_sidecar
from nba_toolkit.errors import UsageError
from nba_toolkit.workspace import Workspace


def model_card(workspace: Workspace) -> tuple[str, str]:
    """The active model's id and its card as markdown, from its sidecar and today's register."""
    engine = workspace.config.engine.name
    record = workspace.ledger.active_model(engine)
    if record is None:
        raise UsageError(f"there is no trained model for the engine '{engine}'", hint="Train one with `nba-toolkit train`.")
    sidecar = read_sidecar(workspace.root / record.path)
    return record.model_id, render(sidecar, read_register(workspace.root))
