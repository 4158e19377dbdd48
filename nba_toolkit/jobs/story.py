"""A customer's story across weeks: every run that scored them, what it decided, what was mailed, what followed.

Review explains one run. After months of weekly runs the operator is asked
about one person ("why does she get this mail every month?", "did he open an
account after our mail?"), and the answer is spread over many runs. This
module gathers it from what the runs recorded, never recomputing anything:
each run's stored selection (refused if its SHA-256 differs from the
ledger's), the operator's exclusions and flags, the standing exclusions, the
contact history (who was really in a mail file) and the outcomes.

A run whose per-customer data retention removed is listed as purged, so a
gap in the story is visible as a gap and not as "never scored".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TypedDict

import polars as pl

from nba_toolkit.core.ids import relation_number
from nba_toolkit.core.outcomes import window_end
from nba_toolkit.core.selection import REASON_TEXT
from nba_toolkit.core.weeks import parse_week
from nba_toolkit.errors import BadInput, UsageError
from nba_toolkit.jobs.evaluate import stored_selection, workspace_outcomes
from nba_toolkit.ledger.store import RunRecord, connect_read_only
from nba_toolkit.workspace import Workspace


@dataclass(frozen=True)
class RunEntry:
    """What one run decided about the customer; ``purged`` runs and runs without a selection say only that."""

    run_id: str
    week: str
    kind: str
    status: str
    purged: bool
    scored_in_run: bool
    reason: str | None = None
    reason_text: str = ""
    score: float | None = None
    rank: int | None = None
    group: str | None = None
    #: in the mail file the run wrote (the contact history), not only selected for it
    in_mail_file: bool = False
    overrides: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Mailing:
    week: str
    contact_date: str
    group: str
    run_id: str | None
    source: str
    #: the campaign of a contact imported from a contacts file (``contacts import``); None for the toolkit's own
    campaign: str | None = None


@dataclass(frozen=True)
class Outcome:
    opened_date: str
    invested_amount: float
    #: the week of the mailing whose label window the opening fell in, if any
    after_mailing_week: str | None


@dataclass(frozen=True)
class CustomerStory:
    customer_id: str
    runs: list[RunEntry]
    mailings: list[Mailing]
    standing_exclusions: list[dict[str, Any]]
    outcomes: list[Outcome]
    outcomes_source: str | None
    label_window_weeks: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def customer_story(workspace: Workspace, customer: str) -> CustomerStory:
    """Everything the ledger and the runs recorded about one relation number, oldest week first."""
    cid = relation_number(customer)
    if not cid.isascii() or not cid.isalnum():
        raise BadInput(f"'{customer}' is not a relation number (letters and digits only)")
    ledger = workspace.ledger
    runs = sorted(ledger.runs(), key=lambda r: (parse_week(r.week), r.run_id))
    mailings = _mailings(workspace, cid)
    mailed_by_run = {m.run_id for m in mailings if m.run_id}
    entries = [_run_entry(workspace, run, cid, mailed_by_run) for run in runs]
    standing = [e for e in ledger.suppression_events() if relation_number(e["customer_id"]) == cid]
    window = workspace.config.engine.label_window_weeks
    outcomes, source = _outcomes(workspace, cid, mailings, window)
    known = any(e.scored_in_run for e in entries) or mailings or standing or outcomes
    if not known:
        raise BadInput(
            f"relation number {cid} is in no run, mailing, standing exclusion or outcome of this workspace",
            hint="Check the number; runs whose customer data was purged by retention can no longer show anyone.",
        )
    runs_shown = [e for e in entries if e.scored_in_run or e.purged]
    return CustomerStory(cid, runs_shown, mailings, standing, outcomes, source, window)


class _RunNames(TypedDict):
    """What names a run in every entry, whatever else the entry says."""

    run_id: str
    week: str
    kind: str
    status: str


def _run_entry(workspace: Workspace, run: RunRecord, cid: str, mailed_by_run: set[str]) -> RunEntry:
    base: _RunNames = {"run_id": run.run_id, "week": run.week, "kind": run.kind, "status": run.status}
    if run.purged_at is not None:
        return RunEntry(**base, purged=True, scored_in_run=False)
    if not run.selection_path:
        return RunEntry(**base, purged=False, scored_in_run=False)
    rows = stored_selection(workspace, run).filter(pl.col("customer_id").cast(pl.String) == cid)
    if rows.is_empty():
        return RunEntry(**base, purged=False, scored_in_run=False)
    row = rows.row(0, named=True)
    overrides = [o for o in workspace.ledger.overrides(run.run_id) if relation_number(o["customer_id"]) == cid]
    return RunEntry(
        **base,
        purged=False,
        scored_in_run=True,
        reason=row["reason"],
        reason_text=REASON_TEXT.get(row["reason"], row["reason"]),
        score=row["score"],
        rank=row["rank"],
        group=row["group"],
        in_mail_file=run.run_id in mailed_by_run,
        overrides=overrides,
    )


def _mailings(workspace: Workspace, cid: str) -> list[Mailing]:
    """The customer's rows in the contact history: this toolkit's exports and imported mailings.

    Read with a plain read-only statement (as the home screen does), also
    matching relation numbers an older ledger kept with leading zeros.
    """
    db = connect_read_only(workspace.ledger.path)
    try:
        # the campaign came with schema 11; an older ledger read as it is has none
        campaign = "campaign" if db.execute("PRAGMA user_version").fetchone()[0] >= 11 else "NULL"
        rows = db.execute(
            f"SELECT week, contact_date, grp, run_id, source, {campaign} FROM contacts"
            " WHERE customer_id = ? OR (? NOT GLOB '*[^0-9]*' AND ltrim(customer_id, '0') = ltrim(?, '0'))"
            " ORDER BY week_start, contact_date",
            (cid, cid, cid),
        ).fetchall()
    finally:
        db.close()
    return [Mailing(*row) for row in rows]


def _outcomes(workspace: Workspace, cid: str, mailings: list[Mailing], window_weeks: int) -> tuple[list[Outcome], str | None]:
    """The customer's account openings, each with the mailing whose label window it fell in."""
    try:
        outcomes = workspace_outcomes(workspace)
    except UsageError:
        return [], None
    mine = outcomes.frame.filter(pl.col("customer_id").cast(pl.String) == cid).sort("opened_date")
    found = [
        Outcome(str(opened), float(amount), _mailing_before(opened, mailings, window_weeks))
        for opened, amount in mine.select("opened_date", "invested_amount").iter_rows()
    ]
    return found, outcomes.source


def _mailing_before(opened: date, mailings: list[Mailing], window_weeks: int) -> str | None:
    """The latest mailing week whose label window (from its Monday) holds the opening, as training counts it."""
    weeks = [m.week for m in mailings if parse_week(m.week) <= opened <= window_end(parse_week(m.week), window_weeks)]
    return max(weeks, key=parse_week) if weeks else None
