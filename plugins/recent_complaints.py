"""Business rule: never mail a customer who complained in the last few weeks (R-S4).

The bank once hotfixed its engine with code wrapped around the model; this
is that kind of rule, as a plugin the run applies after the built-in
eligibility (investor, consent, cooldown). A customer with a complaint dated
within ``WEEKS`` weeks before the run's week, or in it, is excluded with the
reason ``excluded_rule_recent_complaint`` and is never scored.

The complaints come from a register the bank keeps, ``data/complaints.csv``
in the workspace: the relation number (under the same column name as in the
snapshot, e.g. ``RELATION_NO``) and ``COMPLAINT_DATE``, in any dialect the
snapshot loader reads. A register with a header and no rows means nobody
complained. A missing register stops the run, because the rule cannot tell
who complained: better no mail this week than mail to an angry customer.

To use it, copy this file into the workspace's ``plugins/`` folder and
change ``WEEKS`` to the bank's policy.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.plugin import hookimpl

NBA_API_VERSION = 1
__version__ = "1.0.0"

#: a complaint this many weeks before the run's week, or later, keeps the customer out
WEEKS = 8
#: the register, relative to the workspace folder
REGISTER = Path("data") / "complaints.csv"


class RecentComplaint:
    name = "recent_complaint"
    description = f"complained within the last {WEEKS} weeks (data/complaints.csv)"

    def apply(self, snapshot: pl.DataFrame, context) -> pl.Series:
        path = context.workspace_root / REGISTER
        if not path.is_file():
            raise FileNotFoundError(
                f"the complaints register {path} is missing; put it there (a header alone means no complaints)"
            )
        if len(path.read_bytes().strip().splitlines()) <= 1:
            return pl.Series("recent_complaint", [False] * snapshot.height, dtype=pl.Boolean)
        complaints = load_snapshot(
            path,
            mapping=context.config.columns,
            denylist=context.config.denylist,
            schema={"customer_id": "id", "complaint_date": "date"},
        ).frame
        since = context.week_start - timedelta(weeks=WEEKS)
        recent = complaints.filter(pl.col("complaint_date").is_between(since, context.week_end))
        ids = recent["customer_id"].cast(pl.String).implode()
        return snapshot["customer_id"].cast(pl.String).is_in(ids).alias("recent_complaint")


@hookimpl
def nba_register_rules(register):
    register(RecentComplaint())
