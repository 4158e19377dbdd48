"""The workstation with no route to a registry: a fresh environment installs from a wheelhouse alone and runs the demo.

Slow (about a minute once pip's cache holds the locked wheels): the
wheelhouse is made by scripts/wheelhouse.py as docs/install.md says, which
downloads the packages of requirements/lock.txt from the index (through pip's
cache) and builds the toolkit's and the example engine's wheels with the
hatchling of the test environment. The new environment is made with
``python -m venv`` and sees nothing of the test environment: no pip settings,
no index (``--no-index``), only the folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename

import nba_toolkit

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "wheelhouse.py"
GBM = REPO / "plugins" / "nba-engine-gbm"
GUIDE = REPO / "docs" / "install.md"


class Workstation:
    """A fresh virtual environment with the environment of a machine that has no pip settings and no index."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "venv" / "bin"
        self.data = root / "data"
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "NBA_TOOLKIT_"))}
        keep = {k: v for k, v in keep.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
        self.env = keep | {"PIP_CONFIG_FILE": os.devnull, "XDG_DATA_HOME": str(self.data), "NBA_TOOLKIT_USER": "workstation"}

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        # never the checkout as working folder, so nothing is imported from it
        return subprocess.run([str(a) for a in args], env=self.env, cwd=self.root, capture_output=True, text=True, timeout=600)

    def ok(self, *args: str | Path) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def install(self, wheelhouse: Path, name: str) -> str:
        """The command of docs/install.md, word for word."""
        return self.ok(self.bin / "pip", "install", "--no-index", "--find-links", wheelhouse, name)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("carried") / "wheelhouse"
    made = [sys.executable, SCRIPT, folder, "--plugin", GBM, "--no-build-isolation"]
    done = subprocess.run([str(a) for a in made], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


@pytest.fixture(scope="module")
def workstation(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Workstation:
    station = Workstation(tmp_path_factory.mktemp("workstation"))
    station.ok(sys.executable, "-m", "venv", station.root / "venv")
    station.install(wheelhouse, "nba-toolkit")
    return station


def locked() -> dict[str, tuple[str, set[str]]]:
    """The lock as scripts/lock.py reads it back: each package's version and accepted wheel hashes."""
    spec = importlib.util.spec_from_file_location("lock", REPO / "scripts" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.read_lock()


def test_the_wheelhouse_holds_the_locked_wheels_the_two_projects_and_their_checksums(wheelhouse: Path) -> None:
    lock = locked()
    wheels = {canonicalize_name(parse_wheel_filename(p.name)[0]): p for p in wheelhouse.glob("*.whl")}
    assert set(wheels) == set(lock) | {"nba-toolkit", "nba-engine-gbm"}
    for name, (version, hashes) in lock.items():
        assert str(parse_wheel_filename(wheels[name].name)[1]) == version
        assert hashlib.sha256(wheels[name].read_bytes()).hexdigest() in hashes, f"{wheels[name].name} is not the locked file"
    sums = dict(reversed(line.split("  ")) for line in (wheelhouse / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    assert sums == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in wheels.values()}
    # the workstation's check, as docs/install.md gives it
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=wheelhouse, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and checked.stdout.count(": OK\n") == len(wheels), checked.stdout + checked.stderr


def test_the_install_guide_gives_the_commands_this_test_runs() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for command in (
        "python scripts/wheelhouse.py ~/nba-wheelhouse --plugin plugins/nba-engine-gbm",
        "sha256sum -c SHA256SUMS",
        "python3.11 -m venv ~/nba-venv",
        "~/nba-venv/bin/pip install --no-index --find-links ~/nba-wheelhouse nba-toolkit\n",
        "~/nba-venv/bin/pip install --no-index --find-links ~/nba-wheelhouse nba-engine-gbm\n",
        "~/nba-venv/bin/nba-toolkit --version",
        "~/nba-venv/bin/nba-toolkit demo --headless",
        "~/nba-venv/bin/nba-toolkit plugins",
    ):
        assert command in guide, command


def test_a_fresh_environment_installs_the_toolkit_with_no_index_and_runs_the_demo(workstation: Workstation) -> None:
    installed = json.loads(workstation.ok(workstation.bin / "pip", "list", "--format", "json"))
    versions = {canonicalize_name(p["name"]): p["version"] for p in installed}
    assert {name: versions.get(name) for name in locked()} == {name: version for name, (version, _) in locked().items()}
    assert versions["nba-toolkit"] == nba_toolkit.__version__

    assert workstation.ok(workstation.bin / "nba-toolkit", "--version").strip() == f"nba-toolkit {nba_toolkit.__version__}"
    shown = workstation.ok(workstation.bin / "nba-toolkit", "demo", "--headless")
    exports = list((workstation.data / "nba-toolkit" / "demo" / "exports").glob("*.csv"))
    assert len(exports) == 1 and exports[0].stat().st_size > 0
    assert str(exports[0]) in shown and "Exported" in shown
    location = workstation.ok(workstation.bin / "python", "-c", "import nba_toolkit; print(nba_toolkit.__file__)")
    assert location.startswith(str(workstation.root / "venv")), "the installed copy ran, not the checkout"


def test_the_example_engine_installs_from_the_same_wheelhouse_and_is_loaded(workstation: Workstation, wheelhouse: Path) -> None:
    workstation.install(wheelhouse, "nba-engine-gbm")
    listed = json.loads(workstation.ok(workstation.bin / "nba-toolkit", "plugins", "--json"))
    [gbm] = [p for p in listed["plugins"] if p["name"] == "gbm"]
    assert (gbm["origin"], gbm["distribution"], gbm["status"]) == ("entry point", "nba-engine-gbm", "ok")


def test_a_folder_with_files_in_it_is_refused_so_nothing_stale_is_carried(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "numpy-1.0-py3-none-any.whl").write_bytes(b"stale")
    done = subprocess.run([sys.executable, str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "is not empty" in done.stderr
    assert [p.name for p in folder.iterdir()] == ["numpy-1.0-py3-none-any.whl"]
