"""Broken, missing, hostile and slow plugins, met through the command line as an operator meets them.

Whatever a plugin does, the week fails closed: a plugin the workspace
depends on cannot silently disappear (exit 5), a check whose answer cannot
be trusted blocks (exit 3), a plugin cannot hang a run or end the process
with exit 0, and nothing is exported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
COMPLAINTS = REPO / "plugins" / "recent_complaints.py"


# ------------------------------------------------------------------ helpers


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def cli_process(ws: Workspace, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The command as a separate process, for what an in-process call cannot show (exits, hangs)."""
    return subprocess.run(
        [sys.executable, "-m", "nba_toolkit.cli", *args, "--workspace", str(ws.root)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def plugin(ws: Workspace, name: str, text: str) -> Path:
    path = ws.root / "plugins" / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def edit_config(ws: Workspace, old: str, new: str) -> None:
    text = ws.config_path.read_text(encoding="utf-8")
    assert old in text
    ws.config_path.write_text(text.replace(old, new, 1), encoding="utf-8")


def install_complaints(ws: Workspace) -> Path:
    """The repository's complaints rule, copied in as the README says, with a register of nobody."""
    (ws.root / "data" / "complaints.csv").write_text("RELATION_NO;COMPLAINT_DATE\n", encoding="utf-8")
    return Path(shutil.copy2(COMPLAINTS, ws.root / "plugins" / "recent_complaints.py"))


def nothing_exported(ws: Workspace) -> None:
    """No mail file, no run exported, no contact recorded: the invariant every fault here must keep."""
    assert list(ws.exports_dir.iterdir()) == []
    assert [r.run_id for r in Workspace.open(ws.root).ledger.runs() if r.status == "exported"] == []


def run_with_complaints(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> dict:
    """A first run that used the complaints rule, as the week before the fault."""
    install_complaints(ws)
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    assert Workspace.open(ws.root).ledger.run(run["run_id"]).plugins["recent_complaints: rule recent_complaint"] == "1.0.0"
    return run


# ------------------------------------------- 4: a plugin cannot silently go missing


@pytest.mark.parametrize(
    ("fault", "old", "new", "named"),
    [
        ("a one-character syntax error", "def apply(self, snapshot", "def apply(self snapshot", "SyntaxError"),
        ("a capitalised rule name", 'name = "recent_complaint"', 'name = "Recent_complaint"', "lower-case"),
        ("a rule it no longer registers", "    register(RecentComplaint())", "    pass", "does not provide it now"),
    ],
)
def test_the_complaints_rule_broken_after_a_run_that_used_it_stops_the_next_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], fault: str, old: str, new: str, named: str
) -> None:
    ws = sample_workspace
    run_with_complaints(ws, capsys)
    path = ws.root / "plugins" / "recent_complaints.py"
    text = path.read_text(encoding="utf-8")
    assert old in text, fault
    path.write_text(text.replace(old, new), encoding="utf-8")

    code, result = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 5, result
    assert "recent_complaints" in result["error"] and named in result["error"], result["error"]
    assert "disabled" in result["hint"] and "Fix the plugin" in result["hint"]
    assert len(Workspace.open(ws.root).ledger.runs()) == 1  # the refused run did not start
    nothing_exported(ws)


def test_a_plugin_removed_from_disk_without_being_disabled_stops_the_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    first = run_with_complaints(ws, capsys)
    (ws.root / "plugins" / "recent_complaints.py").unlink()

    code, result = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 5
    assert f"'recent_complaints' (version 1.0.0), used by run {first['run_id']}, is not installed now" in result["error"]
    nothing_exported(ws)


def test_disabling_the_broken_plugin_in_nba_toml_lets_the_week_go_and_is_recorded(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    run_with_complaints(ws, capsys)
    path = ws.root / "plugins" / "recent_complaints.py"
    path.write_text(path.read_text(encoding="utf-8").replace("def apply(self, snapshot", "def apply(self snapshot"))
    assert cli(capsys, "run", "--approve", "--workspace", str(ws.root))[0] == 5

    edit_config(ws, "disabled = []", 'disabled = ["recent_complaints"]  # syntax error, fix due Monday')
    code, run = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 0, run
    assert run["status"] == "exported"
    ledger = Workspace.open(ws.root).ledger
    assert ledger.run(run["run_id"]).plugins["recent_complaints"] == "disabled"
    change = [c for c in ledger.config_changes() if c["key"] == "plugins.disabled"]
    assert change and change[0]["new_value"] == ["recent_complaints"], ledger.config_changes()

    # the next run may then go without the file: the last run recorded the plugin as switched off
    path.unlink()
    edit_config(ws, 'disabled = ["recent_complaints"]  # syntax error, fix due Monday', "disabled = []")
    code, again = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, again


def test_a_new_plugin_that_fails_to_load_stops_the_run_before_its_first_week(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    path = install_complaints(ws)
    path.write_text(path.read_text(encoding="utf-8").replace('name = "recent_complaint"', 'name = "Recent"'))

    code, result = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 5 and "recent_complaints" in result["error"]
    assert Workspace.open(ws.root).ledger.runs() == []
    nothing_exported(ws)


def test_a_check_table_in_nba_toml_without_its_plugin_stops_the_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    with ws.config_path.open("a", encoding="utf-8") as handle:
        handle.write('\n[checks.branch_capacity]\nseverity = "block"\n')

    code, result = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 5
    assert "[checks.branch_capacity]" in result["error"] and "no loaded plugin provides it" in result["error"]
    nothing_exported(ws)


# ------------------------------------------- 6: a check's answer is validated, or it blocks

ODD_CHECK = """
from nba_toolkit.core.checks import CheckResult
from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1


class Odd:
    name = "odd"
    stage = "input"
    severity = "block"
    description = "answers in a way the runner must not trust"

    def run(self, context):
        return ANSWER


@hookimpl
def nba_register_checks(register):
    register(Odd())
"""


@pytest.mark.parametrize(
    "answer",
    [
        'CheckResult(check="odd", stage="input", severity="BLOCK", passed=False, message="Bad.", action="Stop.")',
        'CheckResult(check="odd", stage="input", severity="block", passed="False", message="Bad.", action="Stop.")',
        "[]",
        "None",
        'CheckResult(check="volume_band", stage="input", severity="block", passed=False, message="Bad.", action="Stop.")',
        'CheckResult(check="odd", stage="output", severity="block", passed=False, message="Bad.", action="Stop.")',
        'CheckResult(check="odd", stage="input", severity="block", passed=False, skipped=True, message="Off.", action="-")',
        'CheckResult(check="odd", stage="input", severity="block", passed=0, message="Bad.", action="Stop.")',
        'CheckResult(check="odd", stage="input", severity="block", passed=False, message="Bad.")',
        '"all fine"',
    ],
    ids=["severity BLOCK", "passed 'False'", "no result", "None", "another check's name", "another stage",
         "claims skipped", "passed 0", "failure without action", "a string"],
)
def test_a_check_answer_the_runner_cannot_trust_blocks_the_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    ws = sample_workspace
    plugin(ws, "odd_check.py", ODD_CHECK.replace("ANSWER", answer))

    code, result = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 3, result
    [odd] = [c for c in result["checks"] if c["check_name"] == "odd"]
    assert odd["status"] == "error" and odd["plugin"] == "odd_check", odd
    assert "cannot trust" in odd["message"]
    [run] = Workspace.open(ws.root).ledger.runs()
    assert run.status == "blocked"
    nothing_exported(ws)


def test_the_conformance_kit_refuses_the_same_answers_as_the_runner() -> None:
    from nba_toolkit.core.checks import CheckResult
    from nba_toolkit.testing import assert_check_conforms, check_context, sample_snapshot

    class Shouting:
        name, stage, severity, description = "shouting", "input", "block", "answers in capitals"

        def run(self, context):
            return CheckResult(check="shouting", stage="input", severity="BLOCK", passed=False, message="B.", action="S.")

    with pytest.raises(AssertionError, match="severity 'BLOCK'"):
        assert_check_conforms(Shouting(), check_context(sample_snapshot(200), with_selection=False))
