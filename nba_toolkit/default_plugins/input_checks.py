"""Built-in input checks that compare the snapshot with earlier weeks and with training (R-C3).

They run before anything is scored. Row count compares with the last
accepted run and with the recent exported weeks; unit jumps with the last
accepted run; feature drift and the market regime compare with the
reference the active model saved at training. Null rates and value ranges
need no comparison at all; the contact overlap compares this week's relation
numbers with the contact history. Thresholds come from ``[checks.<name>]`` in
nba.toml (see docs/checks.md).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.core.check_settings import (
    CategoryLevelsSettings,
    ContactOverlapSettings,
    MarketRegimeSettings,
    NullRateSettings,
    PsiSettings,
    RowCountSettings,
    SecondSourceSettings,
    UnitJumpSettings,
    ValueRangesSettings,
)
from nba_toolkit.core.checks import CheckContext, CheckResult
from nba_toolkit.core.drift import bin_shares, category_psi, psi
from nba_toolkit.core.features import unseen_levels
from nba_toolkit.core.history import PastRun
from nba_toolkit.core.market import market_features, model_bands
from nba_toolkit.core.scalars import number, number_or_none
from nba_toolkit.default_plugins._results import affected, figure, not_measured, result
from nba_toolkit.plugin import hookimpl


class RowCountCheck:
    """Two yardsticks: a fixed band around the last accepted run, and the median of the last exported weeks.

    The band catches a sudden jump from one week to the next. A customer base
    that keeps growing, or a list whose size swings by design (then the
    operator widens the band), is judged against the recent weeks instead:
    a week far off their median is incomplete or loaded twice, however it
    compares with the week just before.
    """

    name = "row_count"
    stage = "input"
    severity = "block"
    description = "The snapshot has about as many customers as the last accepted run's and as the recent exported weeks'."

    def run(self, context: CheckContext) -> CheckResult:
        rows = context.snapshot.height
        if rows == 0:
            return result(
                self,
                False,
                "The snapshot has no customers at all: only the column names arrived. The extract "
                "stopped early or selected nobody; there is nothing to run the week on.",
                measured=0,
                threshold="at least 1 customer",
                action="Ask the data warehouse team to run this week's extract again, then run the week on the new file.",
            )
        previous = next((r for r in context.history if r.rows_in), None)
        if previous is None:
            return not_measured(self, f"no earlier run to compare the {rows:,} customers with.")
        settings = context.settings(self.name, RowCountSettings)
        comparisons = [_against_previous(rows, previous, settings.max_change)]
        exported = [r for r in context.history if r.exported and r.rows_in][: settings.runs]
        if len(exported) >= settings.min_runs:
            comparisons.append(_against_recent(rows, exported, settings.factor))
        off = [c for c in comparisons if not c.passed]
        return result(
            self,
            not off,
            " ".join(c.text for c in comparisons)
            if not off
            else " ".join(c.text for c in off) + " An extract this different is usually incomplete (fewer) or loaded "
            "twice (more).",
            measured=rows,
            threshold="; ".join(c.threshold for c in comparisons),
            action="Ask the data warehouse team whether this week's extract is complete. If the customer base "
            "really changed this much, widen [checks.row_count] (max_change against the last run, factor against "
            "the recent weeks).",
        )


@dataclass(frozen=True)
class _RowComparison:
    passed: bool
    text: str
    threshold: str


def _against_previous(rows: int, previous: PastRun, allowed: float) -> _RowComparison:
    """The fixed band: the rows within ``allowed`` (a share) of the last accepted run's."""
    assert previous.rows_in, "only a run that counted its customers is compared with"
    change = rows / previous.rows_in - 1
    low, high = math.ceil(previous.rows_in * (1 - allowed)), math.floor(previous.rows_in * (1 + allowed))
    passed = abs(change) <= allowed
    return _RowComparison(
        passed,
        f"{rows:,} customers, {change:+.1%} against the {previous.rows_in:,} of run {previous.run_id}."
        if passed
        else f"The snapshot has {rows:,} customers against {previous.rows_in:,} in run {previous.run_id} "
        f"({previous.week}): {change:+.0%}, more than the {allowed:.0%} allowed.",
        f"{low:,} to {high:,} (±{allowed:.0%} of run {previous.run_id})",
    )


