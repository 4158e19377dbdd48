"""Built-in model checks, run at training before a model may become the active one (R-E3).

Out-of-time validation alone does not say *why* a model does well or badly.
These checks look for the ways a model fools its makers: a period key that
lets it recognise weeks, a single feature that gives the answer away, a
validation result too good to be true, and a model that does far better on
the weeks it learned from than on later ones. A blocking result keeps the
model from becoming active; the previous model stays in use.
"""

from __future__ import annotations

from nba_toolkit.core.checks import CheckContext, CheckResult
from nba_toolkit.core.leakage import find_period_key, out_of_time_auc_without, single_feature_aucs
from nba_toolkit.default_plugins._results import result
from nba_toolkit.plugin import hookimpl


def _evidence(context: CheckContext):
    if context.training is None:
        raise ValueError("a model check needs the training evidence, and none was given")
    return context.training


class PeriodKeyCheck:
    name = "period_key"
    stage = "model"
    severity = "warn"
    description = "No feature, or combination, is constant within each week and different across weeks."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        share = context.settings(self.name).distinct_share
        names = list(evidence.engine.feature_labels)
        key = find_period_key(evidence.train_features, evidence.train_weeks, names, distinct_share=share)
        threshold = f"constant within each week and different in {share:.0%} of the training weeks or more"
        if key is None:
            return result(
                self,
                True,
                "No feature, or combination of features, is the same for everyone within a week and different across weeks.",
                threshold=threshold,
            )
        with_key = evidence.metrics["out_of_time"]["auc"]
        without = out_of_time_auc_without(evidence, key.features)
        named = ", ".join(key.features)
        return result(
            self,
            False,
            f"{named} {'is' if len(key.features) == 1 else 'are'} the same for every customer within a week and "
            f"{'' if len(key.features) == 1 else 'together '}different in {key.distinct_weeks} of the {key.weeks} "
            "training weeks: a period key. The model can use this to recognise weeks (May, the crash) instead of "
            f"learning about customers. Out of time the model reaches AUC {with_key:.3f} with "
            f"{'it' if len(key.features) == 1 else 'them'} and {without:.3f} without.",
            measured=f"{key.distinct_weeks} of {key.weeks} weeks distinct; out-of-time AUC {with_key:.3f} with, "
            f"{without:.3f} without",
            threshold=threshold,
            action=f"Leave {named} out unless {'it helps' if len(key.features) == 1 else 'they help'} out of time "
            "(compare the two AUCs), or validate over a longer history. The market regime check keeps guarding "
            "against markets outside the training band either way.",
        )


class SingleFeatureAucCheck:
    name = "single_feature_auc"
    stage = "model"
    severity = "warn"
    description = "No single feature predicts the label on its own with an AUC above 0.9."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        limit = context.settings(self.name).max_auc
        aucs = single_feature_aucs(evidence.train_features, evidence.train_label, list(evidence.engine.feature_labels))
        strongest = max(aucs, key=aucs.get)
        telling = {n: v for n, v in aucs.items() if v > limit}
        return result(
            self,
            not telling,
            f"No feature predicts conversion on its own too well (strongest: {strongest}, AUC {aucs[strongest]:.3f})."
            if not telling
            else "A single feature predicts conversion almost by itself: "
            + ", ".join(f"{n} (AUC {v:.3f})" for n, v in telling.items())
            + ". A feature this telling usually carries information from after the snapshot date.",
            measured=", ".join(f"{n} {v:.3f}" for n, v in sorted(aucs.items(), key=lambda kv: -kv[1])),
            threshold=f"AUC at most {limit:g} per feature",
            action="Check how these features are built: they may only use what was known on the snapshot date.",
        )


class OutOfTimeAucCheck:
    name = "out_of_time_auc"
    stage = "model"
    severity = "block"
    description = "The out-of-time AUC is not too good to be true (at most 0.95)."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        limit = context.settings(self.name).max_auc
        value = evidence.metrics["out_of_time"]["auc"]
        return result(
            self,
            value <= limit,
            f"Out of time the model reaches AUC {value:.3f}, a believable result."
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
    description = "The model does about as well on later weeks as on the weeks it learned from."

    def run(self, context: CheckContext) -> CheckResult:
        evidence = _evidence(context)
        limit = context.settings(self.name).max_gap
        in_time = evidence.metrics["in_time_auc"]
        out_of_time = evidence.metrics["out_of_time"]["auc"]
        gap = in_time - out_of_time
        return result(
            self,
            gap <= limit,
            f"In time AUC {in_time:.3f}, out of time {out_of_time:.3f}: a gap of {gap:.3f}."
            if gap <= limit
            else f"The model does much better on the weeks it learned from (AUC {in_time:.3f}) than on later weeks "
            f"({out_of_time:.3f}): it learned things that do not carry over to new weeks.",
            measured=round(gap, 4),
            threshold=f"a gap of at most {limit:g}",
            action="Read the period_key result; train on a longer history or with fewer, simpler features.",
        )


@hookimpl
def nba_register_checks(register):
    for check in (PeriodKeyCheck(), SingleFeatureAucCheck(), OutOfTimeAucCheck(), AucGapCheck()):
        register(check)
