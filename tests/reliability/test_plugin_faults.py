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
from pathlib import Path

import pytest
from invariants import assert_workspace_invariants

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
COMPLAINTS = REPO / "plugins" / "recent_complaints.py"


# ------------------------------------------------------------------ helpers


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def cli_process(
    ws: Workspace, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
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
    """No mail file, no run exported, and the workspace's invariants hold: what every fault here must keep."""
    assert list(ws.exports_dir.iterdir()) == []
    assert [r.run_id for r in Workspace.open(ws.root).ledger.runs() if r.status == "exported"] == []
    assert_workspace_invariants(ws.root)


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
    assert 'disabled = ["recent_complaints"]' in result["hint"] and "Fix the plugin" in result["hint"]
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
    code, run = cli(capsys, "run", "--again", "--approve", "--workspace", str(ws.root))

    assert code == 0, run
    assert run["status"] == "exported"
    assert_workspace_invariants(ws.root)
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
    ids=[
        "severity BLOCK",
        "passed 'False'",
        "no result",
        "None",
        "another check's name",
        "another stage",
        "claims skipped",
        "passed 0",
        "failure without action",
        "a string",
    ],
)
def test_a_check_answer_the_runner_cannot_trust_blocks_the_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    ws = sample_workspace
    plugin(ws, "odd_check.py", ODD_CHECK.replace("ANSWER", answer))

    code, result = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 3, result
    [odd] = [c for c in result["checks"] if c["check"] == "odd"]
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


# ------------------------------------------- 18: time limits, exits, signatures, tracing, engines

SLOW_CHECK = """
import time
from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1


class Slow:
    name = "slow_check"
    stage = "input"
    severity = "warn"
    description = "waits for a service that never answers"

    def run(self, context):
        time.sleep(600)


@hookimpl
def nba_register_checks(register):
    register(Slow())
"""

SLOW_RULE = """
import time
from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1


class Slow:
    name = "slow_rule"
    description = "asks a service that never answers"

    def apply(self, snapshot, context):
        time.sleep(600)


@hookimpl
def nba_register_rules(register):
    register(Slow())
"""


def short_time_limit(ws: Workspace) -> None:
    edit_config(ws, "call_timeout_seconds = 300.0", "call_timeout_seconds = 1")


@pytest.mark.parametrize(
    ("source", "exit_code", "status"),
    [
        (SLOW_CHECK, 3, "blocked"),
        (SLOW_CHECK.replace("time.sleep(600)", "time.sleep(600)\n        yield None"), 3, "blocked"),
        (SLOW_RULE, 5, "failed"),
    ],
    ids=["check", "check that yields", "rule"],
)
def test_a_plugin_call_that_hangs_is_stopped_at_the_time_limit_and_the_process_exits(
    sample_workspace: Workspace, source: str, exit_code: int, status: str
) -> None:
    ws = sample_workspace
    plugin(ws, "slow.py", source)
    short_time_limit(ws)

    # the sleeping worker thread must not keep the process alive: a process still there after 90 s fails the test
    done = cli_process(ws, "run", "--approve", "--json", timeout=90)

    assert done.returncode == exit_code, done.stderr
    assert "did not answer within 1 seconds" in done.stdout
    [run] = Workspace.open(ws.root).ledger.runs()
    assert run.status == status
    nothing_exported(ws)


def test_a_notifier_that_hangs_on_a_blocked_week_is_given_up_and_the_alert_kept_in_the_outbox(
    sample_workspace: Workspace,
) -> None:
    ws = sample_workspace
    plugin(
        ws,
        "stops_and_pages.py",
        """
        import time
        from nba_toolkit.core.checks import CheckResult
        from nba_toolkit.plugin import hookimpl

        NBA_API_VERSION = 1


        class Stops:
            name = "stops"
            stage = "input"
            severity = "block"
            description = "always finds something"

            def run(self, context):
                return CheckResult(
                    check="stops", stage="input", severity="block", passed=False, message="Found.", action="Look."
                )


        class Pager:
            name = "pager"

            def notify(self, alert, workspace_root):
                time.sleep(600)


        @hookimpl
        def nba_register_checks(register):
            register(Stops())


        @hookimpl
        def nba_register_notifiers(register):
            register(Pager())
        """,
    )
    short_time_limit(ws)

    done = cli_process(ws, "run", "--approve", timeout=90)

    assert done.returncode == 3, done.stderr
    notes = [p.read_text(encoding="utf-8") for p in (ws.root / "outbox").glob("*-undelivered.eml")]
    assert any("pager" in n and "did not answer within 1 seconds" in n for n in notes), notes
    nothing_exported(ws)