def _against_recent(rows: int, exported: list[PastRun], factor: float) -> _RowComparison:
    """The rows within ``factor`` times the median of the recent exported weeks, either way."""
    median = statistics.median(r.rows_in for r in exported if r.rows_in)  # every one counted its customers
    ratio = rows / median
    recent = f"the median of the last {len(exported)} exported weeks ({median:,.0f})"
    passed = 1 / factor <= ratio <= factor
    return _RowComparison(
        passed,
        f"{ratio:.2f} times {recent}."
        if passed
        else f"The snapshot has {rows:,} customers, {ratio:.2f} times {recent}, outside the factor of {factor:g} "
        "allowed either way.",
        f"{math.ceil(median / factor):,} to {math.floor(median * factor):,} ({factor:g} times {recent} either way)",
    )


class NullRateCheck:
    name = "null_rate"
    stage = "input"
    severity = "block"
    description = "No column the run needs is empty in more than a small share of rows."

    def run(self, context: CheckContext) -> CheckResult:
        frame = context.snapshot
        allowed = context.settings(self.name, NullRateSettings).max_rate
        columns = [c for c in context.required_columns if c in frame.columns]
        if frame.height == 0 or not columns:
            return not_measured(self, "the snapshot has no rows or no needed columns.")
        rates = frame.select(pl.col(c).null_count() / pl.len() for c in columns).row(0, named=True)
        bad = {c: rate for c, rate in rates.items() if rate > allowed}
        worst = max(rates.values())
        mask = pl.any_horizontal(pl.col(c).is_null() for c in bad) if bad else pl.lit(False)
        return result(
            self,
            not bad,
            f"Every needed column is filled in at least {1 - allowed:.0%} of rows (the emptiest: {worst:.1%} empty)."
            if not bad
            else "Too many empty values: "
            + ", ".join(f"'{c}' is empty in {rate:.1%} of rows" for c, rate in bad.items())
            + f" (at most {allowed:.0%} allowed). Empty values would be filled in with a stand-in and scored as if real.",
            measured=", ".join(f"{c} {rate:.1%}" for c, rate in bad.items()) if bad else f"{worst:.1%}",
            threshold=f"at most {allowed:.0%} empty per column",
            action="Ask the data warehouse team why these columns are empty, and run again on a complete extract.",
            **affected(frame, mask),
        )


class ValueRangesCheck:
    name = "value_ranges"
    stage = "input"
    severity = "block"
    description = (
        "Values lie within their possible range (for example no negative savings balance), and the model's "
        "features within a plausible distance of what training saw."
    )

    def run(self, context: CheckContext) -> CheckResult:
        frame = context.snapshot
        settings = context.settings(self.name, ValueRangesSettings)
        columns = [c for c in dict.fromkeys([*settings.min, *settings.max]) if c in frame.columns]
        ranges = {column: (settings.min.get(column), settings.max.get(column)) for column in columns}
        bounds = _plausible_bounds(context, settings.plausible_spans)
        if not ranges and not bounds:
            return not_measured(self, "none of the columns with a declared range is in the snapshot.")
        problems, masks = _outside_ranges(frame, ranges)
        features = context.features() if bounds else frame
        implausible, feature_masks = _outside_ranges(features, bounds)
        problems += [
            f"the model's feature {problem}: more than {settings.plausible_spans:g} times the width of training's range beyond it"
            for problem in implausible
        ]
        hits = _affected_union(frame, masks, features, feature_masks)
        rules = [f"{column} {_range_text(low, high)}" for column, (low, high) in ranges.items()]
        rules += [f"feature {name} {_range_text(low, high)}" for name, (low, high) in bounds.items()]
        return result(
            self,
            not problems,
            "Every value lies within its declared range, and every feature near the range training saw."
            if not problems
            else "Impossible values in the snapshot: " + "; ".join(problems) + ".",
            measured=hits["affected_count"],
            threshold="; ".join(rules),
            action="Ask the data warehouse team about these rows (the sample lists relation numbers). If such values "
            "are real, widen the range in [checks.value_ranges] (min, max, plausible_spans).",
            **hits,
        )


