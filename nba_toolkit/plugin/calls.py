"""Calling a plugin's objects: a time limit, no silent exit, and a trace line for every call.

Every object a plugin registers reaches the toolkit wrapped in a
:class:`Guarded`, so each call of its contract methods (``check.run``,
``rule.apply``, the engine's ``features``/``fit``/``refit``/``score``/
``explain``/``model_card``, ``exporter.write``, ``notifier.notify``) goes
through one place that:

- refuses ``os._exit`` and ``sys.exit``: a plugin that tries to end the
  process becomes a :class:`PluginExit` (a plugin error) instead of a
  command that ends with exit 0 and no word. Plugin imports and registration
  hooks are guarded the same way (``exits_refused``);
- gives checks, rules and notifiers a time limit (``[plugins]
  call_timeout_seconds``): the call runs in a daemon worker thread, and a
  call that does not answer in time is a :class:`PluginTimeout`. A thread
  cannot be killed, so the worker runs on unseen; being a daemon, it does not
  keep the process from exiting;
- writes a trace line before and after the call when tracing is on
  (``NBA_TOOLKIT_TRACE_PLUGINS=1``);
- marks any other exception the call raised with the object and plugin it
  came from (:func:`failed_call`), so the command line reports it as a plugin
  error (exit 5) naming the plugin, not as a toolkit bug.

Limits: a plugin runs in the toolkit's own process. ``os.abort()``, a signal
sent to the process, or native code that exits cannot be intercepted; a
timed-out call keeps running (and holding memory) until the process ends.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from nba_toolkit.errors import PluginError

#: kind -> the contract methods whose calls are guarded and traced
METHODS = {
    "engine": ("configure", "features", "fit", "refit", "score", "explain", "model_card"),
    "check": ("run",),
    "rule": ("apply",),
    "exporter": ("write",),
    "analysis_exporter": ("write",),
    "notifier": ("notify",),
}
#: the kinds whose calls can hang a run and get a time limit; an engine's fit may rightly take an hour
TIME_LIMITED = ("check", "rule", "notifier")
DEFAULT_TIMEOUT_SECONDS = 300.0

_MARK = "_nba_plugin_call"


class PluginTimeout(PluginError):
    """A plugin call did not answer within the time limit (it counts as a crash)."""


class PluginExit(PluginError):
    """A plugin tried to end the process (``os._exit`` or ``sys.exit``); it was stopped."""


@dataclass
class CallSettings:
    """Shared by every guarded object of one registry, so the limit can be set after loading."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    trace: bool = False


class Guarded:
    """A registered object as the toolkit holds it: attributes pass through, contract methods are guarded.

    ``unwrap(guarded)`` gives the plugin's own object back (for the
    conformance kit and for messages).
    """

    __slots__ = ("_nba_target", "_nba_kind", "_nba_plugin", "_nba_settings")

    def __init__(self, target: Any, kind: str, plugin: str, settings: CallSettings) -> None:
        object.__setattr__(self, "_nba_target", target)
        object.__setattr__(self, "_nba_kind", kind)
        object.__setattr__(self, "_nba_plugin", plugin)
        object.__setattr__(self, "_nba_settings", settings)

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._nba_target, attr)
        if attr in METHODS.get(self._nba_kind, ()) and callable(value):
            return _GuardedMethod(self, attr, value)
        return value

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self._nba_target, attr, value)

    def __repr__(self) -> str:
        return repr(self._nba_target)

    @property
    def who(self) -> str:
        name = getattr(self._nba_target, "name", "?")
        return f"the {self._nba_kind.replace('_', ' ')} '{name}' (plugin '{self._nba_plugin}')"


