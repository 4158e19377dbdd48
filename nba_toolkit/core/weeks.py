"""ISO weeks, the operator's unit of time: a run is for one week, ``2026-W47``."""

from __future__ import annotations

import re
from datetime import date, timedelta

from nba_toolkit.errors import UsageError

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
