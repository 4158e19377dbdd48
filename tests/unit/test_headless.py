"""The core runs headless: importing it must not pull in the UI or the console renderer."""

from __future__ import annotations

import subprocess
import sys

CORE_MODULES = [
    "nba_toolkit",
    "nba_toolkit.core.snapshot",
    "nba_toolkit.core.selection",
    "nba_toolkit.core.training",
    "nba_toolkit.plugin.manager",
    "nba_toolkit.ledger.store",
    "nba_toolkit.jobs.run",
    "nba_toolkit.jobs.export",
    "nba_toolkit.jobs.train",
]


def test_core_imports_neither_textual_nor_rich() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE_MODULES)
        + "from nba_toolkit.plugin.manager import load_plugins\n"
        + "load_plugins(entry_points_enabled=False)\n"
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_package_import_is_cheap() -> None:
    """`import nba_toolkit` must not load scikit-learn or polars: the CLI starts on it."""
    code = (
        "import sys, nba_toolkit, nba_toolkit.cli\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'polars', 'textual', 'rich'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
