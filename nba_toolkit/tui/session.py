"""What every screen shares: the workspace folder, the loaded plugins, the run being worked on.

Screens do their work in thread workers, and a SQLite connection belongs to
the thread that opened it, so each job opens its own handle on the workspace
with :meth:`Session.workspace` and closes it when done. Only the first
handle of the session sweeps runs left 'running' by a process that died: a
later sweep would mark this session's own run in flight as interrupted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nba_toolkit.plugin.manager import Registry
    from nba_toolkit.workspace import Workspace


@dataclass
class Session:
    root: Path
    #: the day the status screens take as today; None is the real date (tests pin it)
    today: date | None = None
    #: the run Checks, Review and Export show; None means the run that awaits the operator
    run_id: str | None = None
    #: look, never change: the ledger is read as it is and every change is refused with a message
    read_only: bool = False
    #: a run is in progress on the Run screen (quitting then asks first)
    running: bool = False
    #: the operator chose to quit during a run: the app ends once the cancelled run is recorded
    quit_after_run: bool = False
    _registry: Registry | None = None
    _swept: bool = False
    _warmed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def is_workspace(self) -> bool:
        return (self.root / "nba.toml").is_file()

    @contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """A workspace handle with a ledger connection of the calling thread's own."""
        from nba_toolkit.ledger.store import Ledger
        from nba_toolkit.workspace import Workspace

        workspace = Workspace.open(self.root, read_only=self.read_only)
        if self.read_only:
            try:
                yield workspace
            finally:
                workspace.close()
            return
        with self._lock:
            if not self._swept:
                _ = workspace.ledger  # the normal opening: runs of a dead process are marked failed
                self._swept = True
        if "ledger" not in workspace.__dict__:
            workspace.__dict__["ledger"] = Ledger.open(workspace.root / "ledger.sqlite")
        try:
            yield workspace
        finally:
            workspace.close()

    def registry(self, workspace: Workspace) -> Registry:
        """The plugins, loaded once per session (loading imports every plugin file)."""
        from nba_toolkit.plugin.manager import load_plugins

        with self._lock:
            if self._registry is None:
                self._registry = load_plugins(workspace.plugin_folders(), disabled=workspace.config.plugins.disabled)
            return self._registry

    def warm_up(self) -> None:
        """Load the active model once per session, ahead of the first run.

        Loading it imports scikit-learn (or whatever the engine's model is
        made of), which takes about a second; done while the operator picks a
        snapshot, the run's score stage no longer waits for it. A problem
        with the model is left for the run to report, in its own words.
        """
        from nba_toolkit.core.models import load_model
        from nba_toolkit.errors import NbaError

        with self._lock:
            if self._warmed:
                return
            self._warmed = True
        with self.workspace() as workspace:
            try:
                engine = self.registry(workspace).engine(workspace.config.engine.name, workspace.config.features).obj
                record = workspace.ledger.active_model(engine.name)
                if record is not None:
                    load_model(workspace.root / record.path, models_dir=workspace.models_dir, expected_sha256=record.sha256)
            except NbaError:
                return

    def run_to_show(self, workspace: Workspace) -> str | None:
        """The run chosen on the Runs or Run screen, else the one that awaits the operator (never a failed,
        cancelled or withdrawn one; see core.review.run_awaiting_operator)."""
        from nba_toolkit.core.review import run_awaiting_operator

        if self.run_id:
            return self.run_id
        return run_awaiting_operator(workspace.ledger.runs())
