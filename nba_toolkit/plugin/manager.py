"""Loading plugins one at a time, so one broken plugin never hides the others.

Plugins come from three places, in this order: the built-ins (ordinary
plugins, registered first), installed distributions that declare an entry
point in the ``nba_toolkit`` group, and ``.py`` files in local plugin folders.
Each is imported, registered and asked for its objects inside its own
``try``: an import error, a hook with a wrong signature, an unknown hook, a
registration that raises or a name another plugin already took is recorded
on that plugin, and the rest load as usual. ``strict=True`` raises instead.

pluggy's own ``load_setuptools_entrypoints`` stops at the first import error,
which is why entry points are walked here by hand, and why each plugin's
hooks are called through a hook caller that leaves the other plugins out.

A plugin module declares ``NBA_API_VERSION``; one written for another major
version of the plugin API is refused with a message naming both versions.
A plugin without the declaration is loaded as written for the current
version, with a note in its record: in-house files should not break over a
missing line, and the note tells a developer to add it. Setting
``NBA_TOOLKIT_TRACE_PLUGINS=1`` (or ``trace=True``) writes every hook call,
and every later call of a registered object's methods, with its plugin, its
outcome and its duration to stderr.

Loading in isolation is for seeing every plugin's state (``nba-toolkit
plugins``); whether a run may go ahead with what loaded is decided by
``plugin/required.py``. Every registered object is held wrapped (see
``plugin/calls.py``): its calls are traced, time-limited where they can hang
a run, and may not end the process.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from nba_toolkit.core.checks import SEVERITIES, STAGES
from nba_toolkit.core.engine import ENGINE_ATTRIBUTES, ENGINE_METHODS
from nba_toolkit.core.rules import CODE_PATTERN
from nba_toolkit.errors import PluginError
from nba_toolkit.plugin import API_VERSION, PROJECT, hookspecs
from nba_toolkit.plugin.calls import DEFAULT_TIMEOUT_SECONDS, CallSettings, Guarded, exits_refused, unwrap

ENTRY_POINT_GROUP = "nba_toolkit"
LOCAL_PACKAGE = "nba_toolkit_local"
TRACE_ENV = "NBA_TOOLKIT_TRACE_PLUGINS"

BUILTIN_MODULES = (
    "nba_toolkit.default_plugins.logistic_engine",
    "nba_toolkit.default_plugins.checks",
    "nba_toolkit.default_plugins.input_checks",
    "nba_toolkit.default_plugins.output_checks",
    "nba_toolkit.default_plugins.model_checks",
    "nba_toolkit.default_plugins.mail_csv",
    "nba_toolkit.default_plugins.analysis_csv",
    "nba_toolkit.default_plugins.outbox",
    "nba_toolkit.default_plugins.smtp",
)

#: kind -> registration hook
HOOKS = {
    "engine": "nba_register_engines",
    "check": "nba_register_checks",
    "exporter": "nba_register_exporters",
    "notifier": "nba_register_notifiers",
    "rule": "nba_register_rules",
    "analysis_exporter": "nba_register_analysis_exporters",
}


@dataclass
class PluginRecord:
    """What ``nba-toolkit plugins`` shows for one plugin."""

    name: str
    origin: str  # builtin | entry point | local file
    source: str
    version: str
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    status: str = "ok"  # ok | error | disabled
    error: str | None = None
    #: the installed distribution an entry point comes from
    distribution: str | None = None
    #: the file a local plugin was loaded from
    path: str | None = None
    #: the plugin API version the plugin declares (None: it declares none)
    api_version: int | None = None
    #: something a developer should know that is not an error
    note: str | None = None
    #: the Python traceback behind ``error``, for NBA_TOOLKIT_DEBUG=1
    traceback: str | None = None

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, names in self.provides.items() if names]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kinds,
            "origin": self.origin,
            "source": self.source,
            "version": self.version,
            "hooks": self.hooks,
            "provides": self.provides,
            "status": self.status,
            "error": self.error,
            "distribution": self.distribution,
            "path": self.path,
            "api_version": self.api_version,
            "note": self.note,
        }


@dataclass(frozen=True)
class Registered:
    obj: Any
    plugin: str


#: the value a run records for a plugin that nba.toml switched off
DISABLED = "disabled"


def provision_key(plugin: str, kind: str, name: str) -> str:
    """How a run records that ``plugin`` provided the ``kind`` called ``name``: "recent_complaints: rule recent_complaint"."""
    return f"{plugin}: {kind} {name}"


def parse_provision(key: str) -> tuple[str, str, str] | None:
    """(plugin, kind, name) of a key made by ``provision_key``; None for a plain plugin name."""
    plugin, sep, rest = key.rpartition(": ")
    kind, _, name = rest.partition(" ")
    return (plugin, kind, name) if sep and kind in HOOKS and name else None


@dataclass
class Registry:
    """Everything the loaded plugins provide, by kind and name, plus a record per plugin."""

    engines: dict[str, Registered] = field(default_factory=dict)
    checks: dict[str, Registered] = field(default_factory=dict)
    exporters: dict[str, Registered] = field(default_factory=dict)
    notifiers: dict[str, Registered] = field(default_factory=dict)
    rules: dict[str, Registered] = field(default_factory=dict)
    analysis_exporters: dict[str, Registered] = field(default_factory=dict)
    records: list[PluginRecord] = field(default_factory=list)
    #: the time limit and tracing every registered object's calls follow
    calls: CallSettings = field(default_factory=CallSettings)

    def of_kind(self, kind: str) -> dict[str, Registered]:
        return {
            "engine": self.engines,
            "check": self.checks,
            "exporter": self.exporters,
            "notifier": self.notifiers,
            "rule": self.rules,
            "analysis_exporter": self.analysis_exporters,
        }[kind]

    def engine(self, name: str, declaration: Any = None) -> Registered:
        """The engine called ``name``; one that can be configured gets the workspace's declared features.

        An engine with ``configure(declaration)`` (the built-in ones) reads
        its features from ``[features]`` in nba.toml (``core/features.py``);
        ``declaration`` is None only where no workspace is at hand.
        """
        found = self._get("engine", name)
        configure = getattr(found.obj, "configure", None)
        if declaration is None or not callable(configure):
            return found
        return Registered(Guarded(unwrap(configure(declaration)), "engine", found.plugin, self.calls), found.plugin)

    def exporter(self, name: str) -> Registered:
        """A mail-file exporter; an analysis exporter's name is refused, because its file carries features."""
        if name in self.analysis_exporters:
            raise PluginError(
                f"'{name}' is an analysis exporter: its file carries scores and customer values and must never "
                "go to the mail program, so it cannot write the mail file",
                hint=f"Set [export] exporter to a mail exporter ({', '.join(sorted(self.exporters)) or 'none installed'}); "
                f"write the analysis file with `nba-toolkit analysis RUN_ID --exporter {name}`.",
            )
        return self._get("exporter", name)

    def analysis_exporter(self, name: str) -> Registered:
        return self._get("analysis_exporter", name)

    def _get(self, kind: str, name: str) -> Registered:
        found = self.of_kind(kind).get(name)
        if found is None:
            broken = [r for r in self.records if r.status == "error"]
            hint = (
                "Plugins with errors: " + ", ".join(f"{r.name} ({r.error})" for r in broken)
                if broken
                else f"Available: {', '.join(sorted(self.of_kind(kind))) or 'none'}."
            )
            raise PluginError(f"no {kind.replace('_', ' ')} named '{name}' is installed", hint=hint)
        return found

    def versions(self) -> dict[str, str]:
        """What a run records about its plugins, so the next run can tell when one went missing.

        Plugin name -> version of every loaded plugin, ``"disabled"`` for one
        switched off in nba.toml, and, for every object a plugin other than a
        built-in provides, ``"<plugin>: <kind> <name>"`` -> the plugin's
        version (see ``provision_key``). Built-ins ship with the toolkit,
        whose version the run records itself.
        """
        recorded = {r.name: (r.version if r.status == "ok" else DISABLED) for r in self.records if r.status != "error"}
        for record in self.records:
            if record.status == "ok" and record.origin != "builtin":
                for kind, names in record.provides.items():
                    recorded.update({provision_key(record.name, kind, name): record.version for name in names})
        return recorded

    def errors(self) -> list[PluginRecord]:
        return [r for r in self.records if r.status == "error"]


