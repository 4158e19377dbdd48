"""``review``, ``customer`` and ``flag``: the review screen's look at a run, from the command line.

The same functions the Review screen uses (``core/review.py``) decide what
is shown and what is recorded; this module only lays it out as text or JSON,
so an operator at a plain terminal (or a script) sees exactly what the
screen would show, and a flag made here is the same ledger record.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from nba_toolkit.cli.app import Commands, Output, escape, open_workspace, status_text, user
from nba_toolkit.core.views import VIEWS
from nba_toolkit.errors import EXIT_OK, BadInput

if TYPE_CHECKING:
    from rich.console import JustifyMethod

    from nba_toolkit.core.review import Decision, Explanation, Page, ReviewSummary, RunReview
    from nba_toolkit.workspace import Workspace

#: customers listed by ``review`` unless --top says otherwise
TOP = 20


def add_commands(commands: Commands) -> None:
    review = commands.add(
        "review",
        _review,
        "Show a run for review: customers by reason, the mail file's groups, and the top of the list.",
        writes=False,
    )
    review.add_argument("run_id", metavar="RUN_ID")
    review.add_argument("--top", type=int, default=TOP, metavar="N", help=f"how many customers to list (default {TOP})")
    review.add_argument(
        "--view",
        default="all",
        choices=list(VIEWS),
        help="which customers to list, as the Review screen's views (default: all)",
    )

    customer = commands.add(
        "customer",
        _customer,
        "Show one customer of a run: their values, what moves their score, why (not) selected.",
        writes=False,
    )
    customer.add_argument("run_id", metavar="RUN_ID")
    customer.add_argument("customer", metavar="CUSTOMER", help="the relation number")

    flag = commands.add("flag", _flag, "Flag a customer of a run as suspicious (recorded); they stay in the selection.")
    flag.add_argument("run_id", metavar="RUN_ID")
    flag.add_argument("customer", metavar="CUSTOMER", help="the relation number")
    flag.add_argument("--reason", required=True, metavar="TEXT", help="why, for the next person who reads it")


# ------------------------------------------------------------------- review


def _review(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.review import RunReview, open_warnings

    workspace, registry = open_workspace(args, out)
    review = RunReview.open(workspace, registry, args.run_id)
    summary = review.summary(workspace)
    page = review.page(0, view=args.view, limit=max(args.top, 0))
    acknowledged = workspace.ledger.acknowledgements(review.run.run_id)
    pending = [w.check for w in open_warnings(workspace.ledger, review.run.run_id)]
    record_look(workspace, review.run.run_id, pages=[(args.view, 1)] if page.rows else [])
    if out.json_mode:
        out.document(_review_document(review, summary, page, acknowledged, pending))
        return EXIT_OK
    _print_summary(out, review, summary, acknowledged, pending)
    _print_page(out, page)
    return EXIT_OK


def _review_document(
    review: RunReview, summary: ReviewSummary, page: Page, acknowledged: dict[str, tuple[str, str]], pending: list[str]
) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "week": summary.week,
        "status": summary.status,
        "editable": summary.editable,
        "rows_in": summary.rows_in,
        "counts": {reason: n for reason, _, n in summary.counts},
        "mailed": summary.mailed,
        "operator_excluded": summary.operator_excluded,
        "flagged": summary.flagged,
        "expected_conversions": summary.expected_conversions,
        "threshold": summary.threshold,
        "capacity": summary.capacity,
        "degraded": review.run.degraded,
        "acknowledged_warnings": {check: {"by": by, "at": at} for check, (by, at) in acknowledged.items()},
        "unacknowledged_warnings": pending,
        "view": page.view,
        "total_in_view": page.total,
        "customers": page.rows,
    }


def _print_summary(
    out: Output, review: RunReview, summary: ReviewSummary, acknowledged: dict[str, tuple[str, str]], pending: list[str]
) -> None:
    from rich.table import Table

    out.say(f"[bold]Run {summary.run_id}[/] · {summary.week} · {status_text(summary.status)}")
    if not summary.editable:
        out.say("Read only: only a run awaiting approval can change.")
    _print_degraded(out, review.run.degraded)
    for check, (by, at) in acknowledged.items():
        out.say(f"Warning of {check} acknowledged by {escape(by)} at {at}")
    if pending:
        out.say(
            f"[yellow]Warnings to acknowledge before export:[/] {', '.join(pending)} "
            f"(`nba-toolkit acknowledge {summary.run_id} CHECK --note TEXT`)"
        )
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1), pad_edge=False)
    table.add_column("Customers by reason")
    table.add_column("", justify="right")
    for _, text, n in summary.counts:
        table.add_row(text, f"{n:,}")
    table.add_row("[bold]In the snapshot[/]", f"[bold]{summary.rows_in:,}[/]")
    table.add_row("[bold]In the mail file[/]", f"[bold]{sum(summary.mailed.values()):,}[/]")
    for group, n in summary.mailed.items():
        table.add_row(f"  {group.replace('_', ' ')}", f"{n:,}")
    out.console.print(table)
    if summary.operator_excluded or summary.flagged:
        out.say(f"Excluded by the operator: {summary.operator_excluded:,}; flagged: {summary.flagged:,}")
    if summary.kind != "fallback":
        out.say(f"Expected conversions among the mailed (sum of their scores): {summary.expected_conversions:,.1f}")
    out.say(summary.how_chosen())


def _print_degraded(out: Output, degraded: dict[str, dict[str, Any]]) -> None:
    if not degraded:
        return
    from nba_toolkit.core.degraded import describe

    out.say("[bold yellow]Degraded run[/]: scored with stand-ins for missing optional inputs:")
    for line in describe(degraded):
        out.say(f"  [yellow]! {escape(line)}[/]")


def _print_page(out: Output, page: Page) -> None:
    from rich.table import Table

    from nba_toolkit.core.selection import REASON_TEXT

    out.say("")
    if not page.rows:
        out.say(f"Nobody in this view ({VIEWS[page.view]}).")
        return
    out.say(f"The top {len(page.rows):,} of {page.total:,}, highest score first ({VIEWS[page.view]}):")
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1), pad_edge=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("Relation no", "left"),
        ("Score", "right"),
        ("Reason", "left"),
        ("Mark", "left"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in page.rows:
        score = "—" if row["score"] is None else f"{row['score']:.2%}"
        table.add_row(escape(row["customer_id"]), score, REASON_TEXT.get(row["reason"], row["reason"]), row["override"])
    out.console.print(table)


# ----------------------------------------------------------------- customer


def _customer(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.review import RunReview, standing_exclusion

    workspace, registry = open_workspace(args, out)
    review = RunReview.open(workspace, registry, args.run_id)
    decision = known_customer(review, args.customer)
    explanation = review.explain(decision.customer_id)
    standing = standing_exclusion(workspace.ledger, decision.customer_id, date.today())
    record_look(workspace, review.run.run_id, customers=[decision.customer_id])
    if out.json_mode:
        out.document(_customer_document(review, decision, explanation, standing))
        return EXIT_OK
    _print_customer(out, review, decision, explanation, standing)
    return EXIT_OK


def record_look(
    workspace: Workspace, run_id: str, *, customers: Sequence[str] = (), pages: Sequence[tuple[str, int]] = ()
) -> None:
    """A look from the command line counts as a review of the run, recorded like the screen's (not when read-only)."""
    from nba_toolkit.core.recorded_review import COMMAND_LINE, save, start
    from nba_toolkit.workspace import operator_name

    session = start(run_id, by=operator_name(), face=COMMAND_LINE)
    for customer in customers:
        session.opened(customer)
    for view, number in pages:
        session.page_seen(view, number)
    save(workspace.ledger, session)


