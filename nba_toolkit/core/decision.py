"""Who is mailed this week: the one path from snapshot to selection, recording nothing.

The weekly run, its replay, the backtest, the what-if and the residual group
all need "what does the engine select for this snapshot?". They must get the
same answer, so they all come here: the built-in eligibility
(:func:`~nba_toolkit.core.selection.exclusions`), then the business rules,
then the engine's features and scores for the eligible only, then
:func:`~nba_toolkit.core.selection.select` with the policy and salt. Same
snapshot, contact history, model and configuration: same selection, row for
row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.rules import RuleContext, apply_rules
from nba_toolkit.core.selection import Policy, exclusions, select
from nba_toolkit.errors import PluginError

#: the contact history ``exclusions`` expects: customers in the cooldown
CONTACT_SCHEMA = pl.Schema({"customer_id": pl.String, "week_start": pl.String})
#: customers per call of the engine's score: a million customers of a dozen features is about 100 MB
SCORE_BLOCK = 1_000_000


def score_week(
    snapshot: pl.DataFrame,
    contacted: pl.DataFrame,
    *,
    engine: Any,
    model: Any,
    rules: Sequence[tuple[Any, str]] = (),
    rule_context: RuleContext | None = None,
    features: pl.DataFrame | None = None,
    suppressed: pl.Series | None = None,
) -> pl.DataFrame:
    """``customer_id``, ``exclusion`` (null when eligible) and ``score`` (null when excluded) per snapshot row.

    ``features`` are the engine's features of every snapshot row when the
    caller has them already (the weekly run's input checks computed them);
    without them only the eligible rows' are computed. ``suppressed`` are the
    relation numbers under a standing exclusion (the weekly run and its replay).
    """
    customers = eligibility(snapshot, contacted, rules=rules, rule_context=rule_context, suppressed=suppressed)
    eligible = customers["exclusion"].is_null()
    eligible_features = (
        engine.features(snapshot.filter(eligible).lazy()).collect() if features is None else features.filter(eligible)
    )
    return customers.with_columns(score=score_eligible(engine, model, eligible_features, eligible))


def eligibility(
    snapshot: pl.DataFrame,
    contacted: pl.DataFrame,
    *,
    rules: Sequence[tuple[Any, str]] = (),
    rule_context: RuleContext | None = None,
    suppressed: pl.Series | None = None,
) -> pl.DataFrame:
    """``customer_id`` and ``exclusion`` (null when eligible) per snapshot row: the built-in eligibility, then the rules.

    The weekly run scores the eligible; the fallback list draws from them
    (core/fallback.py). Both come here, so a customer kept out of one is kept
    out of the other.
    """
    exclusion = exclusions(snapshot, contacted, suppressed)
    if rules and rule_context is not None:
        exclusion = apply_rules(rules, snapshot, exclusion, rule_context)
    # from the columns themselves: an eager select on a snapshot read in several chunks would copy them
    return pl.DataFrame([snapshot["customer_id"], exclusion.alias("exclusion")])


def decide_week(
    snapshot: pl.DataFrame,
    contacted: pl.DataFrame,
    *,
    engine: Any,
    model: Any,
    policy: Policy,
    rules: Sequence[tuple[Any, str]] = (),
    rule_context: RuleContext | None = None,
    suppressed: pl.Series | None = None,
) -> pl.DataFrame:
    """The selection for ``snapshot`` (canonical columns), given who is in the cooldown or kept out for good."""
    scored = score_week(
        snapshot, contacted, engine=engine, model=model, rules=rules, rule_context=rule_context, suppressed=suppressed
    )
    return select(scored, policy)


def score_eligible(engine: Any, model: Any, features: pl.DataFrame, eligible: pl.Series) -> pl.Series:
    """Scores for the ``eligible`` rows, whose ``features`` these are (null elsewhere).

    An engine that returns anything but probabilities is refused.
    """
    raw = engine_scores(engine, model, features)
    scores = np.full(eligible.len(), np.nan)
    scores[eligible.to_numpy()] = raw
    return pl.Series("score", scores).fill_nan(None)


def engine_scores(engine: Any, model: Any, features: pl.DataFrame) -> np.ndarray:
    """The engine's probabilities for ``features``, checked: one per row, finite, within 0 to 1.

    The engine scores a block of at most ``SCORE_BLOCK`` customers at a time,
    so whatever matrices it builds stay the size of a block, not of the week.
    """
    starts = range(0, features.height, SCORE_BLOCK) or range(1)
    return np.concatenate([_block_scores(engine, model, features.slice(start, SCORE_BLOCK)) for start in starts])


def _block_scores(engine: Any, model: Any, features: pl.DataFrame) -> np.ndarray:
    try:
        raw = np.asarray(engine.score(model, features), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - any engine failure is the engine's, named as such
        raise PluginError(f"the engine '{engine.name}' failed while scoring: {type(exc).__name__}: {exc}") from exc
    if raw.shape != (features.height,) or not np.all(np.isfinite(raw)) or raw.min(initial=0) < 0 or raw.max(initial=0) > 1:
        raise PluginError(
            f"the engine '{engine.name}' returned {raw.shape[0] if raw.ndim else 0} scores for "
            f"{features.height} customers, or scores outside 0 to 1"
        )
    return raw