def _plausible_bounds(context: CheckContext, spans: float) -> dict[str, tuple[float, float]]:
    """Per numeric model feature, the band beyond which a value is implausible rather than unusual.

    The band is training's range widened on both sides by ``spans`` times its
    width: a balance of 1e300 lies hundreds of widths beyond it even on the
    engine's log scale, a wealthy customer does not. Features that are the same
    for everyone in a week (the market) are the market regime check's.
    """
    reference = (context.model or {}).get("reference")
    if not reference or context.engine is None:
        return {}
    bounds = {}
    for name, ref in reference.items():
        if "min" not in ref or "max" not in ref or ref.get("same_within_week"):
            continue
        low, high = float(ref["min"]), float(ref["max"])
        width = (high - low) or max(abs(low), abs(high), 1.0)
        bounds[name] = (low - spans * width, high + spans * width)
    return bounds


def _outside_ranges(
    frame: pl.DataFrame, ranges: Mapping[str, tuple[float | None, float | None]]
) -> tuple[list[str], list[pl.Expr]]:
    """What lies outside each column's range, as sentences, and the masks of the rows concerned."""
    ranges = {column: bounds for column, bounds in ranges.items() if column in frame.columns}
    if not ranges or frame.height == 0:
        return [], []
    outside = {column: _outside(column, low, high) for column, (low, high) in ranges.items()}
    # one pass counts what lies outside; the extremes are looked up only for columns that have any
    counts = frame.select(mask.sum().alias(column) for column, mask in outside.items()).row(0, named=True)
    found = _extremes(frame, {column: mask for column, mask in outside.items() if counts[column]})
    problems = [
        f"'{column}' is outside {_range_text(*ranges[column])} in {counts[column]:,} rows "
        f"(values from {figure(low)} to {figure(high)})"
        for column, (low, high) in found.items()
    ]
    return problems, [outside[column].fill_null(False) for column in found]


def _affected_union(
    frame: pl.DataFrame, masks: list[pl.Expr], features: pl.DataFrame, feature_masks: list[pl.Expr]
) -> dict[str, Any]:
    """The customers with a value outside a declared range or a feature outside its plausible band, once each."""
    ids = [part.filter(pl.any_horizontal(m))["customer_id"] for part, m in ((frame, masks), (features, feature_masks)) if m]
    if not ids:
        return affected(frame, pl.lit(False))
    found = ids[0] if len(ids) == 1 else pl.concat([i.cast(pl.String) for i in ids]).unique(maintain_order=True)
    return affected(found.to_frame(), pl.lit(True))


def _outside(column: str, low: float | None, high: float | None) -> pl.Expr:
    """True where the column's value lies below ``low`` or above ``high`` (either may be absent)."""
    value = pl.col(column).cast(pl.Float64)
    outside = pl.lit(False)
    if low is not None:
        outside = outside | (value < low)
    if high is not None:
        outside = outside | (value > high)
    return outside


def _extremes(frame: pl.DataFrame, outside: dict[str, pl.Expr]) -> dict[str, tuple[float, float]]:
    """The lowest and highest value outside its range, per column that has any (usually none: nothing to do)."""
    if not outside:
        return {}
    values = {column: pl.col(column).cast(pl.Float64).filter(mask) for column, mask in outside.items()}
    row = frame.select(
        expression
        for column, value in values.items()
        for expression in (value.min().alias(f"{column}\0lo"), value.max().alias(f"{column}\0hi"))
    ).row(0, named=True)
    return {column: (row[f"{column}\0lo"], row[f"{column}\0hi"]) for column in outside}


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{figure(low)} to {figure(high)}"
    if low is not None:
        return f">= {figure(low)}"
    assert high is not None, "a declared range has a bound on at least one side"
    return f"<= {figure(high)}"


