"""``customer-history``: one customer's story across weeks, laid out as text or JSON.

What is shown is decided in :mod:`nba_toolkit.jobs.story`; this module only
prints it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nba_toolkit.cli.app import Commands, Output, escape, status_text, workspace_of
from nba_toolkit.errors import EXIT_OK

if TYPE_CHECKING:
    from nba_toolkit.jobs.story import CustomerStory, RunEntry


def add_commands(commands: Commands) -> None:
    story = commands.add(
        "customer-history",
        _customer_history,
        "Show one customer across weeks: every run that scored them, score, rank, reason, mail file, exclusions, outcome.",
        writes=False,
    )
    story.add_argument("customer", metavar="CUSTOMER", help="the relation number")


def _customer_history(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.story import customer_story

    story = customer_story(workspace_of(args), args.customer)
    if out.json_mode:
        out.document(story.to_dict())
        return EXIT_OK
    _print_story(out, story)
    return EXIT_OK


def _print_story(out: Output, story: CustomerStory) -> None:
    from rich.table import Table

    out.say(f"[bold]Customer {escape(story.customer_id)}[/] across {len(story.runs)} run(s)")
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1), pad_edge=False)
    for heading in ("Week", "Run", "Kind", "Status", "Score", "Rank", "Decision", "In mail file"):
        table.add_column(heading)
    for entry in story.runs:
        table.add_row(
            entry.week,
            entry.run_id,
            entry.kind,
            status_text(entry.status),
            "—" if entry.score is None else f"{entry.score:.2%}",
            "—" if entry.rank is None else f"{entry.rank:,}",
            _decision(entry),
            _mail_file(entry),
        )
    out.console.print(table)
    for entry in story.runs:
        for o in entry.overrides:
            verb = "excluded from the mail file" if o["action"] == "exclude" else "flagged"
            out.say(f"Run {entry.run_id}: {verb} by {escape(o['made_by'])} on {o['made_at'][:10]}: {escape(o['reason'])}")
    for event in story.standing_exclusions:
        verb = "Standing exclusion" if event["action"] == "suppress" else "Standing exclusion lifted"
        until = f" until {event['until']}" if event["until"] else ""
        out.say(f"{verb}{until} by {escape(event['made_by'])} on {event['made_at'][:10]}: {escape(event['reason'])}")
    outside = [m for m in story.mailings if m.run_id is None]
    earlier = [m for m in outside if m.campaign is None]
    if earlier:
        weeks = ", ".join(m.week for m in earlier)
        sources = ", ".join(sorted({m.source for m in earlier}))
        out.say(f"Mailed outside the toolkit ({escape(sources)}): {weeks}")
    for mailing in outside:
        if mailing.campaign is not None:
            out.say(
                f"Mailed outside the toolkit on {mailing.contact_date} ({mailing.week}) by campaign "
                f"{escape(mailing.campaign)} (imported: {escape(mailing.source)})"
            )
    _print_outcomes(out, story)


def _decision(entry: RunEntry) -> str:
    if entry.purged:
        return "customer data purged (retention)"
    actions = {o["action"] for o in entry.overrides}
    marks = ["excluded by the operator"] * ("exclude" in actions) + ["flagged"] * ("flag" in actions)
    return escape(" · ".join([entry.reason_text, *marks]))


def _mail_file(entry: RunEntry) -> str:
    if entry.in_mail_file:
        return "yes"
    return "no" if entry.status == "exported" else "not exported"


def _print_outcomes(out: Output, story: CustomerStory) -> None:
    if story.outcomes_source is None:
        out.say("No outcomes yet: import them with `nba-toolkit outcomes import FILE`.")
        return
    if not story.outcomes:
        out.say(f"No investment account opened, as far as the outcomes tell ({escape(story.outcomes_source)}).")
        return
    for outcome in story.outcomes:
        after = (
            f"within {story.label_window_weeks} weeks of the mailing of {outcome.after_mailing_week}"
            if outcome.after_mailing_week
            else "not within the label window of a mailing"
        )
        out.say(f"Opened an investment account on {outcome.opened_date} ({outcome.invested_amount:,.2f} invested), {after}.")
