"""Built-in model checks, run at training before a model may become the active one.

Out-of-time validation alone does not say *why* a model does well or badly.
These checks look for the ways a model fools its makers: a ranking no better
than chance or than one feature on its own, a period key that lets it
recognise weeks, a single feature that gives the answer away, a validation
result too good to be true, and a model that does very differently on the
weeks it learned from than on later ones. They read the figures that measure
what the selection does: the AUC *within* a week (``core/validation.py``),
not the AUC pooled over weeks, which also rewards knowing which week
converts more. A blocking result keeps the model from becoming active; the
previous model stays in use.
"""

from __future__ import annotations

from typing import Any

from nba_toolkit.core.check_settings import (
    AucGapSettings,
    AucLimitSettings,
    OutOfTimeAucSettings,
    PeriodKeySettings,
    RankingFloorSettings,
)
from nba_toolkit.core.checks import CheckContext, CheckResult
from nba_toolkit.core.leakage import find_period_key, out_of_time_auc_without, single_feature_strengths
from nba_toolkit.default_plugins._results import result
from nba_toolkit.plugin import hookimpl

#: how many standard errors the AUC within the week must stand above chance
Z_95 = 1.96


def _evidence(context: CheckContext):
    if context.training is None:
        raise ValueError("a model check needs the training evidence, and none was given")
    return context.training


def _within_week(metrics: dict[str, Any]) -> float:
    value = metrics["out_of_time"].get("auc_within_week")
    if value is None:
        raise ValueError("no validation week has both converters and non-converters, so the ranking cannot be measured")
    return value


class RankingFloorCheck:
    name = "ranking_floor"
    stage = "model"
    severity = "block"
    description = "Within a week, the model ranks customers clearly better than chance and no worse than its best single feature."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        settings = context.settings(self.name, RankingFloorSettings)
        out_of_time = evidence.metrics["out_of_time"]
        value = _within_week(evidence.metrics)
        margin_of_error = Z_95 * (out_of_time.get("auc_within_week_se") or 0.0)
        low = value - margin_of_error
        floor = 0.5 + settings.min_margin
        single = evidence.metrics.get("references", {}).get("single_feature") or {}
        baseline = single.get("auc_within_week")
        problems = []
        if value < floor or low <= 0.5:
            problems.append(
                f"within a week it ranks customers at AUC {value:.3f} (95% interval down to {low:.3f}), "
                f"not clearly better than chance (0.5; the floor is {floor:.2f})"
            )
        if baseline is not None and value < baseline - settings.baseline_tolerance - margin_of_error:
            problems.append(
                f"ranking by {single['feature']} alone does better (AUC {baseline:.3f} against the model's {value:.3f})"
            )
        reference = f"; {single['feature']} alone {baseline:.3f}" if baseline is not None else ""
        return result(
            self,
            not problems,
            f"Within a validation week the model ranks customers at AUC {value:.3f} (chance is 0.5{reference})."
            if not problems
            else "The model was not made active: " + "; and ".join(problems) + ".",
            measured=f"AUC within the week {value:.3f}, lower 95% bound {low:.3f}{reference.replace(';', ',')}",
            threshold=f"at least {floor:.2f} with the lower bound above 0.5, and not more than {settings.baseline_tolerance:g} "
            "(plus the measurement's 95% margin) below the best single feature",
            action="Do not use this model: look at the period_key and single_feature_auc results, check that the "
            "outcomes belong to the history's customers, or train on a longer history. The previous model stays in use.",
        )


class PeriodKeyCheck:
    name = "period_key"
    stage = "model"
    severity = "warn"
    description = "No feature varies mostly between weeks instead of between the customers of a week."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        limit = context.settings(self.name, PeriodKeySettings).max_between_week_share
        names = list(evidence.engine.feature_labels)
        key = find_period_key(evidence.train_features, evidence.train_weeks, names, max_share=limit)
        threshold = f"less than {limit:.0%} of a feature's variance between weeks"
        if key is None:
            return result(
                self,
                True,
                "Every feature varies mostly between the customers of a week, not between weeks.",
                threshold=threshold,
            )
        with_key = _within_week(evidence.metrics)
        without = out_of_time_auc_without(evidence, key.features)
        one = len(key.features) == 1
        named = ", ".join(key.features)
        shares = ", ".join(f"{name} {share:.1%}" for name, share in key.shares.items())
        without_text = "cannot be measured" if without is None else f"{without:.3f}"
        return result(
            self,
            False,
            f"{named} {'varies' if one else 'vary'} almost only between weeks, not between the customers of a week "
            f"(share of the variance between weeks: {shares}): a period key. The model can use "
            f"{'it' if one else 'them'} to recognise weeks (May, the crash) instead of learning about customers. "
            f"Within a validation week the model ranks at AUC {with_key:.3f} with {'it' if one else 'them'} and "
            f"{without_text} without.",
            measured=f"between-week share {shares}; AUC within the week {with_key:.3f} with, {without_text} without",
            threshold=threshold,
            action=f"Leave {named} out of the model unless {'it helps' if one else 'they help'} out of time "
            "(compare the two AUCs), or validate over a longer history. The market regime check keeps guarding "
            "against markets outside the normal band either way.",
        )


