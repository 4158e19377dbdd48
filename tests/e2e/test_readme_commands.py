"""The README's commands, run as written by the installed `nba-toolkit`, do what the README says they do.

Each runs in its own process with the user's environment, as an operator
would type it: no terminal (a scheduled job, CI), or a real pseudo-terminal
for the demo that ends in the UI. The sample workspace is a copy of the
session's trained one wherever training is not the point (training itself is
in tests/e2e/test_weekly_job.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import polars as pl

from nba_toolkit.core.files import sha256_of
from nba_toolkit.paths import demo_workspace
from nba_toolkit.workspace import Workspace

#: the console script `pip install .` puts beside the interpreter
COMMAND = Path(sys.executable).with_name("nba-toolkit")


def nba_toolkit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=300
    )


def printed_number(text: str, label: str) -> int:
    found = re.search(rf"{re.escape(label)}\s+([\d,]+)", text)
    assert found, f"'{label}' is not in:\n{text}"
    return int(found.group(1).replace(",", ""))


def test_demo_runs_approves_and_exports_the_sample_week_and_says_so(trained_sample: Path, tmp_path: Path) -> None:
    """`nba-toolkit demo` without a terminal: the sample week is run, approved and exported, in plain words."""
    root = demo_workspace()
    shutil.copytree(trained_sample, root)
    done = nba_toolkit("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = done.stdout

    [run] = Workspace.open(root).ledger.runs()
    assert (run.week, run.status) == ("2026-W47", "exported")
    assert printed_number(shown, "In the snapshot") == run.rows_in
    for reason, label in (
        ("excluded_investor", "already has an investment account"),
        ("excluded_no_consent", "no marketing consent"),
        ("excluded_cooldown", "contacted within the cooldown"),
        ("holdout", "held out (not mailed, to measure the effect)"),
        ("random_control", "mailed at random (random control)"),
    ):
        assert printed_number(shown, label) == run.counts[reason], label
    excluded = sum(n for reason, n in run.counts.items() if reason.startswith("excluded_"))
    assert printed_number(shown, "Scored (eligible)") == run.rows_in - excluded
    [export] = list((root / "exports").iterdir())
    assert str(export) in shown and f"SHA-256 {sha256_of(export)}" in shown
    assert sha256_of(export) == run.export_sha256

    again = nba_toolkit("demo", cwd=tmp_path)
    assert again.returncode == 0 and "already run and exported" in again.stdout
    assert list((root / "exports").iterdir()) == [export], "the week is mailed once"


def _read_until(fd: int, wanted: bytes, seen: bytearray, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the terminal closed: the process ended
                break
    return wanted in seen


def test_demo_at_a_terminal_exports_the_week_and_then_opens_the_ui(trained_sample: Path, tmp_path: Path) -> None:
    """At a terminal the demo first does the whole week (as without one), then opens the UI on it."""
    root = tmp_path / "demo"
    shutil.copytree(trained_sample, root)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [str(COMMAND), "demo", "--workspace", str(root)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=tmp_path,
        env={**os.environ, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(follower)
    seen = bytearray()
    try:
        assert _read_until(leader, b"\x1b[?1049h", seen, 180), "the UI did not open:\n" + seen.decode(errors="replace")
        _read_until(leader, b"Home", seen, 30)
        os.write(leader, b"\x11")  # Ctrl+Q
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    before_ui = bytes(seen).split(b"\x1b[?1049h", 1)[0].decode(errors="replace")
    assert "Exported" in before_ui and "SHA-256" in before_ui, before_ui
    [run] = Workspace.open(root).ledger.runs()
    assert run.status == "exported" and len(list((root / "exports").iterdir())) == 1


def test_quick_start_runs_lists_and_exports_the_week_in_the_home_workspace(trained_sample: Path, tmp_path: Path) -> None:
    """`export NBA_TOOLKIT_HOME=~/nba`, then `run`, `runs` and `export 2026-W47.1`, without --workspace."""
    home = tmp_path / "nba"
    shutil.copytree(trained_sample, home)
    env = {"NBA_TOOLKIT_HOME": str(home)}
    ran = nba_toolkit("run", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr
    assert "nba-toolkit export 2026-W47.1" in ran.stdout
    listed = nba_toolkit("runs", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and "2026-W47.1" in listed.stdout and "awaiting approval" in listed.stdout
    exported = nba_toolkit("export", "2026-W47.1", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    [export] = list((home / "exports").iterdir())
    assert str(export) in exported.stdout and Workspace.open(home).ledger.run("2026-W47.1").status == "exported"


def test_analysis_works_with_only_what_the_toolkit_installs(trained_sample: Path, tmp_path: Path) -> None:
    """`nba-toolkit analysis RUN_ID` from a workspace with no plugin files, outside the repository."""
    root = tmp_path / "ws"
    shutil.copytree(trained_sample, root)
    assert list((root / "plugins").iterdir()) == []
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    ran = nba_toolkit("run", "--workspace", str(root), "--json", cwd=outside)
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]

    done = nba_toolkit("analysis", run_id, "--workspace", str(root), "--json", cwd=outside)
    assert done.returncode == 0, done.stdout + done.stderr
    written = json.loads(done.stdout)
    assert written["exporter"] == "analysis_csv" and Path(written["path"]).parent == root / "analysis"
    frame = pl.read_csv(written["path"], separator=";", decimal_comma=True, infer_schema_length=None)
    assert frame.height == json.loads(ran.stdout)["rows_in"]
    assert list((root / "exports").iterdir()) == [], "an analysis file is never a mail file"

    plugins = json.loads(nba_toolkit("plugins", "--workspace", str(root), "--json", cwd=outside).stdout)
    [origin] = [p["origin"] for p in plugins["plugins"] if "analysis_exporter" in p["kind"]]
    assert origin == "builtin"


def test_a_typo_in_the_workspace_path_is_called_a_typo_not_a_place_for_a_new_workspace(tmp_path: Path) -> None:
    typo = tmp_path / "nbaa"
    done = nba_toolkit("status", "--workspace", str(typo), cwd=tmp_path)
    assert done.returncode == 2
    assert f"not a workspace: there is no folder {typo}" in done.stderr and "typo" in done.stderr
    assert f"nba-toolkit init {typo}" in done.stderr and "nba-toolkit demo" in done.stderr
    assert not typo.exists()

    plain = tmp_path / "documents"
    plain.mkdir()
    done = nba_toolkit("runs", "--workspace", str(plain), cwd=tmp_path)
    assert done.returncode == 2 and f"not a workspace: {plain} has no nba.toml" in done.stderr
    assert "--workspace DIR" in done.stderr and "nba-toolkit demo" in done.stderr
    assert list(plain.iterdir()) == []


def test_s_on_the_welcome_screen_asks_before_a_typo_or_the_default_workspace_becomes_a_sample(tmp_path: Path) -> None:
    import asyncio

    from nba_toolkit.paths import default_workspace
    from nba_toolkit.tui.app import NbaApp
    from nba_toolkit.tui.screens.dialogs import ConfirmDialog

    async def press_s_then_no(root: Path) -> str:
        app = NbaApp(root)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDialog), "asked first"
            question = app.screen.text
            await pilot.press("n")
            await pilot.pause()
            await app.workers.wait_for_complete()
            return question

    typo = tmp_path / "nbaa"
    assert "There is no folder" in asyncio.run(press_s_then_no(typo)) and not typo.exists()
    assert "default workspace" in asyncio.run(press_s_then_no(default_workspace()))
    assert not (default_workspace() / "nba.toml").exists()
