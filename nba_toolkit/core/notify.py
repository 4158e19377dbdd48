"""Alerts about blocked or failed runs, and the notifier contract.

Mail can fail silently, so every alert is also written to the workspace's
``outbox/`` and the run's status is in the ledger, where the app shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Alert:
    run_id: str
    week: str
    status: str  # blocked | failed
    subject: str
    body: str


@runtime_checkable
class Notifier(Protocol):
    name: str

    def notify(self, alert: Alert, workspace_root: Path) -> None: ...


def alert_text(alert: Alert) -> str:
    return f"Subject: {alert.subject}\nRun: {alert.run_id}\nWeek: {alert.week}\nStatus: {alert.status}\n\n{alert.body}\n"
