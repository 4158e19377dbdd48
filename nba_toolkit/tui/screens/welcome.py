"""Shown when the folder is not a workspace yet: how to make one, or make the sample one right here."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from nba_toolkit.tui.screens.home import shorten_home


class WelcomeScreen(Screen):
    BINDINGS = [
        Binding("s", "sample", "Create the sample workspace here"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        root = self.app.session.root  # type: ignore[attr-defined]
        text = Text()
        text.append("nba-toolkit\n\n", style="bold")
        text.append(f"{shorten_home(root)} is not a workspace yet (it has no nba.toml).\n\n")
        text.append("To set up your own, quit and run\n")
        text.append(f"    nba-toolkit init {root}\n", style="bold")
        text.append("then map your extract's columns in nba.toml, put the history and outcomes in data/, and train.\n\n")
        text.append("To try things out, press s: the sample workspace is created here, with synthetic data, ")
        text.append("and the default engine is trained on it (about ten seconds).")
        with VerticalScroll(id="welcome"):
            yield Static(text, id="welcome-text")
            yield Static("", id="welcome-progress")
        yield Footer()

    def action_sample(self) -> None:
        self.query_one("#welcome-progress", Static).update(
            Text("Creating the sample workspace and training the engine…", style="yellow")
        )
        self.create_sample()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sample", name="sample")
    def create_sample(self) -> str:
        from nba_toolkit.jobs.train import train
        from nba_toolkit.plugin.manager import load_plugins
        from nba_toolkit.workspace import init_workspace

        workspace = init_workspace(self.app.session.root, sample=True)  # type: ignore[attr-defined]
        try:
            trained = train(workspace, load_plugins(workspace.plugin_folders(), disabled=workspace.config.plugins.disabled))
        finally:
            workspace.close()
        return trained.model_id

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS:
            self.notify(f"Sample workspace created; model {event.worker.result} trained.")
            self.app.open_sections()  # type: ignore[attr-defined]
        elif event.state == WorkerState.ERROR and event.worker.error is not None:
            self.query_one("#welcome-progress", Static).update("")
            self.app.report(event.worker.error)  # type: ignore[attr-defined]
