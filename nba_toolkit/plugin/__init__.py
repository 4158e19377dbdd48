"""Plugins: the hook specifications, and loading plugins in isolation.

Plugin authors import the marker from here::

    from nba_toolkit.plugin import hookimpl
"""

import pluggy

PROJECT = "nba_toolkit"
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl"]
