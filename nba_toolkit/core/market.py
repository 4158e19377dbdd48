"""The market band: one rule for when the market is too unlike the training weeks to trust the model.

The engineer who ran the bank's engine measured the band within which the
market normally moves (the bank's own fund index: its change over a week and
over four weeks), and when the market left it, people took the wheel. A model
that saw one crash in training still cannot be trusted in the next, so the
band is not the training weeks' minimum to maximum (which contains the
crash): it is the median of the training weeks plus or minus ``width``
robust standard deviations (1.4826 times the median absolute deviation), so
extreme weeks, the crash among them, cannot widen the band that is meant to
catch them. The one-week and four-week changes are themselves the limits on
how fast the market may move.

The weekly ``market_regime`` check, the simulation's flagged weeks and the
model card all take their band from here, from the model's training
reference (``weekly`` values per market feature, saved at training). A
model trained before the weekly values were saved has only its training
range; its band is that range, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: how many robust standard deviations from the training weeks' median the market may lie
BAND_WIDTH = 4.0
#: the normal-distribution scale of the median absolute deviation
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    #: "robust": median ± width robust sd of the training weeks; "range": the training weeks' min to max (older models)
    kind: str

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        how = "the training weeks' median ± robust spread" if self.kind == "robust" else "the training range"
        return f"{self.low:.2f} to {self.high:.2f} ({how})"


def market_features(configured: Sequence[str], engine: Any) -> tuple[str, ...]:
    """The features the market band watches: ``[checks.market_regime] features`` when set, else the engine's own.

    The built-in engines name theirs from ``market = true`` in nba.toml's
    ``[features]``; an engine that names none has no market band.
    """
    return tuple(configured) or tuple(getattr(engine, "market_features", None) or ())


def band_of(values: Sequence[float | None], *, width: float = BAND_WIDTH, margin: float = 0.0) -> Band | None:
    """The robust band of one market feature's weekly values; None with fewer than two weeks."""
    known = sorted(float(v) for v in values if v is not None)
    if len(known) < 2:
        return None
    median = _median(known)
    spread = MAD_SCALE * _median(sorted(abs(v - median) for v in known))
    if spread == 0:
        # a feature that hardly ever moved: its band is what it did, not a point
        return Band(known[0] - margin, known[-1] + margin, "range")
    return Band(median - width * spread - margin, median + width * spread + margin, "robust")


def model_bands(
    reference: Mapping[str, Any], names: Sequence[str], *, width: float = BAND_WIDTH, margin: float = 0.0
) -> dict[str, Band]:
    """The band of each market feature the model's training reference knows."""
    bands = {}
    for name in names:
        entry = reference.get(name) or {}
        band = band_of(entry["weekly"], width=width, margin=margin) if entry.get("weekly") else None
        if band is None and "min" in entry:
            band = Band(entry["min"] - margin, entry["max"] + margin, "range")
        if band is not None:
            bands[name] = band
    return bands


def _median(ordered: list[float]) -> float:
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
