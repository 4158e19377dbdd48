"""nba_toolkit.config_edit: the operator's settings change in place, validated, recorded, with the 90-day warning."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from nba_toolkit.config_edit import apply_changes, edit_toml, read_value, recent_change_warning, show_value
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.workspace import Workspace

TEXT = """\
# my notes
[campaign]
code = "A#1"          # the code, with a hash inside the quotes

[selection]
capacity = 2000       # most a week
threshold = 0.015

[plugins]
disabled = []
"""


def test_only_the_value_changes_and_the_comment_keeps_its_column() -> None:
    edited = edit_toml(TEXT, {"selection.capacity": 150, "campaign.code": "B"})
    before, after = TEXT.splitlines(), edited.splitlines()
    assert [i for i, (a, b) in enumerate(zip(before, after)) if a != b] == [2, 5]
    assert after[5] == "capacity = 150        # most a week"
    assert after[2] == 'code = "B"            # the code, with a hash inside the quotes'
    assert after[5].index("#") == before[5].index("#")


def test_missing_keys_and_sections_are_added() -> None:
    edited = edit_toml(TEXT, {"selection.cooldown_weeks": 6, "engine.enabled": False})
    parsed = tomllib.loads(edited)
    assert parsed["selection"] == {"capacity": 2000, "threshold": 0.015, "cooldown_weeks": 6}
    assert parsed["engine"] == {"enabled": False}
    assert edited.startswith(TEXT.split("[plugins]")[0].split("threshold")[0])


def test_a_layout_the_editor_cannot_change_safely_is_refused() -> None:
    with pytest.raises(BadInput, match="edit the file by hand"):
        edit_toml("selection.capacity = 5\n", {"selection.capacity": 6})


def test_operator_input_is_read_in_their_words() -> None:
    assert read_value("selection.capacity", "1,500") == 1500
    assert read_value("selection.threshold", "1.5%") == pytest.approx(0.015)
    assert read_value("selection.holdout_share", "0,1") == pytest.approx(0.1)
    assert read_value("engine.enabled", "Off") is False
    assert show_value("selection.threshold", 0.015) == "1.5%"
    assert show_value("selection.capacity", 2000) == "2,000"
    with pytest.raises(UsageError, match="whole number"):
        read_value("selection.capacity", "lots")


def test_apply_writes_validates_and_records(sample_workspace: Workspace) -> None:
    done = apply_changes(sample_workspace, {"selection.capacity": 1500, "selection.threshold": 0.015}, by="ana", reason="why")
    assert [(c.key, c.old, c.new) for c in done] == [("selection.capacity", 2000, 1500)], "unchanged values are not recorded"
    assert sample_workspace.config.selection.capacity == 1500
    [change] = sample_workspace.ledger.config_changes()
    assert (change["key"], change["old_value"], change["new_value"], change["changed_by"]) == (
        "selection.capacity",
        2000,
        1500,
        "ana",
    )

    text = sample_workspace.config_path.read_text(encoding="utf-8")
    with pytest.raises(BadInput, match="threshold"):
        apply_changes(sample_workspace, {"selection.threshold": 1.5}, by="ana")
    assert sample_workspace.config_path.read_text(encoding="utf-8") == text, "an invalid value never reaches the file"
    assert len(sample_workspace.ledger.config_changes()) == 1


def test_changing_again_within_90_days_warns() -> None:
    history = [{"key": "selection.capacity", "changed_at": "2026-10-01T09:00:00+00:00", "changed_by": "ana"}]
    warning = recent_change_warning(history, {"selection.threshold"}, today=date(2026, 11, 16))
    assert warning and "46 days ago" in warning and "can no longer be evaluated" in warning
    assert recent_change_warning(history, {"selection.threshold"}, today=date(2026, 12, 30)) is None
    assert recent_change_warning(history, {"campaign.code"}, today=date(2026, 11, 16)) is None
    assert recent_change_warning([], {"selection.capacity"}, today=date(2026, 11, 16)) is None
