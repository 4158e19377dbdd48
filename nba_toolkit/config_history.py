"""Noticing changes to nba.toml made by hand (R-G5).

Changes made through the toolkit are recorded as they happen (who, when,
old, new). A change made in an editor is not, so the toolkit remembers the
SHA-256 of the nba.toml it last saw, with the configuration it gave; when a
run starts and the file differs, every setting that changed is recorded as
"edited by hand", with the old and new value, before the run uses it.
"""

from __future__ import annotations

import json
from typing import Any

from nba_toolkit.config import load_config
from nba_toolkit.core.files import sha256_of
from nba_toolkit.workspace import Workspace

HAND_EDIT = "nba.toml edited by hand"


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"selection": {"capacity": 2000}}`` -> ``{"selection.capacity": 2000}``; lists stay values."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def remember(workspace: Workspace) -> None:
    """Note the current nba.toml as seen; call after the toolkit itself changed and recorded it."""
    workspace.ledger.record_config_state(sha256_of(workspace.config_path), _plain(workspace))


def notice_hand_edits(workspace: Workspace, *, noticed_by: str) -> list[str]:
    """Record every setting that changed since the toolkit last saw nba.toml; returns their names."""
    ledger = workspace.ledger
    sha = sha256_of(workspace.config_path)
    last = ledger.last_config_state()
    if last is not None and last[0] == sha:
        return []
    current = _plain(workspace)
    changed: list[str] = []
    if last is not None:
        before, after = flatten(last[1]), flatten(current)
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                ledger.record_config_change(
                    key, before.get(key), after.get(key), by=f"unknown ({HAND_EDIT})", reason=f"noticed by {noticed_by}"
                )
                changed.append(key)
    ledger.record_config_state(sha, current)
    return changed


def _plain(workspace: Workspace) -> dict[str, Any]:
    """The file as it is now (not a cached reading), through JSON so it compares with what the ledger gives back."""
    return json.loads(json.dumps(load_config(workspace.config_path).to_dict(), sort_keys=True))
