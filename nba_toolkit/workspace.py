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
from nba_toolkit.core.governance import DEFAULT_PURPOSES, new_register, write_register
from nba_toolkit.core.weeks import is_week_label, parse_week
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.ledger.store import Ledger

if TYPE_CHECKING:
    from nba_toolkit.core.extract_proposal import Proposal

FOLDERS = ("data", "data/snapshots", "models", "runs", "exports", "outbox", "plugins")
SAMPLE_FILES = ("history.parquet", "outcomes.csv", "fund_index.csv", "past_mailings.csv", "ground_truth.json")

CONFIG_TEMPLATE = """\
# nba-toolkit workspace configuration. Every key is optional; the values
# below are the defaults. See docs/operator-guide.md for what each one does.
# Advice from the field: change selection settings rarely (about every 3
# months at most), or the effect of the mailing can no longer be evaluated.

[campaign]
code = "INVEST-WEEKLY"          # campaign code written into the mail file
salt = "{salt}"   # decides holdout and random-control membership; keep it fixed

[selection]
capacity = 2000                 # most customers the model may select in a week
threshold = 0.015               # lowest score worth a mail: 0.015 = a 1.5% chance to convert
cooldown_weeks = 4              # no new mail within this many weeks of the last
holdout_share = 0.10            # share of the selected that is not mailed (control)
random_control_share = 0.05     # random non-selected mailed, as a share of capacity

[engine]
enabled = true                  # false switches the weekly run off until switched on again
name = "logistic"               # the engine plugin that scores
label_window_weeks = 4          # a conversion counts if within this many weeks
validation_weeks = 12           # the most recent weeks held out to validate training

[columns]
# canonical name = the column name in the bank's extract
customer_id = "RELATION_NO"
snapshot_date = "SNAPSHOT_DATE"
savings_balance = "SAVINGS_BAL"
current_balance = "CURRENT_BAL"
n_accounts = "NUM_ACCOUNTS"
app_installed = "APP_USER"
logins_per_month = "IB_LOGINS_M"
n_products = "NUM_PRODUCTS"
age_band = "AGE_BAND"
is_investor = "HAS_INVEST_ACC"
marketing_consent = "MKT_CONSENT"
fund_change_1w = "FUND_CHG_1W"
fund_change_4w = "FUND_CHG_4W"

[privacy]
# columns dropped on load and never used; matched on whole words of the name
denylist = ["gender", "sex", "postcode", "zip", "zipcode", "postal_code", "name", "address",
            "street", "city", "birth_date", "date_of_birth", "dob", "nationality", "ethnicity", "religion"]

[export]
exporter = "mail_csv"
delimiter = ";"
encoding = "utf-8"

[export.headers]
customer_id = "relation_number"
campaign_code = "campaign_code"
group = "group"
export_date = "export_date"

# Every check has a [checks.<name>] table (all checks, keys and defaults: docs/checks.md):
#   severity = "warn"             # block, warn or info instead of the check's own
#   enabled = false               # only with reason = "why"; every run records it as skipped
# for example [checks.feature_drift] warn_psi = 0.1, block_psi = 0.25
[checks.volume_band]
min = 0                         # fewest customers a week may mail
max = 2500                      # most customers a week may mail (capacity plus random control)

# Alerts always go to outbox/; also by mail when [notify.smtp] has a host:
# [notify.smtp]
# host = "smtp.bank.example"
# port = 587
# starttls = true
# from = "nba-toolkit@bank.example"
# to = ["analyst@bank.example"]
# username = "nba"
# password_env = "NBA_SMTP_PASSWORD"   # the password comes only from this environment variable

[governance]
owner = ""                      # who answers for the engine (shown on the model card)
contacts = ""                   # who to call when it misbehaves
require_model_approval = {approval}   # a model mails nobody before `nba-toolkit model approve`
acceptance_runs = 1             # `run --dry-run` runs a model needs before it can be approved
four_eyes = false               # true: the approver must not be whoever trained the model

[retention]
run_data_days = 730             # `nba-toolkit purge` removes per-customer run data older than this

[plugins]
disabled = []                   # plugin names to switch off
folders = []                    # extra folders with local plugin files
"""


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

    @classmethod
    def open(cls, root: Path) -> Workspace:
        root = Path(root).expanduser()
        if not (root / "nba.toml").is_file():
            raise UsageError(
                f"{root} is not a workspace (it has no nba.toml)",
                hint=f"Create one with `nba-toolkit init {root}` (add --sample for the sample data).",
            )
        return cls(root.resolve())

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    @cached_property
    def ledger(self) -> Ledger:
        """The ledger, after settling what a process that died left behind (see jobs/integrity.py)."""
        from nba_toolkit.jobs.integrity import settle_after_crashes  # it works on workspaces, so it is imported here

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

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
            del self.__dict__["ledger"]


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
    # The sample skips the model sign-off so the demo runs in one go; a real workspace requires it.
    approval = "false" if sample else "true"
    text = CONFIG_TEMPLATE.format(salt=secrets.token_hex(8), approval=approval)
    if proposal is not None:
        text = proposal.config(text)
    (root / "nba.toml").write_text(text, encoding="utf-8")
    workspace = Workspace.open(root)
    _ = workspace.ledger  # creates the schema now, so an empty workspace is complete
    # A real workspace starts with every data use listed and none approved: compliance signs off first.
    uses = list(DEFAULT_PURPOSES) if proposal is None else proposal.data_uses()
    write_register(
        root,
        new_register(
            uses,
            approved_by="sample data: synthetic, approved for demonstration only" if sample else "",
            source="nba-toolkit sample data (synthetic)" if sample else "",
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
