"""Contacts made outside the toolkit: who was mailed, on which day, by which campaign.

Another team's mailing reaches the same customers as the weekly one. Unless
the contact history knows of it, the cooldown lets the weekly run mail them
again the week after. The file of such contacts comes from the warehouse like
a snapshot and goes through the same loader (column mapping, denylist,
relation numbers in one form, whole-file types); this module adds what only
contacts need:

* the file holds at least one contact (an empty extract is a broken one);
* every row has a contact date, and none lies after today: a contact that
  has not happened yet would keep its customer out of weeks it says nothing
  about;
* every row names its campaign, from the file or from ``--campaign``;
* the same customer, day and campaign written twice is one contact, so a file
  that repeats rows (an extract joined once too often) is not refused for it.
  The same customer on one day under two campaigns is two contacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from nba_toolkit.core.snapshot import ColumnType
from nba_toolkit.errors import BadInput

#: what a contacts file must hold, in canonical names (the workspace's [columns] may map them)
CONTACT_SCHEMA: dict[str, ColumnType] = {"customer_id": "id", "contact_date": "date"}
#: the campaign column may be left out when ``--campaign`` names the campaign of the whole file
CAMPAIGN_SCHEMA: dict[str, ColumnType] = {"campaign": "str"}
#: the group the contact history records for a contact made outside the toolkit
OUTSIDE_GROUP = "outside"


def validated_contacts(
    frame: pl.DataFrame, *, file: str, names: Mapping[str, str], today: date, campaign: str | None
) -> pl.DataFrame:
    """One row per customer, contact date and campaign, with the week; or ``BadInput`` naming the first bad row.

    ``names`` maps canonical names to the file's own, for the message;
    ``campaign`` fills the rows whose campaign is empty, and is the campaign
    of every row when the file has no campaign column.
    """
    if frame.is_empty():
        raise BadInput("holds no contacts, only a header", file=file, hint="Check the extract that wrote the file.")
    if "campaign" not in frame.columns:
        if campaign is None:
            name = names.get("campaign", "campaign")
            raise BadInput(
                f"column '{name}' is missing and --campaign does not name the campaign of the file",
                file=file,
                column=name,
                hint='Add the column, map it in nba.toml [columns] campaign = "...", or name the campaign of '
                "the whole file with --campaign NAME.",
            )
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("campaign"))
    frame = frame.with_columns(
        pl.col("campaign").str.strip_chars().replace("", None).fill_null(pl.lit(campaign, dtype=pl.String))
    )
    for column, problem, message in (
        ("contact_date", pl.col("contact_date").is_null(), "the contact date is empty"),
        ("contact_date", pl.col("contact_date") > today, f"the contact date is after today ({today})"),
        ("campaign", pl.col("campaign").is_null(), "the campaign is empty (or name it for the file with --campaign)"),
    ):
        bad = frame.select(problem.arg_true()).to_series()
        if bad.len():
            raise BadInput(message, file=file, column=names.get(column, column), row=int(bad[0]) + 1)
    return (
        frame.select(pl.col("customer_id").cast(pl.String), "contact_date", "campaign")
        .unique(maintain_order=True)
        .with_columns(
            pl.col("contact_date").dt.strftime("%G-W%V").alias("week"),
            pl.col("contact_date").dt.truncate("1w").alias("week_start"),  # the Monday, as weeks.parse_week gives it
        )
        .sort("contact_date", "customer_id", "campaign")
    )