def known_customer(review: RunReview, customer_id: str) -> Decision:
    """The run's decision on this customer; a relation number the run never saw is bad input (exit 4)."""
    decision = review.decision(customer_id)
    if not decision.found:
        raise BadInput(
            decision.why,
            hint="Check the number against the bank's systems; `nba-toolkit review RUN_ID` lists the run's customers.",
        )
    return decision


def _customer_document(
    review: RunReview, decision: Decision, explanation: Explanation, standing: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "run_id": review.run.run_id,
        "customer_id": decision.customer_id,
        "reason": decision.reason,
        "reason_text": decision.reason_text,
        "score": decision.score,
        "rank": decision.rank,
        "group": decision.group,
        "mailed": decision.mailed,
        "why": decision.why,
        "values": dict(explanation.values),
        "contributions": dict(explanation.contributions),
        "recomputed_score": explanation.recomputed_score,
        "problem": explanation.problem,
        "overrides": decision.overrides,
        "standing_exclusion": standing,
        "degraded": review.run.degraded,
    }


def _print_customer(
    out: Output, review: RunReview, decision: Decision, explanation: Explanation, standing: dict[str, Any] | None
) -> None:
    from nba_toolkit.core.selection import RANDOM_CONTROL, SELECTED

    held_back = decision.reason in (SELECTED, RANDOM_CONTROL) and not decision.mailed
    mailed = "mailed" if decision.mailed else ("not mailed: excluded by the operator" if held_back else "not mailed")
    group = f", group {decision.group.replace('_', ' ')}" if decision.group else ""
    out.say(f"[bold]Relation number {escape(decision.customer_id)}[/] · run {review.run.run_id} · {review.run.week}")
    out.say(f"[bold]{escape(decision.reason_text)}[/] ({mailed}{group})")
    out.say(escape(decision.why))
    if standing:
        until = f" until {standing['until']}" if standing["until"] else " for good"
        out.say(
            f"[yellow]Kept out of every run{until}[/] by {escape(standing['made_by'])} on {standing['made_at'][:10]}: "
            f"{escape(standing['reason'])}"
        )
    _print_degraded(out, review.run.degraded)
    if explanation.values:
        out.say("")
        out.say("[bold]The customer's values[/]")
        _print_pairs(out, explanation.values)
    if explanation.contributions:
        out.say("")
        out.say("[bold]What moves the score[/] (against the average customer: + raises it, - lowers it)")
        _print_pairs(out, [(label, f"{value:+.2f}") for label, value in explanation.contributions])
        _print_recomputed(out, decision, explanation)
    if explanation.problem:
        out.say(f"[yellow]{escape(explanation.problem)}[/]")


