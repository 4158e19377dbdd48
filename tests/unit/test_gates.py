"""The code gates of .ci/gates pass on the tree and fail on a lint finding, a broken layer contract or a type error."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install '.[test]')")
    return found


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("lint-imports")], cwd=tree, capture_output=True, text=True, timeout=300)


def test_the_layer_contracts_hold_and_a_core_module_importing_the_ui_breaks_them(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", tree / "pyproject.toml")
    shutil.copytree(ROOT / "nba_toolkit", tree / "nba_toolkit", ignore=shutil.ignore_patterns("__pycache__"))
    kept = _lint_imports(tree)
    assert kept.returncode == 0, kept.stdout[-3000:]

    weeks = tree / "nba_toolkit" / "core" / "weeks.py"
    weeks.write_text(weeks.read_text(encoding="utf-8") + "\nimport nba_toolkit.tui.app  # noqa: E402,F401\n", encoding="utf-8")
    broken = _lint_imports(tree)
    assert broken.returncode != 0
    assert "BROKEN" in broken.stdout and "nba_toolkit.core.weeks -> nba_toolkit.tui.app" in broken.stdout


def test_ruff_passes_on_the_tree_and_fails_on_a_finding(tmp_path: Path) -> None:
    ruff = _tool("ruff")
    clean = subprocess.run([ruff, "check", "nba_toolkit", "tests"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stdout[-3000:]
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "sloppy.py").write_text("import os\n", encoding="utf-8")
    found = subprocess.run([ruff, "check", "sloppy.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert found.returncode != 0 and "F401" in found.stdout


def _mypy(tree: Path) -> subprocess.CompletedProcess[str]:
    """mypy as the gate runs it: no arguments, the configuration in the tree's pyproject.toml."""
    return subprocess.run([_tool("mypy")], cwd=tree, capture_output=True, text=True, timeout=600)


def test_mypy_passes_on_the_tree_and_fails_on_a_type_error(tmp_path: Path) -> None:
    clean = _mypy(ROOT)
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert "Success: no issues found" in clean.stdout

    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", tree / "pyproject.toml")
    shutil.copytree(ROOT / "nba_toolkit", tree / "nba_toolkit", ignore=shutil.ignore_patterns("__pycache__"))
    weeks = tree / "nba_toolkit" / "core" / "weeks.py"
    weeks.write_text(weeks.read_text(encoding="utf-8") + '\n\ndef _sloppy() -> int:\n    return "a week"\n', encoding="utf-8")
    broken = _mypy(tree)
    assert broken.returncode != 0
    assert "nba_toolkit/core/weeks.py" in broken.stdout and "[return-value]" in broken.stdout


@pytest.mark.slow
def test_the_wheel_tells_type_checkers_the_toolkit_is_typed(tmp_path: Path) -> None:
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        str(ROOT),
        "-w",
        str(tmp_path),
    ]
    done = subprocess.run(build, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("nba_toolkit-*.whl")
    assert "nba_toolkit/py.typed" in zipfile.ZipFile(wheel).namelist()
