"""Evaluation commands: outcomes import, evaluate, plan, residual, simulate, whatif."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nba_toolkit.cli.app import Commands, Output, escape, number, open_workspace, workspace_dir
from nba_toolkit.errors import EXIT_OK, UsageError
from nba_toolkit.words import plural


def add_commands(commands: Commands) -> None:
    outcomes = commands.group("outcomes", "Import the account openings that evaluation counts as conversions.")
    imported = outcomes.add("import", _outcomes_import, "Validate an outcomes file and store it in the workspace.")
    imported.add_argument("file", type=Path, metavar="FILE", help="customer id, opening date, invested amount (CSV or Parquet)")

    evaluate = commands.add(
        "evaluate",
        _evaluate,
        "Conversion and money invested per group, and the uplift with its 95% interval, for the exported runs "
        "or (with --from-csv) for any mailing in a file.",
    )
    evaluate.add_argument("--from", dest="from_week", metavar="WEEK", help="first week to evaluate (YYYY-Www)")
    evaluate.add_argument("--to", dest="to_week", metavar="WEEK", help="last week to evaluate (YYYY-Www)")
    evaluate.add_argument(
        "--window-weeks", type=int, default=None, metavar="N", help="conversion window (default: the label window, 4)"
    )
    mailing = evaluate.add_argument_group("a mailing from a file")
    mailing.add_argument("--from-csv", type=Path, metavar="FILE", help="evaluate this file instead of the runs")
    mailing.add_argument("--group-col", metavar="COL", help="the column holding each row's group")
    mailing.add_argument("--treatment", metavar="VALUE", help="the group value of the mailed")
    mailing.add_argument("--control", metavar="VALUE", help="the group value of the not mailed")
    mailing.add_argument("--outcome", metavar="COL", help="0/1 (converted) or a count")
    mailing.add_argument("--value", metavar="COL", help="money per row, such as the amount invested")
    mailing.add_argument("--id-col", metavar="COL", help="the customer id column (default: the workspace's mapping)")

    plan = commands.add(
        "plan",
        _plan,
        "Weeks of holdout needed to detect an uplift (two-proportion test, alpha 0.05, power 0.8); "
        "without options, for the workspace's capacity and holdout share.",
    )
    plan.add_argument("--capacity", type=float, metavar="N", help="customers selected a week (default: the workspace's capacity)")
    plan.add_argument(
        "--holdout-share", type=float, metavar="S", help="share of the selected held out, e.g. 0.10 (default: the workspace's)"
    )
    plan.add_argument(
        "--baseline",
        type=float,
        metavar="P",
        help="conversion without mail, e.g. 0.017 (default: the conversion rate in the active model's training history)",
    )
    plan.add_argument(
        "--uplift",
        type=float,
        metavar="D",
        help="uplift to detect, e.g. 0.005 (0.5 percentage points); without it, what each length of test can detect",
    )

    residual = commands.add("residual", _residual, "Eligible customers the last N exported runs never selected, and why.")
    residual.add_argument("--weeks", type=int, default=12, metavar="N", help="how many of the latest exported runs (default 12)")
    residual.add_argument("--list", action="store_true", help="also list the customers (JSON: their ids)")

    simulate = commands.add(
        "simulate", _simulate, "Replay the engine and the selection week by week over the history (a backtest)."
    )
    simulate.add_argument("--from", dest="from_week", metavar="WEEK", help="first week to replay (YYYY-Www)")
    simulate.add_argument("--to", dest="to_week", metavar="WEEK", help="last week to replay (YYYY-Www)")
    simulate.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a setting, e.g. selection.threshold=0.02",
    )
    other = simulate.add_mutually_exclusive_group()
    other.add_argument(
        "--config", dest="compare_config", type=Path, metavar="OTHER.toml", help="a second configuration, side by side"
    )
    other.add_argument(
        "--compare", action="append", default=[], metavar="KEY=VALUE", help="a second configuration: the first with this change"
    )
    simulate.add_argument(
        "--retrain",
        choices=("none", "once", "weekly"),
        default="none",
        help="none: the registered model (default); once: fitted before the first week; weekly: refitted every week",
    )
    simulate.add_argument("--model", dest="model_id", metavar="MODEL_ID", help="a registered model instead of the active one")

    whatif = commands.add("whatif", _whatif, "Change a feature on a snapshot and see how the selection and scores move.")
    whatif.add_argument("--snapshot", type=Path, metavar="FILE", help="the snapshot (default: the newest in data/snapshots)")
    whatif.add_argument(
        "--shift", action="append", default=[], metavar="FEATURE=+X", help="add X (or +X%% to scale), e.g. fund_change_4w=+5"
    )
    whatif.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="FEATURE=VALUE",
        help="one value for everyone, e.g. app_installed=1",
    )
    whatif.add_argument("--model", dest="model_id", metavar="MODEL_ID", help="a registered model instead of the active one")


# ------------------------------------------------------------------ formatting

FLAG_SHORT = {"volume_band": "band", "volume_jump": "jump", "market": "market"}


def pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def points(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.2f} percentage points"


def money(value: float | None) -> str:
    return "n/a" if value is None else f"{'-' if value < 0 else ''}€{abs(value):,.2f}"


def interval(data: dict[str, Any], show: Any = points) -> str:
    """The estimate with its unit, then the interval's bounds (in percentage points without repeating the words)."""
    if data["estimate"] is None:
        return "n/a"
    if data["ci_low"] is None:
        return f"{show(data['estimate'])} (no interval)"
    bound = (lambda v: f"{v * 100:+.2f}") if show is points else show
    return f"{show(data['estimate'])} (95% interval {bound(data['ci_low'])} to {bound(data['ci_high'])})"


