"""Training on a sample of a large history: every conversion, a share of the other rows, weighted back.

A bank's history of millions of customers over a year and a half is
hundreds of millions of customer-weeks, almost all of them "did not open an
account". What a model learns comes mostly from the few who did, so
training keeps every one of them and, in each week, the same share of the
others, drawn at random (seeded, so the same history and seed give the same
sample). Each kept non-converting row then stands for the rows of its week
that were left out: it is fitted with the weight (rows of the week) / (rows
kept of the week). Weighted so, the fitted probabilities are those of the
whole history: a model fitted on the sample without weights would see far
more conversions than there are and overstate every chance.

AUC is not changed by taking a share of one class, so the ranking figures
on the sample hold for the history; calibration and lift are not, which is
why training measures those on every row of the validation weeks.

Next to the fitting sample, ``in_reference`` marks a plain per-week sample of
all rows (conversions taken at the same share as the others): the drift
reference and the category mix are what the weekly snapshots are compared
with, so they must show the customers as they are, not the enriched mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.errors import BadInput


@dataclass(frozen=True)
class Sampling:
    """How the rows fitted on were drawn from the labelled history, as the sidecar, ledger and card record it."""

    #: labelled customer-weeks before sampling, and the limit that made training sample
    rows: int
    limit: int
    #: rows fitted on: every conversion and the drawn others
    drawn: int
    positives: int
    #: the share of the non-converting rows kept (each week about this share)
    rate: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "limit": self.limit,
            "drawn": self.drawn,
            "positives": self.positives,
            "negatives_kept": self.drawn - self.positives,
            "negatives_rate": self.rate,
            "seed": self.seed,
            "method": "every conversion; per week a uniform random share of the other rows, weighted by "
            "(rows of the week) / (rows kept of the week)",
        }


def draw_sample(labelled: pl.DataFrame, *, limit: int, seed: int) -> tuple[pl.DataFrame, Sampling] | None:
    """The rows to fit on, with ``weight`` and ``in_reference``, or None when the history is within ``limit``.

    ``labelled`` needs ``snapshot_date`` and ``label``. Per week, the
    non-converting rows kept are the ``round(rate x rows)`` with the lowest
    random key, so each week keeps its share exactly and the weight is the
    exact inverse of it.
    """
    rows = labelled.height
    if rows <= limit:
        return None
    positives = int(labelled["label"].sum())
    negatives = rows - positives
    if positives >= limit:
        raise BadInput(
            f"the history holds {positives:,} conversions, at least [engine] training_sample_rows "
            f"({limit:,}); a sample must keep every conversion and some customers who did not convert",
            hint="Raise [engine] training_sample_rows in nba.toml, or train on fewer weeks with --until.",
        )
    rate = (limit - positives) / negatives
    key = pl.Series("__key__", np.random.default_rng(seed).random(rows))
    per_week = ["snapshot_date", "label"]
    drawn = (
        labelled.with_columns(key)
        .with_columns(
            pl.col("__key__").rank("ordinal").over(per_week).alias("__rank__"),
            pl.len().over(per_week).alias("__of__"),
        )
        .with_columns(((pl.col("__of__") * rate).round().clip(lower_bound=1)).alias("__kept__"))
        .with_columns(
            (pl.col("__rank__") <= pl.col("__kept__")).alias("in_reference"),
        )
        .filter((pl.col("label") == 1) | pl.col("in_reference"))
        .with_columns(
            pl.when(pl.col("label") == 1).then(pl.lit(1.0)).otherwise(pl.col("__of__") / pl.col("__kept__")).alias("weight")
        )
        .drop("__key__", "__rank__", "__of__", "__kept__")
    )
    return drawn, Sampling(
        rows=rows,
        limit=limit,
        drawn=drawn.height,
        positives=positives,
        rate=rate,
        seed=seed,
    )
