"""The analysis export (R-X3): a run's whole selection with features and flags, for the analyst's own tools.

This file is the opposite of the mail file: every customer of the snapshot,
their reason, score, group, the values they were scored on and what the
operator flagged. So it must never reach the mail program. Analysis
exporters are therefore a kind of their own, registered through a hook of
their own: the mail export only ever looks among mail exporters, an
analysis exporter's name is refused there with a plain message, and the
analysis file is written to ``analysis/``, never to ``exports/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

import polars as pl

if TYPE_CHECKING:
    from nba_toolkit.config import ExportConfig

#: selection columns first, in this order, then the snapshot's values, features and the operator's flags
SELECTION_COLUMNS = (
    "customer_id",
    "reason",
    "score",
    "rank",
    "mailed",
    "group",
    "exclusion",
    "p_holdout",
    "p_random_control",
)
FEATURE_PREFIX = "feature_"
FLAG_COLUMNS = ("operator_action", "operator_reason", "operator_by")


@runtime_checkable
class AnalysisExporter(Protocol):
    name: str
    #: file extension without the dot, e.g. "csv"
    extension: str

    def write(self, rows: pl.DataFrame, stream: BinaryIO, config: ExportConfig) -> None:
        """Write ``rows`` (see ``analysis_rows``) to ``stream`` as bytes; dialect from ``config``."""
        ...


def analysis_rows(
    selection: pl.DataFrame,
    snapshot: pl.DataFrame,
    features: pl.DataFrame,
    overrides: Iterable[Mapping[str, str]],
    feature_names: Iterable[str],
) -> pl.DataFrame:
    """One row per snapshot row: selection, the snapshot's values, ``feature_<name>`` columns, flags.

    ``selection`` and ``snapshot`` are in the same row order (the run keeps
    it); ``features`` is the engine's output for the same rows. The last
    override per customer is the one shown, as in the review.
    """
    values = snapshot.drop([c for c in snapshot.columns if c in selection.columns])
    engine_features = features.select(pl.col(name).alias(FEATURE_PREFIX + name) for name in feature_names)
    latest: dict[str, Mapping[str, str]] = {str(o["customer_id"]): o for o in overrides}
    flags = pl.DataFrame(
        {
            "_id": list(latest),
            "operator_action": [o["action"] for o in latest.values()],
            "operator_reason": [o["reason"] for o in latest.values()],
            "operator_by": [o["made_by"] for o in latest.values()],
        },
        schema={"_id": pl.String, **dict.fromkeys(FLAG_COLUMNS, pl.String)},
    )
    ordered = selection.select(c for c in SELECTION_COLUMNS if c in selection.columns)
    return (
        pl.concat([ordered, values, engine_features], how="horizontal")
        .with_columns(pl.col("customer_id").cast(pl.String).alias("_id"))
        .join(flags, on="_id", how="left", maintain_order="left")
        .drop("_id")
    )
