"""`nba-toolkit status`: this week's run, missed weeks, open warnings and plugin errors, without mail."""

from __future__ import annotations

import json

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


def status(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> dict:
    capsys.readouterr()
    assert main(["status", "--workspace", str(ws.root), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_follows_the_week(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    (ws.root / "plugins" / "broken.py").write_text("import a_module_that_does_not_exist\n", encoding="utf-8")
    before = status(capsys, ws, "--week", "2026-W47")
    assert before["week"] == "2026-W47" and before["status"] == "missing" and before["run_id"] is None
    assert [p["plugin"] for p in before["plugin_errors"]] == ["broken"]

    # a plugin that fails to load stops the run; taken out, the week runs
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 5
    (ws.root / "plugins" / "broken.py").unlink()
    text = ws.config_path.read_text().replace("max = 2500 ", 'max = 1000\nseverity = "warn"\n', 1)
    ws.config_path.write_text(text)
    capsys.readouterr()
    assert main(["run", "--workspace", str(ws.root), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    waiting = status(capsys, ws, "--week", "2026-W47")
    assert waiting["status"] == "awaiting_approval" and waiting["run_id"] == run_id
    assert waiting["unacknowledged_warnings"] == [
        {"run_id": run_id, "check": "volume_band", "message": waiting["unacknowledged_warnings"][0]["message"]}
    ]

    assert main(["acknowledge", run_id, "volume_band", "--workspace", str(ws.root)]) == 0
    assert main(["export", run_id, "--workspace", str(ws.root)]) == 0
    done = status(capsys, ws, "--week", "2026-W47")
    assert done["status"] == "exported" and done["unacknowledged_warnings"] == []

    # two weeks later nothing more was run: last week is missed, the exported one is not
    later = status(capsys, ws, "--week", "2026-W49")
    assert later["status"] == "missing"
    assert "2026-W48" in later["missed_weeks"] and "2026-W47" not in later["missed_weeks"]
    (ws.root / "plugins" / "broken.py").write_text("import a_module_that_does_not_exist\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["status", "--workspace", str(ws.root), "--week", "2026-W49"]) == 0
    shown = capsys.readouterr().out
    assert "Missed weeks" in shown and "2026-W48" in shown and "broken" in shown