class SingleFeatureAucCheck:
    name = "single_feature_auc"
    stage = "model"
    severity = "warn"
    description = "No single feature ranks a week's customers too well on its own, or far better than every other feature."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        settings = context.settings(self.name, AucLimitSettings)
        aucs = single_feature_strengths(evidence)
        ranked = sorted(aucs.items(), key=lambda kv: -kv[1])
        strongest, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.5
        telling = {n: v for n, v in aucs.items() if v > settings.max_auc}
        leading = best - runner_up > settings.max_lead and strongest not in telling
        problems = []
        if telling:
            problems.append(
                "A single feature ranks conversion almost by itself: "
                + ", ".join(f"{n} (AUC {v:.3f})" for n, v in telling.items())
                + "."
            )
        if leading:
            problems.append(
                f"On its own, {strongest} ranks at AUC {best:.3f}, far above every other feature (next best {runner_up:.3f})."
            )
        return result(
            self,
            not problems,
            f"No feature ranks conversion on its own too well (strongest: {strongest}, AUC {best:.3f} within the week)."
            if not problems
            else " ".join(problems) + " A feature this telling usually carries information from after "
            "the snapshot date (a call's duration, a status set by the conversion itself).",
            measured=", ".join(f"{n} {v:.3f}" for n, v in ranked),
            threshold=f"AUC within the week at most {settings.max_auc:g} per feature, and at most {settings.max_lead:g} "
            "above the next best feature",
            action=f"Check how {strongest} is built and when its value becomes known: a model may only use what was "
            "known on the snapshot date.",
        )


class OutOfTimeAucCheck:
    name = "out_of_time_auc"
    stage = "model"
    severity = "block"
    description = "The out-of-time AUC is not too good to be true (at most 0.95, within a week or pooled)."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        limit = context.settings(self.name, OutOfTimeAucSettings).max_auc
        pooled = evidence.metrics["out_of_time"]["auc"]
        within = evidence.metrics["out_of_time"].get("auc_within_week")
        value = max(pooled, within or 0.0)
        return result(
            self,
            value <= limit,
            f"Out of time the model's AUC is {within:.3f} within a week and {pooled:.3f} pooled over weeks: not too good "
            "to be true."
            if value <= limit and within is not None
            else f"Out of time the model's AUC pooled over weeks is {pooled:.3f}: not too good to be true."
            if value <= limit
            else f"Out of time the model reaches AUC {value:.3f}, above {limit:g}: too good to be true for who opens "
            "an investment account. The label most likely leaks into a feature.",
            measured=round(value, 4),
            threshold=f"at most {limit:g}",
            action="Look for a feature built from data after the snapshot date (the single_feature_auc result lists "
            "the strongest). The model was not made active; the previous one stays in use.",
        )


class AucGapCheck:
    name = "auc_gap"
    stage = "model"
    severity = "warn"
    description = "The model ranks about as well on later weeks as on the weeks it learned from, in either direction."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        limit = context.settings(self.name, AucGapSettings).max_gap
        in_time = evidence.metrics.get("in_time_auc_within_week")
        out_of_time = evidence.metrics["out_of_time"].get("auc_within_week")
        if in_time is None or out_of_time is None:
            in_time, out_of_time = evidence.metrics["in_time_auc"], evidence.metrics["out_of_time"]["auc"]
        gap = in_time - out_of_time
        if abs(gap) <= limit:
            message = (
                f"Within a week: AUC {in_time:.3f} on the training weeks, {out_of_time:.3f} on later weeks (a gap of {gap:+.3f})."
            )
        elif gap > 0:
            message = (
                f"The model ranks much better on the weeks it learned from (AUC {in_time:.3f}) than on later weeks "
                f"({out_of_time:.3f}): it learned things that do not carry over to new weeks."
            )
        else:
            message = (
                f"The model ranks much better on later weeks (AUC {out_of_time:.3f}) than on the weeks it learned from "
                f"({in_time:.3f}): the validation weeks are unlike the training weeks, or a feature carries information "
                "only the later weeks have. Do not take the validation figure at face value."
            )
        return result(
            self,
            abs(gap) <= limit,
            message,
            measured=round(gap, 4),
            threshold=f"a gap of at most {limit:g} either way",
            action="Read the period_key and single_feature_auc results; compare the validation weeks with the training "
            "weeks; train on a longer history or with fewer, simpler features.",
        )


@hookimpl
def nba_register_checks(register):
    for check in (RankingFloorCheck(), PeriodKeyCheck(), SingleFeatureAucCheck(), OutOfTimeAucCheck(), AucGapCheck()):
        register(check)
