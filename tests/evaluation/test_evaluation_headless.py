"""The evaluation core and jobs run headless: importing them pulls in neither the UI nor the console renderer."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "nba_toolkit.core.uplift",
    "nba_toolkit.core.planner",
    "nba_toolkit.core.outcomes",
    "nba_toolkit.core.evaluation",
    "nba_toolkit.core.mailing",
    "nba_toolkit.core.decision",
    "nba_toolkit.core.backtest",
    "nba_toolkit.core.residual",
    "nba_toolkit.core.whatif",
    "nba_toolkit.jobs.evaluate",
    "nba_toolkit.jobs.backtest",
    "nba_toolkit.jobs.whatif",
    "nba_toolkit.jobs.residual",
]


def test_evaluation_modules_import_neither_textual_nor_rich():
    code = "import sys\n" + "".join(f"import {m}\n" for m in MODULES)
    code += "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_command_module_is_cheap_to_import():
    heavy = "{'sklearn', 'polars', 'scipy', 'textual'}"
    code = f"import sys, nba_toolkit.cli.evaluate\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
