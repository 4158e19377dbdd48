"""Alerts about blocked or failed runs, the notifier contract, and delivering to every notifier.

Mail can fail silently, so every alert is also written to the workspace's
``outbox/`` as an ``.eml`` file any mail client opens, and the run's status
is in the ledger, where the app shows it. A notifier that fails never hides
the alert: the failure is written to the outbox as an alert of its own
(``...-undelivered.eml``), carrying the original text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol, runtime_checkable

from nba_toolkit.core.files import atomic_write_bytes

OUTBOX_SENDER = "nba-toolkit <nba-toolkit@localhost>"
OUTBOX_RECIPIENT = "operator <operator@localhost>"
UNDELIVERED = "undelivered"


@dataclass(frozen=True)
class Alert:
    run_id: str
    week: str
    status: str  # blocked | failed | undelivered
    subject: str
    body: str


@runtime_checkable
class Notifier(Protocol):
    name: str

    def notify(self, alert: Alert, workspace_root: Path) -> None: ...


def alert_text(alert: Alert) -> str:
    return f"Run: {alert.run_id}\nWeek: {alert.week}\nStatus: {alert.status}\n\n{alert.body}\n"


def alert_message(alert: Alert, *, sender: str, to: Sequence[str], eight_bit: bool) -> EmailMessage:
    """The alert as an e-mail. ``eight_bit`` keeps UTF-8 text readable in the file; mail servers get 7-bit safe text."""
    text = alert_text(alert)
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="nba-toolkit.local")
    message["X-NBA-Run"] = alert.run_id
    message["X-NBA-Status"] = alert.status
    short_lines = all(len(line.encode("utf-8")) < 990 for line in text.splitlines())
    if text.isascii() and short_lines:
        message.set_content(text, cte="7bit")
    else:
        message.set_content(text, cte="8bit" if eight_bit and short_lines else "quoted-printable")
    return message


def write_outbox(alert: Alert, workspace_root: Path) -> Path:
    """One ``.eml`` file per alert in ``outbox/``, readable only by the workspace's owner."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = workspace_root / "outbox" / f"{stamp}-{alert.run_id}-{alert.status}.eml"
    message = alert_message(alert, sender=OUTBOX_SENDER, to=[OUTBOX_RECIPIENT], eight_bit=True)
    atomic_write_bytes(path, message.as_bytes(), mode=0o600)
    return path


def deliver(alert: Alert, notifiers: Iterable[tuple[str, Notifier]], workspace_root: Path) -> list[str]:
    """Hand the alert to every notifier; return the failures, each also written to the outbox.

    Never raises: the caller is already reporting a blocked or failed run,
    and a broken mail server must not replace that message with its own.
    """
    failures = []
    for name, notifier in notifiers:
        try:
            notifier.notify(alert, workspace_root)
        except Exception as exc:  # noqa: BLE001 - any notifier failure is recorded, none hides the alert
            failures.append(f"the notifier '{name}' failed: {type(exc).__name__}: {exc}")
    if failures:
        note = Alert(
            run_id=alert.run_id,
            week=alert.week,
            status=UNDELIVERED,
            subject=f"nba-toolkit: the alert about run {alert.run_id} could not be sent everywhere",
            body="\n".join(failures)
            + "\n\nThe alert that could not be sent follows. Fix the notifier (see [notify] in nba.toml).\n\n"
            + f"Subject: {alert.subject}\n\n{alert.body}",
        )
        try:
            write_outbox(note, workspace_root)
        except OSError:
            pass  # the outbox itself is unwritable; the ledger still records the run's status
    return failures


def undelivered_alerts(workspace_root: Path) -> list[Path]:
    """The outbox notes about alerts a notifier could not send, oldest first."""
    folder = workspace_root / "outbox"
    return sorted(folder.glob(f"*-{UNDELIVERED}.eml")) if folder.is_dir() else []
