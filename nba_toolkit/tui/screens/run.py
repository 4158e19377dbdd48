"""Run: pick a snapshot and run the week, stage by stage, with the time each stage took; cancel at any time.

The run itself is :func:`nba_toolkit.jobs.run.run_week` in a thread worker;
``f`` asks for a size and draws a fallback list instead
(:func:`nba_toolkit.jobs.fallback.run_fallback`: eligible customers at random,
no model), for a week the engine is off or the model cannot be used.
Cancelling sets the event it checks between stages: the run stops before
the next stage, is recorded as cancelled, and nothing is written. A week
that already has a run awaiting approval is run again only after the
operator confirms it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Label, ProgressBar, Select, Static

from nba_toolkit.tui.screens.base import SectionScreen, degraded_text
from nba_toolkit.tui.screens.dialogs import ConfirmDialog, SizeDialog
from nba_toolkit.words import plural

if TYPE_CHECKING:
    from nba_toolkit.plugin.manager import Registry
    from nba_toolkit.workspace import Workspace

#: the stages run_week reports, with the words the operator reads
STAGES = (
    ("load", "Load the snapshot"),
    ("input checks", "Check the input"),
    ("score", "Score"),
    ("select", "Select"),
    ("output checks", "Check the output"),
    ("save", "Save for review"),
)
#: the stages of a fallback list (jobs/fallback.py), shown in the same rows
FALLBACK_STAGES = (
    ("load", "Load the snapshot"),
    ("input checks", "Check the input"),
    ("draw", "Draw at random"),
    ("output checks", "Check the output"),
    ("save", "Save for review"),
)


@dataclass(frozen=True)
class RunResult:
    run_id: str | None
    week: str
    status: str  # awaiting_approval | blocked | cancelled | again (the week has a run awaiting approval)
    counts: dict[str, int]
    rows_in: int
    message: str
    failed_checks: list[tuple[str, str, str]]  # (check, message, what to do)
    #: runs of the same week awaiting approval (status 'again': the run was not started on ``snapshot``)
    pending: list[str] = field(default_factory=list)
    snapshot: str = ""
    #: optional inputs filled in with stand-ins (see core/degraded.py)
    degraded: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: warnings that must be acknowledged on Checks before export
    to_acknowledge: list[str] = field(default_factory=list)
    #: one line on what changed against the week before; empty for a first week
    since_last_week: str = ""
    #: a fallback list: the size asked for (None: the weekly run)
    fallback: int | None = None


class StageReached(Message):
    """Posted from the run's thread when a stage starts (or the run is done)."""

    def __init__(self, index: int, stage: str, at: float) -> None:
        super().__init__()
        self.index = index
        self.stage = stage
        self.at = at