class UnitJumpCheck:
    name = "unit_jump"
    stage = "input"
    severity = "block"
    description = "No column's median and 99th percentile jump by a factor (about 10, 100, 1000) against the last run."

    def run(self, context: CheckContext) -> CheckResult:
        previous = next((r for r in context.history if r.profile() is not None), None)
        changed = _changed_profiles(context, previous)
        if previous is None:
            return not_measured(self, "no earlier run left a profile of its snapshot to compare with." + changed)
        factor = context.settings(self.name, UnitJumpSettings).factor
        before = previous.profile() or {}
        now = context.profile()
        jumps = []
        for column, stats in now.items():
            old = before.get(column)
            if old is None or stats["distinct"] <= 1 or old["distinct"] <= 1:
                continue  # the same for everyone (the market): the market regime check judges those
            ratios = [stats[s] / old[s] for s in ("median", "p99") if _comparable(stats[s], old[s])]
            if ratios and (all(r >= factor for r in ratios) or all(r <= 1 / factor for r in ratios)):
                jumps.append((column, ratios[0], old, stats))
        return result(
            self,
            not jumps,
            f"No column changed its scale against run {previous.run_id} ({previous.week})." + changed
            if not jumps
            else "A column changed its scale, as a unit change does (euros to cents, seconds to milliseconds): "
            + "; ".join(
                f"'{c}' is about {_power_of_ten(r)} times {'larger' if r > 1 else 'smaller'} than in run "
                f"{previous.run_id} (median {figure(old['median'])} then, {figure(new['median'])} now)"
                for c, r, old, new in jumps
            )
            + "."
            + changed,
            measured=", ".join(f"{c} x{r:.3g}" for c, r, _, _ in jumps) if jumps else None,
            threshold=f"a factor of {factor:g} or more against run {previous.run_id}",
            action="Ask the data warehouse team whether the unit or the meaning of these columns changed; run again "
            "once the extract is back in the usual units.",
        )


def _changed_profiles(context: CheckContext, used: object) -> str:
    """Words for the newer runs whose profile was changed after the run, and so was not the yardstick."""
    newer = []
    for past in context.history:
        if past is used:
            break
        if past.profile_changed:
            newer.append(past.run_id)
    if not newer:
        return ""
    return (
        f" The snapshot profile of run {', '.join(newer)} was changed after the run (its SHA-256 differs from the "
        "ledger's) and was not used."
    )


def _comparable(now: float | None, before: float | None) -> bool:
    if not now or not before:
        return False
    return (now > 0) == (before > 0)


def _power_of_ten(ratio: float) -> str:
    power = round(abs(math.log10(ratio)))
    return f"{10**power:,}" if power else f"{max(ratio, 1 / ratio):.1f}"


class FeatureDriftCheck:
    name = "feature_drift"
    stage = "input"
    severity = "block"
    #: it judges the model: a fallback list, which uses none, skips it (jobs/fallback.py)
    needs_model = True
    description = (
        "Each feature's mix of values is close to training's (population stability index; warn from 0.1, block from 0.25)."
    )

    def run(self, context: CheckContext) -> CheckResult:
        reference = (context.model or {}).get("reference")
        if not reference or context.engine is None:
            return not_measured(self, "there is no trained model to compare with yet.")
        settings = context.settings(self.name, PsiSettings)
        features = context.features()
        if features.height == 0:
            return not_measured(self, "the snapshot has no customers without an investment account.")
        found: dict[str, float] = {}
        unmeasured = []
        for name, ref in reference.items():
            if name not in features.columns or ref.get("same_within_week"):
                continue
            column = features[name]
            if "shares" in ref and isinstance(ref["shares"], dict):
                current = column.cast(pl.String).value_counts(normalize=True, name="share")
                found[name] = category_psi(ref["shares"], dict(current.iter_rows()))
            elif "edges" in ref:
                values = column.cast(pl.Float64).to_numpy()
                found[name] = psi(ref["shares"], bin_shares(values, ref["edges"]))
            else:
                unmeasured.append(name)
        block = {n: v for n, v in found.items() if v >= settings.block_psi}
        warn = {n: v for n, v in found.items() if settings.warn_psi <= v < settings.block_psi}
        severity = "block" if block else "warn" if warn or unmeasured else self.severity
        passed = not block and not warn and not unmeasured
        moved = {**block, **warn}
        listing = ", ".join(f"{n} {v:.2f}" for n, v in sorted(found.items(), key=lambda kv: -kv[1]))
        if passed:
            message = (
                "This week's customers look like the ones the model learned from (change in the mix of values per "
                f"feature, 0 is none: {listing})."
            )
        elif moved:
            message = (
                "This week's customers look different from the ones the model learned from: "
                + ", ".join(
                    f"'{n}' changed its mix of values by {v:.2f}" for n, v in sorted(moved.items(), key=lambda kv: -kv[1])
                )
                + f" (a change from {settings.warn_psi:g} is worth a look, from {settings.block_psi:g} it is a "
                "different population). "
                + ("Scores on data like this mean little." if block else "Look before anything is exported.")
            )
        else:
            message = ""
        if unmeasured:
            message += (
                f" Drift could not be measured for {', '.join(unmeasured)}: the model was trained before drift bins "
                "were saved with it; retrain to measure it."
            )
        return result(
            self,
            passed,
            message.strip(),
            severity=severity,
            measured=listing,
            threshold=f"warn from {settings.warn_psi:g}, block from {settings.block_psi:g}",
            action="Find out what changed in these columns (unit, definition, who is in the extract) before anything "
            "is scored. If the customer base really changed, retrain the model with `nba-toolkit train`.",
        )


