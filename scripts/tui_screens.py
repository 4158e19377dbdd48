#!/usr/bin/env python3
"""Drive the real ``nba-toolkit`` in tmux through a whole week and save every screen as text.

For each terminal size (default 80x24 and 160x48) the script copies the
given sample workspace, starts ``nba-toolkit`` with no command (the UI on
``NBA_TOOLKIT_HOME``) in a detached tmux session of that size, and presses
the keys an operator would: run the week, read the checks, review, look up
the first customer in the table, exclude them, approve and export, then
visit configuration, runs, plugins, the model card, evaluation, the
residual group, simulation and the help screen (F1). A second session, on
another copy whose snapshot lacks the optional logins column, starts a run
and cancels it with Escape (Checks, Review, Export, Runs and Home then show
what a cancelled run leaves), then runs the week degraded and shows it on
Run, Checks, Review and Export. After each step it waits until the screen
shows what the step should produce and saves the screen (``tmux
capture-pane``) to ``OUT/<size>/<nn>-<step>.txt``.

It also measures how long the UI takes to show its first screen (the home
screen's navigation bar) and its data (the week's status), and prints a
JSON summary. Exit status 0 when every step showed what it should.

    python scripts/tui_screens.py --workspace SAMPLE_WS --out screens/
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class StepFailed(Exception):
    pass


class Terminal:
    """One tmux session running one command at a fixed size."""

    def __init__(self, name: str, width: int, height: int, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        shell = f"cd {_quote(str(REPO))} && env {exports} {' '.join(_quote(c) for c in command)}; sleep 600"
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        self.started = time.monotonic()
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), shell],
            check=True,
        )

    def screen(self) -> str:
        result = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return result.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []), *keys], check=True)

    def wait_for(self, pattern: str, timeout: float = 60.0, *, absent: str | None = None) -> str:
        """Poll the screen until ``pattern`` (a regex) shows (and ``absent`` does not); return that screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen) and not (absent and re.search(absent, screen)):
                return screen
            time.sleep(0.05)
        raise StepFailed(f"waited {timeout:.0f} s for {pattern!r}; the screen shows:\n{screen}")

    def settled(self, pattern: str, timeout: float = 60.0) -> str:
        """``wait_for`` the screen to show ``pattern`` once its work is done: nothing on it still loading or finding."""
        return self.wait_for(pattern, timeout, absent=BUSY)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


#: what a screen says while its work is still going; a capture is taken only once it is gone
BUSY = r"Loading|Finding"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def default_command() -> list[str]:
    """The installed console script when there is one (as an operator runs it), else the package from this checkout."""
    script = Path(sys.executable).with_name("nba-toolkit")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "nba_toolkit.cli"]


#: the optional input the degraded run goes without (the sample's internet-banking logins)
OPTIONAL_COLUMN = "IB_LOGINS_M"
#: a run holds this long after it is recorded, so Escape reaches it before its first stage
CANCEL_PAUSE = {"NBA_TOOLKIT_PAUSE_AT": "run.begun", "NBA_TOOLKIT_PAUSE_SECONDS": "3"}


#: a screen's own keys in its footer: what tells it from the screen before while both show the same words
FOOTER = {"checks": r"a Acknowledge warning", "review": r"/ Find", "export": r"a Approve and export"}


