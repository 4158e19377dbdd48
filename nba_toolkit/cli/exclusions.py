"""``exclude``, ``suppress``, ``lift`` and ``suppressions``: the operator's exclusions from the command line.

An exclusion made during review is for one run, or standing: a customer who
asked for no mail must not be the top of next week's list just because this
week's exclusion kept them out of the cooldown.
"""

from __future__ import annotations

import argparse
from datetime import date

from nba_toolkit.cli.app import Commands, Output, escape, open_workspace, user, workspace_dir, workspace_of
from nba_toolkit.errors import EXIT_OK, UsageError


def add_commands(commands: Commands) -> None:
    exclude = commands.add(
        "exclude", _exclude, "Keep a customer out of a run's mail file (recorded); --standing keeps them out of later runs too."
    )
    exclude.add_argument("run_id", metavar="RUN_ID")
    exclude.add_argument("customer", metavar="CUSTOMER", help="the relation number")
    exclude.add_argument("--reason", required=True, metavar="TEXT", help="why, for the next person who reads it")
    exclude.add_argument("--standing", action="store_true", help="also keep the customer out of every later run")
    exclude.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="with --standing: the last day")

    suppress = commands.add("suppress", _suppress, "Keep a customer out of every run from now on (a standing exclusion).")
    suppress.add_argument("customer", metavar="CUSTOMER", help="the relation number")
    suppress.add_argument("--reason", required=True, metavar="TEXT", help="why, for the next person who reads it")
    suppress.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="the last day it holds")

    lift = commands.add("lift", _lift, "End a customer's standing exclusion (recorded; the exclusion stays on record).")
    lift.add_argument("customer", metavar="CUSTOMER", help="the relation number")
    lift.add_argument("--reason", required=True, metavar="TEXT", help="why the customer may be mailed again")

    commands.add("suppressions", _suppressions, "List the standing exclusions in force, with reason, who and when.", writes=False)


def _exclude(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.review import RunReview, override

    if args.until and not args.standing:
        raise UsageError("--until goes with --standing: an exclusion for one run ends with the run")
    workspace, registry = open_workspace(args, out)
    review = RunReview.open(workspace, registry, args.run_id)
    decision = override(
        workspace,
        review,
        args.customer,
        action="exclude",
        reason=args.reason,
        by=user(),
        standing=args.standing,
        until=args.until,
    )
    lasting = (f"until {args.until}" if args.until else "for good") if args.standing else "for this run only"
    if out.json_mode:
        out.document({"run_id": args.run_id, "customer_id": decision.customer_id, "standing": args.standing, "why": decision.why})
    else:
        out.say(f"Excluded customer {escape(decision.customer_id)} from run {args.run_id} ({lasting}): {escape(args.reason)}")
    return EXIT_OK


def _suppress(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.ids import relation_number
    from nba_toolkit.workspace import Workspace

    customer = relation_number(args.customer)
    Workspace.open(workspace_dir(args)).ledger.suppress(customer, reason=args.reason, by=user(), until=args.until)
    if out.json_mode:
        out.document({"customer_id": customer, "until": args.until.isoformat() if args.until else None})
    else:
        out.say(f"Customer {escape(customer)} is kept out of every run {f'until {args.until}' if args.until else 'for good'}.")
    return EXIT_OK


def _lift(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.ids import relation_number
    from nba_toolkit.workspace import Workspace

    customer = relation_number(args.customer)
    Workspace.open(workspace_dir(args)).ledger.lift_suppression(customer, reason=args.reason, by=user())
    if out.json_mode:
        out.document({"customer_id": customer, "lifted": True})
    else:
        out.say(f"The standing exclusion of customer {escape(customer)} was lifted; later runs may select them again.")
    return EXIT_OK


def _suppressions(args: argparse.Namespace, out: Output) -> int:

    ledger = workspace_of(args).ledger
    in_force = dict(ledger.suppressed_on(date.today(), upto=None))
    latest = {e["customer_id"]: e for e in ledger.suppression_events() if e["action"] == "suppress"}
    rows = [
        {k: latest[c][k] for k in ("customer_id", "reason", "until", "made_by", "made_at", "run_id")} for c in sorted(in_force)
    ]
    if out.json_mode:
        out.document({"suppressions": rows})
        return EXIT_OK
    if not rows:
        out.say("No standing exclusions are in force.")
    for row in rows:
        until = f" until {row['until']}" if row["until"] else ""
        out.say(f"{row['customer_id']}{until}: {escape(row['reason'])} ({row['made_by']}, {row['made_at']})")
    return EXIT_OK
