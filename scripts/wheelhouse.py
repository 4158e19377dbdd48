#!/usr/bin/env python3
"""Fill a folder with every wheel the workstation needs to install the toolkit (and plugins) with no network.

On a connected machine, from a checkout of the release::

    python scripts/wheelhouse.py WHEELHOUSE [--plugin plugins/nba-engine-gbm] [--plugin other-engine.whl]

The folder gets the toolkit's wheel, built from the checkout; each plugin's
wheel (built from its project folder, or copied when given as a wheel); and
every package of requirements/lock.txt, downloaded with ``--require-hashes``
so each file is the one the lock names. The script then asks pip to install
the toolkit and the plugins from that folder alone, for the workstation's
Python on Linux x86_64, as the workstation will (``--no-index``), and stops
if anything would be missing. Last it writes ``SHA256SUMS``, to check on the
workstation that the folder arrived whole (``sha256sum -c SHA256SUMS``).

On the workstation (docs/install.md)::

    python3.11 -m venv ~/nba-venv
    ~/nba-venv/bin/pip install --no-index --find-links WHEELHOUSE nba-toolkit nba-engine-gbm

``--python`` is the workstation's Python version (default: the one running
this script); it must be one the lock has wheels for. ``--no-build-isolation``
builds the wheels with the build backend already installed here (hatchling),
instead of fetching it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lock import LOCK, PYTHONS, REPO, TARGET, target_options

SUMS = "SHA256SUMS"


def pip(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *map(str, args)], capture_output=True, text=True, env=env)


def build_wheel(project: Path, wheelhouse: Path, *, isolated: bool) -> None:
    """The project's own wheel only: its dependencies come from the lock."""
    done = pip("wheel", "--no-deps", "--quiet", *([] if isolated else ["--no-build-isolation"]), "-w", wheelhouse, project)
    if done.returncode != 0:
        raise SystemExit(f"could not build the wheel of {project}:\n{done.stderr}")


def add_plugin(plugin: Path, wheelhouse: Path, *, isolated: bool) -> None:
    if plugin.suffix == ".whl" and plugin.is_file():
        shutil.copy2(plugin, wheelhouse / plugin.name)
    elif (plugin / "pyproject.toml").is_file():
        build_wheel(plugin, wheelhouse, isolated=isolated)
    else:
        raise SystemExit(f"--plugin {plugin}: neither a wheel file (.whl) nor a project folder with a pyproject.toml")


def download_locked(wheelhouse: Path, python: str) -> None:
    done = pip("download", "--require-hashes", "--no-deps", "--quiet", *target_options(python), "-r", LOCK, "-d", wheelhouse)
    if done.returncode != 0:
        raise SystemExit(f"could not download the packages of {LOCK.relative_to(REPO)} for Python {python}:\n{done.stderr}")


def check_installable(wheelhouse: Path, python: str, wheels: list[Path]) -> None:
    """Install the given wheels from the folder alone, on paper, as the workstation will: no index, no pip settings."""
    quiet = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    with tempfile.TemporaryDirectory() as scratch:
        done = pip(
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--no-index",
            "--find-links",
            wheelhouse,
            *target_options(python),
            "--target",
            Path(scratch) / "target",
            *wheels,
            env=quiet,
        )
    if done.returncode != 0:
        raise SystemExit(
            f"the wheelhouse {wheelhouse} is not complete for Python {python} on {TARGET}: a plugin needs a package that "
            f"is not in {LOCK.relative_to(REPO)}, or the lock is out of date (python scripts/lock.py). pip said:\n{done.stderr}"
        )


def write_sums(wheelhouse: Path) -> Path:
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(wheelhouse.glob("*.whl"))]
    sums = wheelhouse / SUMS
    partial = sums.with_suffix(".partial")
    partial.write_text("".join(lines), encoding="utf-8")
    partial.replace(sums)
    return sums


def fill(wheelhouse: Path, plugins: list[Path], python: str, *, isolated: bool) -> tuple[Path, list[Path], Path]:
    """The toolkit's wheel, the plugins' wheels, the locked packages, checked, and the checksums last."""
    build_wheel(REPO, wheelhouse, isolated=isolated)
    [toolkit] = wheelhouse.glob("*.whl")
    for plugin in plugins:
        add_plugin(plugin.resolve(), wheelhouse, isolated=isolated)
    added = sorted(set(wheelhouse.glob("*.whl")) - {toolkit})
    download_locked(wheelhouse, python)
    check_installable(wheelhouse, python, [toolkit, *added])
    return toolkit, added, write_sums(wheelhouse)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("wheelhouse", type=Path, help="the folder to fill; new or empty")
    parser.add_argument("--plugin", type=Path, action="append", default=[], help="a plugin's project folder or wheel file")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    parser.add_argument("--python", default=here, choices=PYTHONS, help=f"the workstation's Python version (default {here})")
    parser.add_argument("--no-build-isolation", action="store_true", help="build with the hatchling installed here")
    args = parser.parse_args(argv)

    wheelhouse: Path = args.wheelhouse.resolve()
    if wheelhouse.exists() and any(wheelhouse.iterdir()):
        raise SystemExit(f"{wheelhouse} is not empty: give a new folder, so no file from an earlier wheelhouse is carried over")
    wheelhouse.mkdir(parents=True, exist_ok=True)
    try:
        toolkit, plugins, sums = fill(wheelhouse, args.plugin, args.python, isolated=not args.no_build_isolation)
    except BaseException:
        shutil.rmtree(wheelhouse)  # it was new or empty: nothing half-made is left to carry over
        raise
    wheels = sorted(wheelhouse.glob("*.whl"))
    size = sum(p.stat().st_size for p in wheels) / 1e6
    print(f"{wheelhouse}: {len(wheels)} wheels, {size:.0f} MB, for Python {args.python} on {TARGET}")
    print(f"  the toolkit: {toolkit.name}")
    for plugin in plugins:
        print(f"  plugin: {plugin.name}")
    print(f"  checksums: {sums} (on the workstation: cd {wheelhouse.name} && sha256sum -c {SUMS})")


if __name__ == "__main__":
    main()
