"""The check-and-exporter tutorial, step by step as written: the files, the developer's tests, loading, a run.

The engine-wheel tutorial builds and installs a wheel, so it runs in the slow
test_wheels.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from plugin_docs import code_blocks, write_files

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace

PAGE = "tutorial-check-and-exporter.md"
REPO = Path(__file__).resolve().parents[2]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def apply_toml(config_path: Path, block: str) -> None:
    """Set the keys of a docs' TOML block in nba.toml, in their section, as a reader would edit the file."""
    text = config_path.read_text(encoding="utf-8")
    for section, values in tomllib.loads(block).items():
        for key, value in values.items():
            pattern = re.compile(rf"(^\[{re.escape(section)}\]$(?:(?!^\[).)*?^){key} = [^\n]*", re.MULTILINE | re.DOTALL)
            rendered = json.dumps(value)
            text, found = pattern.subn(lambda m, r=rendered, k=key: f"{m.group(1)}{k} = {r}", text)
            assert found == 1, f"nba.toml has no '{key}' in [{section}]"
    config_path.write_text(text, encoding="utf-8")


def run_developer_tests(root: Path) -> subprocess.CompletedProcess[str]:
    """`python -m pytest tests` in the workspace, with the kit as the pytest plugin the toolkit installs."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        # only the kit: the entry point may or may not be installed where this suite runs
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "nba_toolkit.testing", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_and_exporter_tutorial_works_as_written(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    written = write_files(PAGE, ws.root)
    assert sorted(p.relative_to(ws.root).as_posix() for p in written) == [
        "plugins/empty_accounts.py",
        "plugins/pipe_trailer.py",
        "tests/test_my_plugins.py",
    ]
    commands = [code for lang, _a, code in code_blocks(PAGE) if lang not in ("python", "toml")]
    assert "python -m pytest tests\n" in commands

    # 3. the developer's own tests, with the conformance kit
    tested = run_developer_tests(ws.root)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout

    # 4. both load, from the workspace's plugins/ folder
    code, listed = cli(capsys, "plugins", "--workspace", str(ws.root))
    assert code == 0
    plugins = {p["name"]: p for p in listed["plugins"]}
    for name, kind, hook in (
        ("empty_accounts", "check", "nba_register_checks"),
        ("pipe_trailer", "exporter", "nba_register_exporters"),
    ):
        record = plugins[name]
        assert (record["status"], record["origin"], record["version"], record["api_version"]) == (
            "ok",
            "local file",
            "0.1.0",
            1,
        )
        assert record["kind"] == [kind] and record["hooks"] == [hook]
        assert record["path"] == str(ws.root / "plugins" / f"{name}.py")

    # 5. choose the exporter, run and approve
    toml_blocks = [code for lang, _a, code in code_blocks(PAGE) if lang == "toml"]
    apply_toml(ws.config_path, toml_blocks[0])
    code, run = cli(capsys, "run", "--workspace", str(ws.root), "--approve")
    assert code == 0, run
    ours = [c for c in run["checks"] if c["check"] == "empty_accounts_mailed"]
    assert [(c["stage"], c["status"], c["plugin"]) for c in ours] == [("output", "pass", "empty_accounts")]
    [exported] = list(ws.exports_dir.iterdir())
    assert exported.name == f"INVEST-WEEKLY_2026-W47_{run['run_id']}.txt"
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "relation_number|campaign_code|group|export_date"
    assert lines[-1] == f"TRAILER|{run['export']['rows']}" and len(lines) == run["export"]["rows"] + 2

    # switching the check off leaves it listed as disabled
    apply_toml(ws.config_path, toml_blocks[1])
    code, listed = cli(capsys, "plugins", "--workspace", str(ws.root))
    assert {p["name"]: p["status"] for p in listed["plugins"]}["empty_accounts"] == "disabled"
