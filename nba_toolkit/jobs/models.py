"""Every model the workspace trained: when, on which weeks, how well it ranked out of time, and which one scores.

After a year of retraining the question "which model mailed in March, and was
it better than today's?" needs the list, not just the active model. Each
entry comes from the ledger's model record (what was registered, with its
validation figures) and the model's own sidecar (its training and validation
weeks); a sidecar that cannot be read leaves the weeks unknown rather than
hiding the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from nba_toolkit.core.review import model_age_days, model_sidecar
from nba_toolkit.workspace import Workspace


@dataclass(frozen=True)
class ModelEntry:
    model_id: str
    engine: str
    engine_version: str
    trained_at: str
    trained_by: str
    age_days: int
    #: first and last training week, first and last validation week; None when the sidecar cannot be read
    train_weeks: tuple[str, str] | None
    validation_weeks: tuple[str, str] | None
    #: out of time: AUC within the week (the ranking the selection uses), the lift at capacity and its range
    auc_within_week: float | None
    lift_at_capacity: float | None
    lift_range: tuple[float, float] | None
    active: bool
    approved_by: str | None
    approved_at: str | None
    #: [governance] require_model_approval: the active model scores only once someone approved it
    approval_required: bool

    @property
    def state(self) -> str:
        """Replaced, or active: approved, awaiting the approval the workspace requires, or needing none."""
        if not self.active:
            return "replaced"
        if self.approved_by:
            return f"active, approved by {self.approved_by}"
        return "active, awaiting approval" if self.approval_required else "active"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


def model_list(workspace: Workspace, *, today: date | None = None) -> list[ModelEntry]:
    """Every registered model, newest first."""
    day = today or date.today()
    required = workspace.config.governance.require_model_approval
    entries = []
    for record in workspace.ledger.models():
        sidecar = model_sidecar(workspace.root, record.path)
        window = sidecar.get("training_window") or {}
        oot = record.metrics.get("out_of_time") or {}
        lift_range = oot.get("lift_at_capacity_range")
        entries.append(
            ModelEntry(
                model_id=record.model_id,
                engine=record.engine,
                engine_version=record.engine_version,
                trained_at=record.trained_at,
                trained_by=record.trained_by,
                age_days=model_age_days(record.trained_at, day),
                train_weeks=_weeks(window.get("train")),
                validation_weeks=_weeks(window.get("validation")),
                auc_within_week=oot.get("auc_within_week"),
                lift_at_capacity=oot.get("lift_at_capacity"),
                lift_range=tuple(lift_range) if lift_range else None,
                active=record.active,
                approved_by=record.approved_by,
                approved_at=record.approved_at,
                approval_required=required,
            )
        )
    return entries


def _weeks(pair: Any) -> tuple[str, str] | None:
    return (str(pair[0]), str(pair[1])) if isinstance(pair, (list, tuple)) and len(pair) == 2 else None
