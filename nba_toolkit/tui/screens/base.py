"""What every section screen shares: the navigation bar, the footer, and how job results come back.

Jobs run in thread workers. When one ends, Textual posts its state change
back to the screen; this base class hands a result to :meth:`job_done` and
turns an error into a readable notice, in one place for every screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from nba_toolkit.tui.widgets.navbar import NavBar

if TYPE_CHECKING:
    from nba_toolkit.tui.app import NbaApp
    from nba_toolkit.tui.session import Session


class SectionScreen(Screen):
    #: the mode this screen belongs to (see navigation.SECTIONS)
    SECTION = ""

    @property
    def nba(self) -> NbaApp:
        # Textual types Screen.app as App[object]; the toolkit's screens only run in NbaApp
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> Session:
        return self.nba.session

    def compose(self) -> ComposeResult:
        yield NavBar(self.SECTION)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the navigation bar and the footer.

        Every screen defines it; a screen that forgot would otherwise show an
        empty page without a word, so the omission fails loudly instead.
        """
        raise NotImplementedError(f"{type(self).__name__} must define compose_body()")

    def on_screen_resume(self) -> None:
        """Coming back to a screen shows the ledger as it is now, not as it was."""
        self.reload()

    def reload(self) -> None:
        """Start the job that fetches what this screen shows."""

    def job_done(self, name: str, result: Any) -> None:
        """A job of this screen finished; show its result."""

    def job_failed(self, name: str, error: BaseException) -> None:
        """A job of this screen failed (already reported as a notice)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.SUCCESS:
            self.job_done(worker.name, worker.result)
        elif event.state == WorkerState.ERROR and worker.error is not None:
            self.nba.report(worker.error)
            self.job_failed(worker.name, worker.error)
        if worker.is_finished:
            self.do_pending()

    def do_pending(self) -> None:
        """Do the action a palette command asked of this screen, once none of its jobs is still loading.

        "Run the week" must start on the snapshot the screen lists, and
        "Approve and export" must approve the run it shows, not act on an
        empty screen that is still loading.
        """
        pending = self.nba.pending_action
        if pending is None or pending[0] != self.SECTION or self.app.screen is not self:
            return
        if any(worker.node is self and not worker.is_finished for worker in self.app.workers):
            return
        self.nba.pending_action = None
        self.call_next(self.run_action, pending[1])


def degraded_text(degraded: dict[str, dict[str, Any]]) -> Text:
    """'Degraded' with what was filled in, with what, for how many customers: the same words on every screen."""
    from nba_toolkit.core.degraded import describe

    text = Text()
    text.append("Degraded: ", style="bold yellow")
    text.append("scored with stand-ins for missing optional inputs: " + "; ".join(describe(degraded)) + ".\n", style="yellow")
    return text
