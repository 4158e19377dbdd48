"""requirements/lock.txt covers what the toolkit needs at run time, at versions pyproject.toml allows, with hashes.

The wheelhouse for the bank's workstation is downloaded from this lock
(scripts/wheelhouse.py); a dependency missing here would be missing there,
where nothing can be fetched. Refresh the lock with ``python scripts/lock.py``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements" / "lock.txt"
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)    # via \S", re.M)


def locked() -> dict[str, tuple[Version, int]]:
    """Each locked package's version and how many wheel hashes the lock accepts for it."""
    text = LOCK.read_text(encoding="utf-8")
    entries = {canonicalize_name(m[1]): (Version(m[2]), m[3].count("--hash=")) for m in ENTRY.finditer(text)}
    requirement_lines = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert len(entries) == len(requirement_lines), "every line of the lock is a pin followed by its hashes and why it is there"
    return entries


def runtime_dependencies() -> list[Requirement]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return [Requirement(text) for text in tomllib.load(file)["project"]["dependencies"]]


def test_every_runtime_dependency_is_locked_at_a_version_pyproject_allows() -> None:
    entries = locked()
    for requirement in runtime_dependencies():
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{requirement.name} is a dependency in pyproject.toml but not in the lock: run scripts/lock.py"
        version, _ = entries[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock pins {requirement.name} {version}, outside pyproject.toml's {requirement.specifier}: run scripts/lock.py"
        )


def test_every_locked_package_has_a_wheel_hash_for_each_python_it_is_locked_for() -> None:
    header = LOCK.read_text(encoding="utf-8").split("\n", 3)[2]
    pythons = re.search(r"resolved for CPython (3\.\d+), with the same versions' wheels for ([\d., ]+), on", header)
    assert pythons, header
    count = 1 + len(pythons[2].split(","))
    for name, (_, hashes) in locked().items():
        # one wheel for every Python (pure Python) or one per Python (compiled)
        assert hashes in (1, count), f"{name} has {hashes} hashes in the lock"