class MarketRegimeCheck:
    name = "market_regime"
    stage = "input"
    severity = "block"
    #: it judges the model: a fallback list, which uses none, skips it (jobs/fallback.py)
    needs_model = True
    description = "The market features (fund index changes) lie within their normal band (core/market.py)."

    def run(self, context: CheckContext) -> CheckResult:
        reference = (context.model or {}).get("reference")
        if not reference or context.engine is None:
            return not_measured(self, "there is no trained model to compare with yet.")
        settings = context.settings(self.name, MarketRegimeSettings)
        features = context.features()
        names = [f for f in market_features(settings.features, context.engine) if f in features.columns]
        bands = model_bands(reference, names, width=settings.robust_sd, margin=settings.margin)
        if not bands or features.height == 0:
            return not_measured(self, "the engine has no market features (declared with market = true in [features]).")
        outside = []
        now = []
        mask = pl.lit(False)
        for name, band in bands.items():
            column = features[name].cast(pl.Float64)
            lo, hi = number(column.min()), number(column.max())
            shown = figure(lo) if lo == hi else f"{figure(lo)} to {figure(hi)}"
            now.append(f"{name} {shown}")
            if not (band.holds(lo) and band.holds(hi)):
                outside.append(f"'{name}' is {shown} this week; its normal band is {band.describe()}")
                mask = mask | (pl.col(name) < band.low) | (pl.col(name) > band.high)
        return result(
            self,
            not outside,
            "The market lies within its normal band: " + ", ".join(now) + "."
            if not outside
            else "The market has left its normal band: "
            + "; ".join(outside)
            + ". The model cannot be trusted in a market like this, even if it saw one like it in training "
            "(a crash): people must take the wheel.",
            measured=", ".join(now),
            threshold="; ".join(f"{name} {band.describe()}" for name, band in bands.items()),
            action="Do not mail on the model's advice this week. Decide with the marketing manager whether to mail at "
            "all, and whom; the model can take over again once the market is back within its band.",
            **affected(features, mask),
        )


