"""The operator's terminal UI (Textual): the whole weekly flow on one workspace.

Import :mod:`nba_toolkit.tui.app` to run it; this package itself imports
nothing, so ``nba_toolkit.cli`` can mention it without loading Textual.
"""
