"""Shown when the folder is not a workspace yet: how to make one, or make the sample one right here.

A typo'd --workspace path or the user's default workspace must not quietly
become a sample workspace: ``s`` asks first, and says which of the two it is.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from nba_toolkit.tui.screens.dialogs import ConfirmDialog
from nba_toolkit.tui.screens.home import shorten_home


class WelcomeScreen(Screen):
    BINDINGS = [
        Binding("s", "sample", "Create the sample workspace here"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
        root = self.app.session.root  # type: ignore[attr-defined]
        text = Text()
        text.append("nba-toolkit\n\n", style="bold")
        if root.is_dir():
            text.append(f"{shorten_home(root)} is not a workspace yet (it has no nba.toml).\n\n")
        else:
            text.append(f"{shorten_home(root)} is not a workspace yet: there is no such folder.\n", style="bold")
            text.append("Check the path for a typo (--workspace DIR, or $NBA_TOOLKIT_HOME) and start again.\n\n")
        text.append("To set up your own, quit and run\n")
        text.append(f"    nba-toolkit init {root}\n", style="bold")
        text.append("then map your extract's columns in nba.toml, put the history and outcomes in data/, and train.\n\n")
        text.append("To try things out, quit and run nba-toolkit demo (the sample in a folder of its own), or press s: ")
        text.append("the sample workspace is created here, with synthetic data, after you confirm.")
        with VerticalScroll(id="welcome"):
            yield Static(text, id="welcome-text")
            yield Static("", id="welcome-progress")
        yield Footer()

    def action_sample(self) -> None:
        # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
        root = self.app.session.root  # type: ignore[attr-defined]

        def answered(yes: bool | None) -> None:
            if yes:
                self.start_sample()

        caution = sample_caution(root)
        text = f"Create the sample workspace, with synthetic data and a trained engine, in {root}?"
        self.app.push_screen(
            ConfirmDialog("Sample workspace", text + (f"\n\n{caution}" if caution else ""), yes="Create", warning=bool(caution)),
            answered,
        )

    def start_sample(self) -> None:
        self.query_one("#welcome-progress", Static).update(
            Text("Creating the sample workspace and training the engine…", style="yellow")
        )
        self.create_sample()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sample", name="sample")
    def create_sample(self) -> str:
        from nba_toolkit.jobs.train import train
        from nba_toolkit.plugin.manager import load_plugins
        from nba_toolkit.workspace import init_workspace

        # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
        workspace = init_workspace(self.app.session.root, sample=True)  # type: ignore[attr-defined]
        try:
            trained = train(workspace, load_plugins(workspace.plugin_folders(), disabled=workspace.config.plugins.disabled))
        finally:
            workspace.close()
        return trained.model_id

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS:
            self.notify(f"Sample workspace created; model {event.worker.result} trained.")
            # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
            self.app.open_sections()  # type: ignore[attr-defined]
        elif event.state == WorkerState.ERROR and event.worker.error is not None:
            self.query_one("#welcome-progress", Static).update("")
            # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
            self.app.report(event.worker.error)  # type: ignore[attr-defined]


def sample_caution(root: Path) -> str:
    """What the operator should know before the sample lands in ``root``: a folder that does not exist
    (a typo?) or the default workspace (where the real weekly work belongs)."""
    from nba_toolkit.paths import default_workspace

    if root.expanduser().resolve() == default_workspace().expanduser().resolve():
        return (
            "This is your default workspace, where the real weekly work belongs: the sample would take its place. "
            "`nba-toolkit demo` keeps the sample in a folder of its own."
        )
    if not root.exists():
        return f"There is no folder {root} yet. If the path has a typo, answer n and start again with the right one."
    return ""
