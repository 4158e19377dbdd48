"""The bank-size workspaces of benchmarks/scale.py, built at twice the sample so the code cannot rot; no timing."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path

import polars as pl

from nba_toolkit.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _scale():
    spec = importlib.util.spec_from_file_location("nba_benchmark_scale", ROOT / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_scaled_workspace_copies_every_customer_with_their_outcomes_and_mailings(tmp_path: Path) -> None:
    root = _scale().build(tmp_path, 40_000)
    history = pl.read_parquet(root / "data" / "history.parquet")
    weeks = history["SNAPSHOT_DATE"].n_unique()
    assert history.height == 2 * 20_000 * weeks
    assert history["RELATION_NO"].n_unique() == 40_000
    assert history.group_by("RELATION_NO", "SNAPSHOT_DATE").len()["len"].max() == 1
    copies = history.filter(pl.col("RELATION_NO") >= 100_000_000)
    originals = history.filter(pl.col("RELATION_NO") < 100_000_000)
    ratio = copies["SAVINGS_BAL"].sum() / originals["SAVINGS_BAL"].sum()
    assert 0.95 <= ratio <= 1.05 and not copies["SAVINGS_BAL"].equals(originals["SAVINGS_BAL"])

    outcomes = pl.read_csv(root / "data" / "outcomes.csv")
    assert outcomes.filter(pl.col("RELATION_NO") >= 100_000_000).height == outcomes.height // 2
    week = pl.read_csv(root / "data" / "snapshots" / "2026-W47.csv", separator=";", encoding="utf8-lossy")
    assert week.height == 40_000 and week["RELATION_NO"].n_unique() == 40_000

    workspace = Workspace.open(root)
    contacts = [cid for cid, _ in workspace.ledger.contacts_between(date(2020, 1, 1), date(2030, 1, 1))]
    workspace.close()
    copied = sum(int(cid) >= 100_000_000 for cid in contacts)
    assert copied == len(contacts) - copied > 0
