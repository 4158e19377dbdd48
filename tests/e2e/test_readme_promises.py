"""What the README promises about the command line holds as written."""

from __future__ import annotations

import json

import pytest

from nba_toolkit.cli import main
from nba_toolkit.workspace import Workspace


def test_the_workspace_can_be_given_before_the_command(sample_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """`nba-toolkit --workspace DIR` (the UI) and `nba-toolkit --workspace DIR COMMAND` are accepted."""
    capsys.readouterr()
    assert main(["--workspace", str(sample_workspace.root), "runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []
    # without a terminal there is no UI to open: the help is shown, and nothing is refused
    assert main(["--workspace", str(sample_workspace.root)]) == 0
    assert "usage: nba-toolkit" in capsys.readouterr().out
