"""The check contract, and running the checks of one stage fail-closed.

A check looks at the run at one stage (input, model, output) and says, in
plain words, what it measured against what threshold and what to do. A
blocking failure, or a check that crashes, stops the run: a check that could
not look is treated as a check that saw something wrong. A failed warning
lets the run go on to review, but the run cannot be exported until a person
has acknowledged it (``core/acknowledgements.py``).

The operator tunes checks in ``nba.toml`` (``[checks.<name>]``): a severity
replaces the check's own for every result it returns, and a check switched
off (only with a reason) still leaves a visible ``skipped`` result, so the
ledger shows for every run what was not looked at and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import polars as pl

    from nba_toolkit.config import Config
    from nba_toolkit.core.check_settings import CheckSettings
    from nba_toolkit.core.history import PastRun
    from nba_toolkit.core.training import TrainingEvidence

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
    #: switched off in nba.toml; ``message`` carries the recorded reason
    skipped: bool = False

    @property
    def status(self) -> str:
        """pass, fail, error (the check crashed) or skipped (switched off with a reason)."""
        if self.crashed:
            return "error"
        if self.skipped:
            return "skipped"
        return "pass" if self.passed else "fail"

    @property
    def blocks(self) -> bool:
        return self.crashed or (not self.passed and not self.skipped and self.severity == "block")

    @property
    def needs_acknowledgement(self) -> bool:
        """A failed warning: the run may be reviewed, but not exported until someone accepts it."""
        return self.status == "fail" and self.severity == "warn"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and model sidecars."""
        return {
            "check": self.check,
            "plugin": self.plugin,
            "stage": self.stage,
            "severity": self.severity,
            "status": self.status,
            "message": self.message,
            "measured": _plain(self.measured),
            "threshold": _plain(self.threshold),
            "action": self.action,
            "affected_count": self.affected_count,
            "affected_sample": [str(x) for x in self.affected_sample],
        }


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


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
    #: earlier accepted runs (awaiting approval or exported), newest first
    history: tuple[PastRun, ...] = ()
    #: the active model's metadata sidecar, with its training ``reference``; None before any training
    model: Mapping[str, Any] | None = None
    #: the engine that scores this run, for checks that look at its features
    engine: Any = None
    #: output stage: customers in the cooldown according to the contact history (``customer_id`` as text)
    contacted: pl.DataFrame | None = None
    #: model stage: what training produced, for the leakage checks
    training: TrainingEvidence | None = None
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def settings(self, check: str) -> CheckSettings:
        """The check's ``[checks.<name>]`` table, defaults filled in."""
        return self.config.checks.settings(check)

    def profile(self) -> dict[str, dict[str, Any]]:
        """The snapshot's profile (see ``core/profile.py``), computed once: the unit-jump check compares it,
        the run saves it for next week."""
        if "profile" not in self._cache:
            from nba_toolkit.core.profile import snapshot_profile

            self._cache["profile"] = snapshot_profile(self.snapshot, self.required_columns)
        return self._cache["profile"]

    def features(self) -> pl.DataFrame:
        """The engine's features of the customers a model is trained on (non-investors), computed once."""
        if "features" not in self._cache:
            everyone = self.snapshot_features()
            self._cache["features"] = (
                everyone.filter(~self.snapshot["is_investor"].fill_null(False))
                if "is_investor" in self.snapshot.columns
                else everyone
            )
        return self._cache["features"]

    def snapshot_features(self) -> pl.DataFrame:
        """The engine's features of every snapshot row, computed once.

        The input checks look at the non-investors' (``features``) and the
        score stage at the eligible customers'. An engine's features are one
        row per snapshot row, computed row by row (the review recomputes one
        customer's score from that customer's row alone), so both are rows
        of this one frame, and the engine runs over the snapshot once.
        """
        if "snapshot_features" not in self._cache:
            self._cache["snapshot_features"] = self.engine.features(self.snapshot.lazy()).collect()
        return self._cache["snapshot_features"]


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
    """Run every check of ``stage``; a crash becomes a blocking result naming its plugin.

    The input stage also reports ``[checks.<name>]`` tables that match no
    loaded check, as a warning: a plugin check that failed to load must not
    pass unnoticed just because it is absent.
    """
    results: list[CheckResult] = []
    for check, plugin in checks:
        if check.stage != stage:
            continue
        settings = context.settings(check.name)
        if not settings.enabled:
            results.append(
                CheckResult(
                    check=check.name,
                    stage=stage,
                    severity=settings.severity or check.severity,
                    passed=True,
                    skipped=True,
                    message=f"Switched off in nba.toml ([checks.{check.name}]): {settings.reason}",
                    action=f"Switch it on again (remove enabled = false from [checks.{check.name}]) once the reason is gone.",
                    plugin=plugin,
                )
            )
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
        if settings.severity:
            found = [r if r.crashed else replace(r, severity=settings.severity) for r in found]
        results.extend(r if r.plugin else replace(r, plugin=plugin) for r in found)
    if stage == "input":
        results += _tables_without_check(checks, context.config)
    return results


def _tables_without_check(checks: Sequence[tuple[Check, str]], config: Config) -> list[CheckResult]:
    loaded = {check.name for check, _ in checks}
    return [
        CheckResult(
            check=name,
            stage="input",
            severity="warn",
            passed=False,
            message=f"nba.toml configures the check '{name}' ([checks.{name}]), but no check of that name is "
            "loaded, so it did not run: the name has a typo, or the plugin that provides it is not loaded.",
            action="Look at `nba-toolkit plugins` for a plugin error, or correct the name in nba.toml.",
        )
        for name in config.checks.configured
        if name not in loaded
    ]


def blocking(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.blocks]
