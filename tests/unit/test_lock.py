"""requirements/lock.txt covers what the toolkit needs at run time, at versions pyproject.toml allows, with hashes.

The wheelhouse for the bank's workstation is downloaded from this lock
(scripts/wheelhouse.py); a dependency missing here would be missing there,
where nothing can be fetched. Refresh the lock with ``python scripts/lock.py``.
"""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "lock.py"


def lock_script():
    """scripts/lock.py, which writes the lock and reads it back (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location("lock", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runtime_dependencies() -> list[Requirement]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return [Requirement(text) for text in tomllib.load(file)["project"]["dependencies"]]


def test_every_runtime_dependency_is_locked_at_a_version_pyproject_allows() -> None:
    locked = lock_script().read_lock()
    for requirement in runtime_dependencies():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is a dependency in pyproject.toml but not in the lock: run scripts/lock.py"
        version = Version(locked[name][0])
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock pins {requirement.name} {version}, outside pyproject.toml's {requirement.specifier}: run scripts/lock.py"
        )


def test_every_locked_package_has_a_wheel_hash_for_each_python_it_is_locked_for() -> None:
    lock = lock_script()
    header = lock.LOCK.read_text(encoding="utf-8").splitlines()[2]
    made_for = f"resolved for CPython {lock.PYTHONS[0]}, with the same versions' wheels for {', '.join(lock.PYTHONS[1:])}, on"
    assert made_for in header, "the lock was made for other Pythons than scripts/lock.py names: run it"
    for name, (_, hashes) in lock.read_lock().items():
        # one wheel for every Python (pure Python, or the stable ABI) or one for each
        assert len(hashes) in (1, len(lock.PYTHONS)), f"{name} has {len(hashes)} hashes in the lock"
