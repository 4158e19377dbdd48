"""Governance commands: ``audit verify``, ``govern list|approve``, ``evidence``, ``replay``, ``model card``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nba_toolkit.cli.app import Commands, Output, escape, open_workspace, workspace_dir, workspace_of
from nba_toolkit.errors import EXIT_OK, BadInput
from nba_toolkit.words import plural


def add_commands(commands: Commands) -> None:
    audit = commands.group("audit", "Check that the ledger was not changed outside the toolkit.")
    verify = audit.add("verify", _verify, "Recompute the ledger's hash chain and compare every record with it.", writes=False)
    verify.add_argument(
        "--anchor",
        metavar="FILE_OR_HASH",
        help="a head of the chain kept elsewhere: a hash, an evidence pack (folder or its audit.json) or a file holding the hash",
    )

    govern = commands.group("govern", "The data-use register: which data may be used, why, approved by whom.")
    govern.add("list", _govern_list, "List every data use with its purpose and approval.", writes=False)
    approve = govern.add("approve", _govern_approve, "Approve the use of one piece of data (recorded in the ledger).")
    approve.add_argument("feature", metavar="FEATURE", help="the canonical column name, e.g. savings_balance")
    approve.add_argument("--by", required=True, metavar="NAME", help="who approves (compliance officer)")
    approve.add_argument("--source", metavar="TEXT", help="where the data comes from")
    approve.add_argument("--purpose", metavar="TEXT", help="what it is used for")
    approve.add_argument(
        "--known-by-snapshot",
        choices=("yes", "no"),
        help="whether the value is known on the snapshot date, before the outcome (training needs yes)",
    )

    evidence = commands.add("evidence", _evidence, "Write a run's evidence pack for a reviewer without the toolkit.")
    evidence.add_argument("run_id", metavar="RUN_ID")
    evidence.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new or empty folder")

    replay = commands.add(
        "replay", _replay, "Recompute a past run from its recorded inputs and show that it is identical, or what differs."
    )
    replay.add_argument("run_id", metavar="RUN_ID")

    commands.add("purge", _purge, "Remove per-customer run data older than [retention] run_data_days (audited).")

    model = commands.group("model", "The trained model.")
    model.add("card", _model_card, "Print the active model's card: purpose, data, performance, when not to use it.", writes=False)
    model.add(
        "list",
        _model_list,
        "List every trained model, newest first: when, on which weeks, its out-of-time figures, which one scores.",
        writes=False,
    )
    compare = model.add(
        "compare",
        _model_compare,
        "Set two models side by side on the same out-of-time weeks: ranking within the week, lift, calibration.",
        writes=False,
    )
    compare.add_argument("first", metavar="MODEL_A")
    compare.add_argument("second", metavar="MODEL_B")
    promote = model.add("promote", _model_promote, "Make a model the one that scores (recorded with who and why).")
    promote.add_argument("model_id", metavar="MODEL")
    promote.add_argument("--reason", required=True, metavar="TEXT", help="why this model replaces the active one")
    approve_model = model.add("approve", _model_approve, "Approve the active model for weekly runs (recorded).")
    approve_model.add_argument(
        "--by",
        metavar="NOTE",
        help="a note kept with the approval, e.g. on whose behalf; the approver is you, the logged-in user",
    )
    approve_model.add_argument(
        "--acknowledge",
        nargs=2,
        action="append",
        default=[],
        metavar=("CHECK", "NOTE"),
        help="acknowledge a model-check warning by name, with a note saying why it is acceptable (once per warning)",
    )


def _verify(args: argparse.Namespace, out: Output) -> int:
    """Read-only, so an auditor who may only read the workspace can verify it; nothing is written."""
    from nba_toolkit.jobs.evidence import read_anchor
    from nba_toolkit.jobs.integrity import workspace_problems
    from nba_toolkit.ledger.store import Ledger
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    anchor = read_anchor(args.anchor) if args.anchor else None
    ledger = Ledger.open_read_only(workspace.root / "ledger.sqlite")
    try:
        report = ledger.verify(anchor=anchor)
        report.problems += workspace_problems(workspace, ledger)
    finally:
        ledger.close()
    if report.ok:
        if out.json_mode:
            out.document(report.to_dict())
        else:
            against = f"; it contains the recorded head {anchor}" if anchor else ""
            out.say(
                f"[green]The ledger is intact[/] and exports/ matches it: {report.records:,} audit records, "
                f"last hash {report.last_hash}{against}. "
                "Keep the last hash somewhere outside the workspace to check against later (--anchor)."
            )
        return EXIT_OK
    error = BadInput(
        f"the ledger or exports/ was changed outside the toolkit ({len(report.problems)} problem(s))",
        file=ledger.path,
        hint="Restore ledger.sqlite from a backup, or report this to compliance before any further export.",
    )
    if out.json_mode:
        out.document({**report.to_dict(), "error": error.message, "exit_code": error.exit_code})
        return error.exit_code
    for problem in report.problems:
        out.say(f"[red]✗[/] {escape(problem)}")
    raise error


def _govern_list(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.governance import as_dict, read_register
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    register = read_register(workspace.root)
    if out.json_mode:
        out.document({"features": [as_dict(entry) for entry in register.values()]})
        return EXIT_OK
    from rich.table import Table

    table = Table(title=f"Data-use register of {workspace.root}")
    for column in ("feature", "purpose", "source", "approved by", "on"):
        table.add_column(column, overflow="fold")
    for entry in register.values():
        approved = escape(entry.approved_by) if entry.approved else "[bold red]not approved[/]"
        table.add_row(entry.feature, escape(entry.purpose), escape(entry.source), approved, entry.approved_on)
    out.console.print(table)
    return EXIT_OK


def _govern_approve(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.config_history import remember
    from nba_toolkit.core.governance import FILE_NAME as REGISTER_FILE
    from nba_toolkit.core.governance import approve, as_dict
    from nba_toolkit.workspace import Workspace, operator_name

    workspace = Workspace.open(workspace_dir(args))
    known = None if args.known_by_snapshot is None else args.known_by_snapshot == "yes"
    before, after = approve(
        workspace.root, args.feature, by=args.by, source=args.source, purpose=args.purpose, known_by_snapshot=known
    )
    workspace.ledger.record_config_change(
        f"data_use.{args.feature}", as_dict(before), as_dict(after), by=operator_name(), reason=f"approved by {args.by}"
    )
    remember(workspace, REGISTER_FILE)
    if out.json_mode:
        out.document({"feature": args.feature, "before": as_dict(before), "after": as_dict(after)})
    else:
        out.say(
            f"Approved the use of [bold]{args.feature}[/] for: {escape(after.purpose)} "
            f"(by {escape(after.approved_by)}, {after.approved_on}); recorded in the ledger."
        )
    return EXIT_OK


def _model_card(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.governance import model_card

    workspace = workspace_of(args)
    model_id, markdown = model_card(workspace)
    if out.json_mode:
        out.document({"model_id": model_id, "markdown": markdown})
    elif sys.stdout.isatty():
        from rich.markdown import Markdown

        out.console.print(Markdown(markdown))  # a person reads headings and tables, not their Markdown source
    else:
        sys.stdout.write(markdown)  # piped into a file or a wiki, the card stays Markdown
    return EXIT_OK


def _model_list(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.models import model_list

    workspace = workspace_of(args)
    entries = model_list(workspace)
    if out.json_mode:
        out.document({"models": [entry.to_dict() for entry in entries]})
        return EXIT_OK
    if not entries:
        out.say("No model trained yet. Train one with `nba-toolkit train`.")
        return EXIT_OK
    from rich.table import Table

    table = Table(title=f"Models in {workspace.root}, newest first")
    for column in ("model", "engine", "trained (UTC)", "by", "weeks trained", "validated", "AUC", "lift", "state"):
        table.add_column(column, justify="right" if column in ("AUC", "lift") else "left")
    for e in entries:
        state = e.state if not e.active else f"[bold]{e.state}[/]"
        table.add_row(
            e.model_id,
            f"{e.engine} {e.engine_version}",
            f"{e.trained_at[:16].replace('T', ' ')} ({plural(e.age_days, 'day')} ago)",
            escape(e.trained_by),
            " to ".join(e.train_weeks) if e.train_weeks else "unknown",
            " to ".join(e.validation_weeks) if e.validation_weeks else "unknown",
            "n/a" if e.auc_within_week is None else f"{e.auc_within_week:.3f}",
            "n/a" if e.lift_at_capacity is None else f"{e.lift_at_capacity:.2f}",
            state,
        )
    out.console.print(table)
    out.say("AUC: how well the model ranked the customers within each validation week (0.5 is chance); lift: how many")
    out.say("times the base rate the customers it would mail converted. Both out of time, on weeks it never trained on.")
    return EXIT_OK


def _model_compare(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.model_compare import compare_models

    workspace, registry = open_workspace(args, out)
    with out.status("Scoring both models on the same weeks..."):
        comparison = compare_models(workspace, registry, args.first, args.second)
    if out.json_mode:
        out.document(comparison.to_dict())
        return EXIT_OK
    from rich.table import Table

    out.say(
        f"On {comparison.weeks[0]} to {comparison.weeks[1]} ({plural(comparison.week_count, 'week')}, "
        f"{comparison.customer_weeks:,} customer-weeks, {comparison.conversions:,} conversions; lift at a capacity of "
        f"{comparison.capacity:,} a week):"
    )
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1), pad_edge=False)
    for column in ("model", "state", "AUC within week", "95% interval", "lift", "mean score / rate", "weeks seen"):
        table.add_column(column)
    for m in comparison.models:
        table.add_row(
            m.model_id,
            "active" if m.active else "not scoring",
            "n/a" if m.auc_within_week is None else f"{m.auc_within_week:.3f}",
            "n/a" if m.auc_interval is None else f"{m.auc_interval[0]:.3f} to {m.auc_interval[1]:.3f}",
            "n/a" if m.lift_at_capacity is None else f"{m.lift_at_capacity:.2f}",
            "n/a" if m.calibration_ratio is None else f"{m.calibration_ratio:.2f}",
            str(m.weeks_seen_in_training),
        )
    out.console.print(table)
    out.say(escape(comparison.verdict))
    out.say("Weeks seen: comparison weeks the model was fitted on; its figures on those weeks flatter it.")
    return EXIT_OK


def _model_promote(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.models import promote

    entry = promote(workspace_of(args), args.model_id, reason=args.reason)
    if out.json_mode:
        out.document(entry.to_dict())
        return EXIT_OK
    out.say(f"Model [bold]{entry.model_id}[/] now scores ({escape(entry.state)}); the one it replaced stays on record.")
    if entry.state.endswith("awaiting approval"):
        out.say("Weekly runs wait for its approval: `nba-toolkit model approve`.")
    return EXIT_OK


def _evidence(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.evidence import write_evidence
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    pack = write_evidence(workspace, args.run_id, args.out)
    if out.json_mode:
        out.document(pack.to_dict())
    else:
        out.say(f"Wrote the evidence for run {pack.run_id} to {escape(str(pack.folder))}:")
        for name, sha in pack.files.items():
            out.say(f"  {name:<24} {sha}")
    return EXIT_OK


def _replay(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.replay import replay
    from nba_toolkit.plugin.manager import load_plugins
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    registry = load_plugins(workspace.plugin_folders(), disabled=workspace.config.plugins.disabled)
    report = replay(workspace, registry, args.run_id)
    error = (
        None
        if report.identical
        else BadInput(
            f"replaying run {args.run_id} does not give the recorded result",
            hint="The report says which input changed or which customers differ.",
        )
    )
    if out.json_mode:
        extra = {} if error is None else {"error": error.message, "exit_code": error.exit_code}
        out.document({**report.to_dict(), **extra})
        return EXIT_OK if error is None else error.exit_code
    for problem in report.inputs:
        out.say(f"[red]✗[/] {escape(problem)}")
    if report.mail_file:
        out.say(f"[red]✗[/] {escape(report.mail_file)}")
    for note in report.versions:
        out.say(f"[yellow]![/] {escape(note)}")
    if report.selection_identical is not None:
        if report.selection_identical:
            out.say("[green]✓[/] The selection is identical, customer for customer.")
        else:
            verb = "gets" if report.differing_customers == 1 else "get"
            out.say(f"[red]✗[/] {plural(report.differing_customers, 'customer')} {verb} another score or reason, for example:")
            for row in report.differing_sample:
                out.say(f"    {escape(str(row))}")
    if report.export_identical is not None:
        mark = "[green]✓[/] The mail file is identical" if report.export_identical else "[red]✗[/] The mail file differs"
        out.say(f"{mark}: SHA-256 {report.export_sha256} (recorded {report.recorded_export_sha256}).")
    if error is not None:
        raise error
    out.say(f"Run {args.run_id} replays identically.")
    return EXIT_OK


def _print_model_checks(out: Output, checks: list[dict[str, Any]]) -> None:
    """Whoever signs a model off sees every model check first, the failed ones with what to do."""
    out.say(f"Model checks at training ({len(checks)}):")
    for check in checks:
        mark = "[green]ok[/]" if check["status"] == "pass" else f"[yellow]{check['status']}[/]"
        out.say(f"  {mark} {check['check']} ({check['severity']}): {escape(check['message'])}")
        if check["status"] != "pass" and check.get("action"):
            out.say(f"     What to do: {escape(check['action'])}")


def _model_approve(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.governance import approve_model, model_checks
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    active = workspace.ledger.active_model(workspace.config.engine.name)
    checks = model_checks(workspace, active) if active else []
    if not out.json_mode:
        _print_model_checks(out, checks)
    record = approve_model(workspace, note=args.by, acknowledged=dict(args.acknowledge))
    if out.json_mode:
        out.document(
            {
                "model_id": record.model_id,
                "approved_by": record.approved_by,
                "approved_at": record.approved_at,
                "note": record.approval_note,
                "acknowledged": record.approval_acknowledged or {},
                "checks": checks,
            }
        )
    else:
        note = f", note: {escape(record.approval_note)}" if record.approval_note else ""
        out.say(
            f"Approved the model [bold]{record.model_id}[/] for weekly runs (by {escape(record.approved_by or '')}, "
            f"{record.approved_at}{note}); recorded in the ledger."
        )
    return EXIT_OK


def _purge(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.retention import purge
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    report = purge(workspace)
    if out.json_mode:
        out.document(report.to_dict())
    elif report.runs or report.ledger_rows or report.extracts:
        out.say(
            f"Removed the per-customer data of {len(report.runs)} run(s) started before {report.cutoff} "
            f"({report.ledger_rows:,} ledger rows, {len(report.extracts)} raw extract(s)); their counts and hashes stay."
        )
    else:
        out.say(f"Nothing to remove: no run data older than {report.cutoff}.")
    return EXIT_OK
