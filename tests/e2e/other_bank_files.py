"""The second synthetic bank (sample_data/other_bank.py) for the tests: its generator and its files."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

GENERATOR = Path(__file__).resolve().parents[2] / "sample_data" / "other_bank.py"


def other_bank_generator() -> ModuleType:
    """``sample_data/other_bank.py``, imported from its path: sample_data is data, not a package."""
    spec = importlib.util.spec_from_file_location("nba_other_bank_generator", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@dataclass(frozen=True)
class OtherBank:
    folder: Path
    truth: dict[str, Any]

    @property
    def extract(self) -> Path:
        return self.folder / "snapshots" / f"{self.truth['snapshot_week']}.csv"
