"""Alerts reach a real SMTP server on loopback; a failing one never hides the blocked run."""

from __future__ import annotations

import email
import json
import socket
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from nba_toolkit.cli import main
from nba_toolkit.core.notify import Alert, deliver, undelivered_alerts, write_outbox
from nba_toolkit.paths import sample_data_dir
from nba_toolkit.workspace import Workspace

CRASH = sample_data_dir() / "scenarios" / "market_crash_2026-W47.parquet"


class Inbox:
    """An aiosmtpd handler that keeps what it receives, and the logins it saw."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=auth_data.password == b"s3cret")
        return AuthResult(success=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def configure_smtp(ws: Workspace, port: int, *, extra: str = "") -> None:
    ws.config_path.write_text(
        ws.config_path.read_text()
        + f'\n[notify.smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\nfrom = "nba-toolkit@bank.example"\n'
        + f'to = ["analyst@bank.example", "developers@bank.example"]\n{extra}'
    )


def run_crash(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    code = main(["run", "--workspace", str(ws.root), "--snapshot", str(CRASH), "--json"])
    assert code == 3
    return json.loads(capsys.readouterr().out)


def test_blocked_run_is_mailed(
    smtp_server: tuple[Inbox, int],
    sample_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, port = smtp_server
    ws = sample_workspace
    monkeypatch.setenv("NBA_TEST_SMTP_PASSWORD", "s3cret")
    configure_smtp(ws, port, extra='username = "nba"\npassword_env = "NBA_TEST_SMTP_PASSWORD"\n')
    assert "s3cret" not in ws.config_path.read_text()
    run = run_crash(ws, capsys)

    [message] = inbox.messages
    assert inbox.envelopes == [("nba-toolkit@bank.example", ["analyst@bank.example", "developers@bank.example"])]
    assert inbox.logins == [("nba", "s3cret")], "the password came from the environment variable"
    body = message.get_content()
    assert run["run_id"] in message["Subject"] and "market_regime" in message["Subject"]
    assert f"Run: {run['run_id']}" in body and "- market_regime (block, fail)" in body
    assert "people must take the wheel" in body and "What to do: Do not mail on the model's advice" in body
    # the outbox has the same alert, and nothing says a notifier failed
    [alert] = (ws.root / "outbox").iterdir()
    assert "market_regime" in alert.read_text(encoding="utf-8")
    assert not undelivered_alerts(ws.root)


def test_failing_mail_server_does_not_hide_the_block(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    configure_smtp(ws, free_port())  # nothing listens there
    run = run_crash(ws, capsys)
    assert run["status"] == "blocked" and Workspace.open(ws.root).ledger.run(run["run_id"]).status == "blocked"
    files = sorted(p.name for p in (ws.root / "outbox").iterdir())
    assert [name.rsplit("-", 1)[1] for name in files] == ["blocked.eml", "undelivered.eml"]
    [note] = undelivered_alerts(ws.root)
    text = note.read_text(encoding="utf-8")
    assert "the notifier 'smtp' failed" in text and "ConnectionRefusedError" in text
    assert "market_regime" in text, "the note carries the alert that could not be sent"
    capsys.readouterr()
    assert main(["status", "--workspace", str(ws.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["undelivered_alerts"] == [note.name]


def test_missing_password_variable_is_recorded(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sample_workspace
    monkeypatch.delenv("NBA_TEST_SMTP_PASSWORD", raising=False)
    configure_smtp(ws, free_port(), extra='username = "nba"\npassword_env = "NBA_TEST_SMTP_PASSWORD"\n')
    run_crash(ws, capsys)
    [note] = undelivered_alerts(ws.root)
    assert "NBA_TEST_SMTP_PASSWORD" in note.read_text(encoding="utf-8")


def test_password_in_the_config_is_refused(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    configure_smtp(ws, 25, extra='password = "s3cret"\n')
    capsys.readouterr()
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 4
    assert "must not hold the password" in json.loads(capsys.readouterr().out)["error"]


def test_deliver_records_each_failing_notifier(tmp_path: Path) -> None:
    class Broken:
        name = "pager"

        def notify(self, alert: Alert, root: Path) -> None:
            raise OSError("no route to host")

    class Outbox:
        name = "outbox"

        def notify(self, alert: Alert, root: Path) -> None:
            write_outbox(alert, root)

    alert = Alert(
        run_id="2026-W47.1", week="2026-W47", status="blocked", subject="run blocked", body="Zoë's week: freshness failed"
    )
    failures = deliver(alert, [("outbox", Outbox()), ("pager", Broken())], tmp_path)
    assert failures == ["the notifier 'pager' failed: OSError: no route to host"]
    sent, note = sorted((tmp_path / "outbox").iterdir())
    readable = email.message_from_bytes(sent.read_bytes(), policy=policy.default)
    assert readable["Subject"] == "run blocked" and "Zoë's week" in readable.get_content()
    assert "Zoë's week" in sent.read_text(encoding="utf-8"), "the file reads as text too"
    assert note.name.endswith("-undelivered.eml") and "pager" in note.read_text(encoding="utf-8")
