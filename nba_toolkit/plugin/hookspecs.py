"""The hooks a plugin may implement.

Every hook is a registration hook: the toolkit calls it once per plugin while
loading, handing it a ``register`` function. The plugin calls ``register``
with each object it provides; the toolkit validates the object on the spot
and remembers which plugin gave it, so errors and results can name the
plugin. Validation includes each method's signature: a method the toolkit
could not call with its arguments is refused while loading, not on the day
it is called. Hooks grow by adding arguments only; an implementation may
accept fewer arguments than the specification names.

Later calls of the registered objects' methods are traced, time-limited
where a hang would hold the week, and may not end the process (see
``nba_toolkit.plugin.calls``).

docs/plugins/hooks.md has one heading per hook with the exact signature
below; a test compares the two, so change both together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

from nba_toolkit.plugin import PROJECT

if TYPE_CHECKING:
    from nba_toolkit.core.analysis import AnalysisExporter
    from nba_toolkit.core.checks import Check
    from nba_toolkit.core.engine import Engine
    from nba_toolkit.core.export import Exporter
    from nba_toolkit.core.notify import Notifier
    from nba_toolkit.core.rules import Rule

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def nba_register_engines(register: Callable[[Engine], None]) -> None:
    """Register selection engines (see ``nba_toolkit.core.engine.Engine``).

    Called once while plugins load. ``register(engine)`` takes an object with
    ``name``, ``version``, ``required_columns``, ``feature_labels`` and the
    methods ``features``, ``fit``, ``score``, ``explain``, ``model_card``.
    """


@hookspec
def nba_register_checks(register: Callable[[Check], None]) -> None:
    """Register checks (see ``nba_toolkit.core.checks.Check``).

    Called once while plugins load. ``register(check)`` takes an object with
    ``name``, ``stage`` (input, model, output), ``severity`` (block, warn,
    info), ``description`` and ``run(context)`` returning ``CheckResult``\\s.
    A result the runner cannot trust as written (see
    ``nba_toolkit.core.checks.validated_results``), or no answer within
    ``[plugins] call_timeout_seconds``, counts as a crash and blocks.
    """


@hookspec
def nba_register_exporters(register: Callable[[Exporter], None]) -> None:
    """Register mail-file exporters (see ``nba_toolkit.core.export.Exporter``).

    Called once while plugins load. ``register(exporter)`` takes an object
    with ``name``, ``extension`` and ``write(rows, stream, config)``, which
    writes the mail file's bytes to an open binary stream.
    """


@hookspec
def nba_register_notifiers(register: Callable[[Notifier], None]) -> None:
    """Register notifiers (see ``nba_toolkit.core.notify.Notifier``).

    Called once while plugins load. ``register(notifier)`` takes an object
    with ``name`` and ``notify(alert, workspace_root)``, called when a run is
    blocked or fails, within ``[plugins] call_timeout_seconds``. A ``notify``
    that cannot take both arguments is refused while loading.
    """


@hookspec
def nba_register_rules(register: Callable[[Rule], None]) -> None:
    """Register business rules (see ``nba_toolkit.core.rules.Rule``).

    Called once while plugins load. ``register(rule)`` takes an object with
    ``name``, ``description`` and ``apply(snapshot, context)``, returning per
    snapshot row True (exclude) or False, or an exclusion reason or null.
    Every run applies every rule after the built-in eligibility rules.
    """


@hookspec
def nba_register_analysis_exporters(register: Callable[[AnalysisExporter], None]) -> None:
    """Register analysis exporters (see ``nba_toolkit.core.analysis.AnalysisExporter``).

    Called once while plugins load. ``register(exporter)`` takes an object
    with ``name``, ``extension`` and ``write(rows, stream, config)``; ``rows``
    is a run's whole selection with features and flags, for the analyst's
    own tools. An analysis exporter can never write the mail file.
    """
