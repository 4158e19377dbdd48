"""The built-in checks every run goes through: schema, ids, freshness, volume band, reconciliation.

Input checks guard the snapshot before anything is scored; output checks
guard the selection before anything can be exported. Each says what it
measured, against what, and what the operator should do, in plain words.
The checks that compare with earlier runs or with training live in
``input_checks.py``, ``output_checks.py`` and ``model_checks.py``.
"""

from __future__ import annotations

import polars as pl

from nba_toolkit.core.check_settings import VolumeBandSettings
from nba_toolkit.core.checks import CheckContext, CheckResult
from nba_toolkit.core.selection import MAILED_GROUPS, week_policy
from nba_toolkit.default_plugins._results import SAMPLE, not_measured
from nba_toolkit.plugin import hookimpl

_DTYPES = {
    "int": lambda d: d.is_integer(),
    "float": lambda d: d.is_numeric(),
    "bool": lambda d: d == pl.Boolean,
    "date": lambda d: d == pl.Date,
    "str": lambda d: d == pl.String,
    "id": lambda d: d.is_integer() or d == pl.String,
}


class SchemaCheck:
    name = "schema"
    stage = "input"
    severity = "block"
    description = "Every column the run needs is present, of the right type, and not entirely empty."

    def run(self, context: CheckContext) -> CheckResult:
        frame = context.snapshot
        problems = []
        for column, kind in context.required_columns.items():
            if column not in frame.columns:
                problems.append(f"'{column}' is missing")
            elif not _DTYPES[kind](frame.schema[column]):
                problems.append(f"'{column}' is {frame.schema[column]}, expected {kind}")
            elif frame.height and frame[column].null_count() == frame.height:
                problems.append(f"'{column}' is empty in every row")
        return CheckResult(
            check=self.name,
            stage=self.stage,
            severity=self.severity,
            passed=not problems,
            message="All needed columns are present and filled."
            if not problems
            else "The snapshot does not have the columns the run needs: " + "; ".join(problems) + ".",
            measured=len(problems),
            threshold=0,
            action=None
            if not problems
            else "Ask the data warehouse team for a complete extract, or correct the column mapping in nba.toml.",
        )


class DuplicateIdsCheck:
    name = "duplicate_ids"
    stage = "input"
    severity = "block"
    description = "Every relation number appears once in the snapshot."

    def run(self, context: CheckContext) -> CheckResult:
        duplicated = _duplicated(context.snapshot["customer_id"])
        found = duplicated.len()
        return CheckResult(
            check=self.name,
            stage=self.stage,
            severity=self.severity,
            passed=found == 0,
            message="Every relation number appears once."
            if found == 0
            else f"{found} relation numbers appear more than once in the snapshot; a customer could be "
            "scored twice or mailed twice.",
            measured=found,
            threshold=0,
            action=None if found == 0 else "Ask the data warehouse team why the extract repeats customers.",
            affected_count=found,
            affected_sample=tuple(duplicated.head(SAMPLE).to_list()),
        )


def _duplicated(ids: pl.Series) -> pl.Series:
    """Each id that appears more than once, once, in order of first appearance.

    Counting the distinct ids is one cheap pass; marking every duplicated row
    is several times dearer at a million rows, so it is done only when the
    count says there is something to find (hardly ever).
    """
    if ids.n_unique() == ids.len():
        return ids.head(0)
    return ids.filter(ids.is_duplicated()).unique(maintain_order=True)


