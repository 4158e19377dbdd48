"""Turning any error into a notice an operator can act on; a traceback on screen is a bug."""

from __future__ import annotations


def describe(error: BaseException) -> tuple[str, str]:
    """(title, message) for a notice: the toolkit's own errors as they are, anything else as a bug to report."""
    from nba_toolkit.errors import BadInput, CheckBlocked, NbaError, PluginError, UsageError

    if isinstance(error, NbaError):
        title = {
            BadInput: "Bad input",
            CheckBlocked: "Blocked by a check",
            PluginError: "Plugin error",
            UsageError: "Not possible",
        }.get(type(error), "Error")
        return title, error.message + (f"\n{error.hint}" if error.hint else "")
    return (
        "Unexpected error",
        f"{type(error).__name__}: {error}. This is a bug: nothing was exported. "
        "Start with NBA_TOOLKIT_DEBUG=1 to see where it happened, and report it.",
    )
