"""A workspace looked at without write access: `--read-only` for an auditor, and a folder the user cannot write.

Read commands work and change nothing (every file of the workspace hashes
the same before and after); every write command is refused with a message
that says what cannot be written and who to ask, never as a bug.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
from tui_helpers import WARNING_PLUGIN, NoticedApp, settle, type_text  # noqa: E402


def folder_hash(root: Path) -> str:
    """Every path under ``root`` and every file's bytes, so a created, removed or changed file shows."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def reviewed_week(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """A run awaiting approval, with a local plugin in plugins/ and a flag; the ledger closed afterwards."""
    (ws.root / "plugins" / "always_warns.py").write_text(WARNING_PLUGIN, encoding="utf-8")
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    selection = pl.read_parquet(ws.run_dir(run["run_id"]) / "selection.parquet")
    customer = str(selection.sort("score", descending=True, nulls_last=True)["customer_id"][0])
    assert main(["flag", run["run_id"], customer, "--reason", "odd", "--workspace", str(ws.root)]) == 0
    ws.close()
    gc.collect()  # every ledger connection of this process closed: SQLite removes its -wal and -shm files
    assert not (ws.root / "ledger.sqlite-wal").exists()
    return run["run_id"], customer


READS = (
    ("status",),
    ("runs",),
    ("checks", "{run}"),
    ("review", "{run}", "--top", "3"),
    ("customer", "{run}", "{customer}"),
    ("customer-history", "{customer}"),
    ("suppressions",),
    ("plugins",),
    ("config", "show"),
    ("model", "card"),
    ("audit", "verify"),
)

WRITES = (
    ("run",),
    ("export", "{run}"),
    ("flag", "{run}", "{customer}", "--reason", "x"),
    ("exclude", "{run}", "{customer}", "--reason", "x", "--standing"),
    ("acknowledge", "{run}", "test_warning"),
    ("suppress", "{customer}", "--reason", "x"),
    ("analysis", "{run}"),
    ("train",),
    ("purge",),
)


def test_read_only_reads_everything_refuses_every_write_and_changes_nothing(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sample_workspace
    run_id, customer = reviewed_week(ws, capsys)
    monkeypatch.setattr(sys, "dont_write_bytecode", sys.dont_write_bytecode)  # --read-only sets it; put it back
    before = folder_hash(ws.root)

    for command in READS:
        args = [a.format(run=run_id, customer=customer) for a in command]
        capsys.readouterr()
        assert main(["--read-only", *args, "--workspace", str(ws.root)]) == 0, (args, capsys.readouterr().err)
    capsys.readouterr()
    assert main(["review", run_id, "--read-only", "--workspace", str(ws.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flagged"] == 1

    for command in WRITES:
        args = [a.format(run=run_id, customer=customer) for a in command]
        capsys.readouterr()
        assert main([*args, "--read-only", "--workspace", str(ws.root)]) == 2, args
        err = capsys.readouterr().err
        assert f"`nba-toolkit {args[0]}` changes the workspace" in err and "nothing was changed" in err, err
        assert "unexpected" not in err
    assert main(["--read-only", "init", str(ws.root.parent / "new")]) == 2
    assert not (ws.root.parent / "new").exists()

    assert folder_hash(ws.root) == before


def _unwritable(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """``nba-toolkit COMMAND`` by a user who may read the workspace but not write it.

    As an ordinary user, the folder is made read-only with chmod. Root may
    write whatever the mode says, so the workspace is mounted read-only
    instead, in a mount namespace of the command's own (nobody else sees it).
    """
    cli = [sys.executable, "-m", "nba_toolkit.cli", *command, "--workspace", str(root)]
    if os.geteuid() == 0:
        cli = ["unshare", "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(root), *cli]
    return subprocess.run(cli, capture_output=True, text=True, timeout=300)


@pytest.fixture
def unwritable_workspace(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]):
    ws = sample_workspace
    run_id, customer = reviewed_week(ws, capsys)
    if os.geteuid() == 0:
        if shutil.which("unshare") is None or _unwritable(ws.root, "--version").returncode != 0:
            pytest.skip("running as root without the right to mount: no way to make a folder unwritable for root")
    else:
        for path in [ws.root, *ws.root.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
    yield ws, run_id, customer
    if os.geteuid() != 0:
        for path in [ws.root, *ws.root.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)


def test_a_workspace_the_user_cannot_write_can_be_read_and_says_who_to_ask(unwritable_workspace) -> None:
    ws, run_id, customer = unwritable_workspace
    before = folder_hash(ws.root)
    for command in (("status",), ("runs",), ("review", run_id), ("customer", run_id, customer)):
        done = _unwritable(ws.root, *command)
        assert done.returncode == 0, (command, done.stderr)
        assert "shown read-only" in done.stderr
    done = _unwritable(ws.root, "review", run_id, "--json")
    assert json.loads(done.stdout)["run_id"] == run_id

    for command in (("run",), ("flag", run_id, customer, "--reason", "x"), ("export", run_id)):
        done = _unwritable(ws.root, *command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "cannot be written" in done.stderr and "Ask " in done.stderr and "--read-only" in done.stderr
        assert "unexpected" not in done.stderr and "bug" not in done.stderr
    assert folder_hash(ws.root) == before


def test_the_ui_read_only_shows_the_run_and_refuses_a_flag(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    from nba_toolkit.tui.screens.dialogs import ReasonDialog

    ws = sample_workspace
    run_id, customer = reviewed_week(ws, capsys)
    before = folder_hash(ws.root)

    async def drive() -> list[str]:
        app = NoticedApp(ws.root, today=date(2026, 11, 16), read_only=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            await pilot.press("slash")
            await pilot.pause()
            await type_text(pilot, customer)
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("f")
            await pilot.pause()
            if isinstance(app.screen, ReasonDialog):
                await type_text(pilot, "looks odd")
                await pilot.press("enter")
                await settle(pilot)
            return list(app.notices)

    notes = asyncio.run(drive())
    gc.collect()
    assert folder_hash(ws.root) == before
    assert any("Read only" in n for n in notes)
    assert any("read-only" in n and "nothing was changed" in n for n in notes), notes
    assert [o["reason"] for o in Workspace.open(ws.root, read_only=True).ledger.overrides(run_id)] == ["odd"]