class _GuardedMethod:
    """One contract method of a guarded object; calling it applies the rules in the module docstring."""

    def __init__(self, owner: Guarded, method: str, function: Callable[..., Any]) -> None:
        self.owner = owner
        self.method = method
        self.function = function

    @property
    def __signature__(self) -> inspect.Signature:
        """The plugin method's own signature, so the toolkit can tell which keywords it takes (``sample_weight``)."""
        return inspect.signature(self.function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        owner = self.owner
        settings: CallSettings = owner._nba_settings
        who = owner.who
        call = f"{owner._nba_kind}.{self.method}"
        if settings.trace:
            _trace(f"calling {call} of {who}")
        started = time.perf_counter()
        function = _all_at_once(self.function) if owner._nba_kind == "check" else self.function
        try:
            if owner._nba_kind in TIME_LIMITED:
                value = _with_time_limit(function, args, kwargs, settings.timeout_seconds, who, call)
            else:
                value = _guarded(function, args, kwargs, who, call)
        except BaseException as exc:
            if settings.trace:
                _trace(f"{call} of {who} raised {type(exc).__name__}: {exc} after {_ms(started)}")
            if not isinstance(exc, PluginError | KeyboardInterrupt):
                _mark(exc, f"{who} failed in {self.method}()", owner._nba_plugin)
            raise
        if settings.trace:
            _trace(f"{call} of {who} returned after {_ms(started)}")
        return value


def unwrap(obj: Any) -> Any:
    """The plugin's own object behind a guarded one (the object itself when it is not guarded)."""
    return object.__getattribute__(obj, "_nba_target") if isinstance(obj, Guarded) else obj


def failed_call(exc: BaseException) -> tuple[str, str] | None:
    """(what failed, plugin) when ``exc`` came out of a plugin's method, else None (a toolkit bug)."""
    seen: BaseException | None = exc
    while seen is not None:
        mark = getattr(seen, _MARK, None)
        if mark is not None:
            return mark
        seen = seen.__cause__ or seen.__context__
    return None


def _mark(exc: BaseException, what: str, plugin: str) -> None:
    if getattr(exc, _MARK, None) is None:
        try:
            setattr(exc, _MARK, (what, plugin))
        except (AttributeError, TypeError):
            pass  # an exception type without attributes stays unmarked: reported as unexpected


def _all_at_once(function: Callable[..., Any]) -> Callable[..., Any]:
    """A check may yield its results; they are collected inside the time limit, not after it."""

    def collected(*args: Any, **kwargs: Any) -> Any:
        value = function(*args, **kwargs)
        return list(value) if isinstance(value, Iterator) else value

    return collected


def _guarded(function: Callable[..., Any], args: tuple, kwargs: dict, who: str, call: str) -> Any:
    with exits_refused(f"{who} during {call}"):
        try:
            return function(*args, **kwargs)
        except SystemExit as exc:
            raise PluginExit(
                f"{who} called sys.exit({exc.code!r}) during {call}; it was stopped, because a plugin must not end the toolkit",
                hint=_FIX_OR_DISABLE,
            ) from None


def _with_time_limit(function: Callable[..., Any], args: tuple, kwargs: dict, seconds: float, who: str, call: str) -> Any:
    """Run the call in a daemon thread and wait at most ``seconds``; the call's own exception is raised here."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = _guarded(function, args, kwargs, who, call)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name=f"nba-toolkit {call}", daemon=True).start()
    if not done.wait(seconds):
        raise PluginTimeout(
            f"{who} did not answer within {seconds:g} seconds ({call}); it counts as a crash, so the run stops",
            hint="Ask a developer why it is slow. If it needs longer on this bank's data, raise "
            "[plugins] call_timeout_seconds in nba.toml.",
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_FIX_OR_DISABLE = "Ask a developer to fix the plugin, or switch it off in nba.toml ([plugins] disabled)."


# ----------------------------------------------------------------- os._exit


_exit_lock = threading.Lock()
_exit_guards = 0
_real_exit = os._exit
_guard_pid = 0


class exits_refused:  # noqa: N801 - used as a statement: ``with exits_refused(...)``
    """While any plugin code runs, ``os._exit`` raises :class:`PluginExit` instead of ending the process.

    Nested and concurrent guards share one replacement; the real function is
    back once the last guard ends. A child process forked meanwhile exits for
    real (its ``os._exit`` must end the child, not return into our code).
    """

    def __init__(self, during: str) -> None:
        self.during = during
        self.outer: str | None = None

    def __enter__(self) -> None:
        global _exit_guards, _guard_pid
        with _exit_lock:
            if _exit_guards == 0:
                _guard_pid = os.getpid()
                os._exit = _refuse_exit
            _exit_guards += 1
        self.outer = getattr(_current, "during", None)
        _current.during = self.during

    def __exit__(self, *exc: object) -> None:
        global _exit_guards
        _current.during = self.outer
        with _exit_lock:
            _exit_guards -= 1
            if _exit_guards == 0:
                os._exit = _real_exit


_current = threading.local()


def _refuse_exit(status: int = 0) -> NoReturn:
    """``os._exit`` while plugin code runs; takes its arguments as the real one does."""
    if os.getpid() != _guard_pid:
        _real_exit(status)
    during = getattr(_current, "during", None) or "a plugin"
    raise PluginExit(
        f"{during} called os._exit({status}); it was stopped, because a plugin must not end the toolkit without a word",
        hint=_FIX_OR_DISABLE,
    )


def _trace(text: str) -> None:
    sys.stderr.write(f"nba-toolkit trace: {text}\n")


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.1f} ms"
