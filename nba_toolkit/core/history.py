"""Earlier runs as the checks see them: read-only, accepted runs only, newest first.

Checks compare this week with earlier ones (rows in, units, mailed volume,
scores). Only runs that passed their own checks count: a run blocked for a
unit change must not become the yardstick that makes the corrected snapshot
look like a unit change in turn. A run's snapshot profile counts only while
it matches the hash the run recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nba_toolkit.core.files import sha256_of
from nba_toolkit.core.profile import profile_changed, read_profile

if TYPE_CHECKING:
    import polars as pl

    from nba_toolkit.ledger.store import Ledger

ACCEPTED = ("awaiting_approval", "exported")


@dataclass(frozen=True)
class PastRun:
    run_id: str
    week: str
    status: str
    rows_in: int | None
    counts: Mapping[str, int]
    folder: Path
    selection_path: Path | None = None
    selection_sha256: str | None = None
    profile_sha256: str | None = None
    #: the model that scored the run
    model_id: str | None = None
    _scores: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def exported(self) -> bool:
        return self.status == "exported"

    @property
    def mailed(self) -> int:
        """Customers the run would mail (model group plus random control), as counted at the run."""
        return int(self.counts.get("selected_mailed", 0)) + int(self.counts.get("random_control", 0))

    def profile(self) -> dict[str, dict[str, Any]] | None:
        """The snapshot profile the run left, unless it was changed after the run (then it is no yardstick)."""
        return None if self.profile_changed else read_profile(self.folder)

    @property
    def profile_changed(self) -> bool:
        return profile_changed(self.folder, self.profile_sha256)

    def scores(self) -> pl.DataFrame | None:
        """``customer_id`` (as text) and ``score`` of every customer the run scored, if its selection file is intact."""
        if "scores" not in self._scores:
            self._scores["scores"] = self._read_scores()
        return self._scores["scores"]

    def _read_scores(self) -> pl.DataFrame | None:
        import polars as pl

        path = self.selection_path
        if path is None or not path.is_file() or sha256_of(path) != self.selection_sha256:
            return None
        return (
            pl.read_parquet(path, columns=["customer_id", "score"])
            .drop_nulls("score")
            .select(pl.col("customer_id").cast(pl.String), "score")
        )


def past_runs(ledger: Ledger, root: Path, *, exclude: str | None = None, limit: int = 60) -> tuple[PastRun, ...]:
    """The accepted runs in the ledger, newest first, without ``exclude`` (the run being checked)."""
    found: list[PastRun] = []
    for record in ledger.runs():
        if record.run_id == exclude or record.status not in ACCEPTED:
            continue
        if len(found) == limit:
            break
        found.append(
            PastRun(
                run_id=record.run_id,
                week=record.week,
                status=record.status,
                rows_in=record.rows_in,
                counts=dict(record.counts),
                folder=root / "runs" / record.run_id,
                selection_path=root / record.selection_path if record.selection_path else None,
                selection_sha256=record.selection_sha256,
                profile_sha256=record.profile_sha256,
                model_id=record.model_id,
            )
        )
    return tuple(found)
