"""Helpers for driving the UI with Textual's Pilot (imported by the tests in this folder)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerFailed

from nba_toolkit.tui import app as the_app
from nba_toolkit.tui.app import NbaApp

#: a Monday in the sample's week, so the status screens read the same on any day
SAMPLE_TODAY = (2026, 11, 16)

WARNING_PLUGIN = '''
"""A check that always warns, so a test can acknowledge a warning."""
from nba_toolkit.core.checks import CheckResult
from nba_toolkit.plugin import hookimpl


class AlwaysWarns:
    name = "test_warning"
    stage = "output"
    severity = "warn"
    description = "Warns on every run."

    def run(self, context):
        return CheckResult(
            check=self.name, stage=self.stage, severity=self.severity, passed=False,
            message="A warning the operator must read before export.", measured=1, threshold=0,
            action="Acknowledge it if the week looks right.",
        )


@hookimpl
def nba_register_checks(register):
    register(AlwaysWarns())
'''


async def settle(pilot: Pilot, rounds: int = 400) -> None:
    """Wait until every worker has finished and the screens have handled what the workers posted."""
    app = pilot.app
    for _ in range(rounds):
        try:
            await app.workers.wait_for_complete()
        except WorkerFailed:
            pass  # a job that fails is reported as a notice, which the test reads; waiting on it must not raise
        await pilot.pause()
        if not any(worker.is_running for worker in app.workers):
            await pilot.pause()
            if not any(worker.is_running for worker in app.workers):
                return
    raise AssertionError("the workers did not finish")


async def until(pilot: Pilot, condition: Callable[[], bool], rounds: int = 400) -> None:
    """Wait until ``condition`` holds: a busy machine may take several frames to push a screen or fill one in."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the condition never held")


def text_of(app: App, selector: str) -> str:
    """What a Static shows, as plain text."""
    widget = app.screen.query_one(selector, Static)
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(widget.content)
    return console.file.getvalue()  # type: ignore[attr-defined]


def add_warning_plugin(root: Path) -> None:
    (root / "plugins" / "always_warns.py").write_text(WARNING_PLUGIN, encoding="utf-8")


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", "/": "slash", ".": "full_stop", ",": "comma", ":": "colon"}.get(c, c) for c in text])


class NoticedApp(NbaApp):
    """The real app, keeping every message it showed the operator, so a test reads them without Textual's internals.

    Screens and widgets notify through the app's ``notify``, so overriding it here sees them all.
    """

    CSS_PATH = str(Path(the_app.__file__).with_name(str(NbaApp.CSS_PATH)))  # a subclass reads its CSS beside itself

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[str] = []

    def notify(self, message, **kwargs) -> None:  # type: ignore[override]
        self.notices.append(str(message))
        super().notify(message, **kwargs)
