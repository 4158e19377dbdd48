"""Fault isolation beyond test_loading.py: API versions, entry points, rules, tracing, and what the operator sees.

Each case: the broken plugin is recorded with its name and a plain error,
every other plugin still loads, and the toolkit keeps working.
"""

from __future__ import annotations

import io
import json
from importlib.metadata import EntryPoint
from pathlib import Path

import polars as pl
import pytest
from plugin_docs import write_plugin
from rich.console import Console

from nba_toolkit.cli import main
from nba_toolkit.errors import PluginError
from nba_toolkit.plugin import API_VERSION, manager
from nba_toolkit.plugin.manager import load_plugins
from nba_toolkit.workspace import Workspace

GOOD_RULE = """
import polars as pl
from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1
__version__ = "2.0.0"


class Nobody:
    name = "nobody"
    description = "keeps nobody out"

    def apply(self, snapshot, context):
        return pl.Series([False] * snapshot.height)


@hookimpl
def nba_register_rules(register):
    register(Nobody())
"""


def loaded(folder: Path, **kwargs):
    registry = load_plugins([folder], entry_points_enabled=False, **kwargs)
    return registry, {r.name: r for r in registry.records}


def test_another_api_version_is_refused_with_both_versions_named(tmp_path: Path) -> None:
    write_plugin(tmp_path, "future.py", GOOD_RULE.replace("NBA_API_VERSION = 1", "NBA_API_VERSION = 2"))
    write_plugin(
        tmp_path,
        "current.py",
        GOOD_RULE.replace("Nobody()", "Nobody2()").replace("class Nobody:", "class Nobody2:").replace('"nobody"', '"nobody2"'),
    )
    registry, records = loaded(tmp_path)
    assert records["future"].status == "error"
    assert f"written for plugin API version 2, but this toolkit expects version {API_VERSION}" in records["future"].error
    assert records["current"].status == "ok" and records["current"].api_version == 1
    assert set(registry.rules) == {"nobody2"}


def test_a_missing_api_version_is_accepted_with_a_note(tmp_path: Path) -> None:
    write_plugin(tmp_path, "inhouse.py", GOOD_RULE.replace("NBA_API_VERSION = 1\n", ""))
    write_plugin(
        tmp_path, "typo.py", GOOD_RULE.replace("NBA_API_VERSION = 1", 'NBA_API_VERSION = "one"').replace('"nobody"', '"other"')
    )
    registry, records = loaded(tmp_path)
    assert records["inhouse"].status == "ok" and records["inhouse"].api_version is None
    assert "declares no NBA_API_VERSION" in records["inhouse"].note
    assert records["typo"].status == "error" and "whole number" in records["typo"].error
    assert "nobody" in registry.rules


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # a hook without @hookimpl would silently do nothing
        ("def nba_register_checks(register):\n    pass\n", "not marked with @hookimpl"),
        # a rule whose name cannot be a reason code
        (GOOD_RULE.replace('"nobody"', '"No Body"'), "lower-case letters"),
        # an analysis exporter that takes the mail exporter's name
        (
            "from nba_toolkit.plugin import hookimpl\nclass A:\n    name = 'mail_csv'\n    extension = 'csv'\n"
            "    def write(self, rows, stream, config):\n        pass\n"
            "@hookimpl\ndef nba_register_analysis_exporters(register):\n    register(A())\n",
            "registered by both 'nba_toolkit.mail_csv' and 'broken'",
        ),
        # exception while registering, after a first object was registered: nothing of the plugin is kept
        (
            GOOD_RULE.replace("    register(Nobody())", "    register(Nobody())\n    raise RuntimeError('half way')"),
            "RuntimeError: half way",
        ),
        # SystemExit at import must not stop the toolkit either
        ("raise SystemExit(3)\n", "import failed: SystemExit"),
    ],
)
def test_more_broken_plugins_are_isolated_and_named(tmp_path: Path, text: str, error: str) -> None:
    write_plugin(tmp_path, "broken.py", text)
    write_plugin(tmp_path, "fine.py", GOOD_RULE.replace('"nobody"', '"fine"'))
    registry, records = loaded(tmp_path)
    assert records["broken"].status == "error" and error in records["broken"].error
    assert records["fine"].status == "ok" and "fine" in registry.rules
    assert "nobody" not in registry.rules  # a half-registered plugin leaves nothing behind
    assert set(registry.exporters) >= {"mail_csv"} and "logistic" in registry.engines
    with pytest.raises(PluginError, match="broken"):
        loaded(tmp_path, strict=True)


