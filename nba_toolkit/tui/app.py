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
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from nba_toolkit.tui.errors import describe
from nba_toolkit.tui.navigation import SECTIONS
from nba_toolkit.tui.screens.checks import ChecksScreen
from nba_toolkit.tui.screens.config import ConfigScreen
from nba_toolkit.tui.screens.dialogs import ConfirmDialog, ReasonDialog
from nba_toolkit.tui.screens.evaluation import EvaluationScreen
from nba_toolkit.tui.screens.export import ExportScreen
from nba_toolkit.tui.screens.help import HelpScreen
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
from nba_toolkit.tui.settings import load_settings, save_setting
from nba_toolkit.tui.widgets.textbox import TextBox

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
    MODES = {**SCREENS}  # App.MODES holds names or factories of screens; each class makes its screen
    BINDINGS = [
        *(Binding(s.key, f"go('{s.mode}')", f"go to {s.title}", show=False) for s in SECTIONS),
        Binding("f1,question_mark", "help", "this list of keys", show=False),
        Binding("q", "quit", "Quit", show=False),
    ]
    #: the palette's main actions: (title, what it does, section, the screen action it runs there)
    MAIN_ACTIONS = (
        ("Run the week", "go to 2 Run and start the run on the newest snapshot", "run", "start"),
        (
            "Send a random list (no model)",
            "go to 2 Run and draw eligible customers at random, for a week the model cannot be used",
            "run",
            "fallback",
        ),
        ("Approve and export", "go to 5 Export and approve the run shown (asks first)", "export", "approve"),
        ("Find a customer", "go to 4 Review and type a relation number", "review", "lookup"),
    )

    def __init__(self, root: Path, *, today: date | None = None, read_only: bool = False) -> None:
        super().__init__()
        self.session = Session(Path(root).expanduser(), today=today, read_only=read_only)
        self.read_only = read_only
        #: (section, action) a palette command asked for, done once that section has loaded
        self.pending_action: tuple[str, str] | None = None

    def on_mount(self) -> None:
        self.remember_theme()
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

    def go_and_do(self, mode: str, action: str) -> None:
        """Open a section and press one of its keys once it shows its data.

        Every section reloads when it comes into view (also from under the
        palette), and the first of its jobs to finish does the action
        (SectionScreen.do_pending).
        """
        self.pending_action = (mode, action)
        self.go(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            questions = [*ConfirmDialog.BINDINGS, *ReasonDialog.BINDINGS]
            elsewhere = {"In a text box": TextBox.BINDINGS, "In a question or a reason box": questions}
            self.push_screen(HelpScreen(SCREENS, elsewhere))

    def remember_theme(self) -> None:
        """The theme chosen last time comes back, and a new choice is kept for next time (see tui.settings)."""
        saved = load_settings().get("theme")
        if isinstance(saved, str) and saved in self.available_themes:
            self.theme = saved
        self.theme_changed_signal.subscribe(self, self._keep_theme)

    def _keep_theme(self, theme: Any) -> None:
        try:
            save_setting("theme", theme.name)
        except OSError as error:
            self.notify(f"The theme could not be remembered for next time: {error}", severity="warning", markup=False)

    async def action_quit(self) -> None:
        """Quitting during a run asks first; a yes cancels the run and quits once it is recorded as cancelled."""
        if not self.session.running:
            self.exit()
            return
        from nba_toolkit.tui.screens.dialogs import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if not self.session.running:  # the run ended while the question was open
                self.exit()
                return
            self.session.quit_after_run = True
            for screen in self.get_screen_stack("run"):
                if isinstance(screen, RunScreen):
                    screen.action_cancel_run()

        text = (
            "A run is in progress. Quit anyway? The run stops before its next stage, is recorded as cancelled, "
            "and nothing is exported."
        )
        self.push_screen(ConfirmDialog("Quit during a run?", text, yes="Cancel the run and quit", warning=True), answered)

    def warm_up(self) -> None:
        """Load the active model in the background, once per session (see Session.warm_up)."""
        self.run_worker(self.session.warm_up, thread=True, exit_on_error=False, group="warm-up", name="warm-up")

    def report(self, error: BaseException) -> None:
        """Every error reaches the operator as a notice in plain words, never as a traceback."""
        title, message = describe(error)
        self.notify(message, title=title, severity="error", timeout=15, markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Keys and help (F1, ?)", "every key of every screen", self.action_help)
        if self.session.is_workspace():
            for title, help_text, mode, action in self.MAIN_ACTIONS:
                yield SystemCommand(title, help_text, partial(self.go_and_do, mode, action))
            for section in SECTIONS:
                yield SystemCommand(f"Go to {section.title} ({section.key})", section.help, partial(self.go, section.mode))
        yield from super().get_system_commands(screen)


def run_app(root: Path, *, today: date | None = None, read_only: bool = False) -> int:
    NbaApp(root, today=today, read_only=read_only).run()
    return 0
