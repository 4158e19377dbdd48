"""What the operator can tell each check in ``nba.toml``: the ``[checks.<name>]`` tables.

Every check, built in or from a plugin, takes the same three keys: a
``severity`` that replaces the check's own (block, warn or info), and
``enabled = false``, which is only accepted together with a ``reason``: a
check switched off without a recorded reason is how problems go unnoticed
for a month. Built-in checks add their thresholds; their defaults live here,
so ``config show`` and the ledger record the thresholds a run really used.

Plain dataclasses without imports from the rest of the toolkit, so the
configuration can be read without loading polars or the plugins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TypeVar

SEVERITIES = ("block", "warn", "info")

#: lowest plausible value per canonical column, checked by ``value_ranges``
DEFAULT_MINIMUMS = {
    "savings_balance": 0.0,
    "logins_per_month": 0.0,
    "n_accounts": 1.0,
    "n_products": 1.0,
    "fund_change_1w": -100.0,
    "fund_change_4w": -100.0,
}


@dataclass(frozen=True)
class CheckSettings:
    """The keys every ``[checks.<name>]`` table accepts."""

    severity: str = ""  # empty: the check's own default
    enabled: bool = True
    reason: str = ""

    def problems(self, name: str) -> list[str]:
        found = []
        if self.severity and self.severity not in SEVERITIES:
            found.append(f"[checks.{name}] severity must be one of {', '.join(SEVERITIES)}, not '{self.severity}'")
        if not self.enabled and not self.reason.strip():
            found.append(
                f'[checks.{name}] enabled = false needs a reason = "..." that says why the check is off; '
                "it is recorded with every run"
            )
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("positive") and not value > 0:
                found.append(f"[checks.{name}] {f.name} must be more than 0")
            if f.metadata.get("above_one") and not value > 1:
                found.append(f"[checks.{name}] {f.name} must be more than 1 (a factor)")
            if f.metadata.get("share") and not 0 < value <= 1:
                found.append(f"[checks.{name}] {f.name} must lie between 0 and 1")
        return found


def _positive(default: float) -> float:
    return field(default=default, metadata={"positive": True})


@dataclass(frozen=True)
class VolumeBandSettings(CheckSettings):
    min: int = 0
    #: None: the week's capacity plus its random control, the most a correct selection can mail
    max: int | None = None

    def problems(self, name: str) -> list[str]:
        found = super().problems(name)
        if self.max is not None and (isinstance(self.max, bool) or not isinstance(self.max, int)):
            found.append(f"[checks.{name}] max must be a whole number, got {self.max!r}")
        elif self.min < 0 or (self.max is not None and self.max < self.min):
            found.append(f"[checks.{name}] needs 0 <= min <= max")
        return found

    def highest(self, most_mailed: int) -> int:
        """The band's top for a week whose selection can mail at most ``most_mailed``: ``max`` when set."""
        return most_mailed if self.max is None else self.max


@dataclass(frozen=True)
class FreshnessSettings(CheckSettings):
    #: how many weeks before the last exported week a run may still be for (older weeks are refused)
    max_weeks_back: int = field(default=8, metadata={"positive": True})


@dataclass(frozen=True)
class RecentWeeksSettings(CheckSettings):
    """A comparison with the median of the last exported weeks: how far off, over how many, from when."""

    #: more than this many times the recent median, or less than its inverse, is off
    factor: float = field(default=3.0, metadata={"above_one": True})
    #: how many of the latest exported runs make up "recent"
    runs: int = field(default=8, metadata={"positive": True})
    #: fewer exported runs than this: nothing to compare with yet
    min_runs: int = field(default=3, metadata={"positive": True})

    def problems(self, name: str) -> list[str]:
        found = super().problems(name)
        if self.runs < self.min_runs:
            found.append(f"[checks.{name}] runs must be at least min_runs, or the comparison never starts")
        return found


@dataclass(frozen=True)
class RowCountSettings(RecentWeeksSettings):
    #: largest change in rows against the previous snapshot, as a share (0.2 = 20%): the fixed band
    max_change: float = field(default=0.2, metadata={"share": True})
    #: the rows may differ from the median of the last exported weeks by this factor either way
    factor: float = field(default=1.5, metadata={"above_one": True})


@dataclass(frozen=True)
class NullRateSettings(CheckSettings):
    #: largest share of empty cells allowed in a column the run needs
    max_rate: float = field(default=0.05, metadata={"share": True})


@dataclass(frozen=True)
class ValueRangesSettings(CheckSettings):
    min: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MINIMUMS), metadata={"values": float})
    max: dict[str, float] = field(default_factory=dict, metadata={"values": float})
    #: a model feature further outside training's range than this many times that range's width is implausible
    plausible_spans: float = _positive(10.0)

    def problems(self, name: str) -> list[str]:
        found = super().problems(name)
        for column in set(self.min) & set(self.max):
            if self.max[column] < self.min[column]:
                found.append(f"[checks.{name}] the minimum of '{column}' lies above its maximum")
        return found


@dataclass(frozen=True)
class UnitJumpSettings(CheckSettings):
    #: a median and a 99th percentile that both move by this factor or more look like a unit change
    factor: float = field(default=5.0, metadata={"above_one": True})


@dataclass(frozen=True)
class PsiSettings(CheckSettings):
    """Two thresholds on the population stability index: warn from one, block from the other."""

    warn_psi: float = _positive(0.1)
    block_psi: float = _positive(0.25)

    def problems(self, name: str) -> list[str]:
        found = super().problems(name)
        if self.block_psi < self.warn_psi:
            found.append(f"[checks.{name}] block_psi must be at least warn_psi")
        return found