class FreshnessCheck:
    name = "freshness"
    stage = "input"
    severity = "block"
    description = "The snapshot's as-of date lies in the week being run (a late warehouse load blocks)."

    def run(self, context: CheckContext) -> CheckResult:
        if context.snapshot.height == 0:
            # No date to judge; the row-count check stops an empty extract.
            return not_measured(self, "the snapshot has no rows, so no as-of date.")
        dates = context.snapshot["snapshot_date"]
        outside = dates.is_null() | (dates < context.week_start) | (dates > context.week_end)
        stale = int(outside.sum())
        newest: object = dates.max()  # a date, or None when every date is missing; only shown
        passed = stale == 0
        return CheckResult(
            check=self.name,
            stage=self.stage,
            severity=self.severity,
            passed=passed,
            message=f"The snapshot is dated within {context.week}."
            if passed
            else f"Watch out, strange things are going on: {stale} of {context.snapshot.height} rows are not "
            f"dated in {context.week} ({context.week_start} to {context.week_end}); the newest date is "
            f"{newest}. The warehouse may have loaded late, so this week must not run on this data.",
            measured=f"{stale} rows outside the week (newest {newest})",
            threshold=f"{context.week_start} to {context.week_end}",
            action=None
            if passed
            else "Do not run. Ask the data warehouse team whether this week's load "
            "finished, then run again on the fresh snapshot.",
            affected_count=stale,
            affected_sample=tuple(context.snapshot.filter(outside)["customer_id"].head(SAMPLE).to_list()),
        )


class VolumeBandCheck:
    name = "volume_band"
    stage = "output"
    severity = "block"
    description = (
        "The number of customers mailed lies within the configured band; without a configured max, at most "
        "the week's capacity plus its random control."
    )

    def run(self, context: CheckContext) -> CheckResult:
        band = context.settings(self.name, VolumeBandSettings)
        assert context.selection is not None, "the output stage always has the selection"
        mailed = int(context.selection["mailed"].sum())
        # the capacity this week's selection worked with, a share of the eligible or a number
        highest = band.highest(week_policy(context.config, context.selection).most_mailed)
        passed = band.min <= mailed <= highest
        return CheckResult(
            check=self.name,
            stage=self.stage,
            severity=self.severity,
            passed=passed,
            message=f"{mailed} customers would be mailed, within the expected {band.min} to {highest}."
            if passed
            else f"{mailed} customers would be mailed, outside the expected {band.min} to {highest}. "
            "A week this far off usually means something is badly wrong.",
            measured=mailed,
            threshold=f"{band.min} to {highest}" + ("" if band.max is not None else " (the capacity plus its random control)"),
            action=None
            if passed
            else "Look at the counts per reason and the score distribution before "
            "anything goes out; change [checks.volume_band] only if the band itself is wrong.",
        )


class ReconciliationCheck:
    name = "reconciliation"
    stage = "output"
    severity = "block"
    description = "Everyone in is accounted for once; only eligible customers are mailed."

    def run(self, context: CheckContext) -> CheckResult:
        selection = context.selection
        assert selection is not None, "the output stage always has the selection"
        rows_in = context.snapshot.height
        rows_out = selection.height
        unexplained = int(selection["reason"].is_null().sum())
        mailed_ineligible = selection.filter(
            pl.col("mailed") & (pl.col("exclusion").is_not_null() | ~pl.col("reason").is_in(list(MAILED_GROUPS)))
        )
        bad = abs(rows_in - rows_out) + unexplained + mailed_ineligible.height
        return CheckResult(
            check=self.name,
            stage=self.stage,
            severity=self.severity,
            passed=bad == 0,
            message=f"All {rows_in} customers in the snapshot have exactly one reason; only eligible customers are mailed."
            if bad == 0
            else f"The selection does not add up: {rows_in} customers in, {rows_out} out, {unexplained} "
            f"without a reason, {mailed_ineligible.height} mailed although excluded.",
            measured=bad,
            threshold=0,
            action=None if bad == 0 else "Do not export. Report this run to the developers.",
            affected_count=mailed_ineligible.height,
            affected_sample=tuple(mailed_ineligible["customer_id"].head(SAMPLE).to_list()),
        )


@hookimpl
def nba_register_checks(register):
    for check in (SchemaCheck(), DuplicateIdsCheck(), FreshnessCheck(), VolumeBandCheck(), ReconciliationCheck()):
        register(check)
