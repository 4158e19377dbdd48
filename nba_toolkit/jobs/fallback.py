"""The fallback list: ``run --fallback random --size N``, a week's mailing drawn at random, with no model.

When the engine is switched off, its model cannot be used, or a week is
blocked on the model's account (a market the model does not know, drift),
the bank's answer is a plain random list with the usual exclusions. This job
makes it the way the weekly run makes a selection, and records it as a run of
kind ``fallback`` that is reviewed, approved and exported like any other; it
takes the week's one export (the exports table), so a week is never mailed
both at random and by the model.

What is the same as the weekly run (:func:`nba_toolkit.jobs.run.run_week`):
the snapshot is found and read by the same loader, with the same column
mapping, denylist and type checks, for the columns the selection and the
business rules need (the engine's columns are not needed, so not read); the
week is refused when it is implausible; the run is recorded before its first
stage and ends awaiting approval, blocked, cancelled or failed; the
eligibility is the same function (investor, consent, standing exclusions,
cooldown, then the business rules); the selection, its figures, the profile
and the kept inputs are saved the same way.

Which checks run: every registered input and output check, and the data-use
register, except those that judge the model (``needs_model = True`` on the
check: feature drift, the market regime and category levels against the
model's training, score drift). They are recorded as skipped with the reason,
so the ledger shows what was not looked at. The checks of the data itself
(schema, duplicates, freshness, row count, empty values, value ranges, unit
jumps, contact overlap) and of the list (volume, reconciliation, nobody mailed
who is excluded) apply unchanged: a blocking input problem still blocks. The
engine's stand-ins for missing inputs (core/degraded.py) do not apply, as no
engine reads anything.

The draw is :func:`nba_toolkit.core.fallback.draw`, seeded by the campaign
salt and the run id (both recorded): the same run always draws the same
customers. When fewer customers are eligible than asked for, all of them are
drawn and the run carries a warning (``fallback_size``) to acknowledge.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import polars as pl

from nba_toolkit.config_history import notice_hand_edits
from nba_toolkit.core.checks import Check, CheckContext, CheckResult, run_checks
from nba_toolkit.core.decision import eligibility
from nba_toolkit.core.fallback import draw
from nba_toolkit.core.history import past_runs
from nba_toolkit.core.rules import RuleContext, rule_columns
from nba_toolkit.core.selection import RANDOM_CONTROL, Policy, cooldown_contacts, standing_exclusions
from nba_toolkit.core.snapshot import Snapshot, load_snapshot
from nba_toolkit.core.weeks import week_bounds
from nba_toolkit.errors import UsageError
from nba_toolkit.jobs.run import (
    CORE_COLUMNS,
    Progress,
    RunOutcome,
    _data_use,
    _Progress,
    _record_stop,
    _save_for_review,
    _stop_if_blocked,
    _with_selection,
    begin_run,
    find_snapshot,
)
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.plugin.required import check_plugins_for_run
from nba_toolkit.workspace import Workspace, operator_name

#: the stages a fallback list goes through, as its progress reports them
STAGES = ("load", "input checks", "draw", "output checks", "save")
#: the warning a list shorter than asked for carries
SIZE_CHECK = "fallback_size"


def run_fallback(
    workspace: Workspace,
    registry: Registry,
    *,
    size: int,
    snapshot: Path | None = None,
    week: str | None = None,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
    today: date | None = None,
    again: bool = False,
) -> RunOutcome:
    """Draw ``size`` eligible customers of the week at random, up to review. Raises ``CheckBlocked`` when a check stops it.

    Works with the engine switched off and without any trained model: no
    model is read. A week with a run awaiting approval is refused unless
    ``again`` says so, as for the weekly run.
    """
    size = list_size(size)
    config = workspace.config
    ledger = workspace.ledger
    ledger.require_intact()
    notice_hand_edits(workspace, noticed_by=operator_name())
    check_plugins_for_run(registry, config, ledger)
    path, week = find_snapshot(workspace, snapshot=snapshot, week=week)
    progress = _Progress(on_progress, cancel, STAGES)
    rules = [(r.obj, r.plugin) for r in registry.rules.values()]
    required = {**CORE_COLUMNS, **rule_columns(rules)}

    def load() -> Snapshot:
        # the weekly run's loader, for the columns a list without a model needs
        return load_snapshot(path, mapping=config.columns, denylist=config.denylist, schema=required)

    run_id, week, loaded = begin_run(
        workspace, registry, path=path, week=week, load=load, progress=progress, kind="fallback", again=again, today=today
    )
    outcome = RunOutcome(run_id=run_id, week=week, status="running", snapshot_path=str(path), kind="fallback", capacity=size)
    checks: list[CheckResult] = []
    try:
        if loaded is None:
            progress.stage("load")
            loaded = load()
        frame = loaded.frame
        outcome.rows_in = loaded.rows
        outcome.dropped_columns = loaded.dropped_columns
        start, end = week_bounds(week)
        policy = Policy.from_config(config)
        contacts_upto = ledger.contacts_high_water()
        contacted = cooldown_contacts(ledger, start, policy.cooldown_weeks, upto=contacts_upto)
        suppressions_upto = ledger.suppressions_high_water()
        suppressed = standing_exclusions(ledger, start, upto=suppressions_upto)
        ledger.update_run(
            run_id,
            snapshot_path=workspace.record_path(path),
            snapshot_sha256=loaded.sha256,
            rows_in=loaded.rows,
            dropped_columns=list(loaded.dropped_columns),
            contacts_upto=contacts_upto,
            suppressions_upto=suppressions_upto,
        )
        context = CheckContext(
            week=week,
            week_start=start,
            week_end=end,
            snapshot=frame,
            config=config,
            required_columns=required,
            history=past_runs(ledger, workspace.root, exclude=run_id),
            contacted=contacted,
            root=workspace.root,
        )
        all_checks = [(r.obj, r.plugin) for r in registry.checks.values()]
        without_model = model_checks(all_checks)

        progress.stage("input checks")
        checks.append(_data_use(workspace, required))
        checks += run_checks(all_checks, "input", context, not_applicable=without_model)
        _stop_if_blocked(checks, "input")

        progress.stage("draw")
        customers = eligibility(
            frame,
            contacted,
            rules=rules,
            rule_context=RuleContext(week=week, week_start=start, week_end=end, config=config, workspace_root=workspace.root),
            suppressed=suppressed,
        )
        selection = draw(customers, size, salt=config.campaign.salt, run_id=run_id)

        progress.stage("output checks")
        checks += run_checks(
            all_checks, "output", _with_selection(context, selection, contacted, suppressed), not_applicable=without_model
        )
        checks.append(size_result(size, selection))
        _stop_if_blocked(checks, "output")

        progress.stage("save")
        _save_for_review(workspace, outcome, selection, checks, context, frame)
        progress.done()
        return outcome
    except BaseException as exc:
        _record_stop(workspace, registry, outcome, checks, exc)
        raise


def list_size(given: object) -> int:
    """The size asked for, as a whole number of 1 or more; anything else is refused before anything is read."""
    text = str(given).strip()
    if isinstance(given, bool) or not text.isdigit() or int(text) < 1:
        raise UsageError(
            f"the size of a fallback list must be a whole number of 1 or more, not {text or 'nothing'!r}; nothing was run",
            hint="For example `nba-toolkit run --fallback random --size 500`.",
        )
    return int(text)


def model_checks(checks: list[tuple[Check, str]]) -> dict[str, str]:
    """The checks that judge the model (``needs_model = True``), with why a fallback list skips them."""
    why = "Not looked at: this check judges the model, and a fallback list is drawn at random without one."
    return {check.name: why for check, _ in checks if getattr(check, "needs_model", False)}


def size_result(size: int, selection: pl.DataFrame) -> CheckResult:
    """Whether the list has the size asked for; a shorter one (fewer eligible) is a warning to acknowledge."""
    drawn = int((selection["reason"] == RANDOM_CONTROL).sum())
    passed = drawn == size
    return CheckResult(
        check=SIZE_CHECK,
        stage="output",
        severity="warn",
        passed=passed,
        message=f"{drawn:,} customers were drawn at random, as asked."
        if passed
        else f"Only {drawn:,} customers are eligible this week, fewer than the {size:,} asked for: all of them were drawn.",
        measured=drawn,
        threshold=size,
        action=None
        if passed
        else "Acknowledge the warning if a shorter list is fine; otherwise ask why so few customers are eligible "
        "(the counts per reason show who was kept out).",
        plugin="nba_toolkit",
    )
