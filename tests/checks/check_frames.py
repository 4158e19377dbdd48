"""Small frames and contexts for testing single checks without a workspace run."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.config import parse_config
from nba_toolkit.core.checks import CheckContext
from nba_toolkit.core.history import PastRun
from nba_toolkit.core.profile import snapshot_profile, write_profile
from nba_toolkit.core.training import reference_profile
from nba_toolkit.default_plugins.logistic_engine import LogisticEngine
from nba_toolkit.jobs.run import CORE_COLUMNS

ENGINE = LogisticEngine()
REQUIRED = {**CORE_COLUMNS, **ENGINE.required_columns}
WEEK_START = date(2026, 11, 16)


def snapshot(
    n: int = 2000, *, seed: int = 0, week_start: date = WEEK_START, fund: tuple[float, float] = (0.16, 2.69)
) -> pl.DataFrame:
    """A snapshot in canonical columns, customers drawn like the sample data's."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "customer_id": np.arange(10_000_000, 10_000_000 + n),
            "snapshot_date": [week_start] * n,
            "savings_balance": rng.lognormal(8.5, 1.0, n).round(2),
            "current_balance": rng.normal(1500, 1000, n).round(2),
            "n_accounts": rng.integers(1, 7, n),
            "app_installed": rng.random(n) < 0.6,
            "logins_per_month": rng.integers(0, 61, n),
            "n_products": rng.integers(1, 9, n),
            "age_band": rng.choice(ENGINE.declaration.features[4].levels, n),
            "is_investor": rng.random(n) < 0.2,
            "marketing_consent": rng.random(n) < 0.8,
            "fund_change_1w": [fund[0]] * n,
            "fund_change_4w": [fund[1]] * n,
        }
    )


def training_model(weeks: int = 8) -> dict[str, Any]:
    """A model sidecar with a training reference over ``weeks`` weeks, the fund index between -5 and 5 per week."""
    frames = [
        snapshot(seed=100 + k, week_start=WEEK_START - timedelta(weeks=weeks - k), fund=(-5.0 + 10 * k / (weeks - 1), 4.0 - k))
        for k in range(weeks)
    ]
    history = pl.concat(frames).filter(~pl.col("is_investor"))
    features = ENGINE.features(history.lazy()).collect()
    return {"reference": reference_profile(features, ENGINE, history["snapshot_date"])}


def past_run(
    folder: Path,
    *,
    run_id: str = "2026-W46.1",
    week: str = "2026-W46",
    status: str = "exported",
    rows_in: int | None = 2000,
    counts: dict[str, int] | None = None,
    frame: pl.DataFrame | None = None,
    scores: np.ndarray | None = None,
    ids: list | None = None,
) -> PastRun:
    """An earlier accepted run; with ``frame`` it leaves a profile, with ``scores`` a selection file."""
    run_dir = folder / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    if frame is not None:
        write_profile(run_dir, snapshot_profile(frame, REQUIRED))
    selection_path = sha = None
    if scores is not None:
        from nba_toolkit.core.files import sha256_of

        selection_path = run_dir / "selection.parquet"
        customer_ids = ids if ids is not None else list(range(len(scores)))
        pl.DataFrame({"customer_id": customer_ids, "score": scores}).write_parquet(selection_path)
        sha = sha256_of(selection_path)
    return PastRun(
        run_id=run_id,
        week=week,
        status=status,
        rows_in=rows_in,
        counts=counts or {},
        folder=run_dir,
        selection_path=selection_path,
        selection_sha256=sha,
    )


def context(frame: pl.DataFrame, *, toml: dict[str, Any] | None = None, **fields: Any) -> CheckContext:
    return CheckContext(
        week="2026-W47",
        week_start=WEEK_START,
        week_end=WEEK_START + timedelta(days=6),
        snapshot=frame,
        config=parse_config(toml or {}),
        required_columns=REQUIRED,
        engine=ENGINE,
        **fields,
    )


def selection(frame: pl.DataFrame, *, mailed: int = 100, seed: int = 1) -> pl.DataFrame:
    """A selection of ``frame``: the first ``mailed`` eligible customers are mailed, scores around 2%."""
    rng = np.random.default_rng(seed)
    eligible = ~frame["is_investor"] & frame["marketing_consent"]
    order = eligible.cast(pl.Int32).cum_sum()
    chosen = eligible & (order <= mailed)
    return pl.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "exclusion": pl.Series([None if e else "excluded_investor" for e in eligible], dtype=pl.String),
            "score": pl.Series(np.where(eligible.to_numpy(), rng.beta(2, 90, frame.height), np.nan)).fill_nan(None),
            "reason": pl.Series(
                ["selected_mailed" if c else ("below_threshold" if e else "excluded_investor") for c, e in zip(chosen, eligible)]
            ),
            "mailed": chosen,
        }
    )