class Captures:
    """The screens of one terminal size, numbered in the order they were taken (over both sessions)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.step = 0

    def save(self, name: str, screen: str) -> None:
        self.step += 1
        (self.out / f"{self.step:02d}-{name}.txt").write_text(screen, encoding="utf-8")
        if "Traceback" in screen:
            raise StepFailed(f"a traceback is on the screen at step {name}")


def leave(term: Terminal, key: str = "Escape") -> None:
    """Press Escape (close a dialog, leave a text box) and wait: an Escape followed at once by a key reads as Alt+key."""
    term.keys(key)
    time.sleep(0.5)


def weekly_flow(term: Terminal, captures: Captures) -> dict[str, float]:
    """Press through the week; save each screen; return the start-up times."""
    timings: dict[str, float] = {}
    save = captures.save

    term.wait_for(r"1 ?Home", timeout=30)  # "1Home" where 80 columns must name every section
    timings["first_screen_s"] = round(time.monotonic() - term.started, 3)
    screen = term.wait_for(r"This week", timeout=30)
    timings["home_data_s"] = round(time.monotonic() - term.started, 3)
    save("home", screen)

    term.keys("2")
    save("run-ready", term.settled(r"Snapshot to run[\s\S]*\d{4}-W\d{2}\.(csv|parquet)"))
    term.keys("s")
    save("run-done", term.settled(r"ready for review|Blocked", timeout=120))

    term.keys("3")
    save("checks", term.wait_for(r"passed", absent=r"Loading"))

    term.keys("4")
    save("review-summary", term.settled(r"Customers by reason"))
    term.keys("t")
    screen = term.wait_for(r"Relation no[\s\S]*\b\d{8}\b")
    save("review-customers", screen)
    table = screen[screen.index("Relation no") :]
    customer = re.findall(r"\b(\d{8})\b", table)[2]  # not the first row: its details show without a lookup
    term.keys("/")
    time.sleep(0.5)  # a person looks before typing; keys sent sooner could reach the screen before the focus moves
    term.keys(customer, literal=True)
    term.keys("Enter")
    save("review-lookup", term.wait_for(rf"Relation number {customer}\s*\n\s*\S"))
    term.keys("x")
    save("exclude-dialog", term.settled(r"Reason \(required\)"))
    time.sleep(0.3)
    term.keys("looks wrong: checked by hand", literal=True)
    # Enter only once the reason is in the box: on a busy machine the box takes its focus late
    term.wait_for(r"looks wrong: checked by hand")
    term.keys("Enter")
    # the table marks the row ("excl" where the column is narrow); the panel's sentence wraps where
    # the operator's name puts it
    save("review-excluded", term.wait_for(rf"{customer}[^\n]*\bexcl[\s\S]*Excluded"))

    term.keys("5")
    save("export-preview", term.settled(r"Approving writes|Cannot be approved"))
    term.keys("a")
    save("export-confirm", term.settled(r"Approve and export \(y\)"))
    term.keys("y")
    save("exported", term.settled(r"SHA-256: [0-9a-f]{16}", timeout=60))

    term.keys("6")
    save("config", term.settled(r"Capacity[\s\S]*Changes so far"))
    term.keys("7")
    save("runs", term.settled(r"exported"))
    term.keys("Enter")
    save("run-detail", term.settled(r"read only"))
    leave(term)
    term.keys("8")
    save("plugins", term.settled(r"nba_toolkit\.logistic_engine"))
    term.keys("9")
    save("model", term.settled(r"How well it ranks"))
    term.keys("e")
    save("evaluation", term.wait_for(r"exported run|no outcomes", absent=r"Evaluating"))
    term.keys("g")
    save("residual", term.wait_for(r"eligible customers|could not be found", absent=r"Finding"))
    term.keys("m")
    save("simulation", term.settled(r"Replay the weeks"))
    term.keys("F1")
    save("help", term.settled(r"Keys\s+\(Escape"))
    leave(term)  # the help screen closes
    leave(term)  # out of the simulation's first box, so the next digit is a section key
    term.keys("1")
    save("home-after", term.wait_for(r"This week", absent=r"Ready to run"))  # the export's week is no longer waiting
    term.keys("q")
    return timings


def cancelled_and_degraded_flow(term: Terminal, captures: Captures) -> None:
    """Cancel a run with Escape and look at what it leaves; then run the week degraded and look at it."""
    save = captures.save
    term.wait_for(r"This week", timeout=30)
    term.keys("2")
    term.wait_for(r"Snapshot to run[\s\S]*\d{4}-W\d{2}\.(csv|parquet)")
    term.keys("s")
    term.wait_for(r"Running on")
    leave(term)  # Escape on the Run screen: the run stops before its next stage
    save("run-cancelled", term.settled(r"recorded as cancelled", timeout=60))
    for key, name in (("3", "checks"), ("4", "review"), ("5", "export")):
        term.keys(key)
        save(f"{name}-after-cancel", term.wait_for(rf"No run awaits review[\s\S]*{FOOTER[name]}"))
    term.keys("7")
    save("runs-cancelled", term.settled(r"Every run in the ledger[\s\S]*cancelled"))
    term.keys("1")
    save("home-cancelled", term.wait_for(r"This week", absent=r"Loading"))

    term.keys("2")
    term.wait_for(r"Snapshot to run[\s\S]*\d{4}-W\d{2}\.(csv|parquet)")
    term.keys("s")
    save("run-degraded", term.settled(r"ready for review[\s\S]*Degraded", timeout=120))
    for key, name in (("3", "checks"), ("4", "review"), ("5", "export")):
        term.keys(key)
        save(f"{name}-degraded", term.wait_for(rf"Degraded[\s\S]*{FOOTER[name]}"))
    term.keys("q")


def without_optional_column(workspace: Path) -> None:
    """This week's extract without an optional input, so the run is degraded; drift in it warns instead of blocking.

    Scored with a stand-in for the missing logins, the customers' engagement
    drifts from the training data, which would block the run before any
    screen could show it degraded.
    """
    path = max((workspace / "data" / "snapshots").glob("*.csv"))
    rows = list(csv.reader(path.read_text(encoding="cp1252").splitlines(), delimiter=";"))
    drop = rows[0].index(OPTIONAL_COLUMN)
    with path.open("w", encoding="cp1252", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(row[:drop] + row[drop + 1 :] for row in rows)
    with (workspace / "nba.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[checks.feature_drift]\nseverity = "warn"\n')


def in_terminal(
    source: Path,
    scratch: Path,
    size: tuple[int, int],
    command: list[str],
    captures: Captures,
    env: dict[str, str],
    flow: Callable[[Terminal, Captures], T],
    prepare: Callable[[Path], None] | None = None,
) -> T:
    """Copy the workspace (and ``prepare`` the copy), start the UI on it in tmux and press through ``flow``."""
    width, height = size
    workspace = scratch / flow.__name__
    shutil.copytree(source, workspace)
    if prepare is not None:
        prepare(workspace)
    term = Terminal(
        f"nba-tui-{os.getpid()}-{width}x{height}", width, height, command, {**env, "NBA_TOOLKIT_HOME": str(workspace)}
    )
    try:
        return flow(term, captures)
    finally:
        term.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True, help="a trained sample workspace (copied, never changed)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the screen captures")
    parser.add_argument("--sizes", default="80x24,160x48", help="terminal sizes, comma-separated WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    if shutil.which("tmux") is None:
        print(json.dumps({"error": "tmux is not installed"}))
        return 2
    command = default_command()
    env = {
        "NBA_TOOLKIT_USER": os.environ.get("NBA_TOOLKIT_USER", "operator"),
        "TERM": "xterm-256color",
        **{
            k: os.environ[k]
            for k in ("HOME", "PATH", "XDG_DATA_HOME", "PYTHONPATH", "NBA_TOOLKIT_CONFIG_DIR")
            if os.environ.get(k)
        },
    }
    if command[0] == sys.executable:  # no console script: run this checkout's package
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    summary: dict[str, object] = {"command": command, "sizes": {}}
    ok = True
    for size in args.sizes.split(","):
        width, height = (int(n) for n in size.lower().split("x"))
        out = args.out / f"{width}x{height}"
        out.mkdir(parents=True, exist_ok=True)
        captures = Captures(out)
        with tempfile.TemporaryDirectory(prefix="nba-tui-") as scratch:
            terminal = partial(in_terminal, args.workspace, Path(scratch), (width, height), command, captures)
            try:
                timings = terminal(env, weekly_flow)
                terminal({**env, **CANCEL_PAUSE}, cancelled_and_degraded_flow, prepare=without_optional_column)
                summary["sizes"][size] = {"timings": timings, "ok": True}  # type: ignore[index]
            except StepFailed as failed:
                ok = False
                (out / "failure.txt").write_text(str(failed), encoding="utf-8")
                summary["sizes"][size] = {"ok": False, "error": str(failed).splitlines()[0]}  # type: ignore[index]
    print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
