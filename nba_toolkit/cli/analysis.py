"""``nba-toolkit analysis``: a run's selection with features and flags, for the analyst's own tools (R-X3)."""

from __future__ import annotations

import argparse

from nba_toolkit.cli.app import Commands, Output, escape, open_workspace
from nba_toolkit.errors import EXIT_OK
from nba_toolkit.words import plural


def add_commands(commands: Commands) -> None:
    analysis = commands.add(
        "analysis",
        _analysis,
        "Write a run's analysis file (every customer, reason, score, features, flags) to analysis/; never mailed.",
    )
    analysis.add_argument("run_id", metavar="RUN_ID")
    analysis.add_argument("--exporter", metavar="NAME", help="the analysis exporter plugin (needed if several are installed)")


def _analysis(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.analysis import export_analysis

    workspace, registry = open_workspace(args, out)
    result = export_analysis(workspace, registry, args.run_id, exporter=args.exporter)
    if out.json_mode:
        out.document(result.to_dict())
        return EXIT_OK
    out.say(
        f"Wrote the analysis file of run {result.run_id}: {plural(result.rows, 'customer')}, "
        f"{plural(len(result.columns), 'column')}, "
        f"with '{result.exporter}'."
    )
    out.say(f"  {escape(str(result.path))}\n  SHA-256 {result.sha256}")
    out.say("It carries scores and customer values: keep it for analysis, never hand it to the mail program.")
    return EXIT_OK