def whole(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+,.0f}"


# -------------------------------------------------------------------- handlers


def _outcomes_import(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.evaluate import import_outcomes
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    result = import_outcomes(workspace, args.file)
    if out.json_mode:
        out.document(result.to_dict())
        return EXIT_OK
    out.say(
        f"Imported {escape(result.file)}: {result.outcomes_in_file:,} account openings from {result.first_opened} "
        f"to {result.last_opened} ({result.added:,} new, {result.updated:,} corrected, {result.unchanged:,} already known)."
    )
    if result.dropped_columns:
        out.say(f"Sensitive columns dropped at load: {', '.join(result.dropped_columns)}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace, out: Output) -> int:
    if args.from_csv:
        return _evaluate_file(args, out)
    mailing_options = ("group_col", "treatment", "control", "outcome", "value", "id_col")
    if any(getattr(args, o) for o in mailing_options):
        raise UsageError("--group-col, --treatment, --control, --outcome, --value and --id-col go with --from-csv FILE")
    from nba_toolkit.jobs.evaluate import evaluate_workspace
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    window = args.window_weeks or workspace.config.engine.label_window_weeks
    with out.status("Evaluating the exported runs..."):
        result = evaluate_workspace(workspace, from_week=args.from_week, to_week=args.to_week, window_weeks=window)
    data = result.to_dict()
    if out.json_mode:
        out.document(data)
        return EXIT_OK
    _print_evaluation(out, data)
    return EXIT_OK


def _evaluate_file(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.evaluate import evaluate_file

    missing = [f"--{o.replace('_', '-')}" for o in ("group_col", "treatment", "control", "outcome") if not getattr(args, o)]
    if missing:
        raise UsageError(f"--from-csv needs {', '.join(missing)}")
    if args.from_week or args.to_week or args.window_weeks:
        raise UsageError("--from, --to and --window-weeks apply to the runs, not to --from-csv (the file has its outcome)")
    config = None
    root = workspace_dir(args)
    if (root / "nba.toml").is_file():
        from nba_toolkit.workspace import Workspace

        config = Workspace.open(root).config
    result = evaluate_file(
        args.from_csv,
        group=args.group_col,
        treatment=args.treatment,
        control=args.control,
        outcome=args.outcome,
        value=args.value,
        id_column=args.id_col,
        config=config,
    )
    data = result.to_dict()
    if out.json_mode:
        out.document(data)
        return EXIT_OK
    t, c = data["treatment"], data["control"]
    out.say(
        f"[bold]Mailing in {escape(data['file'])}[/]: {data['group_column']} = "
        f"'{escape(t['group'])}' against '{escape(c['group'])}'"
    )
    for label, g in (("mailed", t), ("not mailed", c)):
        line = f"  {label:<11} {g['n']:>9,} rows, {number(g['conversions'])} {data['outcome']['column']}, rate {pct(g['rate'])}"
        if "value_per_head" in g:
            line += f", {money(g['value_per_head'])} per head"
        out.say(escape(line))
    kind = "difference in rates" if data["outcome"]["kind"] == "0/1" else "difference in counts per head"
    out.say(f"  Uplift ({kind}): {interval(data['uplift'])}")
    if "value_uplift" in data:
        out.say(f"  Value per head: {interval(data['value_uplift'], money)}")
    out.say(f"  [dim]{data['uplift']['method']}[/]")
    if data["ignored_rows"]:
        groups = ", ".join(f"'{g}' ({n:,})" for g, n in data["ignored_groups"].items())
        out.say(f"  {plural(data['ignored_rows'], 'row')} of other groups were left out: {escape(groups)}")
    planner = data["planner"]
    if planner:
        out.say(
            f"  Planner: with these group sizes the smallest uplift a test can show is {points(planner['detectable_uplift'])}."
        )
    return EXIT_OK


def _print_evaluation(out: Output, data: dict[str, Any]) -> None:
    from rich.table import Table

    pooled = data["pooled"]
    out.say(
        f"[bold]Evaluation[/] of {plural(len(data['runs']), 'exported run')}; conversions within "
        f"{plural(data['window_weeks'], 'week')} of the run's week."
    )
    out.say(f"Outcomes: {escape(data['outcomes'])}, known until {data['outcomes_known_until']}.")
    if data["open_runs"]:
        out.say(f"Still open (window not over, left out of the totals): {', '.join(data['open_runs'])}")
    table = Table(title="Per run: conversion rate of the mailed and the held out, and the uplift with its 95% interval")
    for column in ("run", "mailed", "held out", "model uplift", "random uplift"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for run in data["runs"]:
        groups = run["groups"]
        mailed, held = groups["mailed_by_model"], groups["holdout"]
        complete = run["complete"]
        table.add_row(
            run["run_id"] if complete else f"{run['run_id']} (open to {run['window_end']})",
            f"{mailed['n']:,} {pct(mailed['rate']) if complete else ''}",
            f"{held['n']:,} {pct(held['rate']) if complete else ''}",
            _short_interval(run["model_uplift"]["uplift"]) if complete else "",
            _short_interval(run["random_uplift"]["uplift"]) if complete else "",
        )
    out.console.print(table)
    if not pooled["runs"]:
        out.say("No run has a complete window yet, so there are no totals. Import newer outcomes and evaluate again.")
        return
    model, random = pooled["model_uplift"], pooled["random_uplift"]
    groups = pooled["groups"]
    out.say(f"[bold]Over {plural(len(pooled['runs']), 'complete run')}[/] ({plural(pooled['contacted'], 'customer')} contacted):")
    for name, label in (
        ("mailed_by_model", "mailed by the model"),
        ("holdout", "held out"),
        ("random_control", "mailed at random"),
        ("eligible_not_selected", "eligible, not selected"),
    ):
        g = groups[name]
        out.say(f"  {label:<24} {g['n']:>9,}  converted {pct(g['rate'])}  invested {money(g['value_per_head'])} per head")
    out.say(f"  The model's mailing changed conversion by {interval(model['uplift'])}")
    out.say(f"    and money invested per mailed customer by {interval(model['value_uplift'], money)}.")
    out.say(
        f"    That is {interval(model['incremental_conversions'], whole)} extra accounts and "
        f"{interval(model['incremental_value'], money)} extra invested, over {model['mailed']:,} mailed."
    )
    out.say(f"  Mailing at random changed conversion by {interval(random['uplift'])}.")
    held = pooled["holdout_share"]
    if not held["plausible"]:
        out.say(
            f"  [yellow]Caution:[/] {pct(held['share'], 1)} of the selected were held out, where the policy holds out "
            f"{pct(held['expected_share'], 1)}; that is not chance (z = {held['z']:.1f}). Held-out customers are not in the "
            "cooldown and are selected again week after week, so the held-out and the mailed are not alike: "
            "read the model's uplift with care (see docs/evaluation.md)."
        )
    out.say(
        "  [dim]A 95% interval: if the mailing were repeated many times, intervals made this way would contain the "
        "true effect 95 times in 100. An interval that includes 0 means these runs cannot tell the effect from chance.[/]"
    )
    planner = data["planner"]
    if planner:
        plan = planner["plan"]
        line = (
            f"  Planner: with about {planner['selected_per_week']:,.0f} selected and {pct(planner['holdout_share'], 0)} held out "
            f"a week, {plural(planner['weeks_evaluated'], 'week')} can show an uplift of "
            f"{points(planner['detectable_uplift'])} or more"
        )
        if plan:
            line += f"; the observed {points(plan['uplift'])} needs {plural(plan['weeks_needed'], 'week')} of holdout"
        out.say(line + ".")


def _short_interval(data: dict[str, Any]) -> str:
    if data["estimate"] is None:
        return "n/a"
    if data["ci_low"] is None:
        return points(data["estimate"])
    return f"{points(data['estimate'])} [{data['ci_low'] * 100:+.2f}, {data['ci_high'] * 100:+.2f}]"


def _plan_inputs(args: argparse.Namespace, out: Output) -> tuple[float, float, float]:
    """Capacity, holdout share and baseline: as given, else what the workspace knows (and the output says so)."""
    capacity, holdout_share, baseline = args.capacity, args.holdout_share, args.baseline
    if capacity is not None and holdout_share is not None and baseline is not None:
        return capacity, holdout_share, baseline
    workspace, _ = open_workspace(args, out)
    selection = workspace.config.selection
    capacity = selection.capacity if capacity is None else capacity
    holdout_share = selection.holdout_share if holdout_share is None else holdout_share
    if baseline is None:
        baseline = _training_conversion(workspace)
        out.say(f"Baseline: {pct(baseline)}, the conversion rate in the active model's training history.")
    out.say(f"Capacity {capacity:,.0f} selected a week, holdout share {pct(holdout_share, 0)}.")
    return capacity, holdout_share, baseline


def _training_conversion(workspace: Any) -> float:
    from nba_toolkit.core.review import model_sidecar

    record = workspace.ledger.active_model(workspace.config.engine.name)
    sidecar = model_sidecar(workspace.root, record.path) if record is not None else {}
    if not sidecar.get("rows") or not sidecar.get("positives"):
        raise UsageError("no trained model tells the conversion rate without mail: pass --baseline P (e.g. 0.017)")
    return sidecar["positives"] / sidecar["rows"]


def _plan(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.planner import detectable_uplift, plan_holdout

    capacity, holdout_share, baseline = _plan_inputs(args, out)
    after = {
        str(weeks): detectable_uplift(capacity=capacity, holdout_share=holdout_share, baseline=baseline, weeks=weeks)
        for weeks in (4, 13, 26, 52)
    }
    if args.uplift is None:
        data = {"capacity": capacity, "holdout_share": holdout_share, "baseline": baseline, "detectable_uplift_after": after}
        if out.json_mode:
            out.document(data)
            return EXIT_OK
        shown = ", ".join(f"{plural(int(w), 'week')}: {points(d)}" for w, d in after.items())
        out.say(f"On a baseline of {pct(baseline)}, the smallest uplift a test can show after {shown}.")
        out.say("Pass --uplift D (e.g. 0.005) for the weeks of holdout a given uplift needs.")
        return EXIT_OK
    plan = plan_holdout(capacity=capacity, holdout_share=holdout_share, baseline=baseline, uplift=args.uplift)
    data = {**plan.to_dict(), "detectable_uplift_after": after}
    if out.json_mode:
        out.document(data)
        return EXIT_OK
    out.say(
        f"To show an uplift of {points(plan.uplift)} on a baseline of {pct(plan.baseline)} "
        f"(two-sided test, alpha {plan.alpha}, power {plan.power:.0%}):"
    )
    out.say(
        f"  the holdout needs {plural(plan.holdout_needed, 'customer')} and the mailed {plan.mailed_needed:,}; at "
        f"{plan.holdout_per_week:,.0f} held out a week that is [bold]{plural(plan.weeks_needed, 'week')}[/]."
    )
    shown = ", ".join(f"{plural(int(w), 'week')}: {points(d)}" for w, d in after.items())
    out.say(f"  Smallest uplift a test can show after {shown}.")
    return EXIT_OK


def _residual(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.residual import residual_workspace

    workspace, registry = open_workspace(args, out)
    result = residual_workspace(workspace, registry, weeks=args.weeks)
    if out.json_mode:
        out.document(result.to_dict(with_customers=args.list))
        return EXIT_OK
    from rich.table import Table

    out.say(
        f"[bold]Residual group[/] over {plural(len(result.runs), 'run')} ({result.runs[0]} to {result.runs[-1]}): "
        f"{result.residual:,} of {result.eligible:,} eligible customers ({pct(result.share, 1)}) were never selected."
    )
    out.say(
        f"Median score: {pct(result.residual_median_score)} in the residual group, "
        f"{pct(result.selected_median_score)} among the {result.selected:,} selected."
    )
    profile = Table(title="How they differ from the selected (in standard deviations, biggest differences first)")
    for column in ("feature", "", "residual", "selected", "difference"):
        profile.add_column(column, justify="left" if column == "feature" else "right")
    for row in result.profile.head(12).iter_rows(named=True):
        show = pct if row["statistic"] == "share" else (lambda v: f"{v:,.2f}")
        profile.add_row(row["label"], row["statistic"], show(row["residual"]), show(row["selected"]), f"{row['difference']:+.2f}")
    out.console.print(profile)
    down = Table(title="What holds their scores down (mean contribution to the score)")
    for column in ("feature", "residual", "selected", "gap"):
        down.add_column(column, justify="left" if column == "feature" else "right")
    for row in result.contributions.iter_rows(named=True):
        down.add_row(row["label"], f"{row['residual']:+.2f}", f"{row['selected']:+.2f}", f"{row['gap']:+.2f}")
    out.console.print(down)
    if args.list:
        out.say(", ".join(str(c) for c in result.customers["customer_id"].to_list()))
    return EXIT_OK


def _simulate(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.backtest import backtest_workspace

    workspace, registry = open_workspace(args, out)
    with out.status("Replaying the weeks...") as status:
        report = backtest_workspace(
            workspace,
            registry,
            from_week=args.from_week,
            to_week=args.to_week,
            settings=args.settings,
            compare_settings=args.compare,
            compare_config=args.compare_config,
            retrain=args.retrain,
            model_id=args.model_id,
            on_progress=lambda done, total, stage: status.update(f"Replaying {stage} ({done}/{total})"),
        )
    if out.json_mode:
        out.document(report.to_dict())
        return EXIT_OK
    _print_simulation(out, report)
    return EXIT_OK


def _print_simulation(out: Output, report: Any) -> None:
    from rich.table import Table

    from nba_toolkit.core.backtest import FLAG_TEXT, totals

    results = report.results
    out.say(
        f"[bold]Simulation[/] {report.first_week} to {report.last_week}, model: "
        f"{'registered' if report.retrain == 'none' else 'retrained ' + report.retrain} ({report.seconds:.1f} s)."
    )
    table = Table(title="Per week: customers mailed (model and random control) and held out")
    table.add_column("week")
    for r in results:
        suffix = f" ({r.backtest.label})" if len(results) > 1 else ""
        for column in ("mailed", "held out"):
            table.add_column(column + suffix, justify="right")
    table.add_column("flags")
    by_week = [r.backtest.weekly.rows_by_key("week", named=True, unique=True) for r in results]
    for week in results[0].backtest.weekly["week"].to_list():
        cells = [week]
        flags: list[str] = []
        for weeks in by_week:
            row = weeks.get(week)
            cells += [f"{row['mailed']:,}", f"{row['holdout']:,}"] if row else ["", ""]
            flags += [f for f in (row["flags"] if row else []) if f not in flags]
        cells.append(", ".join(FLAG_SHORT[f] for f in flags))
        table.add_row(*cells)
    out.console.print(table)
    for r in results:
        t = totals(r.backtest.weekly)
        per_week = t["mailed_per_week"]
        changes = ", ".join(f"{k}={v}" for k, v in r.changes.items())
        out.say(
            f"[bold]{escape(r.backtest.label)}[/]{' (' + escape(changes) + ')' if changes else ''}: {t['mailed']:,} mailed over "
            f"{plural(t['weeks'], 'week')}, median {per_week['median']:,.0f} a week "
            f"({per_week['min']:,} to {per_week['max']:,}); "
            f"flagged: {', '.join(t['flagged_weeks']) or 'none'}."
        )
        if r.evaluation and r.evaluation.pooled_runs:
            model = r.evaluation.arms["model"].uplift.to_dict()
            weeks = plural(len(r.evaluation.pooled_runs), "week")
            out.say(f"  Realised: mailed vs held out {interval(model)} over {weeks} with outcomes.")
    flagged = {f for r in results for flags in r.backtest.weekly["flags"].to_list() for f in flags}
    for flag, text in FLAG_TEXT.items():
        if flag in flagged:
            out.say(f"  [dim]{FLAG_SHORT[flag]}: {text}[/]")
    for row in report.recorded.iter_rows(named=True):
        if row["differing_customers"] == 0:
            verdict = "[green]the same selection[/]"
        elif row["same_contact_history"]:
            verdict = f"[red]{row['differing_customers']:,} customers differ[/] although the contact history is the same"
        else:
            verdict = (
                f"{row['differing_customers']:,} customers differ: the replay's contact history before that week is its "
                f"own, not the real one (simulate --from {row['week']} to compare)"
            )
        out.say(
            f"Recorded run {row['run_id']}: {row['recorded_mailed']:,} mailed; replayed {row['replayed_mailed']:,}: {verdict}."
        )
    for note in report.notes:
        out.say(f"[dim]{escape(note)}[/]")


def _whatif(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.whatif import what_if_workspace

    workspace, registry = open_workspace(args, out)
    result = what_if_workspace(
        workspace, registry, snapshot=args.snapshot, shifts=args.shift, sets=args.sets, model_id=args.model_id
    )
    if out.json_mode:
        out.document(result.to_dict())
        return EXIT_OK
    from rich.table import Table

    changes = ", ".join(result.changes) or "no change"
    out.say(f"[bold]What if[/] {escape(changes)} in {result.week} ({result.eligible:,} eligible):")
    out.say(
        f"  selected {result.selected_before:,} → {result.selected_after:,} ({result.selected_after - result.selected_before:+,})"
    )
    out.say(f"  mailed   {result.mailed_before:,} → {result.mailed_after:,} ({result.mailed_after - result.mailed_before:+,})")
    out.say(f"  mean score of the eligible {pct(result.mean_score_before, 3)} → {pct(result.mean_score_after, 3)}")
    for label, frame in (("enter", result.entering), ("leave", result.leaving)):
        if frame.height:
            shown = ", ".join(str(c) for c in frame["customer_id"].head(10).to_list())
            more = f" and {frame.height - 10:,} more" if frame.height > 10 else ""
            out.say(
                f"  {plural(frame.height, 'customer')} {label}{'s' if frame.height == 1 else ''} the selection: {shown}{more}"
            )
    table = Table(title="Nudge each input up: which way do the scores move?")
    for column in ("feature", "nudge", "up", "down", "same", "moves", "claimed", ""):
        table.add_column(column, justify="left" if column in ("feature", "moves", "claimed") else "right")
    for row in result.monotonicity.iter_rows(named=True):
        table.add_row(
            row["label"],
            row["nudge"],
            f"{row['up']:,}",
            f"{row['down']:,}",
            f"{row['unchanged']:,}",
            row["observed"],
            row["claimed"],
            "[green]ok[/]" if row["consistent"] else "[red]check[/]",
        )
    out.console.print(table)
    sources = sorted(set(result.monotonicity["claim_source"].to_list())) if result.monotonicity.height else []
    if sources:
        out.say(
            f"[dim]Claimed directions from: {', '.join(sources)} "
            "(the model card's expected_directions, else the engine's explanation).[/]"
        )
    return EXIT_OK
