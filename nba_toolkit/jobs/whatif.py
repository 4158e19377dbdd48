"""What-if on a workspace: this week's snapshot (or another), a change to a feature, and the selection before and after.

The contact history, model and configuration are the ones the weekly run
would use now, so the "before" is what ``nba-toolkit run`` would select on
the same snapshot; nothing is recorded. A snapshot missing optional inputs is
filled in as the run fills it (with the stand-ins a run of this very file
recorded, when there is one).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nba_toolkit.core.decision import CONTACT_SCHEMA
from nba_toolkit.core.degraded import impute, load_allowing_stand_ins, recorded_stand_ins
from nba_toolkit.core.rules import RuleContext, rule_columns
from nba_toolkit.core.scalars import day
from nba_toolkit.core.selection import Policy, cooldown_start
from nba_toolkit.core.weeks import week_bounds, week_of
from nba_toolkit.core.whatif import WhatIf, parse_change, what_if
from nba_toolkit.jobs.backtest import load_registered, registered_model
from nba_toolkit.jobs.run import CORE_COLUMNS, find_snapshot
from nba_toolkit.plugin.manager import Registry
from nba_toolkit.workspace import Workspace


def what_if_workspace(
    workspace: Workspace,
    registry: Registry,
    *,
    snapshot: Path | None = None,
    shifts: list[str] | None = None,
    sets: list[str] | None = None,
    model_id: str | None = None,
) -> WhatIf:
    """Shift (``feature=+0.10``, ``feature=+10%``) or set (``feature=value``) canonical columns and reselect."""
    config = workspace.config
    engine = registry.engine(config.engine.name, config.features).obj
    columns = dict(engine.required_columns)
    changes = [parse_change(t, kind="shift", columns=columns) for t in shifts or []]
    changes += [parse_change(t, kind="set", columns=columns) for t in sets or []]
    path, week = find_snapshot(workspace, snapshot=snapshot, week=None)
    rules = [(r.obj, r.plugin) for r in registry.rules.values()]
    schema = {**CORE_COLUMNS, **rule_columns(rules), **columns}
    loaded = load_allowing_stand_ins(path, required=schema, engine=engine, mapping=config.columns, denylist=config.denylist)
    recorded = recorded_stand_ins(workspace.ledger.runs(), loaded.sha256)
    frame, _ = impute(loaded.frame, engine, path=path, recorded=recorded)
    week = week or week_of(day(frame["snapshot_date"].max()))
    start, end = week_bounds(week)
    policy = Policy.from_config(config)
    # The contacts before the week, as the run saw them: the week's own export must not cool its customers down.
    contacted = pl.DataFrame(
        workspace.ledger.contacts_between(cooldown_start(start, policy.cooldown_weeks), start),
        schema=CONTACT_SCHEMA,
        orient="row",
    )
    model = load_registered(workspace, registered_model(workspace, engine.name, model_id))
    return what_if(
        frame,
        contacted,
        week=week,
        changes=changes,
        engine=engine,
        model=model,
        policy=policy,
        rules=rules,
        rule_context=RuleContext(week=week, week_start=start, week_end=end, config=config, workspace_root=workspace.root),
    )
