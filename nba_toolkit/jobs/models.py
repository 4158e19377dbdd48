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
from nba_toolkit.errors import UsageError
from nba_toolkit.workspace import Workspace, operator_name


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
    #: trained with ``train --challenger`` and not promoted yet
    challenger: bool = False
    promoted_by: str | None = None
    promotion_reason: str | None = None

    @property
    def state(self) -> str:
        """Challenger, replaced, or active: approved, awaiting the approval the workspace requires, or needing none."""
        if self.challenger:
            return "challenger"
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
                challenger=record.challenger,
                promoted_by=record.promoted_by,
                promotion_reason=record.promotion_reason,
            )
        )
    return entries


def promote(workspace: Workspace, model_id: str, *, reason: str) -> ModelEntry:
    """Make a challenger (or a model replaced earlier) the one that scores: an explicit act, recorded with who and why.

    The model's checks passed when it was registered; where the workspace
    requires approval it scores only once someone approves it, as any new model.
    """
    if not reason.strip():
        raise UsageError("say why the model is promoted (--reason TEXT); the reason is kept with the promotion")
    record = workspace.ledger.model(model_id)
    if record is None:
        raise UsageError(f"there is no model '{model_id}'", hint="See `nba-toolkit model list`.")
    if record.active:
        raise UsageError(f"the model {model_id} is already the active one")
    if record.engine != workspace.config.engine.name:
        raise UsageError(
            f"the model {model_id} was trained for the engine '{record.engine}', but the workspace runs "
            f"'{workspace.config.engine.name}'",
            hint="Set [engine] name first, or promote a model of the configured engine.",
        )
    workspace.ledger.promote_model(model_id, by=operator_name(), reason=reason.strip())
    return next(entry for entry in model_list(workspace) if entry.model_id == model_id)


def _weeks(pair: Any) -> tuple[str, str] | None:
    return (str(pair[0]), str(pair[1])) if isinstance(pair, (list, tuple)) and len(pair) == 2 else None
