"""Noticing changes to nba.toml and governance.toml made by hand (R-G5).

Changes made through the toolkit are recorded as they happen (who, when,
old, new). A change made in an editor is not, so the toolkit remembers the
SHA-256 of each file as it last saw it, with what the file said; when a run
starts and a file differs, every setting that changed is recorded as
"edited by hand", with the old and new value, before the run uses it.

governance.toml is watched like nba.toml: an approval typed into the data-use
register counts (the register is the file), but it is recorded as a hand
edit, under the key ``data_use.FEATURE`` that ``govern approve`` uses too.
The states themselves are audited in the ledger, so a state added by hand
to hide an edit is found.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nba_toolkit.config import load_config
from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.governance import FILE_NAME as REGISTER_FILE
from nba_toolkit.core.governance import as_dict, read_register
from nba_toolkit.workspace import Workspace

CONFIG_FILE = "nba.toml"


@dataclass(frozen=True)
class Watched:
    """A file whose hand edits are noticed: how to read it, and how its settings are named in the history."""

    name: str
    #: what the file says now, as plain JSON (stored with its hash)
    read: Callable[[Workspace], dict[str, Any]]
    #: setting name -> value, from what ``read`` gave (now or when it was stored)
    settings: Callable[[dict[str, Any]], dict[str, Any]]


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


def _plain(workspace: Workspace) -> dict[str, Any]:
    """The file as it is now (not a cached reading), through JSON so it compares with what the ledger gives back."""
    return json.loads(json.dumps(load_config(workspace.config_path).to_dict(), sort_keys=True))


def _register(workspace: Workspace) -> dict[str, Any]:
    return {name: as_dict(entry) for name, entry in read_register(workspace.root).items()}


WATCHED = {
    CONFIG_FILE: Watched(CONFIG_FILE, _plain, flatten),
    REGISTER_FILE: Watched(REGISTER_FILE, _register, lambda uses: {f"data_use.{name}": use for name, use in uses.items()}),
}


def remember(workspace: Workspace, file: str = CONFIG_FILE) -> None:
    """Note one file as seen now; call after the toolkit itself changed it and recorded the change."""
    watched = WATCHED[file]
    workspace.ledger.record_config_state(_sha(workspace.root / file), watched.read(workspace), file=file)


def notice_hand_edits(workspace: Workspace, *, noticed_by: str) -> list[str]:
    """Record every setting of every watched file that changed since the toolkit last saw it; returns their names."""
    return [key for file in WATCHED for key in _notice(workspace, WATCHED[file], noticed_by)]


def _notice(workspace: Workspace, watched: Watched, noticed_by: str) -> list[str]:
    ledger = workspace.ledger
    sha = _sha(workspace.root / watched.name)
    last = ledger.last_config_state(watched.name)
    if last is not None and last[0] == sha:
        return []
    current = watched.read(workspace)
    changed: list[str] = []
    if last is not None:
        before, after = watched.settings(last[1]), watched.settings(current)
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                ledger.record_config_change(
                    key,
                    before.get(key),
                    after.get(key),
                    by=f"unknown ({watched.name} edited by hand)",
                    reason=f"noticed by {noticed_by}",
                )
                changed.append(key)
    ledger.record_config_state(sha, current, file=watched.name)
    return changed


def _sha(path: Path) -> str:
    """The file's SHA-256; a file that is not there has none (the register is optional)."""
    return sha256_of(path) if path.is_file() else "missing"
