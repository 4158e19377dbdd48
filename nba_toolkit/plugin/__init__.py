"""Plugins: the hook specifications, and loading plugins in isolation.

Plugin authors import the marker from here and declare the plugin API
version their module was written for::

    from nba_toolkit.plugin import hookimpl

    NBA_API_VERSION = 1

The version is the major version of the hook and object contracts in
docs/plugins/. It changes only when a change would break existing plugins
(a hook or an attribute removed or changing meaning); adding a hook or an
optional attribute does not change it. The loader refuses a plugin that
declares another major version, because its objects would be called in ways
it was not written for.
"""

import pluggy

PROJECT = "nba_toolkit"
#: the plugin API version this toolkit provides; plugins declare ``NBA_API_VERSION``
API_VERSION = 1
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["API_VERSION", "PROJECT", "hookimpl"]
