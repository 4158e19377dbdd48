"""ISO weeks, the operator's unit of time: a run is for one week, ``2026-W47``."""

from __future__ import annotations

import re
from datetime import date, timedelta

from pathlib import Path

from nba_toolkit.errors import BadInput, UsageError

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


def parse_week(label: str) -> date:
    """The Monday of an ISO week label such as ``2026-W47``."""
    match = _WEEK.match(label.strip().upper())
    if not match:
        raise UsageError(f"'{label}' is not a week; write it as YYYY-Www, for example 2026-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UsageError(f"'{label}' is not a week of {year}") from None


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(label: str) -> tuple[date, date]:
    """Monday and Sunday of the week."""
    monday = parse_week(label)
    return monday, monday + timedelta(days=6)


def is_week_label(text: str) -> bool:
    return bool(_WEEK.match(text.strip().upper()))


def refuse_implausible_week(
    week: str, *, today: date, last_exported: str | None, max_weeks_back: int, file: str | Path
) -> None:
    """A run is for a week that can be real: not after this calendar week, not long before the last exported one.

    A snapshot dated 2099 would otherwise be run and exported, and its
    contacts would then keep its customers out of every real week; one dated
    years back would mail on the data of a customer base long gone.
    """
    monday = parse_week(week)
    current = week_of(today)
    if monday > parse_week(current):
        raise BadInput(
            f"the snapshot is for {week}, after the current week {current}; a week is run when it has come",
            file=file,
            hint="Check the snapshot's as-of date (SNAPSHOT_DATE) or the week in its file name, and the computer's clock.",
        )
    if last_exported is not None and monday < parse_week(last_exported) - timedelta(weeks=max_weeks_back):
        raise BadInput(
            f"the snapshot is for {week}, more than {max_weeks_back} weeks before {last_exported}, the last week "
            "that was exported",
            file=file,
            hint="Check the snapshot's as-of date or the week in its file name. To run an old week on purpose, raise "
            "[checks.freshness] max_weeks_back in nba.toml.",
        )
