"""The operator's own UI preferences (the theme), kept between launches in the user config folder.

They belong to the person, not to the workspace: two analysts sharing a
workspace keep their own theme, and nothing here is recorded in the ledger.
The folder is platformdirs' user config folder, or ``NBA_TOOLKIT_CONFIG_DIR``
when set (tests point it at a temporary folder). A missing or unreadable file
means the defaults; preferences never stop the UI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nba_toolkit.core.files import atomic_write_bytes
from nba_toolkit.paths import APP_NAME

FILE_NAME = "ui-settings.json"


def settings_path() -> Path:
    folder = os.environ.get("NBA_TOOLKIT_CONFIG_DIR")
    if folder:
        return Path(folder).expanduser() / FILE_NAME
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / FILE_NAME


def load_settings() -> dict[str, Any]:
    try:
        settings = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


def save_setting(name: str, value: Any) -> None:
    """Write one preference, keeping the others; raises OSError when the folder cannot be written."""
    settings = {**load_settings(), name: value}
    atomic_write_bytes(settings_path(), json.dumps(settings, indent=2).encode("utf-8"))
