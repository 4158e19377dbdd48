"""Built-in output checks: the selection against recent weeks, and who would be mailed (R-C4).

They run after selection and before anything can be exported. The volume
and score checks compare with earlier accepted runs; the mailed-set checks
look again, independently of the selection code, at the facts the selection
had to respect: the contact history, consent, existing investors, and that
nobody appears twice.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
import polars as pl

from nba_toolkit.core.check_settings import PsiSettings, RecentVolumeSettings
from nba_toolkit.core.checks import CheckContext, CheckResult
from nba_toolkit.core.drift import numeric_psi
from nba_toolkit.core.ids import in_form
from nba_toolkit.default_plugins._results import affected, not_measured, result
from nba_toolkit.plugin import hookimpl


class RecentVolumeCheck:
    name = "recent_volume"
    stage = "output"
    severity = "block"
    description = "The number mailed is within a factor (3) of the median of the last exported weeks."

    def run(self, context: CheckContext) -> CheckResult:
        settings = context.settings(self.name, RecentVolumeSettings)
        exported = [r for r in context.history if r.exported][: settings.runs]
        if len(exported) < settings.min_runs:
            return not_measured(
                self, f"{len(exported)} exported runs so far; the comparison with recent weeks starts at {settings.min_runs}."
            )
        assert context.selection is not None, "the output stage always has the selection"
        mailed = int(context.selection["mailed"].sum())
        median = statistics.median(r.mailed for r in exported)
        ratio = mailed / max(median, 1)
        factor = settings.factor
        recent = f"the median of the last {len(exported)} exported weeks ({median:,.0f})"
        threshold = f"{median / factor:,.0f} to {median * factor:,.0f} ({factor:g} times {recent} either way)"
        if ratio > factor:
            return result(
                self,
                False,
                f"{mailed:,} customers would be mailed, {ratio:.1f} times {recent}. A week this much larger usually "
                "means something is badly wrong (20,000 instead of 2,000).",
                measured=mailed,
                threshold=threshold,
                action="Do not export. Look at the counts per reason and the score distribution, and compare with last "
                "week's run; ask a developer if the cause is not clear.",
            )
        if ratio < 1 / factor:
            return result(
                self,
                False,
                f"{mailed:,} customers would be mailed, less than 1/{factor:g} of {recent}. In a bad market week that "
                "can be right; make sure it is.",
                severity="warn",
                measured=mailed,
                threshold=threshold,
                action="Check the market regime and the counts per reason; acknowledge the warning if the low volume "
                "is expected (`nba-toolkit acknowledge RUN_ID recent_volume`).",
            )
        return result(
            self, True, f"{mailed:,} customers would be mailed, {ratio:.1f} times {recent}.", measured=mailed, threshold=threshold
        )


class ScoreDriftCheck:
    name = "score_drift"
    stage = "output"
    severity = "block"
    #: it judges the model: a fallback list, which uses none, skips it (jobs/fallback.py)
    needs_model = True
    description = (
        "Customers scored this week and in the last run keep the spread of their scores "
        "(population stability index, after removing the market's overall level)."
    )

    def run(self, context: CheckContext) -> CheckResult:
        """Compare the same customers in both runs, scored by the same model.

        The eligible pool changes every week by design: last week's top went
        into the cooldown. Comparing whole pools would flag that as drift, so
        only customers scored in both runs are compared.
        """
        # Another model ranks differently by design: only a run the same model scored is a yardstick.
        model_id = (context.model or {}).get("model_id")
        same_model = [r for r in context.history if r.model_id == model_id]
        previous = next((r for r in same_model if (scores := r.scores()) is not None and scores.height), None)
        if previous is None:
            return not_measured(self, f"the model {model_id} has scored no earlier run to compare with.")
        scored_before = previous.scores()
        assert scored_before is not None, "a past run reads its scores once, and they were there"
        assert context.selection is not None, "the output stage always has the selection"
        both = _scored_in_both(context.selection, scored_before)
        if both.height < MIN_PAIRED:
            return not_measured(self, f"only {both.height:,} customers were scored both now and in run {previous.run_id}.")
        settings = context.settings(self.name, PsiSettings)
        before, now = both["score_before"].to_numpy(), both["score"].to_numpy()
        value = numeric_psi(_centred_logit(before), _centred_logit(now))
        level = f"their median score moved from {np.median(before):.2%} to {np.median(now):.2%}"
        severity = "block" if value >= settings.block_psi else "warn"
        passed = value < settings.warn_psi
        return result(
            self,
            passed,
            f"The {both.height:,} customers also scored in run {previous.run_id} keep the spread of their scores "
            f"(change in their mix {value:.2f}); {level}, as the market moved."
            if passed
            else f"The {both.height:,} customers also scored in run {previous.run_id} are spread differently now: "
            f"a change in their mix of {value:.2f} once the overall level, which moves with the market, is taken out ({level}). "
            "A model that suddenly ranks the same customers differently may be fed something it does not understand.",
            severity=severity if not passed else None,
            measured=round(value, 4),
            threshold=f"warn from {settings.warn_psi:g}, block from {settings.block_psi:g}",
            action="Compare this week's input check results with last week's (`nba-toolkit checks RUN_ID`) and do "
            "not export until the change is understood.",
        )


#: fewer customers in common than this give no stable distribution to compare
MIN_PAIRED = 200


def _scored_in_both(selection: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """``score`` and ``score_before`` of each customer scored in this run and in ``before``, in no set order.

    Run as one query, the filter, the conversion to text and the join of the
    hundreds of thousands of scored customers take about a third less time
    than step by step at a million customers. The pairs come in no set
    order, which is free: everything computed from them is a distribution.
    """
    return (
        selection.lazy()
        .filter(pl.col("score").is_not_null())
        .select(pl.col("customer_id").cast(pl.String), "score")
        .join(before.lazy(), on="customer_id", how="inner", suffix="_before")
        .collect()
    )


def _centred_logit(scores: np.ndarray) -> np.ndarray:
    """Scores on the log-odds scale around their median: the shape, without the week's level.

    The market features move every customer's log-odds by the same amount, so
    the raw scores shift from week to week by design; their spread should not.
    """
    clipped = np.clip(scores, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped))
    return logit - np.median(logit)


def _mailed(context: CheckContext) -> pl.DataFrame:
    assert context.selection is not None, "the output stage always has the selection"
    return context.selection.filter(pl.col("mailed")).select(pl.col("customer_id").cast(pl.String))


def _snapshot_flag(context: CheckContext, column: str) -> pl.DataFrame:
    """The mailed customers with one snapshot column, looked up by relation number.

    Only the mailed rows of the snapshot are touched: a few thousand, not the
    whole week, which matters at millions of customers. They are found in the
    snapshot's own type, since turning a million relation numbers into text
    would cost more than the lookup; every row whose text is a mailed one is
    among them, and the comparison as text is then made on those few. As one
    query this takes a quarter of the time of the same steps one by one.
    """
    mailed = _mailed(context)
    native = mailed["customer_id"].cast(context.snapshot.schema["customer_id"], strict=False)
    facts = (
        context.snapshot.lazy()
        .select("customer_id", column)
        .filter(pl.col("customer_id").is_in(native.implode()))
        .with_columns(pl.col("customer_id").cast(pl.String))
        .filter(pl.col("customer_id").is_in(mailed["customer_id"].implode()))
        .unique("customer_id", keep="first")
        .collect()
    )
    return mailed.join(facts, on="customer_id", how="left")


class MailedCooldownCheck:
    name = "mailed_cooldown"
    stage = "output"
    severity = "block"
    description = "Nobody who would be mailed was contacted within the cooldown (per the contact history)."

    def run(self, context: CheckContext) -> CheckResult:
        if context.contacted is None:
            raise ValueError("the run did not hand the contact history to the check")
        weeks = context.config.selection.cooldown_weeks
        return _none_mailed_among(
            self,
            context,
            context.contacted["customer_id"],
            fine=f"Nobody who would be mailed was contacted in the last {weeks} weeks.",
            found=f"customers who would be mailed were contacted in the last {weeks} weeks.",
            action="Do not export. Report this run to the developers: the cooldown was not applied.",
        )


class MailedSuppressedCheck:
    name = "mailed_suppressed"
    stage = "output"
    severity = "block"
    description = "Nobody who would be mailed is under a standing exclusion."

    def run(self, context: CheckContext) -> CheckResult:
        if context.suppressed is None:
            raise ValueError("the run did not hand the standing exclusions to the check")
        return _none_mailed_among(
            self,
            context,
            context.suppressed,
            fine="Nobody who would be mailed is under a standing exclusion.",
            found="customers who would be mailed are under a standing exclusion.",
            action="Do not export. Report this run to the developers: the standing exclusions were not applied.",
        )


def _none_mailed_among(check: Any, context: CheckContext, ids: pl.Series, *, fine: str, found: str, action: str) -> CheckResult:
    """Whether anyone who would be mailed is among ``ids``: both sides in the one form of relation numbers,
    independently of how the run read them."""
    mailed = _mailed(context)
    hit = in_form(mailed["customer_id"]).is_in(in_form(ids).implode())
    hits = affected(mailed, hit)
    return result(
        check,
        hits["affected_count"] == 0,
        fine if not hits["affected_count"] else f"{hits['affected_count']:,} {found}",
        measured=hits["affected_count"],
        threshold=0,
        action=action,
        **hits,
    )


class MailedConsentCheck:
    name = "mailed_consent"
    stage = "output"
    severity = "block"
    description = "Everyone who would be mailed consented to marketing."

    def run(self, context: CheckContext) -> CheckResult:
        return _none_mailed(
            self,
            context,
            "marketing_consent",
            ~pl.col("marketing_consent").fill_null(False),
            fine="Everyone who would be mailed consented to marketing.",
            found="customers who would be mailed have no marketing consent (or none recorded).",
            action="Do not export. Report this run to the developers: customers without consent must never be mailed.",
        )


class MailedInvestorCheck:
    name = "mailed_investor"
    stage = "output"
    severity = "block"
    description = "Nobody who would be mailed already has an investment account."

    def run(self, context: CheckContext) -> CheckResult:
        return _none_mailed(
            self,
            context,
            "is_investor",
            pl.col("is_investor").fill_null(True),
            fine="Nobody who would be mailed already invests.",
            found="customers who would be mailed already have an investment account (or it is not known whether they do).",
            action="Do not export. Report this run to the developers.",
        )


def _none_mailed(
    check: Any, context: CheckContext, column: str, offending: pl.Expr, *, fine: str, found: str, action: str
) -> CheckResult:
    """Passes when no mailed customer is ``offending`` by the snapshot's ``column``; names how many and who."""
    hits = affected(_snapshot_flag(context, column), offending)
    count = hits["affected_count"]
    return result(
        check, count == 0, fine if not count else f"{count:,} {found}", measured=count, threshold=0, action=action, **hits
    )


class MailedDuplicatesCheck:
    name = "mailed_duplicates"
    stage = "output"
    severity = "block"
    description = "Nobody appears twice among those who would be mailed."

    def run(self, context: CheckContext) -> CheckResult:
        mailed = _mailed(context)
        twice = mailed.filter(pl.col("customer_id").is_duplicated()).unique(maintain_order=True)
        return result(
            self,
            twice.height == 0,
            "Every customer who would be mailed appears once."
            if twice.height == 0
            else f"{twice.height:,} relation numbers appear more than once among those who would be mailed.",
            measured=twice.height,
            threshold=0,
            action="Do not export. Report this run to the developers.",
            **affected(twice, pl.lit(True)),
        )


@hookimpl
def nba_register_checks(register):
    for check in (
        RecentVolumeCheck(),
        ScoreDriftCheck(),
        MailedCooldownCheck(),
        MailedSuppressedCheck(),
        MailedConsentCheck(),
        MailedInvestorCheck(),
        MailedDuplicatesCheck(),
    ):
        register(check)
