#!/usr/bin/env python3
"""Write requirements/lock.txt: every package the toolkit needs at run time, pinned, with the SHA-256 of its wheels.

The bank's workstation has no route to a package registry. What it installs
comes from a wheelhouse (scripts/wheelhouse.py) downloaded on a connected
machine with ``--require-hashes`` against this lock, so every file carried
over is one whose hash was reviewed here, and two wheelhouses built months
apart hold the same releases.

How the lock is made: pip resolves the ``[project] dependencies`` of
pyproject.toml (``pip install --dry-run --report``, nothing is installed and,
where the index serves wheel metadata, nothing large is downloaded) for the
first Python version in ``PYTHONS`` on Linux x86_64, wheels only. Those
versions are the pins. Each pin is then looked up again for the other Python
versions, to add the hash of their wheel; a pin with no wheel for one of them
stops the script. pip reads the dependencies' markers (``python_version``,
``sys_platform``) for the machine it runs on, so run it with that first
Python on Linux x86_64, on a connected machine, from the development
environment (``pip install -e '.[test]'``, for ``packaging``)::

    python scripts/lock.py

Refresh it the same way after changing a dependency in pyproject.toml, or to
take newer releases, and review the diff like code. tests/unit/test_lock.py
fails while the lock misses a dependency or pins one below its lower bound.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "lock.txt"

#: the workstation's Python versions the lock has wheels for; the first one decides the versions
PYTHONS = ("3.11", "3.12", "3.13")
#: Linux x86_64 with glibc 2.28 or newer (RHEL 8 and later, Debian 10 and later): the wheel tags pip may take
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)
TARGET = "Linux x86_64 (glibc 2.28 or newer)"
#: one package of the lock as lock_text writes it: the pin, its hashes, and why it is there
ENTRY = re.compile(r"^(\S+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)    # via \S.*$", re.M)


def target_options(python: str) -> list[str]:
    """pip's options to choose wheels for the workstation rather than for the machine pip runs on."""
    options = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in PLATFORMS:
        options += ["--platform", tag]
    return options


def runtime_dependencies() -> list[str]:
    """The ``[project] dependencies`` of pyproject.toml, as written there."""
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["dependencies"]


def resolve(requirements: list[str], python: str, *, with_dependencies: bool) -> list[dict]:
    """What pip would install for ``python`` on the workstation's platform: the report's ``install`` list."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        command += [*target_options(python), "--target", str(Path(scratch) / "target"), "--report", str(report)]
        if not with_dependencies:
            command.append("--no-deps")
        done = subprocess.run([*command, *requirements], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"pip could not resolve the dependencies for Python {python} on {TARGET}:\n{done.stderr}")
        return json.loads(report.read_text(encoding="utf-8"))["install"]


def wheel_hash(item: dict) -> str:
    """The SHA-256 pip found for the wheel it chose; an index that gives none cannot be locked from."""
    hashes = item["download_info"].get("archive_info", {}).get("hashes", {})
    if "sha256" not in hashes:
        raise SystemExit(f"the index gave no SHA-256 for {item['download_info']['url']}; lock from one that does (PyPI does)")
    return hashes["sha256"]


def needed_by(resolved: list[dict], direct: list[str]) -> dict[str, list[str]]:
    """For each locked package, the packages that require it (``nba-toolkit`` for its own dependencies).

    A requirement counts where its marker holds on this machine for an extra
    somebody asked for (textual asks for ``markdown-it-py[linkify]``, which is
    why linkify-it-py is here); pip's report does not say which extras it took.
    """
    metadata = {canonicalize_name(item["metadata"]["name"]): item["metadata"] for item in resolved}
    requirers = {"nba-toolkit": ("nba-toolkit", direct)}
    requirers |= {name: (meta["name"], meta.get("requires_dist", [])) for name, meta in metadata.items()}
    extras: dict[str, set[str]] = {name: {""} for name in requirers}
    via: dict[str, set[str]] = {name: set() for name in metadata}
    grown = True
    while grown:
        grown = False
        for key, (requirer, requirements) in requirers.items():
            for requirement in map(Requirement, requirements):
                name = canonicalize_name(requirement.name)
                marker = requirement.marker
                if name not in via or (marker is not None and not any(marker.evaluate({"extra": e}) for e in extras[key])):
                    continue  # not installed here, an extra nobody asked for, or not on this platform
                via[name].add(requirer)
                if not requirement.extras <= extras[name]:
                    extras[name] |= requirement.extras
                    grown = True
    return {name: sorted(requirers, key=str.lower) for name, requirers in via.items()}


def lock_text(pins: dict[str, str], hashes: dict[str, set[str]], via: dict[str, list[str]]) -> str:
    pip_version = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1]
    lines = [
        "# The packages nba-toolkit needs at run time, pinned, with the SHA-256 of every wheel the lock accepts.",
        f"# Made by `python scripts/lock.py` (pip {pip_version}) from [project] dependencies in pyproject.toml:",
        f"# resolved for CPython {PYTHONS[0]}, with the same versions' wheels for {', '.join(PYTHONS[1:])}, on {TARGET};",
        "# wheels only, so nothing is built on the workstation. Refresh: run the script again and review the diff.",
        "# Used by scripts/wheelhouse.py (pip download --require-hashes -r requirements/lock.txt); see docs/install.md.",
    ]
    for name in sorted(pins):
        lines.append(f"{name}=={pins[name]} \\")
        digests = sorted(hashes[name])
        lines += [f"    --hash=sha256:{digest}" + (" \\" if n < len(digests) - 1 else "") for n, digest in enumerate(digests)]
        lines.append(f"    # via {', '.join(via[name])}")
    return "\n".join(lines) + "\n"


def read_lock(path: Path = LOCK) -> dict[str, tuple[str, set[str]]]:
    """Each locked package's version and the SHA-256 of the wheels the lock accepts for it (for the tests)."""
    text = path.read_text(encoding="utf-8")
    entries = ENTRY.findall(text)
    pins = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    if len(entries) != len(pins):
        raise ValueError(f"{path}: every pin must be followed by its hashes and the packages it is there for")
    return {canonicalize_name(name): (version, set(re.findall(r"[0-9a-f]{64}", hashes))) for name, version, hashes in entries}


def main() -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if (here, sys.platform, platform.machine()) != (PYTHONS[0], "linux", "x86_64"):
        raise SystemExit(
            f"run this with Python {PYTHONS[0]} on Linux x86_64 (this is Python {here} on {sys.platform} {platform.machine()}): "
            "pip reads the dependencies' markers for the machine it runs on"
        )
    direct = runtime_dependencies()
    resolved = resolve(direct, PYTHONS[0], with_dependencies=True)
    pins = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in resolved}
    hashes = {canonicalize_name(item["metadata"]["name"]): {wheel_hash(item)} for item in resolved}
    pinned = [f"{name}=={version}" for name, version in sorted(pins.items())]
    for python in PYTHONS[1:]:
        for item in resolve(pinned, python, with_dependencies=False):
            hashes[canonicalize_name(item["metadata"]["name"])].add(wheel_hash(item))
    LOCK.parent.mkdir(exist_ok=True)
    LOCK.write_text(lock_text(pins, hashes, needed_by(resolved, direct)), encoding="utf-8")
    print(f"{LOCK.relative_to(REPO)}: {len(pins)} packages for CPython {', '.join(PYTHONS)} on {TARGET}")


if __name__ == "__main__":
    main()
