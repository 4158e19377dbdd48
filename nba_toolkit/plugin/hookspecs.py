"""The hooks a plugin may implement.

Every hook is a registration hook: the toolkit calls it once per plugin while
loading, handing it a ``register`` function. The plugin calls ``register``
with each object it provides; the toolkit validates the object on the spot
and remembers which plugin gave it, so errors and results can name the
plugin. Hooks grow by adding arguments only; an implementation may accept
fewer arguments than the specification names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from nba_toolkit.plugin import PROJECT

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def nba_register_engines(register: Callable[[Any], None]) -> None:
    """Register selection engines (see ``nba_toolkit.core.engine.Engine``).

    Called once while plugins load. ``register(engine)`` takes an object with
    ``name``, ``version``, ``required_columns``, ``feature_labels`` and the
    methods ``features``, ``fit``, ``score``, ``explain``, ``model_card``.
    """


@hookspec
def nba_register_checks(register: Callable[[Any], None]) -> None:
    """Register checks (see ``nba_toolkit.core.checks.Check``).

    Called once while plugins load. ``register(check)`` takes an object with
    ``name``, ``stage`` (input, model, output), ``severity`` (block, warn,
    info), ``description`` and ``run(context)`` returning ``CheckResult``\\s.
    """


@hookspec
def nba_register_exporters(register: Callable[[Any], None]) -> None:
    """Register exporters (see ``nba_toolkit.core.export.Exporter``).

    Called once while plugins load. ``register(exporter)`` takes an object
    with ``name``, ``extension`` and ``write(rows, stream, config)``, which
    writes the mail file's bytes to an open binary stream.
    """


@hookspec
def nba_register_notifiers(register: Callable[[Any], None]) -> None:
    """Register notifiers (see ``nba_toolkit.core.notify.Notifier``).

    Called once while plugins load. ``register(notifier)`` takes an object
    with ``name`` and ``notify(alert, workspace_root)``, called when a run is
    blocked or fails.
    """
