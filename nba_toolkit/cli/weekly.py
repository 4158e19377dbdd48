"""The weekly job's commands: demo, init, train, run, export, runs."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nba_toolkit.cli.app import (
    Commands,
    Output,
    escape,
    number,
    open_workspace,
    status_text,
    user,
    warn_plugin_errors,
    workspace_of,
)
from nba_toolkit.errors import EXIT_BLOCKED, EXIT_OK
from nba_toolkit.words import group_name, plural, source_of

if TYPE_CHECKING:
    from nba_toolkit.core.extract_proposal import Proposal
    from nba_toolkit.plugin.manager import Registry
    from nba_toolkit.workspace import Workspace


def add_commands(commands: Commands) -> None:
    demo = commands.add(
        "demo",
        _demo,
        "Set up the sample workspace, train, run and export the sample week, then open the UI on it (at a terminal).",
        json_flag=False,
    )
    demo.add_argument("--headless", action="store_true", help="print the summary and exit, with no screen")
    demo.add_argument("--reset", action="store_true", help="start again from a fresh sample workspace")

    init = commands.add("init", _init, "Create a workspace folder.", workspace=False, json_flag=False)
    init.add_argument("directory", type=Path, metavar="DIR")
    start = init.add_mutually_exclusive_group()
    start.add_argument("--sample", action="store_true", help="copy the sample data in, to try things out")
    start.add_argument(
        "--from-extract",
        type=Path,
        metavar="FILE",
        help="propose [columns] and [features] in nba.toml from your bank's extract (CSV or Parquet), for you to check",
    )

    train = commands.add("train", _train, "Train the configured engine on the workspace's history.")
    train.add_argument("--until", metavar="WEEK", help="use history up to this week only (YYYY-Www)")
    train.add_argument(
        "--known-until",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="the outcomes are complete up to this day (default: the newest opening in outcomes.csv); "
        "weeks whose label window ends later are left out",
    )
    train.add_argument(
        "--challenger",
        action="store_true",
        help="register the new model beside the active one, which keeps scoring; compare with `model compare`, "
        "make it score with `model promote`",
    )

    run = commands.add("run", _run, "Run this week's selection (stops at review unless --approve).")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--snapshot", type=Path, metavar="FILE", help="the snapshot file (CSV or Parquet)")
    source.add_argument("--week", metavar="YYYY-Www", help="run the workspace's snapshot of this week")
    source.add_argument(
        "--scheduled",
        action="store_true",
        help="for a scheduled job: run this calendar week's snapshot; if it has not arrived, block and alert",
    )
    run.add_argument("--approve", action="store_true", help="approve and export in the same step")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="an acceptance run: every stage on real data, recorded, never exportable (to try a new model)",
    )
    run.add_argument(
        "--again",
        action="store_true",
        help="run a week that already has a run awaiting approval, next to it (exporting one withdraws the other)",
    )
    run.add_argument(
        "--fallback",
        choices=("random",),
        help="no model: mail --size eligible customers drawn at random (the usual exclusions apply), "
        "when the engine is off or the week is blocked",
    )
    run.add_argument("--size", metavar="N", help="with --fallback: how many customers to draw")
    run.add_argument(
        "--acknowledge-warnings",
        action="store_true",
        help="with --approve: acknowledge every warning of the run in your name (recorded), instead of refusing",
    )

    export = commands.add("export", _export, "Approve a reviewed run and write the mail program's file.")
    export.add_argument("run_id", metavar="RUN_ID")

    withdraw = commands.add(
        "withdraw", _withdraw, "Withdraw a run awaiting approval: it is never exported (recorded with who and why)."
    )
    withdraw.add_argument("run_id", metavar="RUN_ID")
    withdraw.add_argument("--reason", required=True, metavar="TEXT", help="why the run is withdrawn")

    commands.add("runs", _runs, "List the runs in the ledger, newest first.", writes=False)


def _init(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.config import DEFAULT_DENYLIST
    from nba_toolkit.core.extract_proposal import propose
    from nba_toolkit.errors import UsageError, disk_full
    from nba_toolkit.workspace import init_workspace

    directory = Path(args.directory).expanduser()
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is a file, not a folder; a workspace is a folder", hint="Choose another path.")
    # the extract is judged before anything is created, so an unreadable one leaves no half a workspace
    proposal = propose(args.from_extract, DEFAULT_DENYLIST) if args.from_extract else None
    try:
        workspace = init_workspace(directory, sample=args.sample, proposal=proposal)
    except OSError as exc:
        raise disk_full(exc) or UsageError(
            f"the workspace {directory} could not be created: {exc.strerror or exc}",
            hint="Choose a folder you may write to, for example in your home folder.",
        ) from None
    out.say(f"Created the workspace {workspace.root}" + (" with the sample data." if args.sample else "."))
    if args.sample:
        out.say(f"Next: nba-toolkit train --workspace {workspace.root}")
    elif proposal is not None:
        _print_proposal(out, workspace, proposal)
    else:
        out.say("Next: map your extract's columns in nba.toml, put history and outcomes in data/, then train.")
    return EXIT_OK


def _print_proposal(out: Output, workspace: Workspace, proposal: Proposal) -> None:
    """What the proposal found, in counts and column names only: no customer's value is shown."""
    extract = proposal.extract
    found = ", ".join(f"{canonical} = {column}" for canonical, column in proposal.needed.items() if column)
    out.say(
        f"Read {plural(proposal.rows, 'row')} of {escape(str(extract))}. Found: {escape(found) or 'none of the needed columns'}."
    )
    if proposal.dropped:
        out.say(f"Dropped by the denylist, never read: {escape(', '.join(proposal.dropped))}.")
    for verdict in proposal.columns:
        levels = f", {verdict.levels:,} levels" if verdict.kind == "category" else ""
        verdict_text = f"left out: {verdict.doubt}" if verdict.doubt else "proposed as a feature"
        out.say(f"  {escape(verdict.column)}: {verdict.kind}{levels}; {escape(verdict_text)}")
    if not proposal.complete and not proposal.missing:
        out.warn(escape(f"no column could be proposed as a feature: declare at least one in {workspace.config_path}"))
    for canonical in proposal.missing:
        out.warn(
            escape(f"no column was found for {canonical}: name it under [columns] in {workspace.config_path} (marked REQUIRED)")
        )
    out.say(
        f"Next: check nba.toml (labels, kinds, what is left out), put history.parquet and outcomes.csv in "
        f"{escape(str(workspace.root / 'data'))}, have compliance approve each column (nba-toolkit govern approve), "
        "then train."
    )


