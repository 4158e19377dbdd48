"""Governance commands: ``audit verify``."""

from __future__ import annotations

import argparse

from nba_toolkit.cli.app import Commands, Output, escape, workspace_dir
from nba_toolkit.errors import EXIT_OK, BadInput


def add_commands(commands: Commands) -> None:
    audit = commands.group("audit", "Check that the ledger was not changed outside the toolkit.")
    audit.add("verify", _verify, "Recompute the ledger's hash chain and compare every record with it.")


def _verify(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.workspace import Workspace

    workspace = Workspace.open(workspace_dir(args))
    report = workspace.ledger.verify()
    if report.ok:
        if out.json_mode:
            out.document(report.to_dict())
        else:
            out.say(f"[green]The ledger is intact[/]: {report.records:,} audit records, last hash {report.last_hash}")
        return EXIT_OK
    error = BadInput(
        f"the ledger was changed outside the toolkit ({len(report.problems)} problem(s))",
        file=workspace.ledger.path,
        hint="Restore ledger.sqlite from a backup, or report this to compliance before any further export.",
    )
    if out.json_mode:
        out.document({**report.to_dict(), "error": error.message, "exit_code": error.exit_code})
        return error.exit_code
    for problem in report.problems:
        out.say(f"[red]✗[/] {escape(problem)}")
    raise error
