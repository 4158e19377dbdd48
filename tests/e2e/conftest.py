"""The second synthetic bank (sample_data/other_bank.py), generated once per session for the tests that use it."""

from __future__ import annotations

import json

import pytest
from other_bank_files import OtherBank, other_bank_generator


@pytest.fixture(scope="session")
def other_bank(tmp_path_factory: pytest.TempPathFactory) -> OtherBank:
    """The other bank's history, outcomes, this week's extract and truth; read only, copy before changing."""
    folder = tmp_path_factory.mktemp("other-bank")
    other_bank_generator().generate(folder)
    return OtherBank(folder, json.loads((folder / "ground_truth.json").read_text(encoding="utf-8")))