def test_a_broken_entry_point_is_isolated_and_named_with_its_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plugin(tmp_path, "good_wheel_module.py", GOOD_RULE)
    monkeypatch.syspath_prepend(str(tmp_path))

    class Dist:
        name, version = "nba-rules-bank", "3.1.0"

    points = [
        EntryPoint("aaa_missing", "a_module_that_was_never_installed", "nba_toolkit"),
        EntryPoint("good", "good_wheel_module", "nba_toolkit"),
    ]
    for point in points:
        object.__setattr__(point, "dist", Dist())
    monkeypatch.setattr(manager, "entry_points", lambda group: points if group == "nba_toolkit" else [])
    registry = load_plugins()
    records = {r.name: r for r in registry.records}
    assert records["aaa_missing"].status == "error"
    assert "ModuleNotFoundError" in records["aaa_missing"].error
    assert records["aaa_missing"].distribution == "nba-rules-bank"
    good = records["good"]
    assert (good.status, good.origin, good.distribution, good.version) == ("ok", "entry point", "nba-rules-bank", "3.1.0")
    assert "nobody" in registry.rules


def test_tracing_shows_every_hook_call_with_its_plugin(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    write_plugin(tmp_path, "fine.py", GOOD_RULE)
    write_plugin(tmp_path, "raising.py", GOOD_RULE.replace("    register(Nobody())", "    raise ValueError('no')"))
    capfd.readouterr()
    load_plugins([tmp_path], entry_points_enabled=False, trace=True)
    trace = capfd.readouterr().err.splitlines()
    assert "nba-toolkit trace: calling nba_register_rules(register) of plugin fine" in trace
    assert any(line.startswith("nba-toolkit trace: nba_register_rules of plugin fine returned after") for line in trace)
    assert any("nba_register_rules of plugin raising raised ValueError: no" in line for line in trace)
    assert any("nba_register_engines of plugin nba_toolkit.logistic_engine returned" in line for line in trace)
    load_plugins([tmp_path], entry_points_enabled=False, trace=False)
    assert capfd.readouterr().err == ""


def test_tracing_is_switched_on_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NBA_TOOLKIT_TRACE_PLUGINS", "1")
    assert main(["plugins", "--workspace", str(tmp_path / "nowhere"), "--json"]) == 0
    captured = capfd.readouterr()
    json.loads(captured.out)  # stdout stays one JSON document
    assert "nba-toolkit trace: calling nba_register_checks(register)" in captured.err


def test_a_rule_that_answers_wrongly_stops_the_run_and_names_its_plugin(
    sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    write_plugin(
        sample_workspace.root / "plugins",
        "short_rule.py",
        GOOD_RULE.replace("[False] * snapshot.height", "[True] * 3"),
    )
    capsys.readouterr()
    code = main(["run", "--workspace", str(sample_workspace.root), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 5
    assert "rule 'nobody' (plugin 'short_rule')" in result["error"] and "3 values" in result["error"]
    [run] = sample_workspace.ledger.runs()
    assert run.status == "failed" and list(sample_workspace.exports_dir.iterdir()) == []


def test_rules_give_reasons_after_the_built_in_ones(tmp_path: Path) -> None:
    from nba_toolkit.core.rules import apply_rules
    from nba_toolkit.testing import rule_context

    class Odd:
        name, description = "odd", "odd rows"

        def apply(self, snapshot, context):
            return pl.Series([None, "complaint", "fraud", None])

    built_in = pl.Series("exclusion", ["excluded_investor", "excluded_investor", None, None])
    result = apply_rules([(Odd(), "p")], pl.DataFrame({"customer_id": [1, 2, 3, 4]}), built_in, rule_context(tmp_path))
    assert result.to_list() == ["excluded_investor", "excluded_investor", "excluded_rule_odd_fraud", None]


def test_plugins_table_reads_at_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["init", str(tmp_path / "ws")]) == 0
    write_plugin(tmp_path / "ws" / "plugins", "bad.py", "import a_module_that_does_not_exist\n")
    write_plugin(tmp_path / "ws" / "plugins", "inhouse.py", GOOD_RULE)
    screen = io.StringIO()
    monkeypatch.setattr("nba_toolkit.cli.app.Output.__init__", _narrow_output(screen))
    assert main(["plugins", "--workspace", str(tmp_path / "ws")]) == 0
    lines = screen.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = " ".join(lines)
    for words in (
        "nba_toolkit.logistic_engine",
        "builtin",
        "local file",
        "plugins/bad.py",
        "error",
        "ModuleNotFoundError",
        "nba_register_rules",
        "nobody",
        "2.0.0",
    ):
        assert words in text, words


def _narrow_output(screen: io.StringIO):
    def init(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.console = Console(file=screen, width=80, highlight=False, color_system=None)
        self.err = Console(stderr=True, highlight=False)

    return init
