"""Import contacts made outside the toolkit into the contact history, and list the imports.

The file is loaded and validated like any input (:mod:`nba_toolkit.core.contacts`
says what only contacts need); the ledger stores its contacts, the record of
the import and their audit records in one transaction, so a bad row or a
crash leaves nothing half imported. From then on the cooldown of every later
run counts them like the toolkit's own mailings; a replay of an earlier run
still reads the history as that run did (its recorded high-water mark).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from nba_toolkit.core.contacts import CAMPAIGN_SCHEMA, CONTACT_SCHEMA, OUTSIDE_GROUP, validated_contacts
from nba_toolkit.core.scalars import day_or_none
from nba_toolkit.core.snapshot import load_snapshot
from nba_toolkit.errors import UsageError
from nba_toolkit.jobs.evaluate import file_names
from nba_toolkit.workspace import Workspace, operator_name


@dataclass(frozen=True)
class ContactsImport:
    """What one ``contacts import`` did; ``imported`` is False when the file was imported before."""

    imported: bool
    file: str
    sha256: str
    rows_in_file: int
    contacts_in_file: int
    added: int
    known: int
    campaigns: list[str]
    first_contact: date | None
    last_contact: date | None
    dropped_columns: tuple[str, ...]
    #: the import that is recorded for this file: this one, or the earlier one
    record: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "dropped_columns": list(self.dropped_columns)}


def import_contacts(
    workspace: Workspace, path: Path, *, campaign: str | None = None, today: date | None = None
) -> ContactsImport:
    """Validate a file of outside contacts like any input and add them to the contact history (idempotent).

    ``today`` (the computer's date unless given) is the last day a contact may have.
    """
    if campaign is not None and not campaign.strip():
        raise UsageError("--campaign needs a name")
    config = workspace.config
    path = Path(path)
    loaded = load_snapshot(
        path, mapping=config.columns, denylist=config.denylist, schema=CONTACT_SCHEMA, optional=CAMPAIGN_SCHEMA
    )
    names = file_names(loaded, config.columns, [*CONTACT_SCHEMA, *CAMPAIGN_SCHEMA])
    frame = validated_contacts(
        loaded.frame, file=str(path), names=names, today=today or date.today(), campaign=campaign.strip() if campaign else None
    )
    record, imported = workspace.ledger.import_contact_file(
        frame.select(
            "customer_id", *(pl.col(c).cast(pl.String) for c in ("contact_date", "week", "week_start")), "campaign"
        ).iter_rows(),
        group=OUTSIDE_GROUP,
        file=path.name,
        sha256=loaded.sha256,
        rows_in_file=loaded.rows,
        by=operator_name(),
    )
    return ContactsImport(
        imported=imported,
        file=str(path),
        sha256=loaded.sha256,
        rows_in_file=loaded.rows,
        contacts_in_file=frame.height,
        added=record["added"] if imported else 0,
        known=record["known"] if imported else frame.height,
        campaigns=sorted(frame["campaign"].unique().to_list()),
        first_contact=day_or_none(frame["contact_date"].min()),
        last_contact=day_or_none(frame["contact_date"].max()),
        dropped_columns=loaded.dropped_columns,
        record=record,
    )


def contact_imports(workspace: Workspace) -> list[dict[str, Any]]:
    """Every contacts file imported, newest first."""
    return workspace.ledger.contact_imports()
