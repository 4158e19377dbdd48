"""Warnings a person has read and accepted before a run may be exported (R-C2).

A warning does not stop the run, because some weeks are unusual for a good
reason (a bad market mails few people). But nothing leaves the workspace on
a warning nobody read: each failed warning of a run must be acknowledged by
check name, and the ledger records who did so, when, and with what note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nba_toolkit.errors import UsageError

if TYPE_CHECKING:
    from nba_toolkit.ledger.store import Ledger, StoredCheckResult


def is_warning(result: StoredCheckResult) -> bool:
    return result.status == "fail" and result.severity == "warn"


def warnings(ledger: Ledger, run_id: str) -> list[StoredCheckResult]:
    """The run's failed warnings, in the order they were recorded."""
    return [c for c in ledger.check_results(run_id) if is_warning(c)]


def pending_warnings(ledger: Ledger, run_id: str) -> list[StoredCheckResult]:
    """The failed warnings nobody has acknowledged yet."""
    done = ledger.acknowledgements(run_id)
    return [c for c in warnings(ledger, run_id) if c.check_name not in done]


def acknowledge(ledger: Ledger, run_id: str, check: str, *, by: str, note: str | None = None) -> None:
    """Record that ``by`` read the warning of ``check`` on this run and accepts it."""
    run = ledger.run(run_id)
    names = list(dict.fromkeys(c.check_name for c in warnings(ledger, run_id)))
    if check not in names:
        raise UsageError(
            f"run {run_id} has no warning from a check called '{check}'",
            hint=f"Its warnings: {', '.join(names)}." if names else "It has no warnings to acknowledge.",
        )
    if run.status != "awaiting_approval":
        raise UsageError(f"run {run_id} is {run.status}; only the warnings of a run awaiting approval can be acknowledged")
    ledger.acknowledge(run_id, check, by=by, note=note)


def acknowledge_all(ledger: Ledger, run_id: str, *, by: str, note: str) -> list[str]:
    """Acknowledge every pending warning of the run at once; return the check names."""
    names = list(dict.fromkeys(c.check_name for c in pending_warnings(ledger, run_id)))
    for name in names:
        acknowledge(ledger, run_id, name, by=by, note=note)
    return names
