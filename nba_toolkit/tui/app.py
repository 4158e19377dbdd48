"""The operator's terminal UI: one app, one section per step of the week, every job in a background worker.

Start it with ``nba-toolkit`` (the default workspace), ``nba-toolkit ui
--workspace DIR`` or ``nba-toolkit demo``. Sections are Textual modes (see
:mod:`nba_toolkit.tui.navigation`): each keeps its own screen, so going back
to Review finds the page and the customer where they were, refreshed from
the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from nba_toolkit.tui.errors import describe
from nba_toolkit.tui.navigation import SECTIONS
from nba_toolkit.tui.screens.checks import ChecksScreen
from nba_toolkit.tui.screens.config import ConfigScreen
from nba_toolkit.tui.screens.evaluation import EvaluationScreen
from nba_toolkit.tui.screens.export import ExportScreen
from nba_toolkit.tui.screens.home import HomeScreen
from nba_toolkit.tui.screens.model import ModelScreen
from nba_toolkit.tui.screens.plugins import PluginsScreen
from nba_toolkit.tui.screens.residual import ResidualScreen
from nba_toolkit.tui.screens.review import ReviewScreen
from nba_toolkit.tui.screens.run import RunScreen
from nba_toolkit.tui.screens.runs import RunsScreen
from nba_toolkit.tui.screens.simulation import SimulationScreen
from nba_toolkit.tui.screens.welcome import WelcomeScreen
from nba_toolkit.tui.session import Session

SCREENS = {
    "home": HomeScreen,
    "run": RunScreen,
    "checks": ChecksScreen,
    "review": ReviewScreen,
    "export": ExportScreen,
    "config": ConfigScreen,
    "runs": RunsScreen,
    "plugins": PluginsScreen,
    "model": ModelScreen,
    "evaluation": EvaluationScreen,
    "residual": ResidualScreen,
    "simulation": SimulationScreen,
}


class NbaApp(App):
    """``root`` is the workspace folder; ``today`` pins the date the status screens use (for tests);
    ``read_only`` shows everything and refuses every change (an auditor, or a workspace the user cannot write)."""

    CSS_PATH = "app.tcss"
    TITLE = "nba-toolkit"
    MODES = SCREENS
    BINDINGS = [
        *(Binding(s.key, f"go('{s.mode}')", s.title, show=False) for s in SECTIONS),
        Binding("q", "quit", "Quit", show=False),
    ]

    def __init__(self, root: Path, *, today: date | None = None, read_only: bool = False) -> None:
        super().__init__()
        self.session = Session(Path(root).expanduser(), today=today, read_only=read_only)
        self.read_only = read_only

    def on_mount(self) -> None:
        if self.read_only:
            self.notify("Read only: you can look at everything; nothing can be changed.", title="Read only", timeout=10)
        if self.session.is_workspace():
            self.open_sections()
        else:
            self.push_screen(WelcomeScreen())

    def open_sections(self) -> None:
        self.switch_mode("home")

    def action_go(self, mode: str) -> None:
        if isinstance(self.screen, ModalScreen) or not self.session.is_workspace():
            return
        self.go(mode)

    def go(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def warm_up(self) -> None:
        """Load the active model in the background, once per session (see Session.warm_up)."""
        self.run_worker(self.session.warm_up, thread=True, exit_on_error=False, group="warm-up", name="warm-up")

    def report(self, error: BaseException) -> None:
        """Every error reaches the operator as a notice in plain words, never as a traceback."""
        title, message = describe(error)
        self.notify(message, title=title, severity="error", timeout=15, markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if self.session.is_workspace():
            for section in SECTIONS:
                yield SystemCommand(f"Go to {section.title} ({section.key})", section.help, partial(self.go, section.mode))
        yield from super().get_system_commands(screen)


def run_app(root: Path, *, today: date | None = None, read_only: bool = False) -> int:
    NbaApp(root, today=today, read_only=read_only).run()
    return 0
