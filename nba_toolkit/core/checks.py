"""The check contract, and running the checks of one stage fail-closed.

A check looks at the run at one stage (input, model, output) and says, in
plain words, what it measured against what threshold and what to do. A
blocking failure, or a check that crashes, stops the run: a check that could
not look is treated as a check that saw something wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import polars as pl

    from nba_toolkit.config import Config

STAGES = ("input", "model", "output")
SEVERITIES = ("block", "warn", "info")


@dataclass(frozen=True)
class CheckResult:
    """What one check found. ``passed`` False with severity ``block`` stops the run."""

    check: str
    stage: str
    severity: str
    passed: bool
    message: str
    measured: Any = None
    threshold: Any = None
    action: str | None = None
    affected_count: int = 0
    affected_sample: tuple[Any, ...] = ()
    plugin: str | None = None
    crashed: bool = False

    @property
    def status(self) -> str:
        if self.crashed:
            return "error"
        return "pass" if self.passed else "fail"

    @property
    def blocks(self) -> bool:
        return self.crashed or (not self.passed and self.severity == "block")


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at. Later stages fill in more."""

    week: str
    week_start: date
    week_end: date
    snapshot: pl.DataFrame
    config: Config
    #: canonical column -> type, everything the run needs from the snapshot
    required_columns: Mapping[str, str] = field(default_factory=dict)
    #: filled in for the output stage: one row per snapshot row, with its reason
    selection: pl.DataFrame | None = None


@runtime_checkable
class Check(Protocol):
    """What a check plugin registers. ``run`` returns one result or several."""

    name: str
    stage: str
    severity: str
    description: str

    def run(self, context: CheckContext) -> CheckResult | Iterable[CheckResult]: ...


def run_checks(
    checks: Sequence[tuple[Check, str]],
    stage: str,
    context: CheckContext,
    *,
    on_check: Callable[[str], None] | None = None,
) -> list[CheckResult]:
    """Run every check of ``stage``; a crash becomes a blocking result naming its plugin."""
    results: list[CheckResult] = []
    for check, plugin in checks:
        if check.stage != stage:
            continue
        if on_check:
            on_check(check.name)
        try:
            outcome = check.run(context)
            found = [outcome] if isinstance(outcome, CheckResult) else list(outcome)
            if not all(isinstance(r, CheckResult) for r in found):
                raise TypeError("run() must return CheckResult objects")
        except Exception as exc:  # noqa: BLE001 - fail closed on any crash
            found = [
                CheckResult(
                    check=check.name,
                    stage=stage,
                    severity="block",
                    passed=False,
                    crashed=True,
                    message=f"The check '{check.name}' from plugin '{plugin}' crashed: "
                    f"{type(exc).__name__}: {exc}. The run stops, because a check that cannot "
                    "look cannot vouch for the data.",
                    action=f"Ask a developer to fix or disable the plugin '{plugin}'.",
                )
            ]
        results.extend(r if r.plugin else CheckResult(**{**r.__dict__, "plugin": plugin}) for r in found)
    return results


def blocking(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.blocks]
