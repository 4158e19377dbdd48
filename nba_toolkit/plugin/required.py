"""A plugin the workspace depends on cannot silently disappear: a run with one missing or broken stops.

Loading isolates a broken plugin so the others still load and ``nba-toolkit
plugins`` can show it; that alone would let the week go out without it (a
complaints rule with a typo, and every complainer gets mail). So before a
run starts, this refuses it (exit 5, nothing recorded as run, nothing
exported) when:

- a plugin failed to load (a syntax error, a rule name the registration
  refused, a wrong hook);
- a plugin the previous run used is gone, or no longer provides every rule,
  check, engine, exporter or notifier it provided then (each run records
  them: ``Registry.versions()``);
- nba.toml names something no loaded plugin provides: the engine, the
  exporter, a ``[checks.<name>]`` table that is switched on (while a plugin
  is switched off, such a table is left to the input checks' warning).

Not loading a plugin is an explicit act: ``[plugins] disabled`` in nba.toml,
which the configuration history records like every other change. A
disabled plugin is allowed, and the run records it as disabled. The
previous run is the yardstick because every run passed this gate: what it
had, the next run must have, or switch off on purpose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nba_toolkit.errors import PluginError
from nba_toolkit.plugin.manager import DISABLED, Registry, parse_provision

if TYPE_CHECKING:
    from nba_toolkit.config import Config
    from nba_toolkit.ledger.store import Ledger


def check_plugins_for_run(registry: Registry, config: Config, ledger: Ledger) -> None:
    """Refuse the run when a plugin it depends on is missing, broken or reduced; apply the call time limit.

    The limit (``[plugins] call_timeout_seconds``) is set here so every way
    of starting a run (command line, screens, scheduler) keeps to it.
    """
    registry.calls.timeout_seconds = config.plugins.call_timeout_seconds
    disabled = set(config.plugins.disabled)
    previous = ledger.runs(limit=1)
    earlier = (previous[0].run_id, previous[0].plugins) if previous else None
    problems = [
        *_broken(registry),
        *(_lost(registry, disabled, *earlier) if earlier else []),
        *_unprovided(registry, config, disabled),
    ]
    if problems:
        raise PluginError(
            "the run did not start, because plugins it depends on are missing or broken:\n"
            + "\n".join(f"  - {text}" for _, text in problems),
            hint=_way_forward(sorted({plugin for plugin, _ in problems if plugin}), config.plugins.disabled),
        )


#: a problem: the plugin it concerns (None: a name in nba.toml that no plugin provides) and what is wrong
Problem = tuple[str | None, str]


def _way_forward(plugins: list[str], disabled: tuple[str, ...]) -> str:
    """Fix it, or switch it off on purpose: the nba.toml line that does so, with the plugins named."""
    names = ", ".join(f'"{name}"' for name in [*disabled, *plugins])
    off = (
        f"switch it off in nba.toml, with the reason in a comment: [plugins] disabled = [{names}]  # why, and until when. "
        "The change is recorded in the configuration history, and the run records the plugin as disabled."
        if plugins
        else "correct the name in nba.toml."
    )
    return (
        "Nothing was run or exported. Fix the plugin (`nba-toolkit plugins` shows every plugin and its error; "
        f"NBA_TOOLKIT_DEBUG=1 adds the traceback), or, to run without it on purpose, {off}"
    )


def _broken(registry: Registry) -> list[Problem]:
    return [(r.name, f"the plugin '{r.name}' ({r.source}) failed to load: {r.error}") for r in registry.errors()]


def _lost(registry: Registry, disabled: set[str], run_id: str, recorded: dict[str, Any]) -> list[Problem]:
    """What the previous run had that is neither here now nor switched off."""
    loaded = {r.name for r in registry.records if r.status == "ok"}
    broken = {r.name for r in registry.errors()}  # already reported, with their error
    problems: list[Problem] = []
    for key, version in sorted(recorded.items()):
        provision = parse_provision(key)
        plugin = provision[0] if provision else key
        if version == DISABLED or plugin in disabled or plugin in broken or plugin.startswith("nba_toolkit."):
            continue  # switched off on purpose, reported above, or shipped with the toolkit
        if provision is None:
            if plugin not in loaded:
                problems.append(
                    (plugin, f"the plugin '{plugin}' (version {version}), used by run {run_id}, is not installed now")
                )
            continue
        _, kind, name = provision
        owner = registry.of_kind(kind).get(name)
        if plugin in loaded and (owner is None or owner.plugin != plugin):
            problems.append(
                (
                    plugin,
                    f"the plugin '{plugin}' provided the {kind.replace('_', ' ')} '{name}' in run {run_id}, "
                    "but does not provide it now",
                )
            )
    return problems


def _unprovided(registry: Registry, config: Config, disabled: set[str]) -> list[Problem]:
    """Names nba.toml relies on that no loaded plugin provides.

    A ``[checks.<name>]`` table may belong to a plugin switched off in
    nba.toml; while one is, such a table is left to the input checks'
    warning (which must be acknowledged before export) instead of stopping
    the run.
    """
    named = [("engine", config.engine.name, "[engine] name"), ("exporter", config.export.exporter, "[export] exporter")]
    if not disabled:
        named += [
            ("check", name, f"[checks.{name}]") for name in config.checks.configured if config.checks.settings(name).enabled
        ]
    problems: list[Problem] = []
    for kind, name, where in named:
        provided = name in registry.of_kind(kind) or (kind == "exporter" and name in registry.analysis_exporters)
        if not provided:
            problems.append(
                (
                    None,
                    f"nba.toml names the {kind} '{name}' ({where}), but no loaded plugin provides it: a typo in the "
                    "name, or its plugin is missing",
                )
            )
    return problems
