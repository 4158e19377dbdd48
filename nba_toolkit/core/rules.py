"""Business rules outside the model (R-S4): the rule contract, and applying rules to a run.

The bank once hotfixed a bad week with code wrapped around its model. A rule
is that code done properly: a plugin that keeps customers out of the week's
selection for a business reason the model knows nothing about (a recent
complaint, a fraud investigation, a product the customer already has
elsewhere). Rules run after the built-in eligibility (investor, consent,
cooldown) and before scoring, so an excluded customer is never scored, and
each exclusion carries the reason code ``excluded_rule_<name>`` that the
counts, the review and the ledger show like any other reason.

A rule that crashes, does not answer within the time limit ([plugins]
call_timeout_seconds), or answers something other than one verdict per row,
stops the run: a rule that could not decide cannot vouch that nobody it
should keep out gets mail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import polars as pl

from nba_toolkit.errors import PluginError

if TYPE_CHECKING:
    from nba_toolkit.config import Config
    from nba_toolkit.core.snapshot import ColumnType

RULE_REASON_PREFIX = "excluded_rule_"
#: a rule's name, and a sub-reason a rule returns, become part of a reason code
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class RuleContext:
    """What a rule may look at besides the snapshot."""

    week: str
    week_start: date
    week_end: date
    config: Config
    #: the workspace folder, for rules that read a register kept there (e.g. data/complaints.csv)
    workspace_root: Path


@runtime_checkable
class Rule(Protocol):
    """What a rule plugin registers.

    ``apply`` returns a ``pl.Series`` with one value per snapshot row, in row
    order: Boolean (True excludes the customer, False or null keeps them) or
    String (a short sub-reason such as ``complaint`` excludes the customer
    with the code ``excluded_rule_<name>_<sub-reason>``; null keeps them).
    A rule may also declare ``required_columns`` (canonical column -> type,
    as engines do): the run then loads and type-checks those columns too.
    """

    name: str
    description: str

    def apply(self, snapshot: pl.DataFrame, context: RuleContext) -> pl.Series: ...


def rule_reason(name: str, sub_reason: str | None = None) -> str:
    """The reason code a rule's exclusion carries."""
    return f"{RULE_REASON_PREFIX}{name}" + (f"_{sub_reason}" if sub_reason else "")


def rule_columns(rules: Sequence[tuple[Any, str]]) -> dict[str, ColumnType]:
    """Every column the rules declare they read, for the snapshot's schema."""
    columns: dict[str, ColumnType] = {}
    for rule, _plugin in rules:
        columns.update(getattr(rule, "required_columns", None) or {})
    return columns


def apply_rules(
    rules: Sequence[tuple[Any, str]], snapshot: pl.DataFrame, exclusion: pl.Series, context: RuleContext
) -> pl.Series:
    """The exclusion per row after the rules: an earlier reason always wins.

    ``exclusion`` is the built-in eligibility's reason per row (null when
    eligible); ``rules`` are (rule, plugin name) pairs, applied in order.
    """
    result = exclusion
    for rule, plugin in rules:
        if result.null_count() == 0:
            break
        try:
            verdict = rule.apply(snapshot, context)
        except PluginError:
            raise  # already names the rule and its plugin (a time limit, an attempt to exit)
        except Exception as exc:  # noqa: BLE001 - any failure of a rule stops the run, named
            raise PluginError(
                f"the rule '{rule.name}' (plugin '{plugin}') failed: {type(exc).__name__}: {exc}; the run stops, "
                "because a rule that cannot decide cannot keep anyone out",
                hint=f"Ask a developer to fix the plugin '{plugin}', or switch it off in [plugins] disabled.",
            ) from exc
        reasons = _reasons(rule.name, plugin, verdict, snapshot.height)
        result = pl.select(pl.coalesce(pl.lit(result), pl.lit(reasons))).to_series().alias(exclusion.name)
    return result


def _reasons(name: str, plugin: str, verdict: Any, rows: int) -> pl.Series:
    """A rule's verdict as reason codes (null: not excluded), or a PluginError saying what was wrong."""
    if not isinstance(verdict, pl.Series) or verdict.len() != rows:
        got = f"a Series of {verdict.len()} values" if isinstance(verdict, pl.Series) else type(verdict).__name__
        raise PluginError(
            f"the rule '{name}' (plugin '{plugin}') returned {got} for a snapshot of {rows} rows; it must return "
            "one value per row"
        )
    if verdict.dtype == pl.Boolean or verdict.dtype == pl.Null:
        return pl.select(
            pl.when(pl.lit(verdict).fill_null(False)).then(pl.lit(rule_reason(name))).otherwise(pl.lit(None, pl.String))
        ).to_series()
    if verdict.dtype == pl.String:
        bad = [v for v in verdict.drop_nulls().unique().to_list() if not CODE_PATTERN.match(v)]
        if bad:
            raise PluginError(
                f"the rule '{name}' (plugin '{plugin}') returned the sub-reason {bad[0]!r}; sub-reasons are short "
                "lower-case words (letters, digits, _), because they become part of a reason code"
            )
        return pl.select(pl.concat_str(pl.lit(rule_reason(name) + "_"), pl.lit(verdict))).to_series()
    raise PluginError(
        f"the rule '{name}' (plugin '{plugin}') returned values of type {verdict.dtype}; return Booleans "
        "(True excludes) or short text reasons (null keeps the customer)"
    )
