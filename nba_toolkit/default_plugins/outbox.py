"""The built-in notifier: every alert as a text file in the workspace's ``outbox/``.

Always on, so an alert exists even when no mail server is configured or the
mail is lost; the operator and the app can read the folder.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nba_toolkit.core.files import atomic_write_bytes
from nba_toolkit.core.notify import alert_text
from nba_toolkit.plugin import hookimpl


class OutboxNotifier:
    name = "outbox"

    def notify(self, alert, workspace_root):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = workspace_root / "outbox" / f"{stamp}-{alert.run_id}-{alert.status}.txt"
        atomic_write_bytes(path, alert_text(alert).encode("utf-8"), mode=0o600)


@hookimpl
def nba_register_notifiers(register):
    register(OutboxNotifier())
