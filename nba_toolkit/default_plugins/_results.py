"""Small helpers the built-in checks share to state their results the same way."""

from __future__ import annotations

from typing import Any

import polars as pl

from nba_toolkit.core.checks import CheckResult

#: how many affected relation numbers a result carries, for the operator to look up
SAMPLE = 20


def result(
    check: Any, passed: bool, message: str, *, action: str | None = None, severity: str | None = None, **fields: Any
) -> CheckResult:
    """A result of ``check``; ``action`` is only kept for a failure, where there is something to do."""
    return CheckResult(
        check=check.name,
        stage=check.stage,
        severity=severity or check.severity,
        passed=passed,
        message=message,
        action=None if passed else action,
        **fields,
    )


def not_measured(check: Any, why: str) -> CheckResult:
    """A check with nothing to compare against yet passes, as information, saying so."""
    return result(check, True, f"Not measured: {why}", severity="info")


def affected(frame: pl.DataFrame, mask: pl.Series | pl.Expr, id_column: str = "customer_id") -> dict[str, Any]:
    """``affected_count`` and ``affected_sample`` for the rows of ``frame`` where ``mask`` holds."""
    rows = frame.filter(mask)
    return {"affected_count": rows.height, "affected_sample": tuple(rows[id_column].head(SAMPLE).to_list())}


def figure(value: float) -> str:
    """A number as an operator reads it: thousands separated, at most two decimals."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}"