class SecondSourceCheck:
    """The week's market figures in the extract against a second source, before one wrong feed moves every score.

    The market features are the same for every customer and move every score
    by the same amount, so a provider's bad figure goes unnoticed in the
    ranking and shows only weeks later, in falling results. A second file (the
    fund index the bank keeps anyway) is read for the run's week and each
    mapped figure compared; a file that cannot be read, a week it lacks or a
    number it cannot show blocks too, because "not compared" must not pass as
    "the same".
    """

    name = "market_second_source"
    stage = "input"
    severity = "block"
    #: the market figures only move the model's scores: a fallback list, drawn at random, skips it (jobs/fallback.py)
    needs_model = True
    description = "The week's market figures in the extract agree with a second source ([checks.market_second_source])."

    def run(self, context: CheckContext) -> CheckResult:
        settings = context.settings(self.name, SecondSourceSettings)
        if not settings.file:
            return not_measured(self, "no second source is named ([checks.market_second_source] file).")
        path = Path(settings.file)
        if not path.is_absolute() and context.root is not None:
            path = context.root / path
        try:
            theirs = _second_source_figures(path, settings, context.week)
        except _SourceProblem as problem:
            return result(
                self,
                False,
                f"The market figures could not be compared with {settings.file}: {problem}.",
                action="Do not export until the figures are compared: put the week's row in the second source "
                "(or correct it), then run the week again.",
            )
        mask = pl.lit(False)
        compared, differ, largest = [], [], 0.0
        for column, figure_there in theirs.items():
            if column not in context.snapshot.columns:
                return result(
                    self,
                    False,
                    f"[checks.{self.name}] columns names '{column}', which the extract does not have.",
                    action=f"Name a column of [columns] in [checks.{self.name}] columns.",
                )
            values = context.snapshot[column].cast(pl.Float64)
            lo, hi = number_or_none(values.min()), number_or_none(values.max())
            if lo is None or hi is None:  # no rows, or no values: the row count and null rate checks speak to it
                return not_measured(self, f"the extract holds no '{column}' values this week.")
            gap = max(abs(lo - figure_there), abs(hi - figure_there))
            largest = max(largest, gap)
            shown = figure(lo) if lo == hi else f"{figure(lo)} to {figure(hi)}"
            compared.append(f"{column} {shown} ({figure(figure_there)} there)")
            if gap > settings.tolerance:
                differ.append(f"'{column}' is {shown} in the extract and {figure(figure_there)} in {settings.file}")
                mask = mask | ((pl.col(column).cast(pl.Float64) - figure_there).abs() > settings.tolerance)
        return result(
            self,
            not differ,
            f"The market figures agree with {settings.file} for {context.week}: " + ", ".join(compared) + "."
            if not differ
            else "The market figures disagree with the second source: " + "; ".join(differ) + ".",
            measured=round(largest, 6),
            threshold=f"at most {settings.tolerance:g} apart",
            action=_AGREE,
            **affected(context.snapshot, mask),
        )


_AGREE = (
    "Do not export: ask the data team which source is right for this week; once the extract is corrected "
    "(or the second source, if it was wrong), run the week again."
)


class _SourceProblem(Exception):
    """The second source cannot answer for this week; the check reports why and blocks."""


def _second_source_figures(path: Path, settings: SecondSourceSettings, week: str) -> dict[str, float]:
    """The week's figure per mapped column, read from ``path``; each problem names file, column and row."""
    try:
        frame = pl.read_csv(path, separator=settings.separator, infer_schema=False, encoding="utf8-lossy")
    except FileNotFoundError:
        raise _SourceProblem(f"{path} does not exist") from None
    except (OSError, pl.exceptions.PolarsError) as error:
        raise _SourceProblem(f"{path} cannot be read ({str(error).splitlines()[0]})") from None
    wanted = [settings.week_column, *settings.columns.values()]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise _SourceProblem(f"{path} has no column '{missing[0]}' (its columns: {', '.join(frame.columns)})")
    rows = frame.with_row_index("line", offset=2).filter(pl.col(settings.week_column).str.strip_chars() == week)
    if rows.height == 0:
        raise _SourceProblem(f"{path} has no row for {week} in column '{settings.week_column}'")
    figures: dict[str, float] = {}
    for column, theirs in settings.columns.items():
        values = set()
        for line, text in rows.select("line", theirs).iter_rows():
            number = _number(text)
            if number is None:
                raise _SourceProblem(f"{path}, column '{theirs}', line {line}: '{text}' is not a number")
            values.add(number)
        if len(values) > 1:
            raise _SourceProblem(f"{path} has {rows.height} rows for {week} that disagree in column '{theirs}'")
        figures[column] = values.pop()
    return figures


