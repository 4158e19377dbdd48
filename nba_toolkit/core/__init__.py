"""The headless core: loading, checking, selecting and exporting, with no UI."""
