"""Configuration history: a change made by hand in nba.toml is noticed and recorded at the next run."""

from __future__ import annotations

import pytest

from nba_toolkit.cli import main
from nba_toolkit.config_edit import apply_changes
from nba_toolkit.workspace import Workspace


def test_hand_edit_is_recorded_at_the_next_run(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = sample_workspace
    # a change through the toolkit is recorded once, by name, and not again as a hand edit
    apply_changes(ws, {"selection.capacity": 1500}, by="analyst", reason="fewer mails this quarter")
    toml = ws.config_path.read_text().replace("cooldown_weeks = 4", "cooldown_weeks = 6")
    ws.config_path.write_text(toml)

    fresh = Workspace.open(ws.root)
    assert main(["run", "--workspace", str(fresh.root), "--json"]) == 0
    changes = fresh.ledger.config_changes()
    hand = [c for c in changes if c["changed_by"].startswith("unknown")]
    assert [(c["key"], c["old_value"], c["new_value"]) for c in hand] == [("selection.cooldown_weeks", 4, 6)]
    assert "edited by hand" in hand[0]["changed_by"]
    by_toolkit = [c for c in changes if c["changed_by"] == "analyst"]
    assert [(c["key"], c["old_value"], c["new_value"]) for c in by_toolkit] == [("selection.capacity", 2000, 1500)]

    # nothing changed since: the next run records nothing new, and the chain holds
    assert main(["run", "--again", "--workspace", str(fresh.root), "--json"]) == 0
    assert len(Workspace.open(ws.root).ledger.config_changes()) == len(changes)
    assert Workspace.open(ws.root).ledger.verify().ok
    capsys.readouterr()
