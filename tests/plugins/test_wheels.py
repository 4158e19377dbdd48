"""Engines shipped as wheels: built, installed into a fresh virtual environment next to the toolkit, trained and run.

Slow (about a minute): it builds three wheels and trains two engines on the
sample history. It runs in CI like every other test. Nothing is downloaded:
the wheels are built without build isolation (hatchling is a test
dependency), and the new environment sees the test environment's packages
(polars, scikit-learn, pytest, ...) through a .pth file, so only the toolkit
and the two engine wheels are installed into it, from local files.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_docs import code_blocks, write_files

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
GBM = REPO / "plugins" / "nba-engine-gbm"
TUTORIAL = "tutorial-engine-wheel.md"


class Venv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        home = root.parent / "home"
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
        self.env.update(
            XDG_DATA_HOME=str(home),
            NBA_TOOLKIT_HOME=str(home / "no-workspace"),
            NBA_TOOLKIT_USER="wheel-test",
            PIP_NO_INDEX="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )

    def run(self, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        # never the checkout as working folder: `python -c` would import the toolkit from there
        cwd = cwd or self.root.parent
        return subprocess.run([str(a) for a in args], env=self.env, cwd=cwd, capture_output=True, text=True, timeout=600)

    def ok(self, *args: str | Path, cwd: Path | None = None) -> str:
        done = self.run(*args, cwd=cwd)
        assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def toolkit(self, *args: str | Path) -> tuple[int, dict]:
        done = self.run(self.bin / "nba-toolkit", *args, "--json")
        try:
            return done.returncode, json.loads(done.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"nba-toolkit {args} printed no JSON:\n{done.stdout}\n{done.stderr}") from None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Venv, Path]:
    """A fresh virtual environment with nba-toolkit, nba-engine-gbm and the tutorial's nba-engine-savings installed."""
    root = tmp_path_factory.mktemp("wheels")
    tutorial = root / "tutorial"
    write_files(TUTORIAL, tutorial)
    dist = root / "dist"
    for project in (GBM, tutorial / "nba-engine-savings"):
        build = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(project),
            "-w",
            str(dist),
        ]
        done = subprocess.run(build, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    venv = Venv(root / "venv")
    done = subprocess.run([sys.executable, "-m", "venv", str(venv.root)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    purelib = venv.ok(venv.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    (Path(purelib) / "_test_environment.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    install = [venv.python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--ignore-installed", "--quiet"]
    venv.ok(*install, REPO)
    venv.ok(*install, *sorted(dist.glob("*.whl")))
    return venv, tutorial


def test_the_wheels_are_listed_with_origin_distribution_version_and_hooks(built: tuple[Venv, Path]) -> None:
    venv, _ = built
    code, listed = venv.toolkit("plugins")
    assert code == 0, listed
    plugins = {p["name"]: p for p in listed["plugins"]}
    for name, distribution, version in (("gbm", "nba-engine-gbm", "1.0.0"), ("savings", "nba-engine-savings", "0.1.0")):
        record = plugins[name]
        assert record["origin"] == "entry point"
        assert (record["distribution"], record["version"], record["api_version"]) == (distribution, version, 1)
        assert record["hooks"] == ["nba_register_engines"] and record["provides"]["engine"] == [name]
        assert record["status"] == "ok" and record["error"] is None
    # the toolkit itself is the installed copy, not the checkout
    location = venv.ok(venv.python, "-c", "import nba_toolkit; print(nba_toolkit.__file__)")
    assert str(venv.root) in location


def test_a_workspace_switches_to_the_gbm_engine_trains_and_runs(built: tuple[Venv, Path], tmp_path: Path) -> None:
    venv, _ = built
    ws = tmp_path / "ws"
    venv.ok(venv.bin / "nba-toolkit", "init", ws, "--sample")
    config = ws / "nba.toml"
    config.write_text(config.read_text().replace('name = "logistic"', 'name = "gbm"'), encoding="utf-8")
    code, trained = venv.toolkit("train", "--workspace", ws)
    assert code == 0, trained
    assert trained["engine"] == "gbm"
    auc = trained["metrics"]["out_of_time"]["auc"]
    assert 0.6 < auc < 0.95, auc
    sidecar = json.loads(Path(trained["path"]).with_suffix(".json").read_text())
    assert sidecar["engine_version"] == "1.0.0"
    assert "training median" in sidecar["model_card"]["method"]
    code, run = venv.toolkit("run", "--workspace", ws)
    assert code == 0, run
    assert run["status"] == "awaiting_approval" and run["counts"]["selected_mailed"] > 0
    show = (
        "import sys, json; from nba_toolkit.workspace import Workspace; r = Workspace.open(sys.argv[1]).ledger.run(sys.argv[2]); "
        "print(json.dumps([r.engine, r.engine_version, r.plugins['gbm']]))"
    )
    recorded = venv.ok(venv.python, "-c", show, ws, run["run_id"])
    assert json.loads(recorded) == ["gbm", "1.0.0", "1.0.0"]


def test_the_engine_tutorial_works_as_written(built: tuple[Venv, Path], tmp_path: Path) -> None:
    venv, tutorial = built
    commands = "".join(code for lang, _a, code in code_blocks(TUTORIAL) if lang == "")
    for step in (
        "pip wheel --no-deps nba-engine-savings -w dist",
        "python -m pytest nba-engine-savings/tests",
        "nba-toolkit plugins",
    ):
        assert step in commands
    # the project's own test, with the conformance kit loaded through the installed pytest11 entry point
    tested = venv.run(venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "nba-engine-savings/tests", cwd=tutorial)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout
    ws = tmp_path / "ws"
    venv.ok(venv.bin / "nba-toolkit", "init", ws, "--sample")
    config = ws / "nba.toml"
    [switch] = [code for lang, _a, code in code_blocks(TUTORIAL) if lang == "toml" and "[engine]" in code]
    assert switch == '[engine]\nname = "savings"\n'
    config.write_text(config.read_text().replace('name = "logistic"', 'name = "savings"'), encoding="utf-8")
    code, trained = venv.toolkit("train", "--workspace", ws)
    assert code == 0, trained
    code, run = venv.toolkit("run", "--workspace", ws)
    assert code == 0, run
    assert run["status"] == "awaiting_approval"
