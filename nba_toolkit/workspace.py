"""A workspace: the one folder an operator backs up.

::

    nba.toml        configuration (documented keys, defaults filled in)
    data/           snapshots/<YYYY-Www>.csv|parquet, history.parquet, outcomes.csv
    models/         model files with their metadata sidecars
    runs/<id>/      per-customer scores and reasons of each run (Parquet)
    exports/        the files handed to the mail program
    outbox/         alerts about blocked or failed runs
    plugins/        local plugin files
    ledger.sqlite   the run ledger
    .locks/         a lock file per run or export in progress, held by its process
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from nba_toolkit.config import Config, load_config
from nba_toolkit.config_template import config_template
from nba_toolkit.core.governance import CORE_PURPOSES, new_register, write_register
from nba_toolkit.core.weeks import is_week_label, parse_week
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.ledger.store import Ledger

if TYPE_CHECKING:
    from nba_toolkit.core.extract_proposal import Proposal

FOLDERS = ("data", "data/snapshots", "models", "runs", "exports", "outbox", "plugins")
SAMPLE_FILES = ("history.parquet", "outcomes.csv", "fund_index.csv", "past_mailings.csv", "ground_truth.json")


#: the extracts the weekly run reads
SNAPSHOT_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class SnapshotFiles:
    #: week label -> its file, oldest week first
    weekly: dict[str, Path]
    #: CSV or Parquet files whose name is not a week: never run without --snapshot
    others: list[Path]


def operator_name() -> str:
    """Who is at the keyboard, for the ledger; NBA_TOOLKIT_USER overrides for scheduled jobs."""
    name = os.environ.get("NBA_TOOLKIT_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class Workspace:
    root: Path
    #: opened to look, not to change: the ledger is read as it is and every change to it is refused
    read_only: bool = False

    @classmethod
    def open(cls, root: Path, *, read_only: bool = False) -> Workspace:
        root = Path(root).expanduser()
        if not (root / "nba.toml").is_file():
            raise not_a_workspace(root)
        return cls(root.resolve(), read_only=read_only)

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    @cached_property
    def ledger(self) -> Ledger:
        """The ledger, after settling what a process that died left behind (see jobs/integrity.py); read-only: as it is."""
        from nba_toolkit.jobs.integrity import settle_after_crashes  # it works on workspaces, so it is imported here

        if self.read_only:
            return Ledger.open_read_only(self.root / "ledger.sqlite")  # as it is: nothing settled, nothing migrated
        refuse_a_new_ledger_beside_old_runs(self.root)
        ledger = Ledger.open(self.root / "ledger.sqlite")
        settle_after_crashes(self, ledger)
        return ledger

    @property
    def config_path(self) -> Path:
        return self.root / "nba.toml"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "data" / "snapshots"

    @property
    def history_path(self) -> Path:
        return self.root / "data" / "history.parquet"

    @property
    def outcomes_path(self) -> Path:
        return self.root / "data" / "outcomes.csv"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def snapshot_files(self) -> SnapshotFiles:
        """The extracts in data/snapshots: the one place that decides which files count, for every command and screen.

        A file counts for its week when its name is the week (``2026-W48.csv``,
        any case, CSV or Parquet; Parquet first when both are there). Any other
        CSV or Parquet file is listed apart, so it can be reported instead of
        being silently passed over.
        """
        weekly: dict[str, Path] = {}
        others: list[Path] = []
        folder = self.snapshots_dir
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        for path in files:
            if path.suffix.lower() not in SNAPSHOT_SUFFIXES:
                continue
            if not is_week_label(path.stem):
                others.append(path)
                continue
            week = path.stem.strip().upper()
            if week not in weekly or path.suffix.lower() == ".parquet":
                weekly[week] = path
        return SnapshotFiles(weekly=dict(sorted(weekly.items(), key=lambda item: parse_week(item[0]))), others=others)

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def record_path(self, path: Path) -> str:
        """How the ledger names a file: relative to the workspace when inside it, so a moved workspace still works."""
        resolved = Path(path).resolve()
        return str(resolved.relative_to(self.root)) if resolved.is_relative_to(self.root) else str(resolved)

    def recorded_path(self, text: str) -> Path:
        """The file a ledger entry names (see :meth:`record_path`)."""
        path = Path(text)
        return path if path.is_absolute() else self.root / path

    def plugin_folders(self) -> list[Path]:
        folders = [self.root / "plugins"]
        for folder in self.config.plugins.folders:
            path = Path(folder).expanduser()
            folders.append(path if path.is_absolute() else self.root / path)
        return folders

    def writable(self) -> bool:
        """Whether this user may change the workspace: its folder and its ledger can be written."""
        ledger = self.root / "ledger.sqlite"
        return os.access(self.root, os.W_OK) and (not ledger.exists() or os.access(ledger, os.W_OK))

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
            del self.__dict__["ledger"]


def not_a_workspace(root: Path) -> UsageError:
    """Where to go from a path that is no workspace: a folder that does not exist is first of all a typo to check,
    never a hint to create a workspace at the typo."""
    ways = f"`nba-toolkit init {root}` makes it one; `nba-toolkit demo` sets up the sample workspace in a folder of its own."
    if not root.exists():
        return UsageError(
            f"not a workspace: there is no folder {root}",
            hint=f"Check the path for a typo (--workspace DIR, or $NBA_TOOLKIT_HOME). If it is right, {ways}",
        )
    return UsageError(
        f"not a workspace: {root} has no nba.toml",
        hint=f"Give the workspace folder with --workspace DIR (or $NBA_TOOLKIT_HOME); {ways}",
    )


def refuse_a_new_ledger_beside_old_runs(root: Path) -> None:
    """A missing ledger is not created again where runs/ or exports/ hold files: their record would be lost.

    A fresh empty ledger would verify as intact and let the weeks it no
    longer knows be run and mailed again.
    """
    if (root / "ledger.sqlite").exists():
        return
    left = [path for folder in ("runs", "exports") if (root / folder).is_dir() for path in (root / folder).iterdir()]
    if left:
        raise BadInput(
            f"the ledger is missing, but runs/ and exports/ hold {len(left)} file(s) of earlier runs; "
            "a new ledger would lose their record, so none was created",
            file=root / "ledger.sqlite",
            hint="Restore ledger.sqlite from your backup (with its -wal file, if there is one).",
        )


def init_workspace(root: Path, *, sample: bool = False, proposal: Proposal | None = None) -> Workspace:
    """Create the folders, a documented nba.toml and the ledger; with ``sample``, copy the sample data in.

    With a ``proposal`` from the bank's own extract (core/extract_proposal.py),
    nba.toml's ``[columns]`` and ``[features]`` are the proposal's and the
    data-use register lists the columns they read.
    """
    root = Path(root).expanduser()
    if (root / "nba.toml").exists():
        raise UsageError(f"{root} is already a workspace; its nba.toml was left as it is")
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    # The sample skips the model sign-off and the recorded review so the demo runs in one go; a real workspace requires them.
    salt, approval = secrets.token_hex(8), not sample
    if proposal is None:
        text = config_template(salt=salt, require_model_approval=approval, allow_unreviewed_export=sample)
    else:
        text = config_template(
            salt=salt, require_model_approval=approval, columns=proposal.columns_block(), features=proposal.features_block()
        )
    (root / "nba.toml").write_text(text, encoding="utf-8")
    workspace = Workspace.open(root)
    _ = workspace.ledger  # creates the schema now, so an empty workspace is complete
    # A real workspace starts with every data use listed and none approved: compliance signs off first.
    # A proposal may not load yet (REQUIRED parts to fill), so its rows come from the proposal itself.
    purposes = {**CORE_PURPOSES, **workspace.config.features.purposes()} if proposal is None else dict(CORE_PURPOSES)
    uses = list(purposes) if proposal is None else proposal.data_uses()
    write_register(
        root,
        new_register(
            uses,
            approved_by="sample data: synthetic, approved for demonstration only" if sample else "",
            source="nba-toolkit sample data (synthetic)" if sample else "",
            purposes=purposes,
        ),
    )
    if sample:
        _copy_sample(workspace)
    from nba_toolkit.config_history import remember  # it reads workspaces, so it is imported here

    if proposal is None or proposal.complete:
        # a proposal with REQUIRED parts left to fill does not load yet; the first run notes it as it is then
        remember(workspace)
    remember(workspace, "governance.toml")
    return workspace


def _copy_sample(workspace: Workspace) -> None:
    import polars as pl

    from nba_toolkit.core.ids import relation_number
    from nba_toolkit.paths import sample_data_dir

    source = sample_data_dir()
    for name in SAMPLE_FILES:
        shutil.copy2(source / name, workspace.root / "data" / name)
    for snapshot in sorted((source / "snapshots").iterdir()):
        shutil.copy2(snapshot, workspace.snapshots_dir / snapshot.name)
    mailed = (
        pl.read_csv(source / "past_mailings.csv", schema_overrides={"RELATION_NO": pl.String})
        .filter(pl.col("MAILED") == 1)
        .select("RELATION_NO", "SNAPSHOT_DATE", "WEEK", "GROUP")
    )
    workspace.ledger.import_contacts(
        ((relation_number(cid), day, week, day, group) for cid, day, week, group in mailed.iter_rows()),
        source="sample past_mailings.csv",
    )
