"""One screen per section; see :mod:`nba_toolkit.tui.navigation`."""
