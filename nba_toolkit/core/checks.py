"""The check contract, and running the checks of one stage fail-closed.

A check looks at the run at one stage (input, model, output) and says, in
plain words, what it measured against what threshold and what to do. A
blocking failure, or a check that crashes, stops the run: a check that could
not look is treated as a check that saw something wrong. A failed warning
lets the run go on to review, but the run cannot be exported until a person
has acknowledged it (``core/acknowledgements.py``).

A check whose answer cannot be trusted as written counts as a crash: no
result at all, a result of another check or stage, an unknown severity
(``"BLOCK"``), ``passed`` that is not True or False (``"False"``), a failure
without an action. The runner and the conformance kit
(``nba_toolkit.testing``) judge results with one function,
``validated_results``.

The operator tunes checks in ``nba.toml`` (``[checks.<name>]``): a severity
replaces the check's own for every result it returns, and a check switched
off (only with a reason) still leaves a visible ``skipped`` result, so the
ledger shows for every run what was not looked at and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

    from nba_toolkit.config import Config
    from nba_toolkit.core.check_settings import CheckSettings, SettingsT
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
    #: output stage: relation numbers (text) under a standing exclusion this week
    suppressed: pl.Series | None = None
    #: model stage: what training produced, for the leakage checks
    training: TrainingEvidence | None = None
    #: the workspace folder, against which a check's relative file settings are read (None: only absolute paths)
    root: Path | None = None
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @overload
    def settings(self, check: str) -> CheckSettings: ...
    @overload
    def settings(self, check: str, kind: type[SettingsT]) -> SettingsT: ...
    def settings(self, check: str, kind: type[CheckSettings] | None = None) -> CheckSettings:
        """The check's ``[checks.<name>]`` table, defaults filled in; with ``kind``, as the built-in check's
        settings class (``core/check_settings.py``), so its thresholds are typed."""
        if kind is None:
            return self.config.checks.settings(check)
        return self.config.checks.settings(check, kind)

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


class MalformedResult(ValueError):
    """A check's answer breaks the result contract, so the runner cannot tell whether it passed."""


def validated_results(check: Check, outcome: Any) -> list[CheckResult]:
    """What ``check.run`` returned, as a list of results, or ``MalformedResult`` naming the first broken field.

    Strict on purpose: every field that decides whether a run stops must be
    exactly what the contract says, because ``passed="False"`` is truthy and
    ``severity="BLOCK"`` is not ``"block"``, and either would let a failing
    week through. ``crashed`` and ``skipped`` are the toolkit's to set. A
    result may carry another known severity than its check's (the built-in
    drift checks grade what they find), never an unknown one.
    """
    if outcome is None:
        raise MalformedResult("run() returned None instead of a result")
    try:
        results = [outcome] if isinstance(outcome, CheckResult) else list(outcome)
    except TypeError:
        raise MalformedResult(f"run() returned {type(outcome).__name__}, not CheckResult objects") from None
    if not results:
        raise MalformedResult("run() returned no result")
    for result in results:
        problem = _result_problem(check, result)
        if problem:
            raise MalformedResult(problem)
    return results


def _result_problem(check: Check, result: Any) -> str | None:
    if not isinstance(result, CheckResult):
        return f"run() must return CheckResult objects, got {type(result).__name__}"
    if result.check != check.name:
        return f"a result names the check {result.check!r}, but it came from the check '{check.name}'"
    if result.stage != check.stage:
        return f"a result has the stage {result.stage!r}, but the check '{check.name}' runs at '{check.stage}'"
    if not isinstance(result.severity, str) or result.severity not in SEVERITIES:
        return f"a result has the severity {result.severity!r}; use one of {', '.join(SEVERITIES)} (lower case)"
    for flag in ("passed", "crashed", "skipped"):
        if not isinstance(getattr(result, flag), bool):
            return f"'{flag}' must be True or False, not {getattr(result, flag)!r}"
    if result.crashed or result.skipped:
        return "'crashed' and 'skipped' are set by the toolkit, not by a check"
    if not _text(result.message):
        return "every result needs a plain-language message"
    if not result.passed and not _text(result.action):
        return "a result that did not pass must say what to do ('action')"
    if result.action is not None and not isinstance(result.action, str):
        return f"'action' must be text, not {type(result.action).__name__}"
    if isinstance(result.affected_count, bool) or not isinstance(result.affected_count, int) or result.affected_count < 0:
        return f"'affected_count' must be a whole number of 0 or more, not {result.affected_count!r}"
    if not isinstance(result.affected_sample, tuple | list):
        return f"'affected_sample' must be a tuple of relation numbers, not {type(result.affected_sample).__name__}"
    return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def run_checks(
    checks: Sequence[tuple[Check, str]],
    stage: str,
    context: CheckContext,
    *,
    on_check: Callable[[str], None] | None = None,
    not_applicable: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    """Run every check of ``stage``; a crash or a malformed answer becomes a blocking result naming its plugin.

    The input stage also reports ``[checks.<name>]`` tables that match no
    loaded check, as a warning: a plugin check that failed to load must not
    pass unnoticed just because it is absent. ``not_applicable`` names checks
    that have nothing to look at in this run, with why (a fallback list has no
    model to judge): each leaves a ``skipped`` result saying so.
    """
    results: list[CheckResult] = []
    for check, plugin in checks:
        if check.stage != stage:
            continue
        if not_applicable and check.name in not_applicable:
            results.append(
                CheckResult(
                    check=check.name,
                    stage=stage,
                    severity=check.severity,
                    passed=True,
                    skipped=True,
                    message=not_applicable[check.name],
                    plugin=plugin,
                )
            )
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
            found = validated_results(check, check.run(context))
        except MalformedResult as exc:
            found = [_crashed(check, stage, plugin, f"answered with a result the toolkit cannot trust: {exc}")]
        except Exception as exc:  # noqa: BLE001 - fail closed on any crash
            found = [_crashed(check, stage, plugin, f"crashed: {type(exc).__name__}: {exc}")]
        if settings.severity:
            found = [r if r.crashed else replace(r, severity=settings.severity) for r in found]
        # The plugin that registered the check is recorded, whatever the result claims.
        results.extend(replace(r, plugin=plugin) for r in found)
    if stage == "input":
        results += _tables_without_check(checks, context.config)
    return results


def _crashed(check: Check, stage: str, plugin: str, what: str) -> CheckResult:
    """The blocking result that stands in for a check that could not give a trustworthy answer."""
    return CheckResult(
        check=check.name,
        stage=stage,
        severity="block",
        passed=False,
        crashed=True,
        message=f"The check '{check.name}' from plugin '{plugin}' {what}. The run stops, because a check that cannot "
        "look cannot vouch for the data.",
        action=f"Ask a developer to fix the plugin '{plugin}' (the conformance kit, nba_toolkit.testing, shows what "
        "is wrong), or switch the check off in nba.toml with a reason.",
    )


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
