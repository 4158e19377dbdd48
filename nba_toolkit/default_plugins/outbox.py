"""The built-in notifier: every alert as an ``.eml`` file in the workspace's ``outbox/``.

Always on, so an alert exists even when no mail server is configured or the
mail is lost; the operator, any mail client and the app can read the folder.
"""

from __future__ import annotations

from nba_toolkit.core.notify import write_outbox
from nba_toolkit.plugin import hookimpl


class OutboxNotifier:
    name = "outbox"

    def notify(self, alert, workspace_root):
        write_outbox(alert, workspace_root)


@hookimpl
def nba_register_notifiers(register):
    register(OutboxNotifier())
