"""``contacts import`` and ``contacts list``: mailings made outside the toolkit, in the contact history.

What is imported and how it is checked is decided in
:mod:`nba_toolkit.jobs.contacts`; this module only parses and prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nba_toolkit.cli.app import Commands, Output, escape, workspace_dir, workspace_of
from nba_toolkit.errors import EXIT_OK
from nba_toolkit.words import plural


def add_commands(commands: Commands) -> None:
    contacts = commands.group(
        "contacts", "Import the mailings made outside the toolkit, so the cooldown and the evaluation see them."
    )
    imported = contacts.add(
        "import", _contacts_import, "Validate a file of contacts made outside the toolkit and add them to the contact history."
    )
    imported.add_argument(
        "file", type=Path, metavar="FILE", help="relation number, contact date, campaign (CSV or Parquet, like a snapshot)"
    )
    imported.add_argument(
        "--campaign",
        metavar="NAME",
        help="the campaign of every row when the file has no campaign column; with one, of the rows left empty",
    )
    contacts.add("list", _contacts_list, "List the contacts files imported, with rows, campaigns, who and when.", writes=False)


def _contacts_import(args: argparse.Namespace, out: Output) -> int:
    from nba_toolkit.jobs.contacts import import_contacts
    from nba_toolkit.workspace import Workspace

    result = import_contacts(Workspace.open(workspace_dir(args)), args.file, campaign=args.campaign)
    if out.json_mode:
        out.document(result.to_dict())
        return EXIT_OK
    if not result.imported:
        earlier = result.record
        out.say(
            f"{escape(result.file)} was already imported on {earlier['imported_at'][:10]} by {escape(earlier['imported_by'])} "
            f"(contacts import #{earlier['id']}, the same SHA-256); nothing was changed."
        )
        return EXIT_OK
    campaigns = ", ".join(result.campaigns)
    out.say(
        f"Imported {escape(result.file)}: {plural(result.contacts_in_file, 'contact')} from {result.first_contact} to "
        f"{result.last_contact} ({escape(campaigns)}): {result.added:,} new, {result.known:,} already in the contact history."
    )
    out.say("The cooldown of the next run counts them; `nba-toolkit contacts list` shows every import.")
    if result.dropped_columns:
        out.say(f"Sensitive columns dropped at load: {', '.join(result.dropped_columns)}")
    return EXIT_OK


def _contacts_list(args: argparse.Namespace, out: Output) -> int:
    from rich.table import Table

    from nba_toolkit.jobs.contacts import contact_imports

    imports = contact_imports(workspace_of(args))
    if out.json_mode:
        out.document({"imports": imports})
        return EXIT_OK
    if not imports:
        out.say("No contacts were imported yet: `nba-toolkit contacts import FILE` adds a mailing made outside the toolkit.")
        return EXIT_OK
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1), pad_edge=False)
    for heading in ("#", "Imported (UTC)", "By", "File", "Rows", "New", "Known", "Campaigns", "SHA-256"):
        table.add_column(heading)
    for row in imports:
        table.add_row(
            str(row["id"]),
            row["imported_at"][:16].replace("T", " "),
            escape(row["imported_by"]),
            escape(row["file"]),
            f"{row['rows_in_file']:,}",
            f"{row['added']:,}",
            f"{row['known']:,}",
            escape(", ".join(row["campaigns"])),
            row["sha256"][:12],
        )
    out.console.print(table)
    return EXIT_OK
