"""Where things live: the default workspace and the embedded sample data.

The workspace defaults to ``NBA_TOOLKIT_HOME`` so a scheduled job and the
operator can share one, and otherwise to the per-user data folder the
platform expects (platformdirs), never the current directory by accident.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "nba-toolkit"


def default_workspace() -> Path:
    env = os.environ.get("NBA_TOOLKIT_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / "workspace"


def demo_workspace() -> Path:
    """The sample workspace ``nba-toolkit demo`` creates and reuses."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / "demo"


def sample_data_dir() -> Path:
    """The shipped sample data: inside an installed wheel, or beside the package in a checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_sample_data", package.parent / "sample_data"):
        if (candidate / "history.parquet").is_file():
            return candidate
    raise FileNotFoundError("the sample data is not installed with this copy of nba-toolkit; reinstall the package")