def _train(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.train import train

    workspace, registry = open_workspace(args, out)
    with out.status("Training the engine on the history..."):
        result = train(workspace, registry, until=args.until, known_until=args.known_until, challenger=args.challenger)
    if out.json_mode:
        out.document(result.to_dict())
        return EXIT_OK if result.promoted else EXIT_BLOCKED
    _print_training(out, result)
    return EXIT_OK if result.promoted else EXIT_BLOCKED


def _run(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.acknowledgements import acknowledge_all
    from nba_toolkit.errors import CheckBlocked, UsageError
    from nba_toolkit.jobs.export import export_run
    from nba_toolkit.jobs.fallback import list_size, run_fallback
    from nba_toolkit.jobs.run import run_scheduled, run_week

    if args.dry_run and (args.approve or args.scheduled):
        raise UsageError("a dry run is never exported or scheduled; leave out --approve and --scheduled")
    if args.size is not None and not args.fallback:
        raise UsageError("--size goes with --fallback random: it is the size of the list drawn at random")
    if args.fallback and (args.dry_run or args.scheduled):
        raise UsageError("a fallback list is neither a dry run nor scheduled; leave out --dry-run and --scheduled")
    if args.fallback and args.size is None:
        raise UsageError("a fallback list needs its size: add --size N (for example --size 500)")
    size = list_size(args.size) if args.fallback else None
    if args.acknowledge_warnings and not args.approve:
        raise UsageError("--acknowledge-warnings only goes with --approve; use `nba-toolkit acknowledge` otherwise")
    workspace, registry = open_workspace(args, out)
    try:
        with out.status("Running the week...") as status:
            progress = lambda done, total, stage: status.update(f"Run: {stage} ({done}/{total})")  # noqa: E731
            if size is not None:
                outcome = run_fallback(
                    workspace, registry, size=size, snapshot=args.snapshot, week=args.week, on_progress=progress, again=args.again
                )
            elif args.scheduled:
                outcome = run_scheduled(workspace, registry, on_progress=progress, again=args.again)
            else:
                outcome = run_week(
                    workspace,
                    registry,
                    snapshot=args.snapshot,
                    week=args.week,
                    on_progress=progress,
                    dry_run=args.dry_run,
                    again=args.again,
                )
    except CheckBlocked as blocked:
        run = workspace.ledger.run(blocked.run_id) if blocked.run_id else None
        results = workspace.ledger.check_results(blocked.run_id) if blocked.run_id else []
        if out.json_mode:
            out.document(
                {
                    "run_id": blocked.run_id,
                    "status": "blocked",
                    "error": blocked.message,
                    "exit_code": EXIT_BLOCKED,
                    "checks": [c.to_dict() for c in results],
                }
            )
            return EXIT_BLOCKED
        if run is None:
            out.say(f"[bold red]Blocked[/]: {escape(blocked.message)}. Nothing was run or exported.")
        else:
            out.say(f"[bold red]Blocked[/]: run {blocked.run_id} for {run.week} stopped. Nothing was exported.")
        for check in results:
            if check.status in ("fail", "error"):
                out.say(f"  {_blocked_mark(check)} {check.check_name}[/] ({source_of(check.plugin)}): {escape(check.message)}")
                if check.action:
                    out.say(f"    What to do: {escape(check.action)}")
        out.say(f"An alert was written to {workspace.root / 'outbox'}.")
        return EXIT_BLOCKED
    if args.approve:
        if args.acknowledge_warnings:
            acknowledge_all(workspace.ledger, outcome.run_id, by=user(), note="run --approve --acknowledge-warnings")
        outcome.export = export_run(workspace, registry, outcome.run_id)
        outcome.status = "exported"
    if out.json_mode:
        out.document(outcome.to_dict())
        return EXIT_OK
    _print_run(out, workspace, outcome)
    _print_also_awaiting(out, workspace, outcome)
    return EXIT_OK


def _print_also_awaiting(out: Output, workspace: Workspace, outcome: Any) -> None:
    """After ``run --again``: the earlier runs of the week still awaiting approval, and what becomes of them."""
    from nba_toolkit.ledger.store import MAILING_KINDS

    others = [
        r.run_id
        for r in workspace.ledger.runs()
        if r.week == outcome.week and r.run_id != outcome.run_id and r.status == "awaiting_approval" and r.kind in MAILING_KINDS
    ]
    if others and outcome.status == "awaiting_approval":
        out.say(
            f"[yellow]Also awaiting approval for {outcome.week}[/]: {', '.join(others)}. Export only one run of a week; "
            f"the others are then withdrawn (or now: `nba-toolkit withdraw {others[-1]} --reason TEXT`)."
        )


def _withdraw(args: argparse.Namespace, out: Output) -> int:
    workspace = workspace_of(args)
    who = user()
    workspace.ledger.withdraw_run(args.run_id, reason=args.reason, by=who)
    run = workspace.ledger.run(args.run_id)
    if out.json_mode:
        out.document(
            {"run_id": run.run_id, "week": run.week, "status": run.status, "withdrawn_by": who, "reason": run.withdrawn_reason}
        )
        return EXIT_OK
    out.say(
        f"Withdrew run {run.run_id} for {run.week} as {escape(who)}: {escape(run.withdrawn_reason or '')}. "
        "It can never be exported; its record stays in the ledger."
    )
    return EXIT_OK


def _blocked_mark(check: Any) -> str:
    """In the list of a blocked run, what stopped it and what only warns must not look alike."""
    if check.status == "error":
        return "[bold red]✗ crashed:"
    if check.severity == "block":
        return "[red]✗ blocks:"
    return "[yellow]! warns (does not block):"


def _export(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.export import export_run

    workspace, registry = open_workspace(args, out)
    result = export_run(workspace, registry, args.run_id)
    if out.json_mode:
        out.document(result.to_dict())
    else:
        _print_export(out, result)
    return EXIT_OK


def _runs(args: argparse.Namespace, out: Output) -> int:

    workspace = workspace_of(args)
    runs = workspace.ledger.runs()
    if out.json_mode:
        out.document({"runs": [r.to_dict() for r in runs]})
        return EXIT_OK
    if not runs:
        out.say("No runs yet. Start one with `nba-toolkit run`.")
        return EXIT_OK
    from rich.table import Table

    table = Table(title=f"Runs in {workspace.root}")
    for column in ("run", "week", "status", "started (UTC)", "by", "mailed", "held out", "export"):
        table.add_column(column)
    for r in runs:
        table.add_row(
            r.run_id + (" [yellow](fallback)[/]" if r.kind == "fallback" else ""),
            r.week,
            status_text(r.status) + (" [yellow](unreviewed)[/]" if r.unreviewed_export else ""),
            r.started_at.replace("+00:00", ""),
            r.operator,
            number(r.mailed),
            number(r.counts.get("holdout") if r.counts else None),
            r.export_path or "",
        )
    out.console.print(table)
    return EXIT_OK


def _demo(args: argparse.Namespace, out: Output) -> int:
    """The README's promise: the whole weekly job on the sample data, then (at a terminal) the UI on its result."""
    from nba_toolkit.cli.ui import interactive, run_ui

    workspace = _demo_workspace(args, out)
    registry = _demo_plugins(workspace, out)
    _demo_week(workspace, registry, out)
    if args.headless or not interactive():
        return EXIT_OK
    workspace.close()
    return run_ui(workspace.root)  # the exported week, to look up any customer and see why


def _demo_workspace(args: argparse.Namespace, out: Output) -> Workspace:
    """The sample workspace: reused, started again with --reset, or created."""
    import shutil

    from nba_toolkit.paths import demo_workspace
    from nba_toolkit.workspace import Workspace, init_workspace

    root = args.workspace or demo_workspace()
    if args.reset and (root / "nba.toml").is_file():
        shutil.rmtree(root)
    if (root / "nba.toml").is_file():
        workspace = Workspace.open(root)
        out.say(f"Using the sample workspace {workspace.root}")
        return workspace
    with out.status("Creating the sample workspace..."):
        workspace = init_workspace(root, sample=True)
    out.say(f"Created the sample workspace {workspace.root}")
    return workspace


def _demo_plugins(workspace: Workspace, out: Output) -> Registry:
    """The plugins, and a trained model if the sample workspace has none yet."""
    from nba_toolkit.jobs.train import train
    from nba_toolkit.plugin.manager import load_plugins

    registry = load_plugins(workspace.plugin_folders(), disabled=workspace.config.plugins.disabled)
    warn_plugin_errors(out, registry)
    if workspace.ledger.active_model(workspace.config.engine.name) is None:
        with out.status("Training the default engine on 77 weeks of history..."):
            trained = train(workspace, registry)
        _print_training(out, trained)
    return registry


def _demo_week(workspace: Workspace, registry: Registry, out: Output) -> None:
    """Run, approve and export the sample week, or show it again if this workspace already mailed it."""
    from nba_toolkit.jobs.export import export_run
    from nba_toolkit.jobs.run import RunOutcome, find_snapshot, run_week

    _, week = find_snapshot(workspace, snapshot=None, week=None)
    earlier = workspace.ledger.exported_run_for_week(week) if week else None
    if earlier:
        out.say(
            f"{week} was already run and exported in this workspace; here is that run again "
            "(`nba-toolkit demo --reset` starts over)."
        )
        _print_run(out, workspace, RunOutcome.from_ledger(workspace, earlier))
        return
    with out.status("Running this week's selection...") as status:
        outcome = run_week(
            workspace, registry, on_progress=lambda done, total, stage: status.update(f"Run: {stage} ({done}/{total})")
        )
    outcome.export = export_run(workspace, registry, outcome.run_id, approved_by=f"{user()} (demo)")
    outcome.status = "exported"
    _print_run(out, workspace, outcome)


def _print_training(out: Output, result: Any) -> None:
    from nba_toolkit.core.model_card import imputed_lines, quality_lines

    out.say(
        f"Trained model [bold]{result.model_id}[/] on {result.train_weeks[0]} to {result.train_weeks[1]}, "
        f"validated on {result.validation_weeks[0]} to {result.validation_weeks[1]} (out of time)."
    )
    out.say(
        f"  {result.rows:,} customer-weeks, of which {result.positives:,} were followed by an investment "
        "account within the label window."
    )
    if result.sampling:
        sample = result.sampling
        out.say(
            f"  Fitted on a sample of {sample['drawn']:,} of them ([engine] training_sample_rows "
            f"{sample['limit']:,}): every conversion and {sample['negatives_rate']:.1%} of the others in each week, "
            "weighted so the scores stay probabilities; the validation figures use every row."
        )
    known = result.known_until
    out.say(
        f"  Outcomes known until {known.date.isoformat()} ({known.source}); {known.weeks_left_out} newest "
        f"week{'' if known.weeks_left_out == 1 else 's'} left out, their label window not over by then."
    )
    for line in imputed_lines(result.imputed):
        out.say(f"  [yellow]! {escape(line)}[/]")
    for line in quality_lines(result.metrics):
        out.say(f"  {escape(line)}")
    failed = [c for c in result.checks if c.status != "pass"]
    out.say(f"  Model checks: {len(result.checks) - len(failed)} of {len(result.checks)} passed")
    for check in failed:
        out.say(f"  [yellow]! {check.check}[/] ({check.severity}): {escape(check.message)}")
        if check.action:
            out.say(f"    What to do: {escape(check.action)}")
    if not result.promoted:
        reasons = "; ".join(f"{c.check}: {c.message}" for c in failed if c.blocks)
        out.say(f"[bold red]The model was not made active[/] ({escape(reasons)}) The previous model (if any) stays in use.")
    elif result.challenger:
        out.say(
            f"Registered as a [bold]challenger[/]: the active model keeps scoring. Compare them with "
            f"`nba-toolkit model compare ACTIVE {result.model_id}`; make it score with "
            f"`nba-toolkit model promote {result.model_id} --reason TEXT`."
        )


def _print_run(out: Output, workspace: Workspace, outcome: Any) -> None:
    from rich.table import Table

    from nba_toolkit.core.selection import REASON_TEXT

    counts = outcome.counts
    selection = workspace.config.selection
    excluded = {k: v for k, v in counts.items() if k.startswith("excluded_")}
    out.say("")
    kind = " · [bold yellow]fallback list[/] (drawn at random, no model)" if outcome.kind == "fallback" else ""
    out.say(f"[bold]Week {outcome.week}[/] · run {outcome.run_id}{kind} · {status_text(outcome.status)}")
    out.say(f"Snapshot: {escape(outcome.snapshot_path)}")
    if outcome.dropped_columns:
        dropped = outcome.dropped_columns
        out.say(f"Columns not read ({len(dropped)}; sensitive or not needed): {', '.join(dropped)}")
    if outcome.degraded:
        from nba_toolkit.core.degraded import describe

        out.say("[bold yellow]Degraded run[/]: scored with stand-ins for missing optional inputs:")
        for line in describe(outcome.degraded):
            out.say(f"  [yellow]! {escape(line)}[/]")
    failed = [c for c in outcome.checks if c.status != "pass"]
    out.say(f"Checks: {len(outcome.checks) - len(failed)} of {len(outcome.checks)} passed")
    for check in failed:
        out.say(f"  [yellow]! {check.check}[/]: {escape(check.message)}")

    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
    table.add_column("who")
    table.add_column("customers", justify="right")

    def row(label: str, n: int, *, indent: int = 0, bold: bool = False) -> None:
        text = " " * indent + label
        table.add_row(f"[bold]{text}[/]" if bold else text, f"{n:,}")

    row("In the snapshot", outcome.rows_in, bold=True)
    row("Excluded", sum(excluded.values()), indent=2)
    for reason, n in excluded.items():
        row(REASON_TEXT.get(reason, reason), n, indent=4)
    if outcome.kind == "fallback":
        row("Eligible", outcome.rows_in - sum(excluded.values()), indent=2)
        row(f"drawn at random (random control; {outcome.capacity:,} asked for)", counts.get("random_control", 0), indent=4)
        row("not drawn", counts.get("not_drawn", 0), indent=4)
        row("Mailed in total", counts.get("random_control", 0), bold=True)
        out.console.print(table)
        _print_next(out, outcome)
        return
    row("Scored (eligible)", outcome.rows_in - sum(excluded.values()), indent=2)
    row(f"below the threshold of {selection.threshold:.1%}", counts["below_threshold"], indent=4)
    # the capacity the run selected with; a run recorded before it was kept shows the configured number
    capacity = outcome.capacity if outcome.capacity is not None else selection.capacity
    row(f"over this week's capacity of {capacity:,}", counts["over_capacity"], indent=4)
    row("selected", counts["selected_mailed"] + counts["holdout"], indent=4)
    row("mailed", counts["selected_mailed"], indent=6)
    row("held out (not mailed, to measure the effect)", counts["holdout"], indent=6)
    row("mailed at random (random control)", counts["random_control"], indent=4)
    row("Mailed in total", counts["selected_mailed"] + counts["random_control"], bold=True)
    out.console.print(table)
    _print_next(out, outcome)


def _print_next(out: Output, outcome: Any) -> None:
    """The export's receipt, or what the run is for and what comes next."""
    if outcome.export:
        _print_export(out, outcome.export)
    elif outcome.kind == "acceptance":
        out.say(
            "This is an acceptance run: it is recorded but can never be exported. When it looks right, "
            "`nba-toolkit model approve` signs the model off for weekly runs."
        )
    elif outcome.status == "awaiting_approval":
        warned = [c.check for c in outcome.checks if c.needs_acknowledgement]
        if warned:
            out.say(
                f"Warnings to acknowledge before export: {', '.join(warned)} "
                f"(`nba-toolkit acknowledge {outcome.run_id} CHECK --note TEXT`)."
            )
        out.say(f"Next: review, then `nba-toolkit export {outcome.run_id}` approves it and writes the mail file.")


def _print_export(out: Output, result: Any) -> None:
    groups = ", ".join(f"{n:,} {group_name(g)}" for g, n in result.groups.items())
    out.say(f"[green]Exported[/] {plural(result.rows, 'row')} ({groups}), approved by {escape(result.approved_by)}:")
    out.say(f"  {escape(str(result.path))}")
    out.say(f"  SHA-256 {result.sha256}")
    sentence = escape(result.review.sentence())
    out.say(f"  {sentence[0].upper()}{sentence[1:]}" if result.review.reviewed else f"  [yellow]Marked unreviewed: {sentence}[/]")
