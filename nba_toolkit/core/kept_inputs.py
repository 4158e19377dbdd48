"""What a run read from its extract, kept with the run, so the raw extract need not be.

A bank's extract holds columns a run never reads (names, addresses) and
should not be kept longer than the week needs it. The run keeps the columns
it did read (the loader's allowlist: mapped and declared ones only), in
canonical names, as ``runs/<id>/inputs.parquet``, owner-only like every run
file, with its SHA-256 in the ledger. Replay and the review's explanations
read it, so they keep working after the extract is moved or deleted, and
retention removes it with the rest of the run's per-customer data.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nba_toolkit.core.files import atomic_writer, sha256_of

INPUTS_FILE = "inputs.parquet"


def keep_inputs(run_dir: Path, frame: pl.DataFrame) -> str:
    """Write the frame the run loaded next to its selection; its SHA-256 for the ledger."""
    path = run_dir / INPUTS_FILE
    with atomic_writer(path) as handle:
        frame.write_parquet(handle)
    return sha256_of(path)


def kept_inputs(run_dir: Path, sha256: str | None) -> pl.DataFrame | None:
    """The run's kept inputs, or None when it kept none (an older run) or they no longer match the ledger."""
    path = run_dir / INPUTS_FILE
    if not sha256 or not path.is_file() or sha256_of(path) != sha256:
        return None
    return pl.read_parquet(path)