def load_plugins(
    folders: Sequence[Path] = (),
    *,
    disabled: Iterable[str] = (),
    strict: bool = False,
    entry_points_enabled: bool = True,
    trace: bool | None = None,
    call_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Registry:
    """Load every plugin source; ``disabled`` names plugins to skip (recorded as disabled).

    ``trace`` None follows the ``NBA_TOOLKIT_TRACE_PLUGINS`` environment variable.
    ``call_timeout_seconds`` limits each call of a check, rule or notifier.
    """
    if trace is None:
        trace = os.environ.get(TRACE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    loader = _Loader(set(disabled), strict, trace)
    loader.registry.calls = CallSettings(timeout_seconds=call_timeout_seconds, trace=trace)
    for module_name in BUILTIN_MODULES:
        name = "nba_toolkit." + module_name.rsplit(".", 1)[1]
        loader.load(name, module_name, module_name, "builtin", partial(importlib.import_module, module_name))
    if entry_points_enabled:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            version = dist.version if dist is not None else "unknown"
            distribution = dist.name if dist is not None else None
            source = f"{distribution or '?'} {version} ({ep.value})"
            loader.load(ep.name, ep.value, source, "entry point", ep.load, version=version, distribution=distribution)
    for folder in folders:
        for path in sorted(Path(folder).glob("*.py")):
            if path.name.startswith("_"):
                continue
            loader.load(path.stem, path.stem, str(path), "local file", partial(_import_file, path), path=path)
    return loader.registry


def _import_file(path: Path) -> ModuleType:
    """Import a local plugin under a stable module name, so objects defined there pickle and reload."""
    if LOCAL_PACKAGE not in sys.modules:
        package = ModuleType(LOCAL_PACKAGE)
        package.__path__ = []
        sys.modules[LOCAL_PACKAGE] = package
    module_name = f"{LOCAL_PACKAGE}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


class _Loader:
    def __init__(self, disabled: set[str], strict: bool, trace: bool) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.disabled = disabled
        self.strict = strict
        if trace:
            tracer = _Tracer()
            self.pm.add_hookcall_monitoring(tracer.before, tracer.after)

    def load(
        self,
        name: str,
        module_name: str,
        source: str,
        origin: str,
        importer: Callable[[], Any],
        version: str | None = None,
        distribution: str | None = None,
        path: Path | None = None,
    ) -> None:
        record = PluginRecord(
            name=name,
            origin=origin,
            source=source,
            version=version or "",
            distribution=distribution,
            path=str(path) if path else None,
        )
        self.registry.records.append(record)
        if name in self.disabled or module_name in self.disabled:
            record.status = "disabled"
            return
        taken = [r for r in self.registry.records[:-1] if r.name == name and r.status != "disabled"]
        if taken:
            self._fail(record, f"another plugin is already called '{name}' ({taken[0].source})")
            return
        try:
            with exits_refused(f"the plugin '{name}' while being imported"):
                plugin = importer()
        except BaseException as exc:  # noqa: BLE001 - a plugin may fail in any way, even SystemExit
            self._fail(record, f"import failed: {type(exc).__name__}: {exc}")
            return
        if not record.version:
            record.version = str(getattr(plugin, "__version__", None) or _package_version(plugin) or "unversioned")
        # Built-ins ship with the toolkit, so they are always written for its API version.
        problem = (_api_problem(plugin, record) if origin != "builtin" else None) or _hook_problem(plugin, self.pm)
        if problem:
            self._fail(record, problem)
            return
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self._fail(record, f"bad hook: {exc}")
            return
        record.hooks = sorted(impl for impl in HOOKS.values() if _implements(self.pm, impl, name))
        staged: dict[str, list[Any]] = {kind: [] for kind in HOOKS}
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        try:
            with exits_refused(f"the plugin '{name}' while registering its objects"):
                for kind, hook in HOOKS.items():
                    if hook in record.hooks:
                        caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
                        caller(register=self._registrar(kind, staged, name))
        except BaseException as exc:  # noqa: BLE001
            self.pm.unregister(name=name)
            self._fail(record, f"{type(exc).__name__}: {exc}")
            return
        for kind, objects in staged.items():
            table = self.registry.of_kind(kind)
            for obj in objects:
                table[obj.name] = Registered(Guarded(obj, kind, name, self.registry.calls), name)
            record.provides[kind] = [obj.name for obj in objects]

    def _registrar(self, kind: str, staged: dict[str, list[Any]], plugin: str) -> Callable[[Any], None]:
        # Mail and analysis exporters share one namespace, so "exporter = NAME" can only mean one thing.
        shared = ("exporter", "analysis_exporter") if kind in ("exporter", "analysis_exporter") else (kind,)

        def register(obj: Any) -> None:
            _validate(kind, obj)
            for other in shared:
                owner = self.registry.of_kind(other).get(obj.name)
                if owner is not None or any(o.name == obj.name for o in staged[other]):
                    first = owner.plugin if owner else plugin
                    raise PluginError(
                        f"the {kind.replace('_', ' ')} name '{obj.name}' is registered by both '{first}' and '{plugin}'"
                    )
            staged[kind].append(obj)

        return register

    def _fail(self, record: PluginRecord, error: str) -> None:
        record.status = "error"
        record.error = error
        if sys.exc_info()[0] is not None:
            record.traceback = traceback.format_exc()
        if self.strict:
            raise PluginError(f"plugin '{record.name}' ({record.source}): {error}")


def _api_problem(plugin: Any, record: PluginRecord) -> str | None:
    """Refuse a plugin written for another major plugin API version; note a missing declaration."""
    declared = getattr(plugin, "NBA_API_VERSION", None)
    if declared is None:
        record.note = f"declares no NBA_API_VERSION; loaded as written for plugin API version {API_VERSION}"
        return None
    if isinstance(declared, bool) or not isinstance(declared, int):
        return f"NBA_API_VERSION must be a whole number such as {API_VERSION}, not {declared!r}"
    record.api_version = declared
    if declared != API_VERSION:
        return (
            f"written for plugin API version {declared}, but this toolkit expects version {API_VERSION}; "
            f"install a release of the plugin made for API version {API_VERSION}, or a toolkit that provides {declared}"
        )
    return None


def _hook_problem(plugin: Any, pm: pluggy.PluginManager) -> str | None:
    """Hook names the toolkit does not know, and hooks a developer forgot to mark, are errors, not silence."""
    marker = f"{PROJECT}_impl"
    unknown, unmarked = [], []
    for attr in dir(plugin):
        value = getattr(plugin, attr, None)
        if not attr.startswith("nba_") or not callable(value):
            continue
        if not hasattr(pm.hook, attr):
            unknown.append(attr)
        elif not hasattr(value, marker):
            unmarked.append(attr)
    if unknown:
        return f"unknown hook {', '.join(unknown)}; known hooks: {', '.join(HOOKS.values())}"
    if unmarked:
        return (
            f"{', '.join(unmarked)} is not marked with @hookimpl (from nba_toolkit.plugin import hookimpl), so it is never called"
        )
    return None


class _Tracer:
    """Writes each hook call, its plugin, outcome and duration to stderr, through pluggy's call monitoring."""

    def __init__(self) -> None:
        self.started: list[float] = []  # a stack: hook calls may nest

    def before(self, hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        plugins = ", ".join(impl.plugin_name for impl in hook_impls)
        sys.stderr.write(f"nba-toolkit trace: calling {hook_name}({', '.join(kwargs)}) of plugin {plugins}\n")
        self.started.append(time.perf_counter())

    def after(
        self, outcome: pluggy.Result[Any], hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        elapsed = (time.perf_counter() - self.started.pop()) * 1000
        plugins = ", ".join(impl.plugin_name for impl in hook_impls)
        exc = outcome.exception
        result = "returned" if exc is None else f"raised {type(exc).__name__}: {exc}"
        sys.stderr.write(f"nba-toolkit trace: {hook_name} of plugin {plugins} {result} after {elapsed:.1f} ms\n")


def _implements(pm: pluggy.PluginManager, hook: str, plugin: str) -> bool:
    return any(impl.plugin_name == plugin for impl in getattr(pm.hook, hook).get_hookimpls())


def _package_version(plugin: Any) -> str | None:
    module = inspect.getmodule(plugin)
    top = (module.__name__ if module else "").split(".")[0]
    top_module = sys.modules.get(top)
    return getattr(top_module, "__version__", None)


def _validate(kind: str, obj: Any) -> None:
    """Refuse an object that cannot do its job, at registration rather than mid-run."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(f"a registered {kind} needs a non-empty text 'name'")
    if kind == "engine":
        missing = [a for a in ENGINE_ATTRIBUTES if not hasattr(obj, a)]
        missing += [m for m in ENGINE_METHODS if not callable(getattr(obj, m, None))]
    elif kind == "check":
        missing = [a for a in ("stage", "severity", "description") if not hasattr(obj, a)]
        missing += [] if callable(getattr(obj, "run", None)) else ["run"]
        if not missing and obj.stage not in STAGES:
            raise PluginError(f"check '{name}' has stage '{obj.stage}'; use one of {', '.join(STAGES)}")
        if not missing and obj.severity not in SEVERITIES:
            raise PluginError(f"check '{name}' has severity '{obj.severity}'; use one of {', '.join(SEVERITIES)}")
    elif kind in ("exporter", "analysis_exporter"):
        missing = [a for a in ("extension",) if not hasattr(obj, a)]
        missing += [] if callable(getattr(obj, "write", None)) else ["write"]
    elif kind == "rule":
        missing = [a for a in ("description",) if not hasattr(obj, a)]
        missing += [] if callable(getattr(obj, "apply", None)) else ["apply"]
        if not CODE_PATTERN.match(name):
            raise PluginError(
                f"rule '{name}' needs a name of lower-case letters, digits and _ (it becomes the reason code "
                f"'excluded_rule_{name}')"
            )
    else:
        missing = [] if callable(getattr(obj, "notify", None)) else ["notify"]
    if missing:
        raise PluginError(f"{kind} '{name}' lacks {', '.join(missing)}")
    problem = _call_shape_problem(kind, name, obj)
    if problem:
        raise PluginError(problem)


#: kind -> method -> the arguments the toolkit calls it with (``*name``: by keyword)
CALL_SHAPES: dict[str, dict[str, tuple[str, ...]]] = {
    "engine": {
        "features": ("snapshot",),
        "fit": ("features", "label", "*seed"),
        "refit": ("previous", "features", "label", "*seed"),
        "score": ("model", "features"),
        "explain": ("model", "features"),
        "model_card": (),
    },
    "check": {"run": ("context",)},
    "rule": {"apply": ("snapshot", "context")},
    "exporter": {"write": ("rows", "stream", "config")},
    "analysis_exporter": {"write": ("rows", "stream", "config")},
    "notifier": {"notify": ("alert", "workspace_root")},
}


def _call_shape_problem(kind: str, name: str, obj: Any) -> str | None:
    """A method the toolkit could not call with its arguments, found now rather than on the day it is needed.

    A notifier is only called when a run is blocked or fails: a wrong
    signature would otherwise surface exactly when the alert matters most.
    """
    for method, arguments in CALL_SHAPES[kind].items():
        function = getattr(obj, method, None)
        if not callable(function):
            continue  # an optional method (refit) left out; a missing required one was reported above
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue  # a built-in or C function: nothing to inspect
        positional = [a for a in arguments if not a.startswith("*")]
        keywords = {a[1:]: None for a in arguments if a.startswith("*")}
        try:
            signature.bind(*positional, **keywords)
        except TypeError as exc:
            shown = ", ".join(a if not a.startswith("*") else f"{a[1:]}=..." for a in arguments)
            who = f"{kind.replace('_', ' ')} '{name}'"
            return f"{who}: the toolkit calls {method}({shown}), but it is defined as {method}{signature} ({exc})"
    return None
