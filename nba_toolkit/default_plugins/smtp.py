"""The built-in mail notifier: alerts by SMTP when ``[notify.smtp]`` names a host.

The password never sits in nba.toml: ``password_env`` names the environment
variable that holds it, so the configuration file can be backed up, shown
and recorded in the ledger without leaking it. A failure here (server down,
wrong password, variable not set) raises; the toolkit then records the
failure in the outbox next to the alert itself, and the run stays blocked.
"""

from __future__ import annotations

import os
import smtplib
import ssl

from nba_toolkit.config import SmtpConfig, load_config
from nba_toolkit.core.notify import alert_message
from nba_toolkit.plugin import hookimpl


class SmtpNotifier:
    name = "smtp"

    def notify(self, alert, workspace_root):
        settings = load_config(workspace_root / "nba.toml").notify.smtp
        if settings.host:
            send(alert, settings)


def send(alert, settings: SmtpConfig) -> None:
    """Send one alert; STARTTLS before any login when configured."""
    password = None
    if settings.password_env:
        password = os.environ.get(settings.password_env)
        if password is None:
            raise RuntimeError(f"the environment variable {settings.password_env} ([notify.smtp] password_env) is not set")
    message = alert_message(alert, sender=settings.sender, to=settings.to, eight_bit=False)
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as client:
        if settings.starttls:
            client.starttls(context=ssl.create_default_context())
        if settings.username:
            client.login(settings.username, password or "")
        client.send_message(message)


@hookimpl
def nba_register_notifiers(register):
    register(SmtpNotifier())
