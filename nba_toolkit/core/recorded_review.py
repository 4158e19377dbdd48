"""What the operator looked at before a run was exported: kept in the ledger, shown at export and in the evidence pack.

A review session (one visit to the Review screen, one `review` or `customer`
command) gathers in memory the relation numbers whose explanation was shown,
the pages of the list seen and how long the list was on screen, and is written
as one ledger row when it ends (the screen also brings its row up to date now
and then, so a crash loses little). Nothing is written per keypress, and a
workspace opened read-only records nothing: looking must never fail because
the look cannot be written down.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nba_toolkit.ledger.store import Ledger

#: how a review was made, in the operator's words
SCREEN = "the Review screen"
COMMAND_LINE = "the command line"


@dataclass
class ReviewSession:
    """One person's look at one run, gathered until it is written with :func:`save`."""

    run_id: str
    by: str
    face: str
    started_at: str
    customers: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)
    #: seconds the list was on screen before the current stretch
    seconds_before: float = 0.0
    #: when the current stretch on screen began (time.monotonic), None while the list is not shown
    shown_since: float | None = None
    #: the ledger row once written, so later writes bring it up to date instead of adding rows
    review_id: int | None = None

    def opened(self, customer_id: str) -> None:
        """A customer's explanation was shown."""
        self.customers.add(str(customer_id))

    def page_seen(self, view: str, number: int) -> None:
        """A page of the list (in a view: everyone, mailed, held out...) was shown."""
        self.pages.add(f"{view} {number}")

    def shown(self) -> None:
        if self.shown_since is None:
            self.shown_since = time.monotonic()

    def hidden(self) -> None:
        if self.shown_since is not None:
            self.seconds_before += time.monotonic() - self.shown_since
            self.shown_since = None

    @property
    def seconds(self) -> int:
        current = 0.0 if self.shown_since is None else time.monotonic() - self.shown_since
        return round(self.seconds_before + current)


def start(run_id: str, *, by: str, face: str) -> ReviewSession:
    from nba_toolkit.ledger.store import now

    return ReviewSession(run_id=run_id, by=by, face=face, started_at=now())


def save(ledger: Ledger, session: ReviewSession) -> bool:
    """Write the session's row (again); False when the workspace is read-only, which records nothing."""
    if ledger.read_only:
        return False
    session.review_id = ledger.record_review(
        session.run_id,
        by=session.by,
        face=session.face,
        started_at=session.started_at,
        seconds=session.seconds,
        customers=sorted(session.customers),
        pages=sorted(session.pages),
        review_id=session.review_id,
    )
    return True


@dataclass(frozen=True)
class RecordedReview:
    """Every review recorded on a run, added up: what the export's confirmation and the evidence pack say."""

    reviewers: list[str]
    sessions: int
    customers_opened: int
    pages_seen: int
    seconds: int

    @property
    def reviewed(self) -> bool:
        return self.sessions > 0

    def sentence(self) -> str:
        """One line in plain words: who looked, at how much, for how long."""
        if not self.reviewed:
            return "no review recorded: nobody opened this run's list or a customer on it"
        return (
            f"reviewed by {', '.join(self.reviewers)}: {_count(self.customers_opened, 'customer')} opened, "
            f"{_count(self.pages_seen, 'page')} of the list seen, {_duration(self.seconds)} on the list"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviewed": self.reviewed,
            "reviewers": self.reviewers,
            "sessions": self.sessions,
            "customers_opened": self.customers_opened,
            "pages_seen": self.pages_seen,
            "seconds": self.seconds,
        }


def recorded_review(ledger: Ledger, run_id: str) -> RecordedReview:
    """The run's review sessions added up; a customer or page seen twice counts once."""
    rows = ledger.reviews(run_id)
    customers = {c for r in rows for c in r["customers"]}
    pages = {p for r in rows for p in r["pages"]}
    return RecordedReview(
        reviewers=list(dict.fromkeys(r["reviewed_by"] for r in rows)),
        sessions=len(rows),
        customers_opened=len(customers),
        pages_seen=len(pages),
        seconds=sum(r["seconds"] for r in rows),
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return _count(rest, "second")
    return _count(minutes, "minute") + (f" {_count(rest, 'second')}" if rest else "")
