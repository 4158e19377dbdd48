#!/usr/bin/env python3
"""Drive the real ``nba-toolkit`` in tmux through a whole week and save every screen as text.

For each terminal size (default 80x24 and 160x48) the script copies the
given sample workspace, starts ``nba-toolkit`` with no command (the UI on
``NBA_TOOLKIT_HOME``) in a detached tmux session of that size, and presses
the keys an operator would: run the week, read the checks, review, look up
the first customer in the table, exclude them, approve and export, then
visit configuration, runs, plugins and the model card. After each step it
waits until the screen shows what the step should produce and saves the
screen (``tmux capture-pane``) to ``OUT/<size>/<nn>-<step>.txt``.

It also measures how long the UI takes to show its first screen (the home
screen's navigation bar) and its data (the week's status), and prints a
JSON summary. Exit status 0 when every step showed what it should.

    python scripts/tui_screens.py --workspace SAMPLE_WS --out screens/
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def default_command() -> list[str]:
    """The installed console script when there is one (as an operator runs it), else the package from this checkout."""
    script = Path(sys.executable).with_name("nba-toolkit")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "nba_toolkit.cli"]


def weekly_flow(term: Terminal, out: Path) -> dict[str, float]:
    """Press through the week; save each screen; return the start-up times."""
    timings: dict[str, float] = {}
    step = 0

    def save(name: str, screen: str) -> None:
        nonlocal step
        step += 1
        (out / f"{step:02d}-{name}.txt").write_text(screen, encoding="utf-8")
        if "Traceback" in screen:
            raise StepFailed(f"a traceback is on the screen at step {name}")

    term.wait_for(r"1 ?Home", timeout=30)  # "1Home" where 80 columns must name every section
    timings["first_screen_s"] = round(time.monotonic() - term.started, 3)
    screen = term.wait_for(r"This week", timeout=30)
    timings["home_data_s"] = round(time.monotonic() - term.started, 3)
    save("home", screen)

    term.keys("2")
    save("run-ready", term.wait_for(r"Snapshot to run[\s\S]*\d{4}-W\d{2}\.(csv|parquet)"))
    term.keys("s")
    save("run-done", term.wait_for(r"ready for review|Blocked", timeout=120))

    term.keys("3")
    save("checks", term.wait_for(r"passed", absent=r"Loading"))

    term.keys("4")
    save("review-summary", term.wait_for(r"Customers by reason"))
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
    save("exclude-dialog", term.wait_for(r"Reason \(required\)"))
    time.sleep(0.3)
    term.keys("looks wrong: checked by hand", literal=True)
    term.keys("Enter")
    # the table marks the row ("excl" where the column is narrow); the panel's sentence wraps where
    # the operator's name puts it
    save("review-excluded", term.wait_for(rf"{customer}[^\n]*\bexcl[\s\S]*Excluded"))

    term.keys("5")
    save("export-preview", term.wait_for(r"Approving writes|Cannot be approved"))
    term.keys("a")
    save("export-confirm", term.wait_for(r"Approve and export \(y\)"))
    term.keys("y")
    save("exported", term.wait_for(r"SHA-256: [0-9a-f]{16}", timeout=60))

    term.keys("6")
    save("config", term.wait_for(r"Capacity[\s\S]*Changes so far"))
    term.keys("7")
    save("runs", term.wait_for(r"exported"))
    term.keys("Enter")
    save("run-detail", term.wait_for(r"read only"))
    term.keys("Escape")
    time.sleep(0.5)  # an Escape followed at once by a key reads as Alt+key
    term.keys("8")
    save("plugins", term.wait_for(r"nba_toolkit\.logistic_engine"))
    term.keys("9")
    save("model", term.wait_for(r"How well it ranks"))
    term.keys("1")
    save("home-after", term.wait_for(r"This week", absent=r"Ready to run"))  # the export's week is no longer waiting
    term.keys("q")
    return timings


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
        with tempfile.TemporaryDirectory(prefix="nba-tui-") as scratch:
            workspace = Path(scratch) / "ws"
            shutil.copytree(args.workspace, workspace)
            term = Terminal(
                f"nba-tui-{os.getpid()}-{width}x{height}", width, height, command, {**env, "NBA_TOOLKIT_HOME": str(workspace)}
            )
            try:
                summary["sizes"][size] = {"timings": weekly_flow(term, out), "ok": True}  # type: ignore[index]
            except StepFailed as failed:
                ok = False
                (out / "failure.txt").write_text(str(failed), encoding="utf-8")
                summary["sizes"][size] = {"ok": False, "error": str(failed).splitlines()[0]}  # type: ignore[index]
            finally:
                term.close()
    print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