def _number(text: str | None) -> float | None:
    """A figure as a person writes it, with a decimal point or a decimal comma; None for anything else."""
    if text is None:
        return None
    cleaned = text.strip()
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class CategoryLevelsCheck:
    name = "category_levels"
    stage = "input"
    severity = "warn"
    #: it judges the model: a fallback list, which uses none, skips it (jobs/fallback.py)
    needs_model = True
    description = "Few customers have a category value the model never saw in training (scored as 'other')."

    def run(self, context: CheckContext) -> CheckResult:
        """A new job title or a renamed band is scored as the level "other": a few are expected, many are not.

        The model's levels are the ones training learned or nba.toml declared
        (stored with the model, ``levels``). A week where many customers fall
        outside them is scored on a guess for that feature, and usually means
        the extract spells the values differently (a new code list, another
        language, a mapped column that holds something else).
        """
        levels = (context.model or {}).get("levels")
        if not levels or context.engine is None:
            return not_measured(self, "the model has no categories, or there is no trained model yet.")
        features = context.features()
        if features.height == 0:
            return not_measured(self, "the snapshot has no customers without an investment account.")
        settings = context.settings(self.name, CategoryLevelsSettings)
        labels = context.engine.feature_labels
        counts = unseen_levels(levels, features)
        shares = {name: n / features.height for name, n in counts.items()}
        many = {name: share for name, share in shares.items() if share > settings.max_other_share}
        listing = ", ".join(f"{labels.get(n, n)} {counts[n]:,} ({shares[n]:.1%})" for n in counts)
        mask = pl.any_horizontal([~pl.col(n).is_in(list(levels[n])) & pl.col(n).is_not_null() for n in counts] or [pl.lit(False)])
        return result(
            self,
            not many,
            f"Customers with a value training never saw, scored as 'other': {listing}."
            if not many
            else "Many customers have a value the model never saw in training and are scored as 'other': "
            + "; ".join(
                f"'{labels.get(n, n)}' {counts[n]:,} customers ({share:.0%}), for example "
                + ", ".join(repr(v) for v in _unseen_examples(features, n, levels[n]))
                for n, share in many.items()
            )
            + ". Their scores rest on a guess for that feature.",
            measured=listing,
            threshold=f"at most {settings.max_other_share:.0%} of the customers per category",
            action="Ask the data warehouse team whether the values are spelled differently this week. If they are "
            "really new (a new product or job list), retrain the model with `nba-toolkit train`.",
            **affected(features, mask),
        )


def _unseen_examples(features: pl.DataFrame, name: str, known: list[str], limit: int = 3) -> list[str]:
    column = features[name].drop_nulls()
    return column.filter(~column.is_in(list(known))).unique(maintain_order=True).head(limit).to_list()


class ContactOverlapCheck:
    name = "contact_overlap"
    stage = "input"
    severity = "block"
    description = "The customers contacted in the cooldown weeks are found again in this week's snapshot."

    def run(self, context: CheckContext) -> CheckResult:
        """Relation numbers that changed their form would make last weeks' customers strangers to the cooldown.

        The measure is the share of the customers contacted in the cooldown
        weeks before this one whose relation number is in this week's
        snapshot. A bank's customers stay from one week to the next, so this
        share is close to 1; relation numbers written in another form (a
        prefix, another numbering) make it fall to about 0.
        """
        if context.contacted is None or context.snapshot.height == 0:
            # An empty extract is the row count's to stop, with its own advice.
            return not_measured(self, "no contact history or no customers to compare.")
        settings = context.settings(self.name, ContactOverlapSettings)
        recent = context.contacted.filter(pl.col("week_start") < context.week_start.isoformat())
        if recent.height < settings.min_contacts:
            return not_measured(
                self,
                f"{recent.height:,} customers were contacted in the cooldown weeks; the comparison starts at "
                f"{settings.min_contacts:,}.",
            )
        ids = context.snapshot["customer_id"]
        found = recent["customer_id"].is_in(ids.cast(pl.String).implode())
        share = number(found.mean() or 0.0)
        passed = share >= settings.min_share
        return result(
            self,
            passed,
            f"{share:.0%} of the {recent.height:,} customers contacted in the cooldown weeks are in this week's snapshot."
            if passed
            else f"Only {share:.0%} of the {recent.height:,} customers contacted in the cooldown weeks are in this "
            "week's snapshot. Their relation numbers may be written differently this week (another numbering or a "
            "prefix), and then the cooldown cannot recognise them: they would be mailed again.",
            measured=round(share, 4),
            threshold=f"at least {settings.min_share:.0%}",
            action="Ask the data warehouse team whether the relation numbers in this week's extract are the ones "
            "used before. If the customer base really changed this much, lower [checks.contact_overlap] min_share.",
            **affected(recent, ~found),
        )


@hookimpl
def nba_register_checks(register):
    for check in (
        RowCountCheck(),
        NullRateCheck(),
        ValueRangesCheck(),
        UnitJumpCheck(),
        FeatureDriftCheck(),
        MarketRegimeCheck(),
        SecondSourceCheck(),
        CategoryLevelsCheck(),
        ContactOverlapCheck(),
    ):
        register(check)