EXITING = """
import os
import sys
from nba_toolkit.core.checks import CheckResult
from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1
AT_IMPORT


class Leaving:
    name = "leaving"
    stage = "input"
    severity = "block"
    description = "ends the process"

    def run(self, context):
        IN_RUN
        return CheckResult(check="leaving", stage="input", severity="block", passed=True, message="Fine.")


@hookimpl
def nba_register_checks(register):
    register(Leaving())
"""


@pytest.mark.parametrize(
    ("at_import", "in_run", "exit_code", "said"),
    [
        ("os._exit(0)", "pass", 5, "os._exit(0)"),
        ("pass", "os._exit(0)", 3, "os._exit(0)"),
        ("pass", "sys.exit(0)", 3, "sys.exit(0)"),
    ],
    ids=["os._exit at import", "os._exit in run", "sys.exit in run"],
)
def test_a_plugin_that_tries_to_end_the_process_is_a_plugin_error_not_a_silent_exit_0(
    sample_workspace: Workspace, at_import: str, in_run: str, exit_code: int, said: str
) -> None:
    ws = sample_workspace
    plugin(ws, "leaving.py", EXITING.replace("AT_IMPORT", at_import).replace("IN_RUN", in_run))

    done = cli_process(ws, "run", "--approve")

    assert done.returncode == exit_code, (done.stdout, done.stderr)
    assert said in done.stdout + done.stderr
    nothing_exported(ws)