@dataclass(frozen=True)
class MarketRegimeSettings(CheckSettings):
    #: the engine features that describe the market (the same for everyone in a week); empty: the features
    #: [features] in nba.toml declares with market = true
    features: tuple[str, ...] = ()
    #: how far (in the features' own unit, percentage points) a value may lie outside the band
    margin: float = 0.0
    #: the band's half-width in robust standard deviations of the training weeks (see core/market.py)
    robust_sd: float = field(default=4.0, metadata={"positive": True})

    def problems(self, name: str) -> list[str]:
        found = super().problems(name)
        if not all(isinstance(f, str) for f in self.features):
            found.append(f"[checks.{name}] features must be a list of feature names")
        if self.margin < 0:
            found.append(f"[checks.{name}] margin must be 0 or more")
        return found


@dataclass(frozen=True)
class SecondSourceSettings(CheckSettings):
    #: a second source of the week's market figures (a CSV file, relative to the workspace); empty: not compared
    file: str = ""
    #: the second source's column that names the week, as the toolkit does ("2026-W47")
    week_column: str = "WEEK"
    #: the extract's column (its canonical name) -> the second source's column holding the same figure
    columns: dict[str, str] = field(default_factory=dict)
    #: the largest difference allowed, in the figures' own unit (percentage points for the fund changes)
    tolerance: float = field(default=0.01, metadata={"positive": True})
    #: the second source's field separator, one character
    separator: str = ","

    def problems(self, name: str) -> list[str]:
        found = super().problems(name)
        if self.file and not self.columns:
            found.append(
                f"[checks.{name}] file is set but columns is empty: name the figures to compare, such as "
                'columns = { fund_change_1w = "CHG_1W_PCT" }'
            )
        if len(self.separator) != 1:
            found.append(f"[checks.{name}] separator must be one character")
        return found


@dataclass(frozen=True)
class RecentVolumeSettings(RecentWeeksSettings):
    """More than ``factor`` times the recent median blocks; less than its inverse warns."""


@dataclass(frozen=True)
class ContactOverlapSettings(CheckSettings):
    #: least share of the customers contacted in the cooldown weeks that must be in this week's snapshot
    min_share: float = field(default=0.5, metadata={"share": True})
    #: fewer contacted customers than this: too few to judge
    min_contacts: int = field(default=50, metadata={"positive": True})


@dataclass(frozen=True)
class CategoryLevelsSettings(CheckSettings):
    #: most customers per category, as a share, whose value training never saw (scored as "other")
    max_other_share: float = field(default=0.05, metadata={"share": True})


@dataclass(frozen=True)
class PeriodKeySettings(CheckSettings):
    #: share of a feature's variance lying between weeks (not between a week's customers) that makes it a period key
    max_between_week_share: float = field(default=0.8, metadata={"share": True})


@dataclass(frozen=True)
class AucLimitSettings(CheckSettings):
    #: highest AUC within the week a single feature may reach on its own
    max_auc: float = field(default=0.9, metadata={"share": True})
    #: how far the strongest feature's AUC may lie above the next strongest's before it looks like a leak
    max_lead: float = field(default=0.15, metadata={"share": True})


@dataclass(frozen=True)
class OutOfTimeAucSettings(CheckSettings):
    max_auc: float = field(default=0.95, metadata={"share": True})


@dataclass(frozen=True)
class AucGapSettings(CheckSettings):
    max_gap: float = field(default=0.1, metadata={"share": True})


@dataclass(frozen=True)
class RankingFloorSettings(CheckSettings):
    #: how far above chance (0.5) the AUC within the week must be, at least
    min_margin: float = field(default=0.05, metadata={"share": True})
    #: how far below the best single feature's AUC within the week the model may fall
    baseline_tolerance: float = field(default=0.01, metadata={"share": True})


#: built-in check name -> its settings table; any other name gets ``CheckSettings``
BUILTIN_SETTINGS: dict[str, type[CheckSettings]] = {
    "schema": CheckSettings,
    "duplicate_ids": CheckSettings,
    "freshness": FreshnessSettings,
    "row_count": RowCountSettings,
    "null_rate": NullRateSettings,
    "value_ranges": ValueRangesSettings,
    "unit_jump": UnitJumpSettings,
    "feature_drift": PsiSettings,
    "market_regime": MarketRegimeSettings,
    "market_second_source": SecondSourceSettings,
    "category_levels": CategoryLevelsSettings,
    "contact_overlap": ContactOverlapSettings,
    "volume_band": VolumeBandSettings,
    "recent_volume": RecentVolumeSettings,
    "score_drift": PsiSettings,
    "reconciliation": CheckSettings,
    "mailed_cooldown": CheckSettings,
    "mailed_suppressed": CheckSettings,
    "mailed_consent": CheckSettings,
    "mailed_investor": CheckSettings,
    "mailed_duplicates": CheckSettings,
    "period_key": PeriodKeySettings,
    "single_feature_auc": AucLimitSettings,
    "out_of_time_auc": OutOfTimeAucSettings,
    "auc_gap": AucGapSettings,
    "ranking_floor": RankingFloorSettings,
}


#: a settings class, for reading a check's table as the class its check declares
SettingsT = TypeVar("SettingsT", bound=CheckSettings)


def settings_class(name: str) -> type[CheckSettings]:
    return BUILTIN_SETTINGS.get(name, CheckSettings)
