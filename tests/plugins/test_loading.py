"""Plugins load one at a time: a broken one is recorded and named, the rest keep working."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from nba_toolkit.cli import main
from nba_toolkit.core.check_settings import BUILTIN_SETTINGS
from nba_toolkit.errors import PluginError
from nba_toolkit.plugin.manager import load_plugins

BUILTINS = {
    "nba_toolkit.logistic_engine",
    "nba_toolkit.checks",
    "nba_toolkit.input_checks",
    "nba_toolkit.output_checks",
    "nba_toolkit.model_checks",
    "nba_toolkit.mail_csv",
    "nba_toolkit.analysis_csv",
    "nba_toolkit.outbox",
    "nba_toolkit.smtp",
}

GOOD_CHECK = """
from nba_toolkit.core.checks import CheckResult
from nba_toolkit.plugin import hookimpl

__version__ = "1.2.0"


class ComplaintCheck:
    name = "no_complaints"
    stage = "output"
    severity = "warn"
    description = "Nobody with an open complaint is mailed."

    def run(self, context):
        return CheckResult(check=self.name, stage=self.stage, severity=self.severity, passed=True,
                           message="No complaints found.")


@hookimpl
def nba_register_checks(register):
    register(ComplaintCheck())
"""


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_builtins_are_ordinary_plugins() -> None:
    registry = load_plugins(entry_points_enabled=False)
    assert {r.name for r in registry.records} == BUILTINS
    assert all(r.status == "ok" and r.origin == "builtin" for r in registry.records)
    assert set(registry.engines) == {"logistic", "gradient_boosting"}
    # every built-in check has its [checks.<name>] settings, and every settings table a built-in check
    assert set(registry.checks) == set(BUILTIN_SETTINGS)
    assert set(registry.exporters) == {"mail_csv"} and set(registry.notifiers) == {"outbox", "smtp"}


def test_local_plugin_file_is_loaded_with_origin_and_version(tmp_path: Path) -> None:
    _write(tmp_path, "complaints.py", GOOD_CHECK)
    registry = load_plugins([tmp_path], entry_points_enabled=False)
    record = next(r for r in registry.records if r.name == "complaints")
    assert (record.origin, record.version, record.status) == ("local file", "1.2.0", "ok")
    assert record.hooks == ["nba_register_checks"]
    assert registry.checks["no_complaints"].plugin == "complaints"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("import a_module_that_does_not_exist\n", "import failed: ModuleNotFoundError"),
        ("raise RuntimeError('boom at import')\n", "boom at import"),
        (
            "from nba_toolkit.plugin import hookimpl\n@hookimpl\ndef nba_register_checks(register, colour):\n    pass\n",
            "bad hook",
        ),
        (
            "from nba_toolkit.plugin import hookimpl\n@hookimpl\ndef nba_register_widgets(register):\n    pass\n",
            "unknown hook nba_register_widgets",
        ),
        (
            "from nba_toolkit.plugin import hookimpl\n@hookimpl\ndef nba_register_checks(register):\n"
            "    raise ValueError('cannot register')\n",
            "ValueError: cannot register",
        ),
        (
            "from nba_toolkit.plugin import hookimpl\nclass E:\n    name = 'logistic'\n"
            "@hookimpl\ndef nba_register_checks(register):\n    register(E())\n",
            "check 'logistic' lacks stage",
        ),
    ],
)
def test_broken_local_plugin_is_isolated_and_named(tmp_path: Path, text: str, error: str) -> None:
    _write(tmp_path, "broken.py", text)
    _write(tmp_path, "complaints.py", GOOD_CHECK)
    registry = load_plugins([tmp_path], entry_points_enabled=False)
    broken = next(r for r in registry.records if r.name == "broken")
    assert broken.status == "error"
    assert error in broken.error
    # the rest still works: built-ins and the good local plugin
    assert {r.name for r in registry.records if r.status == "ok"} == BUILTINS | {"complaints"}
    assert "no_complaints" in registry.checks and "logistic" in registry.engines


def test_two_plugins_registering_one_name_is_an_error_naming_both(tmp_path: Path) -> None:
    _write(tmp_path, "a_first.py", GOOD_CHECK)
    _write(tmp_path, "b_second.py", GOOD_CHECK)
    registry = load_plugins([tmp_path], entry_points_enabled=False)
    second = next(r for r in registry.records if r.name == "b_second")
    assert second.status == "error"
    assert "'a_first'" in second.error and "'b_second'" in second.error
    assert registry.checks["no_complaints"].plugin == "a_first"


def test_strict_mode_raises_and_disable_list_switches_off(tmp_path: Path) -> None:
    _write(tmp_path, "broken.py", "import a_module_that_does_not_exist\n")
    with pytest.raises(PluginError, match="broken"):
        load_plugins([tmp_path], strict=True, entry_points_enabled=False)
    registry = load_plugins([tmp_path], disabled=["broken"], entry_points_enabled=False)
    assert next(r for r in registry.records if r.name == "broken").status == "disabled"


def test_plugins_command_shows_the_broken_plugin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "ws")]) == 0
    _write(tmp_path / "ws" / "plugins", "broken.py", "import a_module_that_does_not_exist\n")
    capsys.readouterr()
    assert main(["plugins", "--workspace", str(tmp_path / "ws"), "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert plugins["broken"]["status"] == "error"
    assert plugins["broken"]["origin"] == "local file"
    assert "a_module_that_does_not_exist" in plugins["broken"]["error"]
    assert plugins["nba_toolkit.logistic_engine"]["kind"] == ["engine"]
    # the table view names it too, and the toolkit keeps working
    assert main(["plugins", "--workspace", str(tmp_path / "ws")]) == 0
    assert "broken" in capsys.readouterr().out