def test_a_notifier_that_cannot_take_the_alert_is_refused_when_it_loads_not_when_a_week_blocks(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    plugin(
        ws,
        "pager.py",
        """
        from nba_toolkit.plugin import hookimpl

        NBA_API_VERSION = 1


        class Pager:
            name = "pager"

            def notify(self, alert):
                pass


        @hookimpl
        def nba_register_notifiers(register):
            register(Pager())
        """,
    )
    code, listed = cli(capsys, "plugins", "--workspace", str(ws.root))
    [pager] = [p for p in listed["plugins"] if p["name"] == "pager"]
    assert pager["status"] == "error" and "notify(alert, workspace_root)" in pager["error"]

    code, result = cli(capsys, "run", "--workspace", str(ws.root))  # a healthy week
    assert code == 5 and "pager" in result["error"]
    nothing_exported(ws)


def test_tracing_shows_every_call_of_every_plugin_object(
    sample_workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    install_complaints(ws)
    monkeypatch.setenv("NBA_TOOLKIT_TRACE_PLUGINS", "1")
    capfd.readouterr()

    assert main(["run", "--approve", "--workspace", str(ws.root), "--json"]) == 0

    trace = capfd.readouterr().err
    for call in (
        "calling nba_register_rules(register) of plugin recent_complaints",
        "calling check.run of the check 'volume_band' (plugin 'nba_toolkit.checks')",
        "calling rule.apply of the rule 'recent_complaint' (plugin 'recent_complaints')",
        "calling engine.score of the engine 'logistic' (plugin 'nba_toolkit.logistic_engine')",
        "calling exporter.write of the exporter 'mail_csv' (plugin 'nba_toolkit.mail_csv')",
    ):
        assert f"nba-toolkit trace: {call}" in trace, call
    assert "rule.apply of the rule 'recent_complaint' (plugin 'recent_complaints') returned after" in trace
    assert_workspace_invariants(ws.root)


def test_debug_shows_the_plugin_traceback_for_a_plugin_error(
    sample_workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    path = install_complaints(ws)
    path.write_text(path.read_text(encoding="utf-8").replace("def apply(self, snapshot", "def apply(self snapshot"))
    monkeypatch.setenv("NBA_TOOLKIT_DEBUG", "1")
    capsys.readouterr()

    assert main(["run", "--workspace", str(ws.root)]) == 5

    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "recent_complaints.py" in err and "SyntaxError" in err


HOUSE_ENGINE = """
from nba_toolkit.default_plugins.logistic_engine import LogisticEngine
from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1
__version__ = "{version}"


class House(LogisticEngine):
    name = "house"
    version = "{version}"
    {features}
    {fit}


@hookimpl
def nba_register_engines(register):
    register(House())
"""


def house_engine(ws: Workspace, version: str = "1.0.0", features: str = "", fit: str = "") -> None:
    plugin(
        ws,
        "house_engine.py",
        HOUSE_ENGINE.format(version=version, features=features or "pass", fit=fit or "pass"),
    )


def test_an_engine_upgrade_that_changes_the_features_is_refused_before_scoring(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    house_engine(ws)
    edit_config(ws, 'name = "logistic"', 'name = "house"')
    code, trained = cli(capsys, "train", "--workspace", str(ws.root))
    assert code == 0, trained

    house_engine(
        ws,
        version="2.0.0",
        features="feature_labels = {k: v for k, v in LogisticEngine().feature_labels.items() if k != 'fund_change_4w'}",
    )
    code, result = cli(capsys, "run", "--approve", "--workspace", str(ws.root))

    assert code == 5, result
    assert "does not fit the installed engine 'house'" in result["error"]
    assert "engine version 1.0.0, 2.0.0 is installed" in result["error"]
    assert "Retrain" in result["hint"] and "roll the engine plugin back to version 1.0.0" in result["hint"]
    nothing_exported(ws)


def test_an_engine_that_fails_in_training_is_a_plugin_error_naming_it(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    house_engine(ws, fit="def fit(self, features, label, *, seed):\n        raise RuntimeError('the solver ran out of memory')")
    edit_config(ws, 'name = "logistic"', 'name = "house"')

    code, result = cli(capsys, "train", "--workspace", str(ws.root))

    assert code == 5, result
    assert "the engine 'house' (plugin 'house_engine') failed in fit()" in result["error"]
    assert "ran out of memory" in result["error"] and "house_engine" in result["hint"]


def test_export_is_refused_when_the_exporter_broke_after_the_run(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    path = plugin(
        ws,
        "house_csv.py",
        """
        from nba_toolkit.default_plugins.mail_csv import MailCsvExporter
        from nba_toolkit.plugin import hookimpl

        NBA_API_VERSION = 1


        class HouseCsv(MailCsvExporter):
            name = "house_csv"


        @hookimpl
        def nba_register_exporters(register):
            register(HouseCsv())
        """,
    )
    edit_config(ws, 'exporter = "mail_csv"', 'exporter = "house_csv"')
    code, run = cli(capsys, "run", "--workspace", str(ws.root))
    assert code == 0, run
    path.write_text(path.read_text(encoding="utf-8").replace("class HouseCsv(", "class HouseCsv(("), encoding="utf-8")

    code, result = cli(capsys, "export", run["run_id"], "--workspace", str(ws.root))

    assert code == 5 and "house_csv" in result["error"] + (result["hint"] or ""), result
    assert Workspace.open(ws.root).ledger.run(run["run_id"]).status == "awaiting_approval"
    nothing_exported(ws)


def test_a_time_limit_that_is_not_a_positive_number_of_seconds_is_refused(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = sample_workspace
    edit_config(ws, "call_timeout_seconds = 300.0", "call_timeout_seconds = 0")

    code, result = cli(capsys, "run", "--workspace", str(ws.root))

    assert code == 4 and "call_timeout_seconds" in result["error"]
