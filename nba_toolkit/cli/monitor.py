"""``nba-toolkit monitor``: per exported week, the expected AUC before outcomes and the labelled AUC after."""

from __future__ import annotations

import argparse
from typing import Any

from nba_toolkit.cli.app import Commands, Output, escape, workspace_dir
from nba_toolkit.errors import EXIT_OK
from nba_toolkit.words import plural


def add_commands(commands: Commands) -> None:
    commands.add(
        "monitor",
        _monitor,
        "Per exported week: the expected AUC (an estimate from the scores, before outcomes) and, once the week's "
        "outcomes are known, the AUC within the week with its 95% interval, against the model's validation; "
        "weeks below the [monitoring] band are flagged.",
        writes=False,
    )


def _monitor(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.monitor import monitor_workspace
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    with out.status("Monitoring the exported weeks..."):
        data = monitor_workspace(workspace).to_dict()
    if out.json_mode:
        out.document(data)
        return EXIT_OK
    _print(out, data)
    return EXIT_OK


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _labelled(week: dict[str, Any]) -> str:
    labelled = week["labelled_auc"]
    if labelled:
        return f"{labelled['auc']:.3f} ({labelled['low']:.3f}-{labelled['high']:.3f}), {labelled['positives']:,} conv."
    return "outcomes not known yet" if not week["outcomes_known"] else "no conversions to rank"


def _calibration(week: dict[str, Any]) -> str:
    mean = week["mean_score"]
    if mean is None:
        return "-"
    observed = week["observed_rate"]
    return f"{mean:.2%} expected" + (f", {observed:.2%} observed" if observed is not None else "")


def _print(out: Output, data: dict[str, Any]) -> None:
    band = data["band"]
    out.say(
        "[bold]Model monitoring[/]: the estimated AUC is an [italic]estimate[/] from the scores alone (expected AUC "
        "if the scores are right); the labelled AUC counts the conversions within the week, with its 95% interval."
    )
    out.say(
        f"Outcomes: {escape(data['outcomes'] or 'none imported yet')}"
        + (f", known until {data['outcomes_known_until']}" if data["outcomes_known_until"] else "")
        + f"; conversion window {plural(data['window_weeks'], 'week')}."
    )
    out.say(
        f"{'week':<9} {'run':<12} {'scored':>8} {'estimate':>8} {'its ref.':>8}  {'validation':>10} "
        f"{'labelled AUC (95%)':<38} calibration"
    )
    for w in data["weeks"]:
        flags = [name for name, on in (("ESTIMATE LOW", w["estimate_alert"]), ("AUC LOW", w["labelled_alert"])) if on]
        line = (
            f"{w['week']:<9} {w['run_id']:<12} {w['scored']:>8,} {_auc(w['estimated_auc']):>8} "
            f"{_auc(w['estimate_reference']) if w['estimate_reference'] is not None else 'is ref.':>8}  "
            f"{_auc(w['validation_auc']):>10} {_labelled(w):<38} {_calibration(w)}"
        )
        out.say(escape(line) + (f"  [bold red]{', '.join(flags)}[/]" if flags else ""))
    for reason in data["skipped"].values():
        out.say(f"  left out: {escape(reason)}")
    pooled = data["pooled"]
    out.say(
        f"Pooled: estimated AUC {_auc(pooled['estimated_auc'])} (estimate, mean over weeks); labelled AUC within the "
        f"week {_auc(pooled['labelled_auc_within_week'])} over {plural(pooled['weeks_labelled'], 'labelled week')}."
    )
    out.say(
        f"Band: a week is flagged when its estimate is more than {band['estimate_drop']} below the mean estimate of "
        f"its model's first {plural(band['reference_weeks'], 'exported week')} (the reference: the estimate sits at its own "
        f"level, not the validation AUC's), or when its labelled AUC's whole 95% interval is more than "
        f"{band['auc_drop']} below the validation AUC (with at least {plural(band['min_positives'], 'conversion')})."
    )
    if data["alerts"]:
        out.say(
            "[bold red]Alert[/]: check the flagged weeks' extracts with the data provider (`nba-toolkit runs`, the run's "
            "input checks and drift); an estimate that falls before any outcome arrived usually means the data changed. "
            "Hold the next export until it is explained, and retrain (`nba-toolkit train`) once the data is right."
        )
    else:
        out.say("No week is below the band.")
