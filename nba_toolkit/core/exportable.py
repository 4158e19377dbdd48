"""Whether a run may be exported: the one list of reasons the export refuses and its preview shows.

The export (jobs/export.py) stops at the first reason; the Export screen's
preview lists them all before the operator is asked to confirm. Both read
them here, so the screen never calls "ready" a run the export refuses (an
acceptance run, say). The week itself is claimed inside the export's ledger
transaction; these are the reasons a person can read before that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nba_toolkit.core.acknowledgements import pending_warnings
from nba_toolkit.core.recorded_review import recorded_review

if TYPE_CHECKING:
    from nba_toolkit.ledger.store import Ledger, RunRecord


@dataclass(frozen=True)
class Refusal:
    message: str
    hint: str | None = None


def export_refusals(ledger: Ledger, run: RunRecord, *, allow_unreviewed: bool = False) -> list[Refusal]:
    """Every reason the run cannot be exported now, most final first; empty when it can.

    ``allow_unreviewed`` is ``[governance] allow_unreviewed_export``: a scheduled job may export a run
    nobody looked at (it is then marked unreviewed in the ledger).
    """
    run_id = run.run_id
    if run.status == "exported":
        return [Refusal(f"run {run_id} was already exported on {run.exported_at} to {run.export_path}; a run is exported once")]
    if run.kind == "acceptance":
        return [Refusal(f"run {run_id} is an acceptance (dry) run; it can never be exported")]
    if run.status == "withdrawn":
        return [
            Refusal(
                f"run {run_id} was withdrawn by {run.withdrawn_by} at {run.withdrawn_at} ({run.withdrawn_reason}); "
                "it can never be exported"
            )
        ]
    if run.status != "awaiting_approval":
        return [Refusal(f"run {run_id} is {run.status.replace('_', ' ')} and cannot be exported", hint=run.error)]
    refusals = []
    earlier = ledger.exported_run_for_week(run.week)
    if earlier:
        refusals.append(Refusal(f"{run.week} was already exported by run {earlier}; a week is mailed once"))
    blocking = [
        c.check_name
        for c in ledger.check_results(run_id)
        if c.status == "error" or (c.status == "fail" and c.severity == "block")
    ]
    if blocking:
        refusals.append(Refusal(f"run {run_id} has blocking check results and cannot be exported: {', '.join(blocking)}"))
    pending = pending_warnings(ledger, run_id)
    if pending:
        names = ", ".join(dict.fromkeys(c.check_name for c in pending))
        listed = "; ".join(f"{c.check_name}: {c.message}" for c in pending)
        refusals.append(
            Refusal(
                f"warnings not acknowledged yet: {names} (run {run_id} has warnings nobody has acknowledged: {listed})",
                hint=f"Read them with `nba-toolkit checks {run_id}`, then acknowledge each with "
                f'`nba-toolkit acknowledge {run_id} CHECK --note "why it is fine"` (or on the Checks screen).',
            )
        )
    if not allow_unreviewed and not recorded_review(ledger, run_id).reviewed:
        refusals.append(
            Refusal(
                f"nobody has reviewed run {run_id} yet: no look at its list or at a customer is recorded",
                hint=f"Look at it on the Review screen, or with `nba-toolkit review {run_id}` and "
                f"`nba-toolkit customer {run_id} ID`, then export. A scheduled job that exports without a person "
                "needs `allow_unreviewed_export = true` under [governance] in nba.toml.",
            )
        )
    return refusals