def _print_pairs(out: Output, pairs: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        out.say(f"  {escape(label.ljust(width))}  {escape(value)}")


def _print_recomputed(out: Output, decision: Decision, explanation: Explanation) -> None:
    if explanation.recomputed_score is None or decision.score is None:
        return
    if abs(explanation.recomputed_score - decision.score) < 1e-9:
        out.say(f"Recomputed from the run's snapshot and model: {explanation.recomputed_score:.2%} (the same as the run)")
    else:
        out.say(
            f"[bold red]Recomputed from the run's snapshot and model: {explanation.recomputed_score:.2%}, "
            f"but the run recorded {decision.score:.2%}: they differ![/]"
        )


# --------------------------------------------------------------------- flag


def _flag(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.core.review import RunReview, override

    workspace, registry = open_workspace(args, out)
    review = RunReview.open(workspace, registry, args.run_id)
    known_customer(review, args.customer)
    decision = override(workspace, review, args.customer, action="flag", reason=args.reason, by=user())
    if out.json_mode:
        out.document({"run_id": args.run_id, "customer_id": decision.customer_id, "mailed": decision.mailed, "why": decision.why})
    else:
        out.say(
            f"Flagged customer {escape(decision.customer_id)} in run {args.run_id}: {escape(args.reason)} "
            "(recorded; they stay in the selection)."
        )
    return EXIT_OK
