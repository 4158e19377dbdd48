"""The real ``nba-toolkit`` in tmux at 80x24 and 160x48, pressed through the week by scripts/tui_screens.py.

Every section and the help screen are captured, with a cancelled run and a degraded one; once a
screen shows its content, none still says it is loading.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tui_screens.py"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed, so no terminal can be driven")
def test_the_week_in_a_real_terminal(trained_sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "screens"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--workspace", str(trained_sample), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = json.loads(result.stdout)
    failures = {
        size: (out / size / "failure.txt").read_text() for size in ("80x24", "160x48") if (out / size / "failure.txt").exists()
    }
    assert result.returncode == 0, failures or result.stderr
    for size in ("80x24", "160x48"):
        screens = {p.stem.split("-", 1)[1]: p.read_text(encoding="utf-8") for p in sorted((out / size).glob("*.txt"))}
        width = int(size.split("x")[0])
        assert all(len(line) <= width for text in screens.values() for line in text.splitlines())
        assert re.search(r"1 ?Home", screens["home"]) and "This week" in screens["home"]
        assert "Run 2026-W47.1 for 2026-W47 is ready for review" in screens["run-done"]
        assert "passed" in screens["checks"] and "freshness" in screens["checks"]
        assert "Customers by reason" in screens["review-summary"]
        assert re.search(r"\b\d{8}\b[^\n]*\bexcl", screens["review-excluded"]), "the table marks the row"
        assert "Excluded" in screens["review-excluded"], "the detail panel says by whom (its line breaks vary)"
        assert "Approving writes" in screens["export-preview"]
        assert "Approve and export" in screens["export-confirm"]
        assert "SHA-256:" in screens["exported"]
        assert "exported" in screens["runs"]
        assert "How well it ranks" in screens["model"]
        assert "exported run" in screens["evaluation"] and "eligible customers" in screens["residual"]
        assert "Replay the weeks" in screens["simulation"] and "go to Simulation" in screens["help"]
        assert "recorded as cancelled" in screens["run-cancelled"] and "cancelled" in screens["runs-cancelled"]
        for section in ("checks", "review", "export"):
            assert "No run awaits review" in screens[f"{section}-after-cancel"], section
            assert "Degraded" in screens[f"{section}-degraded"], section
        assert "ready for review" in screens["run-degraded"] and "Degraded" in screens["run-degraded"]
        assert not [name for name, text in screens.items() if "Loading" in text or "Finding" in text]
        assert not any("Traceback" in text for text in screens.values())
        assert summary["sizes"][size]["timings"]["first_screen_s"] < 5.0
