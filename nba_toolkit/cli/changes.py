"""``changes``: what changed between two runs, laid out as text or JSON.

What is compared is decided in :mod:`nba_toolkit.jobs.changes`; this module
only prints it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nba_toolkit.cli.app import Commands, Output, escape, open_workspace
from nba_toolkit.errors import EXIT_OK
from nba_toolkit.words import plural

if TYPE_CHECKING:
    from nba_toolkit.jobs.changes import FeatureShift, RunChanges


def add_commands(commands: Commands) -> None:
    changes = commands.add(
        "changes",
        _changes,
        "Show what changed since last week: who entered or left the mail file and why, settings, engine and model, "
        "snapshot size, and how each feature moved.",
        writes=False,
    )
    changes.add_argument("run_id", metavar="RUN_ID", nargs="?", help="the run to look at (default: the newest accepted run)")
    changes.add_argument("--against", metavar="RUN_ID", help="the run to compare with (default: the week before)")
    changes.add_argument("--list", action="store_true", help="also list the relation numbers that entered and left")


def _changes(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.changes import what_changed

    workspace, registry = open_workspace(args, out)
    changes = what_changed(workspace, registry, args.run_id, against=args.against, listed=args.list)
    if out.json_mode:
        out.document(changes.to_dict())
        return EXIT_OK
    _print_changes(out, changes)
    return EXIT_OK


def _print_changes(out: Output, changes: RunChanges) -> None:
    from nba_toolkit.core.selection import REASON_TEXT

    texts = {
        **REASON_TEXT,
        "not_in_snapshot": "not in the snapshot",
        "excluded_by_operator": "excluded by the operator at review",
    }
    (rows_before, rows_after), (mail_before, mail_after) = changes.rows_in, changes.in_mail_file
    out.say(f"[bold]Run {changes.run_id}[/] ({changes.week}) against run {changes.against} ({changes.against_week})")
    out.say(f"Snapshot: {rows_before:,} → {plural(rows_after, 'customer')} ({rows_after - rows_before:+,})")
    out.say(f"Mail file: {mail_before:,} → {mail_after:,}; {changes.entered:,} entered, {changes.left:,} left")
    for heading, counts in (("Left, now:", changes.left_because), ("Entered, last time:", changes.entered_from)):
        if counts:
            out.say(heading)
            for reason, n in counts.items():
                out.say(f"  {n:>7,}  {escape(texts.get(reason, reason))}")
    if changes.settings:
        out.say("Changed settings:")
        for s in changes.settings:
            out.say(f"  {escape(s.name)}: {escape(str(s.before))} → {escape(str(s.after))}")
    else:
        out.say("Settings, engine and model: unchanged.")
    _print_features(out, changes)
    for heading, ids in (("Entered:", changes.entered_ids), ("Left:", changes.left_ids)):
        if ids:
            out.say(f"{heading} {', '.join(ids)}")


def _print_features(out: Output, changes: RunChanges) -> None:
    if changes.features_problem:
        out.say(f"[yellow]Features not compared:[/] {escape(changes.features_problem)}")
        return
    out.say("Features (last time → now):")
    for shift in changes.features:
        out.say(f"  {escape(shift.feature)}: {_shift_text(shift)}")


def _shift_text(shift: FeatureShift) -> str:
    if shift.kind == "number":
        return (
            f"mean {_number(shift.before['mean'])} → {_number(shift.after['mean'])}, "
            f"median {_number(shift.before['median'])} → {_number(shift.after['median'])}"
        )
    return "; ".join(f"{escape(value)} {shift.before[value]:.1%} → {shift.after[value]:.1%}" for value in shift.after)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"
