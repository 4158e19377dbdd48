"""``checks``, ``acknowledge`` and ``status``: what the checks found, accepting warnings, and where the week stands."""

from __future__ import annotations

import argparse
from typing import Any

from nba_toolkit.cli.app import Commands, Output, escape, open_workspace, status_text, user, workspace_dir, workspace_of
from nba_toolkit.errors import EXIT_OK
from nba_toolkit.words import plural

_MARK = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "error": "[bold red]✗[/]", "skipped": "[yellow]-[/]"}


def add_commands(commands: Commands) -> None:
    checks = commands.add(
        "checks", _checks, "List a run's check results: what was measured, against what, what to do.", writes=False
    )
    checks.add_argument("run_id", metavar="RUN_ID")

    acknowledge = commands.add(
        "acknowledge", _acknowledge, "Acknowledge a run's warning, so the run can be exported (recorded with who and when)."
    )
    acknowledge.add_argument("run_id", metavar="RUN_ID")
    acknowledge.add_argument("check", metavar="CHECK", help="the name of the check that warned")
    acknowledge.add_argument("--note", metavar="TEXT", help="why the warning is acceptable this week")

    status = commands.add(
        "status", _status, "Say where the weekly job stands: this week, missed weeks, open warnings.", writes=False
    )
    status.add_argument("--week", metavar="YYYY-Www", help="take this week as the current one (default: today's)")


def _checks(args: argparse.Namespace, out: Output) -> int:

    ledger = workspace_of(args).ledger
    run = ledger.run(args.run_id)
    acknowledged = ledger.acknowledgements(run.run_id)
    results = [_result_dict(c, acknowledged.get(c.check_name)) for c in ledger.check_results(run.run_id)]
    pending = [r["check"] for r in results if r["needs_acknowledgement"] and not r["acknowledged_by"]]
    if out.json_mode:
        out.document({"run_id": run.run_id, "week": run.week, "status": run.status, "checks": results, "unacknowledged": pending})
        return EXIT_OK
    out.say(f"[bold]Run {run.run_id}[/] · {run.week} · {status_text(run.status)}")
    if not results:
        out.say("No check results were recorded (the run stopped before its checks, or is still running).")
    for r in results:
        out.say(f"{_MARK.get(r['status'], '?')} [bold]{r['check']}[/] ({r['stage']}, {r['severity']}, {r['status']})")
        out.say(f"    {escape(r['message'])}")
        if r["measured"] is not None or r["threshold"] is not None:
            out.say(f"    {escape(measured_text(r['measured'], r['threshold']))}")
        if r["affected_count"]:
            sample = ", ".join(r["affected_sample"][:10])
            out.say(f"    Affected: {plural(r['affected_count'], 'row')}, for example {escape(sample)}")
        if r["action"] and r["status"] != "pass":
            out.say(f"    What to do: {escape(r['action'])}")
        if r["acknowledged_by"]:
            out.say(f"    Acknowledged by {escape(r['acknowledged_by'])} at {r['acknowledged_at']}")
    if pending:
        out.say(
            f"[yellow]Warnings to acknowledge before export:[/] {', '.join(pending)} "
            f"(`nba-toolkit acknowledge {run.run_id} CHECK --note TEXT`)"
        )
    return EXIT_OK


def _result_dict(c: Any, acknowledgement: tuple[str, str] | None) -> dict[str, Any]:
    from nba_toolkit.core.acknowledgements import is_warning

    return {
        **c.to_dict(),
        "needs_acknowledgement": is_warning(c),
        "acknowledged_by": acknowledgement[0] if acknowledgement and is_warning(c) else None,
        "acknowledged_at": acknowledgement[1] if acknowledgement and is_warning(c) else None,
    }


def _acknowledge(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.acknowledgements import acknowledge, pending_warnings
    from nba_toolkit.workspace import Workspace

    ledger = Workspace.open(workspace_dir(args)).ledger
    who = user()
    acknowledge(ledger, args.run_id, args.check, by=who, note=args.note)
    pending = list(dict.fromkeys(c.check_name for c in pending_warnings(ledger, args.run_id)))
    if out.json_mode:
        out.document(
            {"run_id": args.run_id, "check": args.check, "acknowledged_by": who, "note": args.note, "unacknowledged": pending}
        )
        return EXIT_OK
    out.say(f"Acknowledged the warning of {args.check} on run {args.run_id} as {escape(who)}.")
    if pending:
        out.say(f"Still to acknowledge before export: {', '.join(pending)}.")
    else:
        out.say(f"No warnings left; `nba-toolkit export {args.run_id}` approves and writes the mail file.")
    return EXIT_OK


def _status(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.notify import undelivered_alerts
    from nba_toolkit.core.review import home_status
    from nba_toolkit.core.weeks import parse_week

    workspace, registry = open_workspace(args, out)
    today = parse_week(args.week) if args.week else None
    status = home_status(workspace, registry, today=today, operator=user())
    undelivered = [p.name for p in undelivered_alerts(workspace.root)]
    if out.json_mode:
        week = status.this_week
        out.document(
            {
                "week": week.week,
                "status": week.status,
                "run_id": week.run_id,
                "text": week.text,
                "weekly_run_enabled": status.engine_enabled,
                "missed_weeks": status.missed_weeks,
                "awaiting_approval": status.pending_runs,
                "unacknowledged_warnings": [
                    {"run_id": w.run_id, "check": w.check, "message": w.message} for w in status.open_warnings
                ],
                "model": None
                if status.model is None
                else {
                    "model_id": status.model.model_id,
                    "trained_at": status.model.trained_at,
                    "age_days": status.model.age_days,
                    "retrain_due": status.model.retrain_due,
                },
                "plugin_errors": [{"plugin": p, "source": s, "error": e} for p, s, e in status.plugin_errors],
                "undelivered_alerts": undelivered,
            }
        )
        return EXIT_OK
    week = status.this_week
    out.say(f"[bold]This week, {week.week}[/]: {status_text(week.status)} · {escape(week.text)}")
    if not status.engine_enabled:
        out.say("[yellow]The weekly run is switched off[/] ([engine] enabled = false in nba.toml).")
    if status.model is None:
        out.say("[bold red]No model trained yet[/]: run `nba-toolkit train`.")
    else:
        style = "yellow" if status.model.retrain_due else "default"
        out.say(f"Model {status.model.model_id}: [{style}]{escape(status.model.age_text())}[/]")
    if status.missed_weeks:
        out.say(f"[bold red]Missed weeks[/] (nothing exported): {', '.join(status.missed_weeks)}")
    else:
        out.say("No missed weeks.")
    for run_id in status.pending_runs:
        out.say(f"Awaiting approval: run {status.run_name(run_id)}")
    for w in status.open_warnings:
        out.say(f"[yellow]Warning to acknowledge[/] on run {w.run_id}, {w.check}: {escape(w.message)}")
    for name, source, error in status.plugin_errors:
        out.say(f"[red]Plugin error[/] {name} ({escape(source)}): {escape(error)}")
    for name in undelivered:
        out.say(f"[red]An alert could not be sent everywhere[/]: outbox/{name}")
    return EXIT_OK


def measured_text(measured: object, threshold: object) -> str:
    """What a check measured against its threshold; a check that measured nothing says so, never "None"."""
    shown = "Nothing measured" if measured is None else f"Measured: {measured}"
    return shown if threshold is None else f"{shown} · threshold: {threshold}"