class RunScreen(SectionScreen):
    SECTION = "run"
    BINDINGS = [
        Binding("s", "start", "Start run"),
        Binding("f", "fallback", "Random list"),
        Binding("escape", "cancel_run", "Cancel run"),
        Binding("r", "reload", "Refresh list"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event: threading.Event | None = None
        self.running = False
        self.stage_started: dict[int, float] = {}
        #: the weekly capacity in nba.toml, the fallback list's size unless the operator types another
        self.capacity = 0

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="run-body"):
            yield Static("Snapshot to run (newest first):", classes="section-title")
            yield Select([], prompt="Looking for snapshots…", id="snapshot", allow_blank=True)
            with Vertical(id="stages"):
                for index, (_, label) in enumerate(STAGES):
                    with Horizontal(classes="stage", id=f"stage-{index}"):
                        yield Label(label, classes="stage-name", id=f"name-{index}")
                        yield ProgressBar(total=1, show_eta=False, show_percentage=False, id=f"bar-{index}")
                        yield Label("", classes="stage-time", id=f"time-{index}")
            yield Static(
                "Press s to start the run on the chosen snapshot, f for a random list without the model.", id="run-result"
            )

    def action_reload(self) -> None:
        self.reload()

    def on_unmount(self) -> None:
        """Quitting during a run cancels it: it stops before its next stage and is recorded as cancelled."""
        if self.cancel_event is not None:
            self.cancel_event.set()

    def reload(self) -> None:
        if not self.running:
            self.find_snapshots()
            self.nba.warm_up()

    @work(thread=True, exclusive=True, exit_on_error=False, group="snapshots", name="snapshots")
    def find_snapshots(self) -> tuple[list[tuple[str, str]], int]:
        with self.session.workspace() as workspace:
            files = workspace.snapshot_files()
            capacity = workspace.config.selection.capacity
        return [(p.name, str(p)) for p in (*reversed(files.weekly.values()), *files.others)], capacity

    def job_done(self, name: str, result: Any) -> None:
        if name == "snapshots":
            result, self.capacity = result
            select = self.query_one("#snapshot", Select)
            chosen = select.value
            select.set_options(result)
            if result:
                values = [value for _, value in result]
                select.value = chosen if chosen in values else values[0]
            else:
                select.prompt = "No snapshot in data/snapshots"  # the search is over: no longer "Looking for"
                self.show(Text("There is no snapshot in data/snapshots. Put this week's extract there as YYYY-Www.csv."))
        elif name == "run":
            self.finished(result)

    def job_failed(self, name: str, error: BaseException) -> None:
        if name == "run":
            self.stopped()
            self.show(Text("The run did not finish; nothing was exported. See the notice for why.", style="red"))

    def _chosen_snapshot(self) -> Path | None:
        """The snapshot to run on, or None (the operator is told why) while a run is going or none is chosen."""
        if self.running:
            self.notify("A run is in progress; wait for it or cancel it (Escape).", severity="warning")
            return None
        value = self.query_one("#snapshot", Select).value
        if not isinstance(value, str):
            self.notify("Choose a snapshot first.", severity="warning")
            return None
        return Path(value)

    def action_start(self) -> None:
        if (snapshot := self._chosen_snapshot()) is not None:
            self.start(snapshot, again=False)

    def action_fallback(self) -> None:
        """Ask for the size of a random list, then draw it from the chosen snapshot's eligible customers."""
        if (snapshot := self._chosen_snapshot()) is None:
            return
        text = (
            f"Draw customers at random from the eligible of {snapshot.name}, with no model: the usual exclusions "
            "apply (consent, investors, cooldown, standing exclusions, rules). The list is reviewed and exported like "
            "a weekly run and takes the week's one export; everyone on it is random control.\n\nHow many customers?"
        )

        def answered(size: int | None) -> None:
            if size is not None:
                self.start(snapshot, again=False, fallback=size)

        self.app.push_screen(SizeDialog("A random list, without the model", text, default=self.capacity or 1), answered)

    def start(self, snapshot: Path, *, again: bool, fallback: int | None = None) -> None:
        stages = STAGES if fallback is None else FALLBACK_STAGES
        for index in range(len(STAGES)):
            self.query_one(f"#stage-{index}").display = index < len(stages)
            if index < len(stages):
                self.query_one(f"#name-{index}", Label).update(stages[index][1])
            self.query_one(f"#bar-{index}", ProgressBar).update(total=1, progress=0)
            self.query_one(f"#time-{index}", Label).update("")
        self.stage_started = {}
        self.running = self.session.running = True
        self.cancel_event = threading.Event()
        what = "Running" if fallback is None else f"Drawing {plural(fallback, 'customer')} at random"
        self.show(Text(f"{what} on {snapshot.name}… (Escape cancels before the next stage)"))
        self.run_week(snapshot, self.cancel_event, again, fallback)

    def action_cancel_run(self) -> None:
        if self.running and self.cancel_event is not None:
            self.cancel_event.set()
            self.show(Text("Cancelling: the run stops before its next stage and nothing is written…", style="yellow"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="run", name="run")
    def run_week(self, snapshot: Path, cancel: threading.Event, again: bool = False, fallback: int | None = None) -> RunResult:
        from nba_toolkit.core.acknowledgements import pending_warnings
        from nba_toolkit.errors import CheckBlocked, WeekAwaitsApproval
        from nba_toolkit.jobs.fallback import run_fallback
        from nba_toolkit.jobs.run import Cancelled, run_week

        def progress(done: int, total: int, stage: str) -> None:
            self.post_message(StageReached(done, stage, time.monotonic()))

        with self.session.workspace() as workspace:
            registry = self.session.registry(workspace)
            try:
                if fallback is None:
                    outcome = run_week(workspace, registry, snapshot=snapshot, on_progress=progress, cancel=cancel, again=again)
                else:
                    outcome = run_fallback(
                        workspace, registry, size=fallback, snapshot=snapshot, on_progress=progress, cancel=cancel, again=again
                    )
            except WeekAwaitsApproval as pending:
                return RunResult(
                    None,
                    pending.week,
                    "again",
                    {},
                    0,
                    pending.message,
                    [],
                    pending=pending.pending,
                    snapshot=str(snapshot),
                    fallback=fallback,
                )
            except CheckBlocked as blocked:
                run = workspace.ledger.run(blocked.run_id) if blocked.run_id else None
                failed = [
                    (c.check_name, c.message, c.action or "")
                    for c in (workspace.ledger.check_results(blocked.run_id) if blocked.run_id else [])
                    if c.status != "pass"
                ]
                return RunResult(blocked.run_id, run.week if run else "?", "blocked", {}, 0, blocked.message, failed)
            except Cancelled as cancelled:
                return RunResult(None, "", "cancelled", {}, 0, cancelled.message, [])
            to_acknowledge = list(dict.fromkeys(c.check_name for c in pending_warnings(workspace.ledger, outcome.run_id)))
            return RunResult(
                outcome.run_id,
                outcome.week,
                outcome.status,
                outcome.counts,
                outcome.rows_in,
                "",
                [],
                degraded=outcome.degraded,
                to_acknowledge=to_acknowledge,
                since_last_week="" if fallback is not None else since_last_week(workspace, registry, outcome.run_id),
                fallback=fallback,
            )

    def on_stage_reached(self, message: StageReached) -> None:
        self.stage_started[message.index] = message.at
        previous = message.index - 1
        if previous in self.stage_started:
            self.query_one(f"#bar-{previous}", ProgressBar).update(total=1, progress=1)
            took = message.at - self.stage_started[previous]
            self.query_one(f"#time-{previous}", Label).update(f"{took:.1f} s")
        if message.index < len(STAGES):
            self.query_one(f"#bar-{message.index}", ProgressBar).update(total=None)

    def finished(self, result: RunResult) -> None:
        self.stopped()
        for index in range(len(STAGES)):
            bar = self.query_one(f"#bar-{index}", ProgressBar)
            if bar.total is None:
                bar.update(total=1, progress=0)
        if result.run_id:
            self.session.run_id = result.run_id
        if result.status == "again":
            self.ask_again(result)
            return
        if result.status == "cancelled":
            self.show(Text(f"Cancelled: {result.message}. The run is recorded as cancelled.", style="yellow"))
            return
        if result.status == "blocked":
            text = Text()
            text.append(f"Blocked: run {result.run_id} for {result.week} stopped. ", style="bold red")
            text.append(f"{result.message}. Nothing was exported; an alert is in outbox/.\n")
            for check, message, action in result.failed_checks:
                text.append(f"✗ {check}: ", style="red")
                text.append(f"{message}\n")
                if action:
                    text.append(f"  What to do: {action}\n", style="italic")
            text.append("3 Checks shows every result.", style="dim")
            self.show(text)
            return
        c = result.counts
        mailed = c.get("selected_mailed", 0) + c.get("random_control", 0)
        text = Text()
        if result.fallback is not None:
            text.append(f"Fallback list {result.run_id} for {result.week} is ready for review. ", style="bold green")
            text.append(
                f"{plural(result.rows_in, 'customer')} in the snapshot; {mailed:,} of the "
                f"{mailed + c.get('not_drawn', 0):,} eligible drawn at random ({result.fallback:,} asked for), "
                "no model; all of them random control.\n"
            )
        else:
            text.append(f"Run {result.run_id} for {result.week} is ready for review. ", style="bold green")
            text.append(
                f"{plural(result.rows_in, 'customer')} in the snapshot; "
                f"{c.get('selected_mailed', 0) + c.get('holdout', 0):,} selected, "
                f"{c.get('holdout', 0):,} of them held out; {c.get('random_control', 0):,} mailed at random; "
                f"{mailed:,} to be mailed.\n"
            )
        if result.degraded:
            text.append(degraded_text(result.degraded))
        if result.to_acknowledge:
            text.append(
                f"Before export, acknowledge on 3 Checks: {', '.join(result.to_acknowledge)} "
                "(a warning holds the export back until someone accepts it).\n",
                style="bold yellow",
            )
        if result.since_last_week:
            text.append(result.since_last_week + "\n")
        text.append("Next: 3 Checks, 4 Review, 5 Export.", style="dim")
        self.show(text)

    def stopped(self) -> None:
        """The run's worker ended, however; a quit that waited for it goes ahead now."""
        self.running = self.session.running = False
        self.cancel_event = None
        if self.session.quit_after_run:
            self.app.exit()

    def ask_again(self, result: RunResult) -> None:
        """The week already has a run awaiting approval: run it again only when the operator says so."""
        runs = ", ".join(result.pending)
        self.show(Text(f"Not run: {result.week} already has run {runs} awaiting approval.", style="yellow"))
        text = (
            f"{result.week} already has run {runs} awaiting approval.\n\n"
            "Run the week again next to it? Only one run of a week is exported; exporting one withdraws the others. "
            f"To drop {result.pending[-1]} instead, withdraw it on 5 Export (w)."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.start(Path(result.snapshot), again=True, fallback=result.fallback)

        self.app.push_screen(ConfirmDialog(f"Run {result.week} again?", text, yes="Run again", warning=True), answered)

    def show(self, text: Text) -> None:
        self.query_one("#run-result", Static).update(text)


def since_last_week(workspace: Workspace, registry: Registry, run_id: str) -> str:
    """What changed against the accepted run of the week before, in one line; empty when there is none."""
    from nba_toolkit.errors import NbaError, UsageError
    from nba_toolkit.jobs.changes import what_changed

    try:
        changes = what_changed(workspace, registry, run_id)
    except UsageError:
        return ""  # a first week, or last week's data was purged: nothing to compare with
    except NbaError as problem:
        return f"What changed since last week cannot be shown: {problem.message}"
    settings = ", ".join(s.name for s in changes.settings) or "none"
    return (
        f"Since {changes.against_week} (run {changes.against}): {changes.entered:,} entered and {changes.left:,} left "
        f"the mail file; changed settings: {settings}. `nba-toolkit changes` shows why."
    )
